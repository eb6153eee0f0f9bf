"""Models that disappear and come back, and repos that were renamed: presence across snapshots.

- ``model_missing``: a model absent from one or more snapshots between two that hold it;
- ``renamed``: an id that disappears for good and a new id that appears in the next snapshot
  with the same ``createdAt`` (to the second) and either the same namespace or the same repo
  name under a new namespace (one-to-one matches only).

Presence is compared within one series of snapshots only: those sharing a name suffix
(``2026-07-01`` with ``2026-08-01``; ``2026-05-04-trending`` with other ``-trending`` ones), since
a second source lists a different population of models. One pass per snapshot, vectorised over
models: no loop over models.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..ingest.store import NAME_RE
from ..issues import issue
from .ids import positions, split_id, take

MISSING_ACTION = ("no reading invented for the snapshots it is missing from; month boundaries use the nearest "
                  "snapshot within the tolerance that holds the model, else the model has no row for that month")
RENAMED_ACTION = ("kept as two separate models; no counter difference is taken across the two ids, so a month "
                  "spanning the rename counts the new id's 30-day counter (rolling_30d) where the snapshot has one")


def issues(presence: pd.DataFrame, order: list[str]) -> list[pd.DataFrame]:
    """``model_missing`` and ``renamed`` rows from (snapshot, model_id, org, created_at) of every
    snapshot; ``order``: the snapshot names in store order (date, then name)."""
    if presence is None or presence.empty:
        return []
    series = {n: (NAME_RE.fullmatch(n).group(2) or "") if NAME_RE.fullmatch(n) else "" for n in order}
    out = []
    for key in sorted(set(series.values())):  # a few series, not a loop over models
        sub_order = [n for n in order if series[n] == key]
        if len(sub_order) >= 2:
            seen = _walk(presence[presence["snapshot"].isin(sub_order)].reset_index(drop=True), sub_order)
            out += [_missing(seen), _renamed(seen)]
    return out


def _codes(col: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes of a column and the values they stand for (-1 for missing)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return col.cat.codes.to_numpy().astype(np.int64), col.dtype.categories
    codes, uniq = pd.factorize(col, sort=True)
    return codes.astype(np.int64), uniq


@dataclass
class _Seen:
    """One series' presence rows and, per model (by code), what one pass over its snapshots found."""

    presence: pd.DataFrame
    names: np.ndarray      # the series' snapshots in order
    ids: pd.Index          # the model of each code
    k_all: np.ndarray      # each row's snapshot position
    first: np.ndarray      # first and last snapshot position of each model
    last: np.ndarray
    created_row: np.ndarray  # the row of each model's latest non-missing createdAt and namespace
    org_row: np.ndarray
    gap_rows: np.ndarray   # rows that come back after a gap, and the position of the snapshot before it
    gap_prev: np.ndarray


def _walk(presence: pd.DataFrame, order: list[str]) -> _Seen:
    """One pass over the snapshots in order, vectorised over models (no sort of the presence rows)."""
    pos = pd.Series(np.arange(len(order)), index=pd.Index(order))
    mcode, ids = _codes(presence["model_id"])
    has_created = presence["created_at"].notna().to_numpy()
    has_org = presence["org"].notna().to_numpy()
    k_all = pos.to_numpy()[positions(presence["snapshot"], pos.index)]
    M = len(ids)
    first, last = np.full(M, -1, dtype=np.int64), np.full(M, -1, dtype=np.int64)
    created_row, org_row = np.full(M, -1, dtype=np.int64), np.full(M, -1, dtype=np.int64)
    gap_rows, gap_prev = [], []
    for k in range(len(order)):
        rows = np.flatnonzero((k_all == k) & (mcode >= 0))
        m = mcode[rows]
        prev = last[m]
        gap = (prev >= 0) & (k - prev > 1)
        gap_rows.append(rows[gap])
        gap_prev.append(prev[gap])
        first[m[first[m] < 0]] = k
        last[m] = k
        ok = has_created[rows]
        created_row[m[ok]] = rows[ok]
        ok = has_org[rows]
        org_row[m[ok]] = rows[ok]
    return _Seen(presence, np.asarray(order, dtype=object), ids, k_all, first, last, created_row, org_row,
                 np.concatenate(gap_rows), np.concatenate(gap_prev))


