"""Test oracles: the rules of the method written plainly in pandas (sorts, merges, group-bys),
against which the package's array implementations are property-tested.

``flag_stale_frames``: a reading is stale when it is below the cumulative maximum of the model's
earlier readings. ``downloads_per_period_frames``: per (model, boundary) the nearest usable reading
(ties: the earlier snapshot), differences of all-time counters, the 30-day fallback for months.
They are slow on Hub-sized data and live here, not in the package: the rule is implemented once.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from atomdata.rules.boundaries import boundary_candidates
from atomdata.rules.periods import asked, measured_starts, period_label


def flag_stale_frames(readings: pd.DataFrame) -> pd.DataFrame:
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


def _pick(readings: pd.DataFrame, cand: pd.DataFrame, value: str, skip_stale: bool = True) -> pd.DataFrame:
    """Per (model, boundary): the nearest usable reading of ``value`` (ties: the earlier snapshot)."""
    r = readings.merge(cand, on="snapshot", how="inner")
    r = r[r[value].notna()]
    if value == "downloads_all_time" and skip_stale:
        r = r[~r["stale"]]
    r = r.sort_values(["model_id", "boundary", "distance", "offset", "snapshot"], kind="stable")
    return r.drop_duplicates(["model_id", "boundary"], keep="first")


def downloads_per_period_frames(readings: pd.DataFrame, snapshots: pd.DataFrame, period: str = "month",
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
    cand = boundary_candidates(snaps, bounds, tolerance_days)
    r = flag_stale_frames(readings)
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
    return out, asked(unmeasured, added)
