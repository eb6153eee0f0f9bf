"""The download tables: ``model_downloads_monthly`` (per model and month, ``rules.boundaries``),
``downloads_by_country`` (the headline) and ``downloads_by_period`` (weeks, months or quarters).

The monthly table is made a month at a time as the readings go by (``rules.boundaries.PeriodWalker``)
and kept in the build's workspace (``workspace.MonthlyTable``): each month is validated as it
comes, and the tables built on it add its months into cells a month at a time
(``shares.MonthCells``), so memory follows a month, not the history.
"""
from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pandas as pd

from ..issues import issue
from ..rules import boundaries
from ..validate import validate_table
from . import csv_texts, shares
from .step import Built
from .workspace import MonthlyTable


def walk_periods(readings, snaptab: pd.DataFrame, period: str, tolerance_days: int):
    """(period label, rows) of every period the readings measure, in order, and the walker (its
    ``unmeasured_periods`` and snapshot ``names`` once the walk is done)."""
    walker = boundaries.PeriodWalker(snaptab, len(readings.ids), period, tolerance_days)

    def periods():
        for r in readings:
            yield from walker.feed(r, r.stale)
        yield from walker.finish()
    return periods(), walker


class _MonthKeys:
    """The cache name of each month's CSV text, the months asked in order: a hash of the readings up
    to the month's end boundary and its tolerance (name, date and sha256 of each, in the order the
    walk read them: the months before share a prefix of the chain), the month, the tolerance, the
    typing and atomdata's source; led by the sha256 of the last of those readings."""

    def __init__(self, snaps, typing, tolerance_days: int, walker):
        self.sha, self.tolerance, self.walker = {s.name: s.sha256 for s in snaps}, tolerance_days, walker
        self.chain = hashlib.sha256(f"model_downloads_monthly {csv_texts.source_digest()} {typing.key} {tolerance_days}".encode())
        self.hashed = 0  # readings in the chain so far

    def name(self, label: str) -> str:
        # a later reading can stand for neither boundary: those up to here are a prefix of those read (date order)
        walker = self.walker
        last = np.datetime64(pd.Timestamp(label) + pd.offsets.MonthBegin(1) + pd.Timedelta(days=self.tolerance), "ns")
        upto = int(np.searchsorted(np.asarray(walker.dates, dtype="datetime64[ns]"), last, side="right"))
        for name, date in zip(walker.names[self.hashed:upto], walker.dates[self.hashed:upto]):
            self.chain.update(f"{name} {date} {self.sha[name]}\n".encode())
        self.hashed = max(self.hashed, upto)
        key = self.chain.copy()
        key.update(label.encode())
        return f"month-{self.sha[walker.names[upto - 1]][:32]}-{key.hexdigest()[:32]}"


def build_model_downloads_monthly(readings, snaptab: pd.DataFrame, tolerance_days: int, snaps, typing) -> Built:
    """Downloads per model per calendar month, a month at a time, and the months no boundary
    readings measure. Each month's CSV text is kept in the store's cache under what its rows are
    a function of (``_MonthKeys``: the stale flags and the boundary picks read no later reading),
    so a build that adds a month formats only the months whose readings changed."""
    if snaptab.empty:
        table = MonthlyTable(readings.workspace, readings.ids, None)
        return Built(table, [boundaries.off_boundary_issues(snaptab, "month", tolerance_days)])
    periods, walker = walk_periods(readings, snaptab, "month", tolerance_days)
    table = MonthlyTable(readings.workspace, readings.ids, walker.snap_type)
    table.names = walker.names  # the walk names the snapshots as it reads them
    keys = _MonthKeys(snaps, typing, tolerance_days, walker)
    for label, rows in periods:
        table.add(label, rows, csv_texts.text_path(snaps[0].path.parent / ".cache", keys.name(label)))
        validate_table("model_downloads_monthly", table.frame(len(table.labels) - 1))
    return Built(table, [boundaries.unmeasured_issues(walker.unmeasured_periods(), "month"),
                         boundaries.off_boundary_issues(snaptab, "month", tolerance_days)])


def _coverage(table, models: pd.DataFrame, scope) -> list[pd.DataFrame]:
    """``coverage`` (per month, the share of the downloads of the models the scope would count if
    every namespace were in the registry that come from registry organizations) and ``unmapped_org``
    (the others, with their downloads over all months)."""
    reach = scope.mask(models) if scope.models is not None else replace(scope, orgs="all").mask(models)
    cells = shares.cells_of(table, models)
    unmapped = cells.models["registry_org"].isna().to_numpy()
    g = cells.sums(pd.DataFrame({"unmapped": unmapped}), reach)
    if g.empty:
        return []
    every = g.groupby("month")["downloads"].sum()
    cover = g[~g["unmapped"]].groupby("month")["downloads"].sum().reindex(every.index, fill_value=0) / every.clip(lower=1)
    um = cells.sums(cells.models[["org"]], reach & unmapped).dropna(subset=["org"]).groupby("org")["downloads"].sum()
    um = um.sort_values(ascending=False)
    return [issue("coverage", month=cover.index, value=cover.astype("Float64").to_numpy(),
                  detail="share of the downloads of the models the scope counts (every namespace taken as mapped) "
                         "whose organization is in the registry",
                  action="unmapped organizations are outside presets limited to registry organizations (default) and "
                         "listed as unmapped_org"),
            issue("unmapped_org", org=um.index.astype("string"), value=um.astype("Float64").to_numpy(),
                  detail="organization not in the registry; value = downloads over all measured months of its models the scope would count",
                  action="region unknown; outside presets limited to registry organizations (default)")]


def build_downloads_by_country(model_downloads_monthly, models: pd.DataFrame, scope) -> Built:
    return Built(shares.downloads_by_country(model_downloads_monthly, models, scope), _coverage(model_downloads_monthly, models, scope))


def build_downloads_by_period(readings, snaptab, models, scope, period, tolerance_days, downloads_by_country) -> Built:
    """Downloads by country per ``period``; for months, the rows of ``downloads_by_country``."""
    found = []
    if period == "month":
        g = downloads_by_country.rename(columns={"month": "period"})
    else:
        periods, walker = walk_periods(readings, snaptab, period, tolerance_days) if not snaptab.empty else ([], None)
        parts = [shares.downloads_by_country(boundaries.period_table([rows], [label], readings.ids, walker.names, walker.snap_type)
                                             .rename(columns={"period": "month"}), models, scope) for label, rows in periods]
        empty = pd.DataFrame(columns=boundaries.COLUMNS).rename(columns={"period": "month"})
        g = (pd.concat(parts, ignore_index=True) if parts else shares.downloads_by_country(empty, models, scope)).rename(columns={"month": "period"})
        if walker is not None:
            found.append(boundaries.unmeasured_issues(walker.unmeasured_periods(), period))
    g.insert(0, "period_type", period)
    return Built(g, found)
