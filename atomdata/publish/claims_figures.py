"""Figures of the headline-claims tables (issue 8), in the style of ``figures.py``.

- ``trending_top_by_region``: composition by region of the top 10, 50 and 100 of the latest
  trending snapshot (100 % stacked bars, models counted in each segment). The Hub's own trending
  listing (``ranking = hub trending listing``) is preferred to a newer snapshot ranked within its
  sample, which is not the Hub's leaderboard; the subtitle says which one is drawn.
- ``cumulative_derivatives_top_root_orgs``: cumulative derivatives (relation ``all``) by month of
  creation for the five root organizations with the most derivatives, the count carried forward
  over months without new ones. Organizations the registry lacks (community namespaces where a
  chain leaves the snapshot, such as re-uploaders) are left out unless there is nothing else.

The helpers (figure frame, region colours and labels, legends, number formatting, graceful
degradation) are those of ``style.py``; rendering (fixed rcParams, no dates, deterministic bytes)
is ``figures.render``, which lists these figures after its own.
"""
from __future__ import annotations

import pandas as pd
from matplotlib.ticker import PercentFormatter

from ..vocab import REGIONS, TRENDING_RANKINGS
from .captions import derivatives_scope
from .style import (HUMAN, REGION_COLORS, REGION_LABELS, axes, framed, human, labelled_bars, month_index, no_data,
                    region_legend, regions_present, thin_ticks)

TABLES_USED = ("trending_by_country", "derivatives_by_root_org")

FIGURE_TOP_N = (10, 50, 100)
TOP_ROOTS = 5
_LINESTYLES = ("-", "--", ":", "-.")
_MARKERS = ("o", "s", "^", "D")


@framed("Hugging Face trending leaderboard by region of origin",
        "top 10, 50 and 100 models by the Hub's trending score (all pipelines), latest trending snapshot",
        "Table: trending_by_country (models, share); organizations not in the registry count as Unknown.",
        scope="every model the trending snapshot ranks, of any organization and pipeline (not the download charts' scope)")
def fig_trending_by_region(fig, t):
    tbc = t["trending_by_country"]
    d = tbc[tbc["top_n"].isin(FIGURE_TOP_N)]
    if d.empty:
        return no_data(fig, "trending_by_country has no snapshot with a top 10 by trending score\n"
                             "(take one with `atomdata ingest hub --trending 100`)")
    hub = d[d["ranking"] == TRENDING_RANKINGS[0]]
    pool = hub if not hub.empty else d
    latest = pool.sort_values(["date", "snapshot"], kind="stable").iloc[-1]
    snap, ranking = latest["snapshot"], latest["ranking"]
    d = pool[pool["snapshot"] == snap]
    counts = d.groupby(["top_n", "region"])["models"].sum().unstack("region", fill_value=0)
    tops = sorted(int(n) for n in counts.index)
    regions = [r for r in REGIONS if r in counts.columns]
    rows = list(reversed(tops))  # top 10 at the top
    y = list(range(len(rows)))
    ax = axes(fig, left=0.13, right=0.80)
    left = [0.0] * len(rows)
    for r in regions:
        n = [int(counts.loc[k, r]) for k in rows]
        vals = [c / k for c, k in zip(n, rows)]
        ax.barh(y, vals, 0.62, left=left, color=REGION_COLORS[r], label=REGION_LABELS[r], edgecolor="white", linewidth=0.6)
        for yi, lft, v, c in zip(y, left, vals, n):
            if v >= 0.045:
                ax.text(lft + v / 2, yi, f"{c}\n{v:.0%}", ha="center", va="center", fontsize=7.5, color="white", fontweight="bold")
        left = [a + b for a, b in zip(left, vals)]
    ax.set_yticks(y)
    ax.set_yticklabels([f"Top {k}" for k in rows])
    ax.set_xlim(0, 1)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.xaxis.grid(True)
    ax.set_xlabel("Share of the leaderboard's models (%; number of models in each segment)")
    ax.set_ylabel("Leaderboard (models by trending score)")
    date = pd.Timestamp(latest["date"]).strftime("%Y-%m-%d")
    what = ("the Hub's own trending listing" if ranking == TRENDING_RANKINGS[0]
            else "models ranked within the snapshot's sample (not the Hub's leaderboard)")
    ax.set_title(f"Snapshot {snap} ({date}): {what}", loc="left", fontsize=9, color="#444444")
    region_legend(ax, regions_present(regions))
    return fig


