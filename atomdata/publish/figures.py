"""Reference figures, regenerated from the published CSV tables, byte for byte reproducible.

``make_figures(processed_dir, out_dir, fmt)`` writes the reference figures (besides the five below,
those of ``analysis_figures.py``: downloads by size bucket and region, adoption momentum; and those
of ``claims_figures.py``: the trending leaderboard by region, cumulative derivatives of the largest
root organizations):

1. ``cumulative_downloads_by_region``: all-time download counters at month end, summed by region
   (the ATOM headline chart);
2. ``download_share_by_region``: monthly download share by region (100 % stacked);
3. ``derivative_share_by_root_region``: share of new derivatives by the region of their root base
   model, by month of creation;
4. ``top_organizations_latest_month``: top organizations by downloads in the latest month, coloured
   by region;
5. ``derivatives_by_relation_top_roots``: derivatives by relation (finetune, adapter, quantized,
   merge) for the organizations of the most derived-from root base models.

Every figure carries a title, axis labels with units, the data version, a source line and a scope
line: which models it counts, read from the table's ``scope`` column where it has one (charts on
different scopes must not be read as one). The download charts say how many months they measure
and over which window (``captions.py``: the boundary snapshots of ``model_downloads_monthly``); a
month measured over another window than the calendar month is marked. The derivative-share chart
merges into one quarter bar a quarter with any month of fewer than ``MIN_DERIVATIVES`` new
derivatives, and draws pale a bar still below it.
Rendering is deterministic: Matplotlib's built-in defaults plus fixed rcParams (the user's
matplotlibrc and style are ignored), the bundled DejaVu Sans font, a fixed SVG hash salt, no
dates in the file metadata and no pyplot (no global backend state; Agg canvas). Same tables →
same bytes.

A table with a single month still gives a readable figure (bars instead of lines); an empty
table gives a figure that says so instead of an empty axis.

The look every figure shares (colours, rcParams, frame, legends, bars) is ``style.py``. Matplotlib
is imported by the figure modules only (this one, ``style``, ``analysis_figures``,
``claims_figures``): importing ``atomdata`` never loads it.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import matplotlib
import pandas as pd

from ..errors import InputError
from ..io import atomic_write_bytes
from ..vocab import COUNTED_PUBLISHERS, RELATIONS
from ..steps.shares import region_shares
from . import analysis_figures, claims_figures
from .captions import derivatives_scope, measured_months, month_label, month_windows, table_scope
from .style import (HUMAN, METADATA, RC, REGION_COLORS, REGION_LABELS, RELATION_COLORS, axes, framed, human, labelled_bars,
                    month_index, no_data, note, region_legend, regions_present, stacked_share_bars, thin_ticks)

FORMATS = ("png", "svg", "pdf")
__all__ = ["FIGURES", "FORMATS", "REGION_COLORS", "REGION_LABELS", "TABLES_USED", "data_version", "make_figures",
           "read_inputs", "render", "render_all"]

# --------------------------------------------------------------------------- inputs

def data_version(processed_dir: Path) -> str:
    """The data version: ``version`` of the datapackage.json next to ``processed_dir``, else the
    date of the newest snapshot in snapshots.csv (CalVer YYYY.MM.DD), else ``unknown``."""
    processed_dir = Path(processed_dir)
    dp = processed_dir.parent / "datapackage.json"
    if dp.is_file():
        try:
            version = json.loads(dp.read_text(encoding="utf-8")).get("version")
        except (OSError, ValueError):
            version = None
        if version:
            return str(version)
    snaps = processed_dir / "snapshots.csv"
    if snaps.is_file():
        from ..tableio import read_csv_typed

        dates = read_csv_typed(snaps, "snapshots")["date"].dropna()
        if len(dates):
            return dates.max().strftime("%Y.%m.%d")
    return "unknown"


#: the tables every figure reads (those of this module's five, then the analysis and claims figures')
TABLES_USED = tuple(dict.fromkeys(("downloads_by_country", "derivatives_by_country", "model_downloads_monthly", "models",
                                   "derivatives") + analysis_figures.TABLES_USED + claims_figures.TABLES_USED))


def read_inputs(processed_dir: Path) -> dict[str, pd.DataFrame]:
    """The tables the figures use, typed from their schemas; InputError names a missing one."""
    from ..tableio import read_tables

    processed_dir = Path(processed_dir)
    if not processed_dir.is_dir():
        raise InputError(processed_dir, "no such folder of tables; build them with `atomdata build`")
    try:
        return read_tables(processed_dir, TABLES_USED)
    except InputError as exc:
        if exc.column is None and exc.problem.startswith("table") and exc.problem.endswith("missing"):
            raise InputError(exc.file, f"{exc.problem}; build the tables with `atomdata build`") from None
        raise


# --------------------------------------------------------------------------- the five figures

#: the scope of the download charts when their table has no scope column (or no row)
HEADLINE_SCOPE = "the headline scope of downloads_by_country (its scope column)"
#: a period of the derivative-share chart with fewer new derivatives than this is too small to read as shares
MIN_DERIVATIVES = 30


def headline_scope(t) -> str:
    """The scope of the download charts: that of downloads_by_country."""
    return table_scope(t["downloads_by_country"], HEADLINE_SCOPE)


@framed("Cumulative downloads of open models by region of origin",
        "all-time download counters at month end, summed over the in-scope models measured that month",
        "Table: downloads_by_country (cumulative_downloads).", scope=headline_scope)
def fig_cumulative_downloads(fig, t):
    dbc = t["downloads_by_country"]
    g = dbc.dropna(subset=["cumulative_downloads"]).groupby(["month", "region"])["cumulative_downloads"].sum()
    if g.empty:
        return no_data(fig, "downloads_by_country has no measured month yet\n(months need snapshots near both month boundaries)")
    wide = g.unstack("region").sort_index()
    regions = regions_present(wide.columns)
    months = list(wide.index)
    ax = axes(fig)
    ax.yaxis.grid(True)
    ax.yaxis.set_major_formatter(HUMAN)
    ax.set_ylabel("Cumulative downloads (all-time counter, downloads)")
    windows = month_windows(t["model_downloads_monthly"])
    ticks, text = measured_months(months, windows)
    if len(months) == 1 and months[0] in windows:
        text += f"; counters as read at the end boundary, {windows[months[0]].end:%Y-%m-%d}"
    note(ax, text)
    if len(months) == 1:
        m = months[0]
        vals = [float(wide.loc[m, r]) if pd.notna(wide.loc[m, r]) else 0.0 for r in regions]
        labelled_bars(ax, [REGION_LABELS[r] for r in regions], vals, [REGION_COLORS[r] for r in regions])
        ax.set_xlabel(f"Region of the publishing organization (only month measured: {m}; a bar chart until there are two)")
        region_legend(ax, regions)
    else:
        xs = [month_index(m) for m in months]
        for r in regions:
            s = wide[r]
            pts = [(x, float(v)) for x, v in zip(xs, s) if pd.notna(v)]
            if not pts:
                continue
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", markersize=3.5, linewidth=2,
                    color=REGION_COLORS[r], label=REGION_LABELS[r])
        thin_ticks(ax, xs, [ticks.get(m, m) for m in months])
        ax.set_xlabel("Month (end boundary of the measurement)")
        ax.set_ylim(bottom=0)
        ax.legend(title="Region of origin", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def _share_figure(fig, shares: pd.DataFrame, totals: pd.Series, empty: str, total_label, xlabel: str, ylabel: str, **bars):
    """100 % stacked bars of the region ``shares`` per period (``bars``: ``faint``, ``tick_labels``
    of ``stacked_share_bars``); the axes, or the figure's "No data" panel."""
    if totals.empty:
        no_data(fig, empty)
        return None
    ax = axes(fig)
    stacked_share_bars(ax, shares, totals, total_label, **bars)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


