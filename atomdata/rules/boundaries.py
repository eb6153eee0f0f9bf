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
from .readings import counter, layout, small_int
from .stale import stale_pass

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


class Boundaries:
    """Every model's readings at a boundary, by walking the boundary's candidate snapshots nearest
    first (ties: the earlier, then the name). Only the readings and one boundary's model vectors
    are held, never a (snapshot x model) grid."""

    def __init__(self, readings: pd.DataFrame, lay, cand: pd.DataFrame, with_30d: bool):
        self.groups, self.codes, names, _, pos, ids = lay
        self.n = len(ids)
        self.at, self.at_ok = counter(readings["downloads_all_time"])
        self.d30, self.d30_ok = counter(readings["downloads_30d"]) if with_30d else (None, None)
        # the flags of flag_stale where the readings carry them already (the build's do), else the same rule here
        self.stale = readings["stale"].to_numpy(dtype=bool) if "stale" in readings.columns else \
            stale_pass(self.groups, self.codes, pos, self.at, self.at_ok, self.n)[0]
        col_of = {n: i for i, n in enumerate(names)}
        self.order_of = {}
        for b, g in cand.groupby("boundary", sort=False):
            g = g.sort_values(["distance", "offset", "snapshot"], kind="stable")
            self.order_of[b] = [col_of[n] for n in g["snapshot"] if n in col_of]
        self.snap_type = small_int(len(names))

    def at_boundary(self, b):
        """The snapshot of each model's all-time reading at ``b`` (-1: none) and its value, whether
        the nearest valid reading was stale (another stood in), and the snapshot and value of its
        30-day reading."""
        M = self.n
        chosen, value = np.full(M, -1, dtype=self.snap_type), np.zeros(M, dtype=np.int64)
        seen, substituted = np.zeros(M, dtype=bool), np.zeros(M, dtype=bool)
        c30, v30 = (np.full(M, -1, dtype=self.snap_type), np.zeros(M, dtype=np.int64)) if self.d30 is not None else (None, None)
        order = self.order_of.get(pd.Timestamp(b), [])
        for i, j in enumerate(order):
            rows = self.groups[j]
            c, v, st = self.codes[rows], self.at_ok[rows], self.stale[rows]
            # the first candidate finds every model still open (no look-ups); later ones only the rest
            take = v & ~st if i == 0 else v & ~st & (chosen[c] < 0)
            got = c[take]
            chosen[got] = j
            value[got] = self.at[rows][take]
            nearest = v if i == 0 else v & ~seen[c]
            substituted[c[nearest & st]] = True
            if i + 1 < len(order):
                seen[c[v]] = True
            if self.d30 is not None:
                take = self.d30_ok[rows] if i == 0 else self.d30_ok[rows] & (c30[c] < 0)
                got = c[take]
                c30[got] = j
                v30[got] = self.d30[rows][take]
        return chosen, value, substituted, c30, v30


def _period_rows(start, end, at_start, at_end, dates, month: bool) -> dict | None:
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


def _table(parts: list[dict], labels: list[str], ids, names, snap_type) -> pd.DataFrame:
    """The per-model table from the periods' rows; every text column a categorical (a row per model
    and period), model ids a categorical over the ids: later steps look models up by code."""
    # one column at a time, dropping its pieces as it goes: the pieces and the whole are never all held
    c = {k: np.concatenate([p.pop(k) for p in parts]) for k in list(parts[0])}
    # rows are in period order, then model-code (= id) order; restore the (period, id) order if labels are not sorted
    if labels != sorted(labels):
        o = np.lexsort((c["model"], np.asarray(labels, dtype=object).argsort().argsort()[c["period"]]))
        c = {k: v[o] for k, v in c.items()}
    return pd.DataFrame({
        "period": _categorical(c["period"], labels),
        "model_id": pd.Categorical.from_codes(c["model"].astype(np.int32, copy=False), categories=pd.Index(ids, dtype="string")),
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
    snaps = snapshots[["snapshot", "date"]].drop_duplicates().sort_values("date")
    lay = layout(readings) if not snaps.empty else None
    if lay is None:
        return pd.DataFrame(columns=COLUMNS), pd.DataFrame(columns=["period", "detail"])
    month = period == "month"
    bounds, added = measured_starts(snaps["date"].min().date(), snaps["date"].max().date(), period, tolerance_days)
    cand = boundary_candidates(snaps, bounds, tolerance_days)
    walk = Boundaries(readings, lay, cand, with_30d=month)
    dates = np.asarray(lay[3], dtype="datetime64[ns]")
    parts, labels, unmeasured = [], [], []
    at_start = walk.at_boundary(bounds[0]) if bounds else None
    for start, end in zip(bounds[:-1], bounds[1:]):
        at_end = walk.at_boundary(end)
        rows = _period_rows(start, end, at_start, at_end, dates, month)
        at_start = at_end  # the next period starts where this one ends
        if rows is None:
            missing = [str(b) for b in (start, end) if not (cand["boundary"] == pd.Timestamp(b)).any()]
            why = (f"no snapshot within {tolerance_days} days of {', '.join(missing)}" if missing
                   else "no model has usable readings at both boundaries")
            unmeasured.append({"period": period_label(start, period), "detail": why})
            continue
        parts.append({"period": np.full(len(rows["model"]), len(labels), dtype=small_int(len(bounds))), **rows})
        labels.append(period_label(start, period))
    if not labels:
        return pd.DataFrame(columns=COLUMNS), asked(unmeasured, added)
    return _table(parts, labels, lay[5], lay[2], walk.snap_type), asked(unmeasured, added)


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
