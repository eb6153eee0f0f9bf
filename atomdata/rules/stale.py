"""Counters that go backwards: stale readings.

The Hub's counters only grow. A reading lower than an earlier reading of the same model is
*stale* (the shared 2026-08-03 snapshot is a real case: most all-time counters fell back to cached
values). Stale readings are flagged, listed in ``data_quality`` (``counter_decreased``) and never
used as a period boundary, so downloads can never come out negative.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..issues import issue
from .readings import counter, layout

class RunningMax:
    """The highest valid all-time reading of every model so far (snapshots in (date, name) order)."""

    def __init__(self, n_models: int):
        self.value = np.zeros(n_models, dtype=np.int64)
        self.has = np.zeros(n_models, dtype=bool)

    def step(self, codes: np.ndarray, at: np.ndarray, ok: np.ndarray):
        """One snapshot's readings: which are stale (below the highest earlier valid reading), that
        maximum and whether there was one; then the maximum takes them in."""
        h, rm = self.has[codes], self.value[codes]
        stale = ok & h & (at < rm)
        up = ok & (~h | (at > rm))
        self.value[codes[up]] = at[up]
        self.has[codes[ok]] = True
        return stale, rm, h


def stale_pass(groups, codes, pos, at, ok, n_models: int, with_previous: bool = False):
    """Per row: is the all-time reading below the highest earlier valid reading of its model
    (snapshots in (date, name) order)? With ``with_previous``, also that maximum and whether there
    was one."""
    n = len(codes)
    stale = np.zeros(n, dtype=bool)
    prev = np.zeros(n, dtype=np.int64) if with_previous else None
    prev_ok = np.zeros(n, dtype=bool) if with_previous else None
    run = RunningMax(n_models)
    for j in np.argsort(pos, kind="stable"):
        rows = groups[j]
        stale[rows], rm, h = run.step(codes[rows], at[rows], ok[rows])
        if with_previous:
            prev[rows], prev_ok[rows] = rm, h
    return stale, prev, prev_ok


def flag_stale(readings: pd.DataFrame) -> pd.DataFrame:
    """Add ``stale``: the all-time counter is lower than an earlier reading of the same model.

    Also adds ``previous_max`` (highest earlier reading). Snapshot by snapshot, the rows keep their
    order. Readings flagged already
    (that have ``stale``: this function's output, or rows of it, with or without ``previous_max``)
    come back as they are.
    """
    if "stale" in readings.columns:
        return readings
    lay = layout(readings)
    if lay is None:
        return readings.assign(stale=np.zeros(0, dtype=bool), previous_max=pd.array([], dtype="Int64"))
    groups, codes, _, _, pos, ids = lay
    at, ok = counter(readings["downloads_all_time"])
    stale, prev, prev_ok = stale_pass(groups, codes, pos, at, ok, len(ids), with_previous=True)
    # rows stay in their input order (a frame of models x snapshots is not copied to sort it)
    return readings.assign(stale=stale, previous_max=pd.arrays.IntegerArray(prev, ~prev_ok))


def issues(stale: pd.DataFrame) -> pd.DataFrame:
    """One ``counter_decreased`` row per stale reading (``stale``: flagged readings with ``previous_max``)."""
    return issue("counter_decreased", snapshot=stale["snapshot"], model_id=stale["model_id"],
                 value=(stale["previous_max"] - stale["downloads_all_time"]).astype("Float64"),
                 detail="all-time downloads " + stale["downloads_all_time"].astype("string") + " below an earlier reading of "
                        + stale["previous_max"].astype("Int64").astype("string"),
                 action="reading treated as stale: not used as a month boundary; no negative downloads")
