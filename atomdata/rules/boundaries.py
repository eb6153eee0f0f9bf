"""Downloads per model per period: which reading stands at a period boundary, written once.

    downloads(model, P) = allTime(end boundary) - allTime(start boundary)

where allTime(boundary) is the model's counter in the snapshot nearest the boundary within a
tolerance (default 3 days; ties go to the earlier snapshot), never a stale reading: the nearest
valid reading stands in (``stale_reading_skipped``). Where a model has no all-time counter at both
boundaries of a month but a 30-day counter near its end, that count stands in (``rolling_30d``).
A period without readings near both boundaries is not measured: it is reported, never invented.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ..issues import issue
from ..vocab import METHODS, STALE_FLAG, TOLERANCE_DAYS
from .periods import asked, measured_starts, period_label, period_starts
from .readings import FrameReadings, Reading, small_int
from .stale import flag_stale

COLUMNS = ["period", "model_id", "downloads", "method", "start_snapshot", "end_snapshot", "all_time_end", "flags"]


def boundary_candidates(snapshots: pd.DataFrame, boundaries: list[dt.date], tolerance_days: int) -> pd.DataFrame:
    """(snapshot, boundary, distance, offset) for every snapshot within the tolerance of a boundary."""
    rows = []
    for b in boundaries:
        dist = (snapshots["date"] - pd.Timestamp(b)).dt.days
        near = snapshots[dist.abs() <= tolerance_days]
        for name, d in zip(near["snapshot"], dist[dist.abs() <= tolerance_days]):
            rows.append((name, b, abs(int(d)), int(d)))
    out = pd.DataFrame(rows, columns=["snapshot", "boundary", "distance", "offset"])
    # boundaries as datetime64, not Python dates: comparisons stay vectorised
    out["boundary"] = pd.to_datetime(out["boundary"]) if len(out) else pd.Series([], dtype="datetime64[ns]")
    return out


class _Pick:
    """Every model's reading at one boundary, taken as the snapshots arrive in (date, name) order:
    a reading replaces the one held only when strictly nearer, so the pick is the first in
    (distance, earlier snapshot, name) order. The all-time reading is the nearest valid one that is
    not stale; ``substituted``: the nearest valid reading was stale (another stood in); the 30-day
    reading is the nearest valid one."""

    FAR = np.iinfo(np.int16).max

    def __init__(self, n: int, snap_type, with_30d: bool):
        self.chosen, self.value = np.full(n, -1, dtype=snap_type), np.zeros(n, dtype=np.int64)
        self.dist, self.near = np.full(n, self.FAR, dtype=np.int16), np.full(n, self.FAR, dtype=np.int16)
        self.near_stale = np.zeros(n, dtype=bool)
        self.c30 = np.full(n, -1, dtype=snap_type) if with_30d else None
        self.v30 = np.zeros(n, dtype=np.int64) if with_30d else None
        self.d30 = np.full(n, self.FAR, dtype=np.int16) if with_30d else None

    def take(self, r: Reading, dist: int, stale: np.ndarray) -> None:
        c, ok = r.codes, r.at_ok
        better = ok & ~stale & (dist < self.dist[c])
        got = c[better]
        self.chosen[got], self.value[got], self.dist[got] = r.index, r.at[better], dist
        near = ok & (dist < self.near[c])
        self.near[c[near]], self.near_stale[c[near]] = dist, stale[near]
        if self.c30 is not None:
            better = r.d30_ok & (dist < self.d30[c])
            got = c[better]
            self.c30[got], self.v30[got], self.d30[got] = r.index, r.d30[better], dist

    def result(self):
        return self.chosen, self.value, self.near_stale, self.c30, self.v30


class PeriodWalker:
    """Downloads per model per period from readings fed one snapshot at a time, in (date, name)
    order: each snapshot is a candidate of the boundaries within the tolerance, and a period's
    rows come out once the snapshots can no longer change its end boundary. Only the boundaries
    still open are held (one vector per model each), never a (snapshot x model) grid."""

    def __init__(self, snapshots: pd.DataFrame, n_models: int, period: str = "month", tolerance_days: int = TOLERANCE_DAYS):
        snaps = snapshots[["snapshot", "date"]].drop_duplicates().sort_values("date")
        self.n, self.period, self.tolerance = n_models, period, tolerance_days
        self.bounds, self.added = measured_starts(snaps["date"].min().date(), snaps["date"].max().date(), period, tolerance_days)
        self.cand = boundary_candidates(snaps, self.bounds, tolerance_days)
        self.of_snapshot = {n: list(zip(g["boundary"], g["distance"])) for n, g in self.cand.groupby("snapshot", sort=False)}
        self.snap_type = small_int(len(snaps) + 1)
        self.picks: dict = {}  # boundary -> _Pick, while it is open or still needed
        self.names, self.dates = [], []
        self.next_period, self.unmeasured = 0, []
        self.skipped: set[str] = set()

    def skip(self, labels) -> None:
        """Periods whose rows the caller already has (the store's cache): ``feed`` and ``finish``
        give them as (label, None), and a boundary is picked only where a period not skipped
        needs it (a reading near no such boundary is not read)."""
        self.skipped = set(labels)
        need = {pd.Timestamp(b) for s, e in zip(self.bounds, self.bounds[1:])
                if period_label(s, self.period) not in self.skipped for b in (s, e)}
        self.of_snapshot = {n: [(b, d) for b, d in v if b in need] for n, v in self.of_snapshot.items()}

    def _pick(self, b) -> _Pick:
        if b not in self.picks:
            self.picks[b] = _Pick(self.n, self.snap_type, self.period == "month")
        return self.picks[b]

    def feed(self, r: Reading, stale: np.ndarray) -> list[tuple[str, dict | None]]:
        """Take snapshot ``r`` (``stale``: its stale flags); return the periods it completes (rows
        None: a period skipped)."""
        self.names.append(r.name)
        self.dates.append(np.datetime64(r.date, "ns"))
        for b, dist in self.of_snapshot.get(r.name, ()):
            self._pick(b).take(r, int(dist), stale)
        return self._complete(np.datetime64(r.date, "D"))

    def finish(self) -> list[tuple[str, dict | None]]:
        """The periods left once every snapshot is in."""
        return self._complete(None)

    def _complete(self, today) -> list[tuple[str, dict | None]]:
        out = []
        while self.next_period + 1 < len(self.bounds):
            start, end = self.bounds[self.next_period], self.bounds[self.next_period + 1]
            if today is not None and today <= np.datetime64(end, "D") + np.timedelta64(self.tolerance, "D"):
                break  # a later snapshot may still stand for its end boundary
            label = period_label(start, self.period)
            if label in self.skipped:
                out.append((label, None))
            elif (rows := self._period(start, end)) is None:
                missing = [str(b) for b in (start, end) if not (self.cand["boundary"] == pd.Timestamp(b)).any()]
                why = (f"no snapshot within {self.tolerance} days of {', '.join(missing)}" if missing
                       else "no model has usable readings at both boundaries")
                self.unmeasured.append({"period": label, "detail": why})
            else:
                out.append((label, rows))
            self.picks.pop(pd.Timestamp(start), None)  # no later period starts there
            self.next_period += 1
        return out

    def _period(self, start, end) -> dict | None:
        if not self.dates:
            return None
        month = self.period == "month"
        at_start = self.picks.get(pd.Timestamp(start)) or _Pick(self.n, self.snap_type, month)
        at_end = self.picks.get(pd.Timestamp(end)) or _Pick(self.n, self.snap_type, month)
        return _period_rows(at_start.result(), at_end.result(), np.asarray(self.dates, dtype="datetime64[ns]"), month)

    def unmeasured_periods(self) -> pd.DataFrame:
        return asked(self.unmeasured, self.added)


def _period_rows(at_start, at_end, dates, month: bool) -> dict | None:
    """The rows of one period (columns of integer codes) from its two boundaries' readings; None
    when no model has usable readings at both (or a 30-day reading at the end of a month)."""
    s, s_val, s_sub = at_start[:3]
    e, e_val, e_sub, e30, v30 = at_end
    both = (s >= 0) & (e >= 0)
    both &= dates[np.maximum(e, 0)] > dates[np.maximum(s, 0)]
    roll = (e30 >= 0) & ~both if month else np.zeros(len(s), dtype=bool)
    rows = np.flatnonzero(both | roll)
    if not len(rows):
        return None
    rb, sr, er = both[rows], s[rows], e[rows]
    at_end_val = e_val[rows]
    return {"model": rows.astype(np.int32),  # narrow integer columns: rows are models x months
            "downloads": np.where(rb, at_end_val - s_val[rows], v30[rows] if month else 0),
            "method": np.where(rb, 0, 1).astype(np.int8),
            "start": np.where(rb, sr, -1), "end": np.where(rb, er, e30[rows]) if month else er,
            "at_end": at_end_val, "at_end_ok": er >= 0, "flag": rb & (s_sub[rows] | e_sub[rows])}


def _categorical(codes, values):
    """A categorical over sorted ``values`` (text stored once, a code per row)."""
    values = np.asarray(values, dtype=object)
    order = np.argsort(values, kind="stable")
    small = small_int(len(values))  # the code type pandas keeps for this many categories: no copy
    codes = np.asarray(codes)
    if (order != np.arange(len(values))).any():  # values not sorted yet: renumber the codes
        rank = np.empty(len(values), dtype=small)
        rank[order] = np.arange(len(values))
        codes = np.where(codes >= 0, rank[np.maximum(codes, 0)], small(-1))
    return pd.Categorical.from_codes(codes.astype(small, copy=False),
                                     categories=pd.Index(values[order], dtype="string"), ordered=True)


def id_dtype(ids) -> pd.CategoricalDtype:
    """The categorical type of model ids over ``ids`` (sorted, unique). Made once and passed as
    ``ids`` by a caller that makes many tables over the same ids: checking that millions of
    categories are unique takes a second each time a new one is made."""
    return ids if isinstance(ids, pd.CategoricalDtype) else pd.CategoricalDtype(pd.Index(ids, dtype="string"))


def period_table(parts: list[dict], labels: list[str], ids, names, snap_type) -> pd.DataFrame:
    """The per-model table from the periods' rows; every text column a categorical (a row per model
    and period), model ids a categorical over the ids: later steps look models up by code."""
    # one column at a time, dropping its pieces as it goes: the pieces and the whole are never all held
    for i, p in enumerate(parts):
        p["period"] = np.full(len(p["model"]), i, dtype=small_int(len(parts) + 1))
    c = {k: np.concatenate([p.pop(k) for p in parts]) for k in list(parts[0])}
    # rows are in period order, then model-code (= id) order; restore the (period, id) order if labels are not sorted
    if labels != sorted(labels):
        o = np.lexsort((c["model"], np.asarray(labels, dtype=object).argsort().argsort()[c["period"]]))
        c = {k: v[o] for k, v in c.items()}
    return pd.DataFrame({
        "period": _categorical(c["period"], labels),
        "model_id": pd.Categorical.from_codes(c["model"].astype(np.int32, copy=False), dtype=id_dtype(ids)),
        "downloads": pd.arrays.IntegerArray(c["downloads"], np.zeros(len(c["model"]), dtype=bool)),
        "method": _categorical(c["method"], METHODS),
        "start_snapshot": _categorical(c["start"].astype(snap_type), list(names)),
        "end_snapshot": _categorical(c["end"].astype(snap_type), list(names)),
        "all_time_end": pd.arrays.IntegerArray(c["at_end"], ~c["at_end_ok"]),
        "flags": _categorical(np.where(c["flag"], np.int8(0), np.int8(-1)), [STALE_FLAG]),
    }, copy=False)  # the columns are this function's own arrays: no second copy of models x months rows


def downloads_per_period(readings: pd.DataFrame, snapshots: pd.DataFrame, period: str = "month",
                         tolerance_days: int = TOLERANCE_DAYS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-model downloads per period and the periods that could not be measured.

    ``readings``: snapshot, date, model_id, downloads_all_time, downloads_30d (one row per model
    per snapshot; flagged by ``stale.flag_stale`` or not). ``snapshots``: snapshot, date.
    Returns (per_model, unmeasured periods with their reason)."""
    snaps = snapshots[["snapshot", "date"]].drop_duplicates()
    if snaps.empty or readings.empty:
        return pd.DataFrame(columns=COLUMNS), pd.DataFrame(columns=["period", "detail"])
    frame = FrameReadings(flag_stale(readings))
    walker = PeriodWalker(snaps, len(frame.ids), period, tolerance_days)
    parts, labels = [], []
    for r in frame:
        for label, rows in walker.feed(r, r.stale):
            parts.append(rows), labels.append(label)
    for label, rows in walker.finish():
        parts.append(rows), labels.append(label)
    if not labels:
        return pd.DataFrame(columns=COLUMNS), walker.unmeasured_periods()
    return period_table(parts, labels, frame.ids, walker.names, walker.snap_type), walker.unmeasured_periods()


