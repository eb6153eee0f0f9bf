"""Downloads per model per period from dated counter readings.

The Hub publishes only current counters. Downloads in a period are the all-time counter at the
snapshot nearest the period's end boundary minus the one nearest its start boundary, each within
a tolerance (default 3 days). Where a model has no all-time counter, the 30-day counter at the
end boundary may stand in for a calendar month (``rolling_30d``). A period without readings near
both boundaries is not measured: it is reported, never invented.

A reading lower than an earlier reading of the same model is stale (the Hub's counters only
grow; the shared 2026-08-03 snapshot is a real case of stale cached counters). Stale readings
are flagged and never used as a boundary, so downloads can never come out negative.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .ids import lookup

PERIODS = ("month", "week", "quarter")


def period_starts(first: dt.date, last: dt.date, period: str = "month") -> list[dt.date]:
    """Every period boundary from the one at or before ``first`` to the one after ``last``."""
    if period == "month":
        freq, start = "MS", dt.date(first.year, first.month, 1)
    elif period == "quarter":
        freq, start = "QS", dt.date(first.year, 3 * ((first.month - 1) // 3) + 1, 1)
    elif period == "week":
        freq, start = "W-MON", first - dt.timedelta(days=first.weekday())
    else:
        raise ValueError(f"unknown period {period!r}; choose one of {PERIODS}")
    rng = pd.date_range(start, pd.Timestamp(last) + pd.offsets.DateOffset(days=100), freq=freq)
    out = [d.date() for d in rng]
    # keep one boundary past the last reading
    return [d for i, d in enumerate(out) if i == 0 or out[i - 1] <= last]


def measured_starts(first: dt.date, last: dt.date, period: str, tolerance_days: int) -> tuple[list[dt.date], str | None]:
    """The boundaries to measure, and the label of a period added before the first one (else None).

    :func:`period_starts` begins at the boundary at or before the first snapshot. When that
    snapshot lies within the tolerance of a month boundary, its 30-day counters also measure the
    month that ends there (``rolling_30d``): that month is added. Where nothing measures it,
    it is not reported as unmeasured either (it was not asked for)."""
    bounds = period_starts(first, last, period)
    if period != "month" or not bounds or (first - bounds[0]).days > tolerance_days:
        return bounds, None
    before = (pd.Timestamp(bounds[0]) - pd.offsets.MonthBegin(1)).date()
    return [before] + bounds, period_label(before, period)


def _asked(unmeasured: list[dict], added: str | None) -> pd.DataFrame:
    """The unmeasured periods, less the period :func:`measured_starts` added before the first."""
    return pd.DataFrame([u for u in unmeasured if u["period"] != added], columns=["period", "detail"])


def month_of(dates: pd.Series) -> pd.Series:
    """``YYYY-MM`` of each date (missing where the date is), formatted once per distinct month:
    a derivatives table repeats a few hundred months over millions of rows."""
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)  # the local wall time, as strftime reads it
    months = dates.to_numpy().astype("datetime64[M]")
    uniq, inv = np.unique(months, return_inverse=True)
    labels = pd.DatetimeIndex(uniq).strftime("%Y-%m")
    return pd.Series(pd.array(labels, dtype="string").take(inv.reshape(-1)) if len(dates) else pd.array([], dtype="string"),
                     index=dates.index, dtype="string")


def period_label(start: dt.date, period: str = "month") -> str:
    if period == "month":
        return f"{start.year:04d}-{start.month:02d}"
    if period == "quarter":
        return f"{start.year:04d}-Q{(start.month - 1) // 3 + 1}"
    iso = start.isocalendar()
    return f"{iso[0]:04d}-W{iso[1]:02d}"


def _flag_stale_frames(readings: pd.DataFrame) -> pd.DataFrame:
    """Add ``stale``: the all-time counter is lower than an earlier reading of the same model.

    Also adds ``previous_max`` (highest earlier reading). Rows come back sorted by model and date.
    Works on integer model codes internally: grouping and sorting strings is slow in pandas.
    """
    codes, _ = pd.factorize(readings["model_id"], sort=True)
    r = readings.assign(_m=codes)
    r = r.sort_values(["_m", "date", "snapshot"], kind="stable").reset_index(drop=True)
    g = r.groupby("_m", sort=False)["downloads_all_time"]
    prev_max = g.cummax().groupby(r["_m"], sort=False).shift(1)
    # carry the running max over missing readings
    prev_max = prev_max.groupby(r["_m"], sort=False).ffill()
    r["stale"] = (r["downloads_all_time"] < prev_max).fillna(False).astype(bool)
    r["previous_max"] = prev_max
    return r.drop(columns="_m")


def _boundary_candidates(snapshots: pd.DataFrame, boundaries: list[dt.date], tolerance_days: int) -> pd.DataFrame:
    """(snapshot, boundary, distance) for every snapshot within the tolerance of a boundary."""
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


def _pick(readings: pd.DataFrame, cand: pd.DataFrame, value: str, skip_stale: bool = True) -> pd.DataFrame:
    """Per (model, boundary): the nearest usable reading of ``value`` (ties: the earlier snapshot)."""
    r = readings.merge(cand, on="snapshot", how="inner")
    r = r[r[value].notna()]
    if value == "downloads_all_time" and skip_stale:
        r = r[~r["stale"]]
    r = r.sort_values(["model_id", "boundary", "distance", "offset", "snapshot"], kind="stable")
    return r.drop_duplicates(["model_id", "boundary"], keep="first")


def _downloads_per_period_frames(readings: pd.DataFrame, snapshots: pd.DataFrame, period: str = "month",
                                 tolerance_days: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-model downloads per period and the list of periods that could not be measured.

    ``readings``: snapshot, date, model_id, downloads_all_time, downloads_30d (one row per model
    per snapshot). ``snapshots``: snapshot, date. Returns (per_model, unmeasured_periods).
    """
    snaps = snapshots[["snapshot", "date"]].drop_duplicates().sort_values("date")
    empty = pd.DataFrame(columns=["period", "model_id", "downloads", "method", "start_snapshot", "end_snapshot", "all_time_end", "flags"])
    if snaps.empty or readings.empty:
        return empty, pd.DataFrame(columns=["period", "detail"])
    first, last = snaps["date"].min().date(), snaps["date"].max().date()
    bounds, added = measured_starts(first, last, period, tolerance_days)
    # work on integer model codes; ids are restored at the end
    codes, ids = pd.factorize(readings["model_id"], sort=True)
    readings = readings.assign(model_id=codes)
    cand = _boundary_candidates(snaps, bounds, tolerance_days)
    r = _flag_stale_frames(readings)
    at = _pick(r, cand, "downloads_all_time")
    d30 = _pick(r, cand, "downloads_30d") if period == "month" else at.iloc[0:0]
    at_by = dict(tuple(at.groupby("boundary", sort=False)))
    # boundaries where the nearest reading was stale, so a later or earlier valid one stood in
    nearest = _pick(r, cand, "downloads_all_time", skip_stale=False)
    substituted = {b: g["model_id"].to_numpy() for b, g in nearest[nearest["stale"]].groupby("boundary", sort=False)}
    none = np.array([], dtype=np.int64)
    d30_by = dict(tuple(d30.groupby("boundary", sort=False)))
    results = []
    unmeasured = []
    for start, end in zip(bounds[:-1], bounds[1:]):
        label = period_label(start, period)
        s = at_by.get(pd.Timestamp(start), at.iloc[0:0])[["model_id", "snapshot", "date", "downloads_all_time"]]
        e = at_by.get(pd.Timestamp(end), at.iloc[0:0])[["model_id", "snapshot", "date", "downloads_all_time"]]
        both = s.merge(e, on="model_id", suffixes=("_s", "_e"))
        both = both[both["date_e"] > both["date_s"]]
        part = pd.DataFrame({
            "period": label,
            "model_id": both["model_id"],
            "downloads": (both["downloads_all_time_e"] - both["downloads_all_time_s"]).astype("Int64"),
            "method": "all_time_diff",
            "start_snapshot": both["snapshot_s"],
            "end_snapshot": both["snapshot_e"],
            "all_time_end": both["downloads_all_time_e"].astype("Int64"),
        })
        m = part["model_id"].to_numpy()
        hit = np.isin(m, substituted.get(pd.Timestamp(start), none)) | np.isin(m, substituted.get(pd.Timestamp(end), none))
        part["flags"] = pd.array(np.where(hit, "stale_reading_skipped", None), dtype="string")
        if period == "month":
            e30 = d30_by.get(pd.Timestamp(end), d30.iloc[0:0])
            e30 = e30[~np.isin(e30["model_id"].to_numpy(), part["model_id"].to_numpy())]
            if not e30.empty:
                # rolling 30 days ≈ calendar month only when the reading is within the tolerance
                end_at = e.set_index("model_id")["downloads_all_time"]
                roll = pd.DataFrame({
                    "period": label,
                    "model_id": e30["model_id"],
                    "downloads": e30["downloads_30d"].astype("Int64"),
                    "method": "rolling_30d",
                    "start_snapshot": pd.array([None] * len(e30), dtype="string"),
                    "end_snapshot": e30["snapshot"],
                    "all_time_end": e30["model_id"].map(end_at).astype("Int64"),
                    "flags": pd.array([None] * len(e30), dtype="string"),
                })
                part = pd.concat([part, roll], ignore_index=True)
        if part.empty:
            missing = [str(b) for b in (start, end) if not (cand["boundary"] == pd.Timestamp(b)).any()]
            why = (f"no snapshot within {tolerance_days} days of {', '.join(missing)}" if missing
                   else "no model has usable readings at both boundaries")
            unmeasured.append({"period": label, "detail": why})
        else:
            results.append(part)
    out = pd.concat(results, ignore_index=True) if results else empty
    out = out.sort_values(["period", "model_id"], kind="stable").reset_index(drop=True)
    if len(out):
        out["model_id"] = pd.array(np.asarray(ids, dtype=object)[out["model_id"].to_numpy(dtype=np.int64)], dtype="string")
    return out, _asked(unmeasured, added)


