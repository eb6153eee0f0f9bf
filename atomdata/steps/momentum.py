"""Adoption momentum: all-time downloads 7 to 365 days after creation, scored against peers.

For each in-scope model and age, the all-time counter in the non-stale reading nearest
``created_at + age`` within the build tolerance (ties: the earlier snapshot), and the score
against the ``PEER_RANK``-th best model of the same size bucket at the same age.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..rules.readings import FrameReadings
from ..rules.stale import flag_stale
from ..rules.ids import lookup, positions
from ..rules.scope import Scope
from ..vocab import AGES, PEER_RANK, TOLERANCE_DAYS
from .step import Built

def _near_ages(readings, models: pd.DataFrame, keep: np.ndarray, ages, tolerance_days: int):
    """The non-stale all-time readings of the kept models (rows of ``models``) taken within
    ``tolerance_days`` of an age, read one snapshot at a time (memory follows those rows, not the
    readings), and the first and last date of any non-stale reading of a kept model."""
    ids = pd.Series(pd.array(readings.ids, dtype="string"))
    row = positions(ids, models["model_id"])  # each code's row of ``models``
    kept = (row >= 0) & keep[np.maximum(row, 0)] if len(keep) else np.zeros(len(ids), dtype=bool)
    created = models["created_at"].to_numpy(dtype="datetime64[ns]").astype(np.int64)[np.maximum(row, 0)] if len(keep) else np.zeros(len(ids), dtype=np.int64)
    day = np.int64(86_400 * 10**9)
    found, first, last = [], None, None
    for r in readings:
        sel = kept[r.codes] & ~r.stale & r.at_ok
        if not sel.any():
            continue
        first, last = first if first is not None else r.date, r.date
        c, age = r.codes[sel], (np.int64(r.date.astype("datetime64[ns]").astype(np.int64)) - created[r.codes[sel]]) // day
        near = np.zeros(len(c), dtype=bool)
        for a in ages:
            near |= np.abs(age - a) <= tolerance_days
        found.append(pd.DataFrame({"_code": c[near], "snapshot": r.name, "_order": r.index, "date": r.date,
                                   "downloads_all_time": r.at[sel][near]}))
    rows = pd.concat(found, ignore_index=True) if found else pd.DataFrame(
        {"_code": np.zeros(0, dtype=np.int64), "snapshot": [], "_order": [], "date": np.array([], dtype="datetime64[ns]"), "downloads_all_time": []})
    rows["date"] = pd.to_datetime(rows["date"])
    return rows.assign(_row=row[rows["_code"].to_numpy()]), first, last


def adoption_momentum(readings, models: pd.DataFrame, attrs: pd.DataFrame, scope: Scope,
                      tolerance_days: int = TOLERANCE_DAYS, ages=AGES, peer_rank: int = PEER_RANK) -> pd.DataFrame:
    """All-time downloads of each in-scope model ``age`` days after creation (the non-stale reading
    nearest creation + age, within the tolerance; ties: the earlier snapshot), and the score
    against the ``peer_rank``-th best model of the same size bucket at the same age. ``readings``:
    walked one snapshot at a time (the build's ``StoreReadings``, or a frame of readings)."""
    if isinstance(readings, pd.DataFrame):
        readings = FrameReadings(flag_stale(readings))
    models = models.reset_index(drop=True)
    mm = models[["model_id", "registry_org", "region", "created_at"]].assign(
        size_bucket=lookup(models["model_id"], attrs.set_index("model_id")["size_bucket"]).array)
    keep = (scope.mask(models) & models["created_at"].notna()).to_numpy(dtype=bool)
    cols = ["model_id", "org", "region", "created_at", "size_bucket", "age_days", "snapshot", "cumulative_downloads",
            "n_peers", "reference_rank", "reference_downloads", "relative_score"]
    r, first, last = _near_ages(readings, mm, keep, ages, tolerance_days)
    if first is None or not keep.any():
        return pd.DataFrame({c: [] for c in cols})
    first, last = pd.Timestamp(first), pd.Timestamp(last)
    keep = keep & ((mm["created_at"] + pd.Timedelta(days=max(ages) + tolerance_days) >= first) & (mm["created_at"] <= last)).fillna(False).to_numpy(dtype=bool)
    r = r[keep[r["_row"].to_numpy()]] if len(r) else r
    j = pd.concat([r[["snapshot", "_order", "date", "downloads_all_time"]].reset_index(drop=True),
                   mm.iloc[r["_row"].to_numpy()].reset_index(drop=True)], axis=1)
    j["downloads_all_time"] = j["downloads_all_time"].astype("int64")
    age = (j["date"] - j["created_at"]).dt.days.to_numpy()
    rows, at_age = [], []
    for a in ages:  # seven ages, not models
        k = np.flatnonzero(np.abs(age - a) <= tolerance_days)
        rows.append(k)
        at_age.append(np.full(len(k), a, dtype=np.int64))
    rows, at_age = np.concatenate(rows), np.concatenate(at_age)
    if not len(rows):
        return pd.DataFrame({c: [] for c in cols})
    # one row per (reading, age) it is near: rows taken once (no concatenation of categorical frames)
    off = age[rows] - at_age
    p = j.iloc[rows].reset_index(drop=True).assign(age_days=at_age, _dist=np.abs(off), _off=off)
    p = p.sort_values(["model_id", "age_days", "_dist", "_off", "_order"], kind="stable").drop_duplicates(["model_id", "age_days"])
    p = p.rename(columns={"downloads_all_time": "cumulative_downloads", "registry_org": "org"})
    p = p.sort_values(["size_bucket", "age_days", "cumulative_downloads", "model_id"], ascending=[True, True, False, True], kind="stable")
    grp = p.groupby(["size_bucket", "age_days"], sort=False)
    p["n_peers"] = grp["model_id"].transform("size").astype("Int64")
    p["_rank"] = grp.cumcount() + 1
    p["reference_rank"] = np.minimum(p["n_peers"].to_numpy(dtype=int), peer_rank)
    ref = p[p["_rank"] == p["reference_rank"]].set_index(["size_bucket", "age_days"])["cumulative_downloads"]
    key = pd.MultiIndex.from_frame(p[["size_bucket", "age_days"]])
    p["reference_downloads"] = ref.reindex(key).to_numpy()
    refd = p["reference_downloads"].astype("Float64")
    p["relative_score"] = (p["cumulative_downloads"].astype("Float64") / refd.where(refd > 0)).round(6)
    p["reference_rank"] = p["reference_rank"].astype("Int64")
    p["reference_downloads"] = p["reference_downloads"].astype("Int64")
    p["cumulative_downloads"] = p["cumulative_downloads"].astype("Int64")
    p["age_days"] = p["age_days"].astype("Int64")
    return p[cols].sort_values(["model_id", "age_days"], kind="stable").reset_index(drop=True)


def build_adoption_momentum(readings, models, model_attributes, scope, tolerance_days) -> Built:
    return Built(adoption_momentum(readings, models, model_attributes, scope, tolerance_days))
