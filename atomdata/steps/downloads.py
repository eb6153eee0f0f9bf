"""The download tables: ``model_downloads_monthly`` (per model and month, ``rules.boundaries``),
``downloads_by_country`` (the headline) and ``downloads_by_period`` (weeks, months or quarters).

The monthly table is made a month at a time as the readings go by (``rules.boundaries.PeriodWalker``)
and kept in the build's workspace (``workspace.MonthlyTable``): each month is validated as it
comes, and the tables built on it add its months into cells a month at a time
(``shares.MonthCells``), so memory follows a month, not the history.
"""
from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..issues import issue
from ..io import write_via_temp
from ..rules import boundaries
from ..rules.periods import period_label
from ..validate import validate_table
from . import cache, csv_texts, shares
from .step import Built
from .workspace import MonthlyTable


def walk_periods(readings, snaptab: pd.DataFrame, period: str, tolerance_days: int):
    """(period label, rows) of every period the readings measure, in order (lazily: periods the
    walker is told to ``skip`` before the first is asked give rows None), and the walker (its
    ``unmeasured_periods`` and snapshot ``names`` once the walk is done)."""
    walker = boundaries.PeriodWalker(snaptab, len(readings.ids), period, tolerance_days)

    def periods():
        for r in readings:
            yield from walker.feed(r, r.stale)
        yield from walker.finish()
    return periods(), walker


class _MonthKeys:
    """The cache name of each month's CSV text, the months asked in order: a hash of the readings up
    to the month's end boundary and its tolerance (name, date and sha256 of each, in (date, name)
    order: the months before share a prefix of the chain), the month, the tolerance, the typing
    and atomdata's source; led by the sha256 of the last of those readings. None for a month no
    reading can measure."""

    def __init__(self, snaps, typing, tolerance_days: int, readings):
        self.sha, self.tolerance = {s.name: s.sha256 for s in snaps}, tolerance_days
        self.names, self.dates = list(readings.names), np.asarray(readings.dates, dtype="datetime64[ns]")
        self.chain = hashlib.sha256(f"model_downloads_monthly {csv_texts.source_digest()} {typing.key} {tolerance_days}".encode())
        self.hashed = 0  # readings in the chain so far

    def last(self, label: str) -> np.datetime64:
        """The latest date of a reading that can stand for month ``label``'s end boundary."""
        return np.datetime64(pd.Timestamp(label) + pd.offsets.MonthBegin(1) + pd.Timedelta(days=self.tolerance), "ns")

    def name(self, label: str) -> str | None:
        # a later reading can stand for neither boundary: those up to here are a prefix of the readings
        upto = int(np.searchsorted(self.dates, self.last(label), side="right"))
        for name, date in zip(self.names[self.hashed:upto], self.dates[self.hashed:upto]):
            self.chain.update(f"{name} {date} {self.sha[name]}\n".encode())
        self.hashed = max(self.hashed, upto)
        if not upto:
            return None
        key = self.chain.copy()
        key.update(label.encode())
        return f"month-{self.sha[self.names[upto - 1]][:32]}-{key.hexdigest()[:32]}"


class _Damaged(Exception):
    """A month's rows in the cache could not be read back: the walk is made again without the cache."""


class _MonthRows:
    """The rows of the months a build has walked before, kept in the store's cache so that a build
    adding a month walks only the months the new snapshot ends: the month's text key
    (``_MonthKeys``) and the key of the id codes of the main snapshots up to the month's end
    (``cache.id_chain``). Models are kept as their first-appearance codes (``id_codes.IdCodes``),
    which those snapshots fix, and come back as this build's codes (id order: the rows' order is
    kept, as the models' ids sort alike). Entries are touched when used (``cache.prune``)."""

    def __init__(self, folder: Path, readings, snaps, main, typing, keys: _MonthKeys):
        self.folder, self.keys = Path(folder), keys
        self.rank, self.order = getattr(readings, "rank", None), getattr(readings, "order", None)
        main = set(main)
        main_snaps = [s for s in snaps if s.name in main]
        self.id_keys = cache.id_chain(main_snaps, typing) if self.rank is not None else []
        self.dates = np.array([np.datetime64(pd.Timestamp(s.date), "ns") for s in main_snaps], dtype="datetime64[ns]")

    def path(self, label: str, name: str | None) -> Path | None:
        if self.rank is None or name is None:
            return None
        # the last main snapshot dated up to the month's end: it and those before it number the month's models
        at = np.flatnonzero(self.dates <= self.keys.last(label))
        return self.folder / f"rows-{name.removeprefix('month-')}-{self.id_keys[at[-1]]}.npz" if len(at) else None

    def load(self, path: Path, snap_type) -> dict:
        try:
            with np.load(path, allow_pickle=False) as z:
                rows = {k: z[k] for k in MonthlyTable.FIELDS}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise _Damaged(path) from exc
        model, n = rows["model"], len(rows["model"])
        if any(len(v) != n for v in rows.values()) or (n and (model.min() < 0 or model.max() >= len(self.rank))):
            raise _Damaged(path)
        rows["model"] = self.rank[model]
        rows["start"], rows["end"] = rows["start"].astype(snap_type), rows["end"].astype(snap_type)
        try:
            os.utime(path)
        except OSError:
            pass
        return rows

    def store(self, path: Path, rows: dict) -> None:
        kept = dict(rows, model=self.order[rows["model"]])

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.savez(f, **kept)
        try:
            path.parent.mkdir(exist_ok=True)
            write_via_temp(path, write)
        except OSError:
            pass


