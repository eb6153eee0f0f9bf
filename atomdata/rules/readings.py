"""Counter readings, snapshot by snapshot: the layout the stale and boundary rules walk.

Readings are rows (snapshot, date, model_id, downloads_all_time, downloads_30d), one per model per
snapshot. The rules never build a (snapshot x model) grid: they take the rows of one snapshot at
a time, with model ids as integer codes, so memory follows the rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

def snapshot_positions(readings: pd.DataFrame):
    """Code of each row's snapshot, the snapshots' names and dates, and their rank by (date, name).

    A snapshot name must carry one date, every row a snapshot and a model: readings that do not
    are refused (``ValueError``), never guessed at.
    """
    scode, snames = pd.factorize(readings["snapshot"])
    if (scode < 0).any():
        raise ValueError("readings: a row without a snapshot")
    # one date per snapshot: every row's date equals the date of its snapshot's first row (no sort)
    d = readings["date"].to_numpy()
    if d.dtype.kind != "M":
        d = pd.to_datetime(readings["date"]).to_numpy()
    dates = np.zeros(len(snames), dtype=d.dtype)
    dates[scode[::-1]] = d[::-1]  # the last write wins: the first row of each snapshot
    if not (dates[scode] == d).all():
        raise ValueError("readings: a snapshot with more than one date")
    names = np.asarray(snames.astype("string"), dtype=object)
    order = sorted(range(len(names)), key=lambda i: (dates[i], names[i]))
    pos = np.empty(len(names), dtype=np.int64)
    pos[order] = np.arange(len(names))
    return scode, names, dates, pos


def model_codes(ids: pd.Series):
    """Integer codes of the model ids in id order, and the ids they stand for (a categorical over
    sorted ids, as the build passes them, keeps its categories: codes need no hashing)."""
    if isinstance(ids.dtype, pd.CategoricalDtype) and ids.dtype.categories.is_monotonic_increasing and ids.notna().all():
        return ids.cat.codes.to_numpy(), ids.dtype.categories
    codes, uniq = pd.factorize(ids, sort=True)
    return codes, uniq


def small_int(n: int):
    """The narrowest signed integer type that holds codes 0 .. n - 1 and -1."""
    return np.int8 if n < 127 else np.int16 if n < 32_767 else np.int32


def rows_by_snapshot(scode: np.ndarray, n_snaps: int) -> list:
    """The rows of each snapshot code: slices where each snapshot's rows are contiguous (as the
    build makes them: no copy), else index arrays from one stable sort."""
    cuts = np.flatnonzero(scode[1:] != scode[:-1]) + 1
    if len(cuts) == n_snaps - 1:  # every code in one run
        edges = np.concatenate(([0], cuts, [len(scode)]))
        out = [None] * n_snaps
        for a, b in zip(edges[:-1], edges[1:]):
            out[scode[a]] = slice(int(a), int(b))
        return out
    order = np.argsort(scode, kind="stable")
    edges = np.concatenate(([0], np.cumsum(np.bincount(scode, minlength=n_snaps))))
    return [order[edges[j]:edges[j + 1]] for j in range(n_snaps)]


def layout(readings: pd.DataFrame):
    """The readings snapshot by snapshot: the rows of each snapshot, each row's model code, the
    snapshots' names, dates and rank by (date, name), and the model ids; None for no readings.
    A row without a model id, or a model read twice in one snapshot, is refused (``ValueError``).
    No (snapshot x model) grid is built, so memory follows the rows, not snapshots x models."""
    if not len(readings):
        return None
    scode, names, dates, pos = snapshot_positions(readings)
    codes, ids = model_codes(readings["model_id"])
    if (codes < 0).any():
        raise ValueError("readings: a row without a model id")
    groups = rows_by_snapshot(scode, len(names))
    seen = np.zeros(len(ids), dtype=bool)
    for rows in groups:
        c = codes[rows]
        seen[c] = True
        twice = int(np.count_nonzero(seen)) != len(c)
        seen[c] = False
        if twice:
            raise ValueError("readings: a model read twice in one snapshot")
    return groups, codes, names, dates, pos, ids


def counter(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A counter column's values (meaningless where missing) and validity, without a copy of the values."""
    a = s.array if isinstance(s.dtype, pd.Int64Dtype) else pd.array(s, dtype="Int64")
    return a._data, ~a._mask


@dataclass
class Reading:
    """One snapshot's counters: its position among the snapshots in (date, name) order, name,
    date, the codes of the models it reads, their all-time and 30-day counters (values, validity)
    and which all-time readings are stale (``stale.RunningMax`` over the snapshots before it)."""

    index: int
    name: str
    date: np.datetime64
    codes: np.ndarray
    at: np.ndarray
    at_ok: np.ndarray
    d30: np.ndarray
    d30_ok: np.ndarray
    stale: np.ndarray


class FrameReadings:
    """Readings held in a frame (snapshot, date, model_id, downloads_all_time, downloads_30d and
    ``stale``: flagged by ``stale.flag_stale``), as the rules walk them: snapshot by snapshot in
    (date, name) order. ``ids``: the model of each code; ``names``, ``dates``: the snapshots in
    that order."""

    def __init__(self, readings: pd.DataFrame):
        if len(readings) and "stale" not in readings.columns:
            raise ValueError("FrameReadings: readings without stale flags (flag them with stale.flag_stale first)")
        self.frame = readings
        lay = layout(readings)
        if lay is None:
            self.groups, self.codes, self.ids = [], np.zeros(0, dtype=np.int64), pd.Index([], dtype="string")
            self.names, self.dates, self.order = np.array([], dtype=object), np.array([], dtype="datetime64[ns]"), []
            return
        self.groups, self.codes, names, dates, pos, self.ids = lay
        self.order = list(np.argsort(pos, kind="stable"))
        self.names = np.asarray(names, dtype=object)[self.order]
        self.dates = np.asarray(dates, dtype="datetime64[ns]")[self.order]
        self.at, self.at_ok = counter(readings["downloads_all_time"])
        self.d30, self.d30_ok = counter(readings["downloads_30d"]) if "downloads_30d" in readings \
            else (self.at, np.zeros(len(self.at), dtype=bool))

    def __iter__(self):
        stale = self.frame["stale"].to_numpy(dtype=bool) if len(self.order) else None
        for i, j in enumerate(self.order):
            rows = self.groups[j]
            yield Reading(i, self.names[i], self.dates[i], self.codes[rows], self.at[rows], self.at_ok[rows],
                          self.d30[rows], self.d30_ok[rows], stale[rows])