def unmeasured_issues(unmeasured: pd.DataFrame, period: str) -> pd.DataFrame:
    """``period_not_measured`` rows: a month's row names its month."""
    month = period == "month"
    return issue("period_not_measured", month=unmeasured["period"] if month else None,
                 detail=period + " " + unmeasured["period"].astype(str) + ": " + unmeasured["detail"].astype(str),
                 action="no downloads reported for it; nothing invented" if month
                 else "no downloads reported for it in downloads_by_period; nothing invented")


def off_boundary_issues(snaptab: pd.DataFrame, period: str, tolerance_days: int) -> pd.DataFrame:
    """``snapshot_off_boundary`` rows: counter snapshots farther than the tolerance from every
    boundary of ``period`` (they serve to detect stale counters only)."""
    if snaptab.empty:
        return issue("snapshot_off_boundary", [], [])
    bounds = period_starts(snaptab["date"].min().date(), snaptab["date"].max().date(), period)
    nearest = [min(abs((pd.Timestamp(b) - d).days) for b in bounds) for d in snaptab["date"]]
    off = [(n, d) for n, d in zip(snaptab["snapshot"], nearest) if d > tolerance_days]
    return issue("snapshot_off_boundary", snapshot=[n for n, _ in off], value=[float(d) for _, d in off],
                 detail=[f"{d} days from the nearest {period} boundary (tolerance {tolerance_days})" for _, d in off],
                 action="used only to detect stale counters, not as a boundary reading")
