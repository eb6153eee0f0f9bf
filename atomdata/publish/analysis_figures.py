"""Figures of the analyses beyond the headline (issue 7), in the style of ``figures.py``.

- ``downloads_by_size_and_region``: for each parameter-count bucket, the share of its downloads
  by region of origin (100 % stacked), with the bucket's downloads above each bar;
- ``adoption_momentum_recent_releases``: the most recent first-party releases, each at the
  latest age the snapshots measure, scored against the 10th-best model of the same size bucket
  at the same age. A model that is its own reference (``own_reference``: no peer yet, or itself
  the reference peer) has no score: no bar, a line saying why.

The helpers (figure frame, legends, stacked bars, number formatting) are those of ``style.py``;
rendering (fixed rcParams, no dates, deterministic bytes) is ``figures.render``, which lists these
figures after its own.
"""
from __future__ import annotations

import pandas as pd

from ..vocab import SIZE_BUCKETS, SIZE_UNKNOWN
from .captions import month_label, month_windows, table_scope
from .style import (REGION_COLORS, axes, framed, human, no_data, note, region_legend, regions_present,
                    stacked_share_bars)

TABLES_USED = ("downloads_by_size", "adoption_momentum", "model_downloads_monthly", "downloads_by_country")


@framed("Downloads by model size and region of origin",
        "share of each size bucket's downloads, latest month, in-scope first-party models; downloads above bars",
        "Table: downloads_by_size (parameters from safetensors, raw/model_sizes.csv, else the repo name).",
        scope=lambda t: table_scope(t["downloads_by_size"], "the headline scope (downloads_by_size has no scope column)"))
def fig_downloads_by_size(fig, t):
    dbs = t["downloads_by_size"]
    if dbs.empty:
        return no_data(fig, "downloads_by_size has no measured month yet")
    month = dbs["month"].max()
    d = dbs[dbs["month"] == month]
    totals = d.groupby("size_bucket")["downloads"].sum()
    totals = totals[totals > 0]
    if totals.empty:
        return no_data(fig, f"no downloads recorded in {month}")
    order = [b for b in [*SIZE_BUCKETS, SIZE_UNKNOWN] if b in totals.index]
    wide = d.groupby(["size_bucket", "region"])["downloads"].sum().unstack("region").reindex(order).astype("Float64")
    shares = wide.div(totals.reindex(order).astype("Float64"), axis=0)
    ax = axes(fig)
    stacked_share_bars(ax, shares, totals.reindex(order), lambda v: human(float(v)))
    ax.set_xlabel("Parameter count (total, billions)")
    ax.set_ylabel("Share of the bucket's downloads (%)")
    note(ax, f"Latest month measured: {month_label(month, month_windows(t['model_downloads_monthly']))}")
    return fig


def own_reference(am: pd.DataFrame) -> pd.Series:
    """True on the rows whose score is computed against the model itself: no other model of its size
    bucket measured at that age (``n_peers`` 1), or the model is the reference peer (its rank among
    the table's rows of its size bucket and age, downloads descending then id as the build ranks
    them, is ``reference_rank``). Where the table lacks some of a group's peers, a model level with
    its reference counts as its own."""
    if am.empty:
        return pd.Series(False, index=am.index, dtype=bool)
    keys = ["size_bucket", "age_days"]
    o = am.sort_values(keys + ["cumulative_downloads", "model_id"], ascending=[True, True, False, True], kind="stable")
    grp = o.groupby(keys, sort=False, observed=True, dropna=False)
    rank, size = grp.cumcount() + 1, grp["model_id"].transform("size")
    complete = (size == o["n_peers"]).fillna(False)
    is_ref = (rank == o["reference_rank"]).fillna(False)
    level = (o["cumulative_downloads"] == o["reference_downloads"]).fillna(False)
    own = (o["n_peers"] == 1).fillna(False) | (complete & is_ref) | (~complete & level)
    return own.reindex(am.index).astype(bool)


def _momentum_label(r) -> str:
    """The text beside a model's bar: its score, or why it has none."""
    where = f"{human(float(r.cumulative_downloads))} at {int(r.age_days)} d"
    if not r.own:
        return f" {float(r.relative_score):.2g}x [{int(r.n_peers)}]  ({where})"
    if int(r.n_peers) == 1:
        return f" no peers yet: the only {r.size_bucket} model measured at {int(r.age_days)} d  ({where})"
    rank = "the weakest" if int(r.reference_rank) == int(r.n_peers) else f"rank {int(r.reference_rank)}"
    return f" no score: its own reference, {rank} of {int(r.n_peers)} peers  ({where})"


def _momentum_scope(t) -> str:
    return (f"the headline scope ({table_scope(t['downloads_by_country'], 'see downloads_by_country')}): "
            "models with a creation date, 7 to 365 days after it")


@framed("Adoption momentum of recent releases",
        "downloads at age N / the 10th-best same-size peer's (the weakest if fewer); [n] peers",
        "Table: adoption_momentum (relative_score at the latest age measured).", scope=_momentum_scope)
def fig_adoption_momentum(fig, t, top_n=15):
    am = t["adoption_momentum"]
    d = am.assign(own=own_reference(am)).dropna(subset=["relative_score"])
    if d.empty:
        return no_data(fig, "adoption_momentum has no model measured at 7 to 365 days after creation")
    latest = d.sort_values(["model_id", "age_days"], kind="stable").drop_duplicates("model_id", keep="last")
    recent = latest.sort_values(["created_at", "model_id"], ascending=[False, True], kind="stable").head(top_n).iloc[::-1]
    ax = axes(fig, left=0.42, right=0.80)
    y = list(range(len(recent)))
    scored = [(yi, float(r.relative_score), r.region) for yi, r in zip(y, recent.itertuples()) if not r.own]
    ax.barh([s[0] for s in scored], [s[1] for s in scored], 0.7, color=[REGION_COLORS.get(s[2], "#999999") for s in scored])
    for yi, r in zip(y, recent.itertuples()):
        ax.text(0 if r.own else float(r.relative_score), yi, _momentum_label(r), va="center", ha="left", fontsize=7.5,
                color="#333333" if int(r.n_peers) >= 10 and not r.own else "#888888", style="italic" if r.own else "normal")
    ax.axvline(1.0, color="#333333", linewidth=0.8, linestyle="--")
    ax.set_yticks(y)
    ax.set_yticklabels([f"{m.split('/')[-1]} [{b}, {c:%Y-%m-%d}]" for m, b, c in zip(recent["model_id"], recent["size_bucket"], recent["created_at"])],
                       fontsize=7.5)
    top = max((s[1] for s in scored), default=0.0)
    ax.set_xlim(0, top * 1.35 if top > 0 else 2)
    ax.xaxis.grid(True)
    ax.set_xlabel("Relative adoption score (cumulative downloads / reference peer's, ratio; grey: fewer than 10 peers)")
    ax.set_ylabel("Model repo [size bucket, created]")
    n_own = int(recent["own"].sum())
    note(ax, f"{len(recent)} most recent of {latest['model_id'].nunique()} releases measured"
             + (f"; {n_own} without a bar: scored against themselves (no peers yet, or the reference peer)" if n_own else ""))
    region_legend(ax, regions_present(recent.loc[~recent["own"], "region"]))
    return fig


#: file stem -> figure function, appended to figures.FIGURES
FIGURES = {
    "downloads_by_size_and_region": fig_downloads_by_size,
    "adoption_momentum_recent_releases": fig_adoption_momentum,
}

__all__ = ["FIGURES", "TABLES_USED"]