def _top_roots(a: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` root organizations with the most derivatives (registry ones first; ties by name)."""
    final = a.groupby("root_org").agg(total=("cumulative_derivatives", "max"), region=("region", "last")).reset_index()
    known = final[final["region"] != "unknown"]
    pool = known if not known.empty else final
    return pool.sort_values(["total", "root_org"], ascending=[False, True], kind="stable").head(n)


def _roots_source(t) -> str:
    """The source line, saying so where root namespaces the registry lacks are left out of the ranking."""
    dro = t["derivatives_by_root_org"]
    all_regions = dro.loc[dro["relation"] == "all", "region"]
    left_out = (all_regions == "unknown").any() and (all_regions != "unknown").any()
    return ("Table: derivatives_by_root_org (relation all; cumulative_derivatives carried forward over months without new ones)."
            + (" Root namespaces not in the organization registry (community re-uploads and fine-tunes whose own base the "
               "snapshots lack) are not ranked." if left_out else ""))


@framed(f"Cumulative derivatives of the {TOP_ROOTS} most derived-from root organizations",
        "fine-tunes, adapters, quantizations and merges by the organization of their root base model, by month of creation",
        _roots_source, scope=derivatives_scope("with a creation date and a root organization"))
def fig_cumulative_derivatives_by_root_org(fig, t):
    dro = t["derivatives_by_root_org"]
    a = dro[dro["relation"] == "all"]
    if a.empty:
        return no_data(fig, "derivatives_by_root_org has no derivative with a root organization")
    top = _top_roots(a, TOP_ROOTS)
    orgs = list(top["root_org"])
    a = a[a["root_org"].isin(orgs)]
    wide = a.pivot(index="month", columns="root_org", values="cumulative_derivatives").sort_index()
    region = dict(zip(top["root_org"], top["region"]))
    label = {o: f"{o} ({REGION_LABELS.get(region[o], region[o])})" for o in orgs}
    ax = axes(fig, left=0.09, right=0.74)
    ax.yaxis.grid(True)
    ax.yaxis.set_major_formatter(HUMAN)
    months = list(wide.index)
    if len(months) == 1:
        m = months[0]
        vals = [float(wide.loc[m, o]) for o in orgs]
        labelled_bars(ax, orgs, vals, [REGION_COLORS[region[o]] for o in orgs])
        ax.set_xlabel(f"Root organization, coloured by region (only month with derivatives: {m}; a bar chart until there are two)")
        region_legend(ax, regions_present(region[o] for o in orgs))
    else:
        first, last = month_index(months[0]), month_index(months[-1])
        xs = list(range(first, last + 1))
        full = wide.reindex([f"{x // 12:04d}-{x % 12 + 1:02d}" for x in xs]).ffill().fillna(0)
        per_region: dict[str, int] = {}
        for o in orgs:
            k = per_region.get(region[o], 0)
            per_region[region[o]] = k + 1
            vals = [float(v) for v in full[o]]
            ax.step(xs, vals, where="post", linewidth=2, color=REGION_COLORS[region[o]], linestyle=_LINESTYLES[k % 4],
                    label=label[o])
            ax.plot([xs[-1]], [vals[-1]], marker=_MARKERS[k % 4], markersize=5, color=REGION_COLORS[region[o]])
            ax.annotate(f" {o}: {human(vals[-1])}", (xs[-1], vals[-1]), fontsize=8, va="center", ha="left",
                        color=REGION_COLORS[region[o]])
        thin_ticks(ax, xs, list(full.index))
        ax.set_xlim(xs[0] - 0.5, xs[-1] + 0.5 + max(2, len(xs) // 8))
        ax.set_ylim(bottom=0)
        ax.set_xlabel("Month the derivative repo was created")
        ax.legend(title="Root organization (region)", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        if len(orgs) >= 2:  # when the final leader last passed the runner-up (e.g. Qwen passing meta-llama)
            lead, second = full[orgs[0]], full[orgs[1]]
            behind = [m for m, a_, b_ in zip(full.index, lead, second) if a_ <= b_]
            passed = next((m for m in full.index if m > behind[-1]), None) if behind else None
            if passed is not None:
                ax.set_title(f"{orgs[0]} passed {orgs[1]} in {passed}", loc="left", fontsize=9, color="#444444")
    ax.set_ylabel("Cumulative derivatives (count of repos)")
    return fig


#: file stem -> figure function, appended to figures.FIGURES
FIGURES = {
    "trending_top_by_region": fig_trending_by_region,
    "cumulative_derivatives_top_root_orgs": fig_cumulative_derivatives_by_root_org,
}