# --------------------------------------------------------------------------- array implementation

def _snapshot_positions(readings: pd.DataFrame):
    """Code of each row's snapshot, the snapshots' names and dates, and their rank by (date, name).

    None when a snapshot name carries more than one date (the frame implementation handles that).
    """
    scode, snames = pd.factorize(readings["snapshot"])
    if (scode < 0).any():
        return None
    # one date per snapshot: every row's date equals the date of its snapshot's first row (no sort)
    d = readings["date"].to_numpy()
    if d.dtype.kind != "M":
        return None
    dates = np.zeros(len(snames), dtype=d.dtype)
    dates[scode[::-1]] = d[::-1]  # the last write wins: the first row of each snapshot
    if not (dates[scode] == d).all():
        return None
    names = np.asarray(snames.astype("string"), dtype=object)
    order = sorted(range(len(names)), key=lambda i: (dates[i], names[i]))
    pos = np.empty(len(names), dtype=np.int64)
    pos[order] = np.arange(len(names))
    return scode, names, dates, pos


def _model_codes(ids: pd.Series):
    """Integer codes of the model ids in id order, and the ids they stand for (a categorical over
    sorted ids, as the build passes them, keeps its categories: codes need no hashing)."""
    if isinstance(ids.dtype, pd.CategoricalDtype) and ids.dtype.categories.is_monotonic_increasing and ids.notna().all():
        return ids.cat.codes.to_numpy(), ids.dtype.categories
    codes, uniq = pd.factorize(ids, sort=True)
    return codes, uniq