def build_model_downloads_monthly(readings, snaptab: pd.DataFrame, tolerance_days: int, snaps, typing, main) -> Built:
    """Downloads per model per calendar month, a month at a time, and the months no boundary
    readings measure. Each month's CSV text and rows are kept in the store's cache under what they
    are a function of (``_MonthKeys``: the stale flags and the boundary picks read no later
    reading; ``_MonthRows``), so a build that adds a month walks and formats only the months whose
    readings changed."""
    if snaptab.empty:
        table = MonthlyTable(readings.workspace, readings.ids, None)
        return Built(table, [boundaries.off_boundary_issues(snaptab, "month", tolerance_days)])
    try:
        return _monthly(readings, snaptab, tolerance_days, snaps, typing, main, reuse=True)
    except _Damaged:  # a kept month that cannot be read back: every month walked
        return _monthly(readings, snaptab, tolerance_days, snaps, typing, main, reuse=False)


def _monthly(readings, snaptab, tolerance_days, snaps, typing, main, reuse: bool) -> Built:
    folder = snaps[0].path.parent / ".cache"
    periods, walker = walk_periods(readings, snaptab, "month", tolerance_days)
    keys = _MonthKeys(snaps, typing, tolerance_days, readings)
    kept = _MonthRows(folder, readings, snaps, main, typing, keys)
    names = {label: keys.name(label) for label in (period_label(b, "month") for b in walker.bounds[:-1])}
    paths = {label: kept.path(label, name) for label, name in names.items()}
    if reuse:
        walker.skip([label for label, path in paths.items() if path is not None and path.is_file()])
    table = MonthlyTable(readings.workspace, readings.ids, walker.snap_type)
    table.names = walker.names  # the walk names the snapshots as it reads them
    for label, rows in periods:
        name, walked = names[label], rows is not None
        if not walked:  # validated by the build that walked it: its rows are kept only then, named as its text
            rows = kept.load(paths[label], walker.snap_type)
        table.add(label, rows, csv_texts.text_path(folder, name) if name else None)
        if walked:
            validate_table("model_downloads_monthly", table.frame(len(table.labels) - 1))
            if paths[label] is not None:
                kept.store(paths[label], rows)
    return Built(table, [boundaries.unmeasured_issues(walker.unmeasured_periods(), "month"),
                         boundaries.off_boundary_issues(snaptab, "month", tolerance_days)])


def _coverage_groupings(models: pd.DataFrame, scope) -> list[tuple]:
    """The (grouping, mask) pairs of the coverage rows (``_coverage``) for ``Cells.sums_of``: the
    models the scope would count if every namespace were in the registry, by whether their
    organization is unmapped, and the unmapped among them by organization."""
    reach = scope.mask(models) if scope.models is not None else replace(scope, orgs="all").mask(models)
    unmapped = models["registry_org"].isna().to_numpy()
    return [(pd.DataFrame({"unmapped": unmapped}), reach), (models[["org"]], reach & unmapped)]


def _coverage(g: pd.DataFrame, by_org: pd.DataFrame) -> list[pd.DataFrame]:
    """``coverage`` (per month, the share of the downloads of the models the scope would count if
    every namespace were in the registry that come from registry organizations) and ``unmapped_org``
    (the others, with their downloads over all months), from the sums of ``_coverage_groupings``."""
    if g.empty:
        return []
    every = g.groupby("month")["downloads"].sum()
    cover = g[~g["unmapped"]].groupby("month")["downloads"].sum().reindex(every.index, fill_value=0) / every.clip(lower=1)
    um = by_org.dropna(subset=["org"]).groupby("org")["downloads"].sum()
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
    """The headline table and its coverage rows, summed in one pass over the monthly rows."""
    cells = shares.cells_of(model_downloads_monthly, models, values=shares.COUNTRY_VALUES)
    g, *coverage = cells.sums_of([shares.country_grouping(cells.models, scope), *_coverage_groupings(cells.models, scope)])
    return Built(shares.by_country(g, scope), _coverage(*coverage))


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