@framed("Monthly download share of open models by region of origin",
        "share of the month's downloads of the models in scope (below); downloads measured above each bar",
        "Table: downloads_by_country (downloads, share); windows: model_downloads_monthly (start_snapshot, end_snapshot).",
        scope=headline_scope)
def fig_download_share(fig, t):
    shares, totals = region_shares(t["downloads_by_country"], "month", "downloads")
    ticks, text = measured_months(list(totals.index), month_windows(t["model_downloads_monthly"]))
    ax = _share_figure(fig, shares, totals, "downloads_by_country has no measured month with downloads yet",
                       lambda v: f"{human(float(v))} downloads",
                       "Month measured" + (" (* over a window other than the calendar month)" if ticks else ""),
                       "Share of monthly downloads (%)", tick_labels=ticks)
    if ax is not None:
        note(ax, text)
    return fig


def derivative_periods(dvc: pd.DataFrame, min_n: int = MIN_DERIVATIVES) -> tuple[dict[str, str], list[str], set[str]]:
    """The periods of the derivative-share chart: a calendar quarter in which any month has fewer than
    ``min_n`` new derivatives is one period (``YYYY-Qn``), other months stay months. Returns month →
    period, the periods in time order, and the periods with fewer than ``min_n`` in all (drawn pale)."""
    tot = dvc.groupby("month")["new_derivatives"].sum()
    tot = tot[tot > 0]
    quarter = {m: f"{m[:4]}-Q{(int(m[5:7]) - 1) // 3 + 1}" for m in tot.index}
    merged = {quarter[m] for m in tot.index if tot[m] < min_n}
    period = {m: quarter[m] if quarter[m] in merged else m for m in tot.index}
    ptot = tot.groupby(pd.Series(period)).sum()
    first = {}
    for m in sorted(tot.index, key=month_index):
        first.setdefault(period[m], month_index(m))
    order = sorted(first, key=first.get)
    return period, order, {p for p in order if ptot[p] < min_n}