def _missing(seen: _Seen) -> pd.DataFrame:
    """One ``model_missing`` row per gap (first missing snapshot .. last missing snapshot)."""
    rows, pk = seen.gap_rows, seen.gap_prev
    gap = seen.presence.iloc[rows].reset_index(drop=True)
    k = seen.k_all[rows]
    first_missing = pd.Series(seen.names[pk + 1], dtype="string")
    last_missing = pd.Series(seen.names[k - 1], dtype="string")
    n_missed = k - pk - 1
    span = first_missing.where(n_missed == 1, first_missing + " to " + last_missing)
    return issue("model_missing", snapshot=first_missing, model_id=gap["model_id"], org=gap["org"],
                 value=n_missed.astype(float),
                 detail="absent from " + pd.Series(n_missed, dtype="Int64").astype("string") + " snapshot(s) (" + span
                        + "), present before and again in " + gap["snapshot"].astype("string"),
                 action=MISSING_ACTION)


def _rename_pairs(seen: _Seen) -> pd.DataFrame:
    """Ids gone for good after snapshot t and ids new from t + 1 with the same createdAt to the
    second and the same namespace or repo name: one-to-one matches only."""
    # only models that leave the series early or join it late can be either side of a rename
    last_k = len(seen.names) - 1
    first, last = seen.first, seen.last
    cand = np.flatnonzero((first >= 0) & ((last < last_k) | (first > 0)) & (seen.created_row >= 0))
    p = seen.presence
    frame = pd.DataFrame({"first": first[cand], "last": last[cand],
                          "created": take(p["created_at"], seen.created_row[cand]).array,
                          "org": take(p["org"], seen.org_row[cand]).array},
                         index=pd.Index(seen.ids[cand], name="model_id"))
    ns, name = split_id(pd.Series(frame.index, index=frame.index))
    frame = frame.assign(ns=ns.str.lower(), name=name, created_s=frame["created"].dt.floor("s"))
    gone = frame[frame["last"] < last_k].assign(t=lambda d: d["last"])
    new = frame[frame["first"] > 0].assign(t=lambda d: d["first"] - 1)
    if gone.empty or new.empty:
        return pd.DataFrame()
    pairs = gone.reset_index().merge(new.reset_index(), on=["t", "created_s"], suffixes=("_old", "_new"))
    same_ns = (pairs["ns_old"] == pairs["ns_new"]).fillna(False) & (pairs["name_old"] != pairs["name_new"]).fillna(False)
    moved = (pairs["name_old"] == pairs["name_new"]).fillna(False) & (pairs["ns_old"] != pairs["ns_new"]).fillna(False)
    pairs = pairs[(same_ns | moved).to_numpy()].assign(how=np.where(same_ns[same_ns | moved], "same namespace", "same repo name, new namespace"))
    return pairs[~pairs["model_id_old"].duplicated(keep=False) & ~pairs["model_id_new"].duplicated(keep=False)]


def _renamed(seen: _Seen) -> pd.DataFrame:
    """One ``renamed`` row per rename, on the new id (the detail names the old one)."""
    pairs = _rename_pairs(seen)
    if pairs.empty:
        return issue("renamed", [], [])
    old_snap = pd.Series(seen.names[pairs["t"].to_numpy()], index=pairs.index, dtype="string")
    new_snap = pd.Series(seen.names[pairs["t"].to_numpy() + 1], index=pairs.index, dtype="string")
    return issue("renamed", snapshot=new_snap, model_id=pairs["model_id_new"].astype("string"), org=pairs["org_new"].astype("string"),
                 detail="same model as " + pairs["model_id_old"].astype("string") + " (last seen in " + old_snap
                        + "): same createdAt " + pairs["created_s"].dt.strftime("%Y-%m-%dT%H:%M:%S").astype("string")
                        + ", " + pairs["how"].astype("string"),
                 action=RENAMED_ACTION)