def _small(n: int):
    """The narrowest signed integer type that holds codes 0 .. n - 1 and -1."""
    return np.int8 if n < 127 else np.int16 if n < 32_767 else np.int32


def _rows_by_snapshot(scode: np.ndarray, n_snaps: int) -> list:
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


def _layout(readings: pd.DataFrame):
    """The readings snapshot by snapshot: the rows of each snapshot, each row's model code, the
    snapshots' names, dates and rank by (date, name), and the model ids; None when it does not
    apply (a snapshot with two dates, a row without a model id, a model read twice in one
    snapshot): the frame implementation handles those. No (snapshot x model) grid is built, so
    memory follows the rows, not snapshots x models."""
    sp = _snapshot_positions(readings) if len(readings) else None
    if sp is None:
        return None
    scode, names, dates, pos = sp
    codes, ids = _model_codes(readings["model_id"])
    if (codes < 0).any():
        return None
    groups = _rows_by_snapshot(scode, len(names))
    seen = np.zeros(len(ids), dtype=bool)
    for rows in groups:
        c = codes[rows]
        seen[c] = True
        twice = int(np.count_nonzero(seen)) != len(c)
        seen[c] = False
        if twice:
            return None
    return groups, codes, names, dates, pos, ids


def _counter(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A counter column's values (meaningless where missing) and validity, without a copy of the values."""
    a = s.array if isinstance(s.dtype, pd.Int64Dtype) else pd.array(s, dtype="Int64")
    return a._data, ~a._mask


def _stale_pass(groups, codes, pos, at, ok, n_models: int, with_previous: bool = False):
    """Per row: is the all-time reading below the highest earlier valid reading of its model
    (snapshots in (date, name) order)? One running maximum per model, one snapshot at a time.
    With ``with_previous``, also that maximum and whether there was one."""
    n = len(codes)
    stale = np.zeros(n, dtype=bool)
    prev = np.zeros(n, dtype=np.int64) if with_previous else None
    prev_ok = np.zeros(n, dtype=bool) if with_previous else None
    runmax = np.zeros(n_models, dtype=np.int64)
    has = np.zeros(n_models, dtype=bool)
    for j in np.argsort(pos, kind="stable"):
        rows = groups[j]
        c, x, v = codes[rows], at[rows], ok[rows]
        h, rm = has[c], runmax[c]
        stale[rows] = v & h & (x < rm)
        if with_previous:
            prev[rows] = rm
            prev_ok[rows] = h
        up = v & (~h | (x > rm))
        runmax[c[up]] = x[up]
        has[c[v]] = True
    return stale, prev, prev_ok


def highest_reading(readings: pd.DataFrame, ids: pd.Series) -> pd.Series:
    """The highest all-time counter read of each of ``ids`` (null where none was read). A stale
    reading is lower than an earlier one by definition, so the highest is the latest valid one;
    repeated snapshots are not readings. Grouped on integer model codes."""
    codes, uniq = _model_codes(readings["model_id"])
    at, ok = _counter(readings["downloads_all_time"])
    ok = ok & (codes >= 0)
    best = pd.Series(at[ok]).groupby(codes[ok]).max() if ok.any() else pd.Series([], dtype="int64")
    values = pd.Series(pd.array(best.to_numpy(), dtype="Int64"), index=pd.Index(np.asarray(uniq, dtype=object)[best.index.to_numpy()], dtype="string"))
    return lookup(ids, values).astype("Int64")


def flag_stale(readings: pd.DataFrame) -> pd.DataFrame:
    """Add ``stale``: the all-time counter is lower than an earlier reading of the same model.

    Also adds ``previous_max`` (highest earlier reading). Snapshot by snapshot, the rows keep their
    order; the frame fallback returns them sorted by model and date. Readings flagged already
    (that have ``stale``: this function's output, or rows of it, with or without ``previous_max``)
    come back as they are.
    """
    if "stale" in readings.columns:
        return readings
    lay = _layout(readings)
    if lay is None:
        return _flag_stale_frames(readings)
    groups, codes, _, _, pos, ids = lay
    at, ok = _counter(readings["downloads_all_time"])
    stale, prev, prev_ok = _stale_pass(groups, codes, pos, at, ok, len(ids), with_previous=True)
    # rows stay in their input order (a frame of models x snapshots is not copied to sort it)
    return readings.assign(stale=stale, previous_max=pd.arrays.IntegerArray(prev, ~prev_ok))


def downloads_per_period(readings: pd.DataFrame, snapshots: pd.DataFrame, period: str = "month",
                         tolerance_days: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-model downloads per period and the list of periods that could not be measured.

    ``readings``: snapshot, date, model_id, downloads_all_time, downloads_30d (one row per model
    per snapshot). ``snapshots``: snapshot, date. Returns (per_model, unmeasured_periods).

    Stale flags by a running maximum in snapshot order; then, period by period, each boundary's
    reading of every model by walking its candidate snapshots nearest first. Only the readings
    and the model vectors of two boundaries are held, never a (snapshot x model) grid.
    """
    snaps = snapshots[["snapshot", "date"]].drop_duplicates().sort_values("date")
    if snaps.empty or readings.empty:
        return _downloads_per_period_frames(readings, snapshots, period, tolerance_days)
    lay = _layout(readings)
    if lay is None:
        return _downloads_per_period_frames(readings, snapshots, period, tolerance_days)
    groups, codes, names, dates, pos, ids = lay
    S, M = len(names), len(ids)
    at, at_ok = _counter(readings["downloads_all_time"])
    d30, d30_ok = _counter(readings["downloads_30d"]) if period == "month" else (None, None)
    # the flags of flag_stale where the readings carry them already (the build's do), else the same rule here
    stale = readings["stale"].to_numpy(dtype=bool) if "stale" in readings.columns else _stale_pass(groups, codes, pos, at, at_ok, M)[0]
    first, last = snaps["date"].min().date(), snaps["date"].max().date()
    bounds, added = measured_starts(first, last, period, tolerance_days)
    cand = _boundary_candidates(snaps, bounds, tolerance_days)
    col_of = {n: i for i, n in enumerate(names)}
    order_of = {}
    for b, g in cand.groupby("boundary", sort=False):
        g = g.sort_values(["distance", "offset", "snapshot"], kind="stable")
        order_of[b] = [col_of[n] for n in g["snapshot"] if n in col_of]

    snap_type = _small(S)

    def boundary(b):
        """Every model's readings at one boundary: the snapshot of its all-time reading (nearest
        valid one that is not stale; -1: none) and its value, whether the nearest valid reading
        was stale (another stood in), and the snapshot and value of its 30-day reading."""
        chosen, value = np.full(M, -1, dtype=snap_type), np.zeros(M, dtype=np.int64)
        seen, substituted = np.zeros(M, dtype=bool), np.zeros(M, dtype=bool)
        c30, v30 = (np.full(M, -1, dtype=snap_type), np.zeros(M, dtype=np.int64)) if d30 is not None else (None, None)
        order = order_of.get(pd.Timestamp(b), [])
        for i, j in enumerate(order):
            rows = groups[j]
            c, v, st = codes[rows], at_ok[rows], stale[rows]
            # the first candidate finds every model still open (no look-ups); later ones only the rest
            take = v & ~st if i == 0 else v & ~st & (chosen[c] < 0)
            got = c[take]
            chosen[got] = j
            value[got] = at[rows][take]
            nearest = v if i == 0 else v & ~seen[c]
            substituted[c[nearest & st]] = True
            if i + 1 < len(order):
                seen[c[v]] = True
            if d30 is not None:
                take = d30_ok[rows] if i == 0 else d30_ok[rows] & (c30[c] < 0)
                got = c[take]
                c30[got] = j
                v30[got] = d30[rows][take]
        return chosen, value, substituted, c30, v30

    dates = np.asarray(dates, dtype="datetime64[ns]")
    cols = {k: [] for k in ("period", "model", "downloads", "method", "start", "end", "at_end", "at_end_ok", "flag")}
    labels, unmeasured = [], []
    at_start = boundary(bounds[0]) if bounds else None
    for start, end in zip(bounds[:-1], bounds[1:]):
        label = period_label(start, period)
        s, s_val, s_sub = at_start[:3]
        e, e_val, e_sub, e30, v30 = at_start = boundary(end)  # the next period starts where this one ends
        both = (s >= 0) & (e >= 0)
        both &= dates[np.maximum(e, 0)] > dates[np.maximum(s, 0)]
        roll = (e30 >= 0) & ~both if period == "month" else np.zeros(M, dtype=bool)
        rows = np.flatnonzero(both | roll)
        if not len(rows):
            missing = [str(b) for b in (start, end) if not (cand["boundary"] == pd.Timestamp(b)).any()]
            why = (f"no snapshot within {tolerance_days} days of {', '.join(missing)}" if missing
                   else "no model has usable readings at both boundaries")
            unmeasured.append({"period": label, "detail": why})
            continue
        rb = both[rows]
        sr, er = s[rows], e[rows]
        ends = np.where(rb, er, e30[rows]) if period == "month" else er
        at_end = e_val[rows]
        dl = np.where(rb, at_end - s_val[rows], v30[rows] if period == "month" else 0)
        cols["period"].append(np.full(len(rows), len(labels), dtype=_small(len(bounds))))
        labels.append(label)
        cols["model"].append(rows.astype(np.int32))  # narrow integer columns: rows are models x months
        cols["downloads"].append(dl)
        cols["method"].append(np.where(rb, 0, 1).astype(np.int8))
        cols["start"].append(np.where(rb, sr, -1).astype(snap_type))
        cols["end"].append(ends.astype(snap_type))
        cols["at_end"].append(at_end)
        cols["at_end_ok"].append(er >= 0)
        cols["flag"].append(rb & (s_sub[rows] | e_sub[rows]))
    del at_start
    if not labels:
        return _downloads_per_period_frames(readings.iloc[0:0], snapshots, period, tolerance_days)[0], \
            _asked(unmeasured, added)
    # one column at a time, dropping its pieces as it goes: the pieces and the whole are never all held
    c = {k: np.concatenate(cols.pop(k)) for k in list(cols)}
    # rows are in period order, then model-code (= id) order; restore the (period, id) order if labels are not sorted
    if labels != sorted(labels):
        o = np.lexsort((c["model"], np.asarray(labels, dtype=object).argsort().argsort()[c["period"]]))
        c = {k: v[o] for k, v in c.items()}
    def cat(codes, values):
        """A categorical over sorted ``values`` (text stored once, a code per row)."""
        values = np.asarray(values, dtype=object)
        order = np.argsort(values, kind="stable")
        small = _small(len(values))  # the code type pandas keeps for this many categories: no copy
        codes = np.asarray(codes)
        if (order != np.arange(len(values))).any():  # values not sorted yet: renumber the codes
            rank = np.empty(len(values), dtype=small)
            rank[order] = np.arange(len(values))
            codes = np.where(codes >= 0, rank[np.maximum(codes, 0)], small(-1))
        return pd.Categorical.from_codes(codes.astype(small, copy=False),
                                         categories=pd.Index(values[order], dtype="string"), ordered=True)

    # every text column is a categorical: the table has a row per model and month
    out = pd.DataFrame({
        "period": cat(c["period"], labels),
        # categorical over the ids: later steps look models up by code (ids.positions), not by string
        "model_id": pd.Categorical.from_codes(c["model"].astype(np.int32, copy=False), categories=pd.Index(ids, dtype="string")),
        "downloads": pd.arrays.IntegerArray(c["downloads"], np.zeros(len(c["model"]), dtype=bool)),
        "method": cat(c["method"], ["all_time_diff", "rolling_30d"]),
        "start_snapshot": cat(c["start"], list(names)),
        "end_snapshot": cat(c["end"], list(names)),
        "all_time_end": pd.arrays.IntegerArray(c["at_end"], ~c["at_end_ok"]),
        "flags": cat(np.where(c["flag"], np.int8(0), np.int8(-1)), ["stale_reading_skipped"]),
    }, copy=False)  # the columns are this function's own arrays: no second copy of models x months rows
    return out, _asked(unmeasured, added)