@framed("Share of new derivative models by region of their root base model",
        "declared lineage (unknown: chain leaves the sample); new derivatives per month or quarter above each bar",
        "Table: derivatives_by_country (new_derivatives).", scope=derivatives_scope("with a creation date"))
def fig_derivative_share(fig, t):
    dvc = t["derivatives_by_country"]
    if "lineage" in dvc:  # declared lineage (root_region); the with_inference rows count the same models again
        dvc = dvc[dvc["lineage"] == "declared"]
    period, order, faint = derivative_periods(dvc)
    d = dvc.assign(period=dvc["month"].map(period))
    shares, totals = region_shares(d.dropna(subset=["period"]), "period", "new_derivatives")
    shares, totals = shares.reindex(order), totals.reindex(order)
    ax = _share_figure(fig, shares, totals, "derivatives_by_country has no rows (no derivative with a creation date)",
                       lambda v: f"{int(v)}", "Month (or quarter) the derivative repo was created", "Share of new derivatives (%)",
                       faint=faint)
    if ax is not None:
        note(ax, f"Rule: a quarter with any month of fewer than {MIN_DERIVATIVES} new derivatives is one bar (YYYY-Qn); "
                 f"pale bars have fewer than {MIN_DERIVATIVES} in all, too few to read as shares.")
    return fig


def _all_repos_scope(t) -> str:
    """The top-organizations chart's scope, set against the download-share charts'."""
    return ("every repo measured in the month, of any namespace and pipeline, first-party or derivative; wider than the "
            f"download-share charts' scope ({headline_scope(t)})")


@framed("Top organizations by downloads in the latest measured month",
        "all model repos of each namespace (first-party and derivatives, every pipeline), coloured by region",
        "Tables: model_downloads_monthly joined to models.", scope=_all_repos_scope)
def fig_top_organizations(fig, t, top_n=15):
    mdm, models, dbc = t["model_downloads_monthly"], t["models"], t["downloads_by_country"]
    if mdm.empty:
        return no_data(fig, "model_downloads_monthly has no measured month yet")
    month = mdm["month"].max()
    d = mdm[mdm["month"] == month][["model_id", "downloads"]].merge(
        models[["model_id", "org", "registry_org", "region"]], on="model_id", how="left")
    d["who"] = d["registry_org"].fillna(d["org"]).fillna(d["model_id"].str.split("/").str[0])
    d["region"] = d["region"].fillna("unknown")
    g = d.groupby(["who", "region"])["downloads"].sum().reset_index()
    g = g[g["downloads"] > 0].sort_values(["downloads", "who"], ascending=[False, True], kind="stable").head(top_n)
    if g.empty:
        return no_data(fig, f"no downloads recorded in {month}")
    g = g.iloc[::-1]
    ax = axes(fig, left=0.22, right=0.80)
    vals = [float(v) for v in g["downloads"]]
    y = list(range(len(g)))
    ax.barh(y, vals, 0.7, color=[REGION_COLORS[r] for r in g["region"]])
    for yi, v in zip(y, vals):
        ax.text(v, yi, " " + human(v), va="center", ha="left", fontsize=8)
    ax.set_yticks(y)
    ax.set_yticklabels(list(g["who"]))
    ax.set_xlim(0, max(vals) * 1.12)
    ax.xaxis.set_major_formatter(HUMAN)
    ax.xaxis.grid(True)
    ax.set_xlabel(f"Downloads in {month} (downloads; {_all_repos_total(month, mdm, dbc)})")
    ax.set_ylabel("Organization (Hub namespace)")
    note(ax, f"{month_label(month, month_windows(mdm))}: top {len(g)} of {d['who'].nunique()} namespaces")
    region_legend(ax, regions_present(g["region"]))
    return fig


def _all_repos_total(month: str, mdm: pd.DataFrame, dbc: pd.DataFrame) -> str:
    """The month's downloads of all repos next to the download-share charts' total: why a bar here
    can exceed that whole total."""
    text = f"all repos: {human(float(mdm.loc[mdm['month'] == month, 'downloads'].sum()))}"
    head = dbc.loc[dbc["month"] == month, "downloads"]
    return text + (f"; the download-share charts' scope: {human(float(head.sum()))}" if len(head) else "")


@framed("Derivatives by relation for the most derived-from base-model organizations",
        "derivative repos grouped by the organization of their root base model (furthest declared ancestor in the snapshots)",
        "Table: derivatives (relation, root_org, root_region).", scope=derivatives_scope("with a root in the snapshots"))
def fig_derivatives_by_relation(fig, t, top_n=12):
    der = t["derivatives"]
    d = der[der["publisher"].isin(COUNTED_PUBLISHERS)].dropna(subset=["root_org"])
    if d.empty:
        return no_data(fig, "the derivatives table has no derivative others built with a resolved root")
    d = d.assign(root_org=d["root_org"].astype("string"))
    key = d["root_org"].str.lower()
    # one label per organization, whatever the case used in repo ids
    label = d.groupby(key)["root_org"].agg(lambda s: s.value_counts().sort_index().idxmax())
    region = d.groupby(key)["root_region"].agg(lambda s: s.value_counts().sort_index().idxmax())
    counts = d.groupby([key, "relation"]).size().unstack("relation", fill_value=0)
    counts = counts.reindex(columns=[r for r in RELATIONS if r in counts.columns])
    total = counts.sum(axis=1)
    order = pd.DataFrame({"total": total, "k": total.index}).sort_values(["total", "k"], ascending=[False, True], kind="stable")
    top = list(order.index[:top_n])[::-1]
    counts = counts.loc[top]
    ax = axes(fig, left=0.24, right=0.80)
    y = list(range(len(top)))
    left = [0.0] * len(top)
    for rel in counts.columns:
        vals = [float(v) for v in counts[rel]]
        ax.barh(y, vals, 0.7, left=left, color=RELATION_COLORS[rel], label=rel, edgecolor="white", linewidth=0.4)
        left = [a + b for a, b in zip(left, vals)]
    for yi, v in zip(y, left):
        ax.text(v, yi, f" {int(v)}", va="center", ha="left", fontsize=8)
    ax.set_yticks(y)
    ax.set_yticklabels([f"{label[k]} ({REGION_LABELS.get(region[k], region[k])})" for k in top])
    for tick, k in zip(ax.get_yticklabels(), top):
        tick.set_color(REGION_COLORS.get(region[k], "#333333"))
    ax.set_xlim(0, max(left) * 1.1)
    ax.xaxis.grid(True)
    ax.set_xlabel("Derivative models (count of repos)")
    ax.set_ylabel("Root base-model organization (region)")
    ax.set_title(f"Top {len(top)} of {len(total)} root organizations; {int(total.sum())} derivatives with a root",
                 loc="left", fontsize=9, color="#444444")
    ax.legend(title="Relation to base", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


#: file stem -> figure function, in reading order
FIGURES = {
    "cumulative_downloads_by_region": fig_cumulative_downloads,
    "download_share_by_region": fig_download_share,
    "derivative_share_by_root_region": fig_derivative_share,
    "top_organizations_latest_month": fig_top_organizations,
    "derivatives_by_relation_top_roots": fig_derivatives_by_relation,
}
# the analyses beyond the headline (sizes, adoption momentum) and the headline-claims figures (trending
# leaderboard, derivatives per root organization) live in modules of their own
FIGURES.update(analysis_figures.FIGURES)
FIGURES.update(claims_figures.FIGURES)


# --------------------------------------------------------------------------- rendering

def render(name: str, tables: dict[str, pd.DataFrame], version: str, fmt: str = "png") -> bytes:
    """One figure as bytes in ``fmt``, deterministically."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    with matplotlib.rc_context():
        matplotlib.rcdefaults()  # ignore the user's matplotlibrc/style; restored on leaving the context
        matplotlib.rcParams.update(RC)
        fig = FIGURES[name](tables, version)
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, metadata=METADATA[fmt])
    return buf.getvalue()


def render_all(processed_dir: Path, fmt: str = "png", version: str | None = None) -> dict[str, bytes]:
    """Every figure as ``{file name: bytes}`` (nothing written)."""
    tables = read_inputs(processed_dir)
    version = version or data_version(processed_dir)
    return {f"{name}.{fmt}": render(name, tables, version, fmt) for name in FIGURES}


def make_figures(processed_dir, out_dir, fmt: str = "png") -> list[Path]:
    """Regenerate the reference figures from the tables in ``processed_dir`` into ``out_dir``.

    All figures are rendered in memory first, then each file is written atomically, so a failure
    leaves the existing figures as they were. Other files in ``out_dir`` (e.g. the figures in
    another format) are left alone. Returns the paths written, in reading order.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    rendered = render_all(Path(processed_dir), fmt)
    out_dir = Path(out_dir)
    paths = []
    for fname, data in rendered.items():
        path = out_dir / fname
        atomic_write_bytes(path, data)
        paths.append(path)
    return paths
