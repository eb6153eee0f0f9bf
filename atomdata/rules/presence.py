"""Models that disappear and come back, and repos that were renamed: presence across snapshots.

- ``model_missing``: a model absent from one or more snapshots between two that hold it;
- ``renamed``: an id that disappears for good and a new id that appears in the next snapshot
  with the same ``createdAt`` (to the second) and either the same namespace or the same repo
  name under a new namespace (one-to-one matches only).

Presence is compared within one series of snapshots only: those sharing a name suffix
(``2026-07-01`` with ``2026-08-01``; ``2026-05-04-trending`` with other ``-trending`` ones), since
a second source lists a different population of models. The snapshots are taken one at a time
(``PresenceWalk``), with a few values per model kept: memory does not grow with the snapshots.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..ingest.store import NAME_RE
from ..issues import issue
from .ids import split_id

MISSING_ACTION = ("no reading invented for the snapshots it is missing from; month boundaries use the nearest "
                  "snapshot within the tolerance that holds the model, else the model has no row for that month")
RENAMED_ACTION = ("kept as two separate models; no counter difference is taken across the two ids, so a month "
                  "spanning the rename counts the new id's 30-day counter (rolling_30d) where the snapshot has one")


def series_of(name: str) -> str:
    """The series of a snapshot: its name suffix (empty for a plain date)."""
    m = NAME_RE.fullmatch(name)
    return (m.group(2) or "") if m else ""


def _isin(values: np.ndarray, value_set: np.ndarray) -> np.ndarray:
    """``np.isin`` by hashing in Arrow (numpy sorts: seconds for millions of keys)."""
    return pc.is_in(pa.array(values), value_set=pa.array(value_set)).to_numpy(zero_copy_only=False)


class PresenceWalk:
    """One series' snapshots, in order: per model (by code) its first and last snapshot, its latest
    non-missing createdAt and namespace (a code into the caller's namespaces), and the gaps."""

    def __init__(self, n_models: int):
        self.first, self.last = np.full(n_models, -1, dtype=np.int32), np.full(n_models, -1, dtype=np.int32)
        self.created = np.full(n_models, np.datetime64("NaT"), dtype="datetime64[ns]")
        self.org = np.full(n_models, -1, dtype=np.int32)
        self.names: list[str] = []
        self.gaps: list[tuple] = []  # (codes, snapshot before the gap, snapshot after it, namespace codes there)

    def feed(self, name: str, codes: np.ndarray, created: np.ndarray, org: np.ndarray) -> None:
        """The models of the next snapshot: their codes, createdAt (NaT: missing) and namespace codes (-1: none)."""
        k = len(self.names)
        self.names.append(name)
        prev = self.last[codes]
        gap = (prev >= 0) & (k - prev > 1)
        if gap.any():
            self.gaps.append((codes[gap], prev[gap], k, org[gap]))
        self.first[codes[self.first[codes] < 0]] = k
        self.last[codes] = k
        ok = ~np.isnat(created)
        self.created[codes[ok]] = created[ok]
        ok = org >= 0
        self.org[codes[ok]] = org[ok]

    def issues(self, ids: pd.Index, orgs: np.ndarray) -> list[pd.DataFrame]:
        """``model_missing`` and ``renamed`` rows; ``ids`` and ``orgs``: the model and namespace of each code."""
        if len(self.names) < 2:
            return []
        return [self._missing(ids, orgs), self._renamed(ids, orgs)]

    def _missing(self, ids: pd.Index, orgs: np.ndarray) -> pd.DataFrame:
        """One ``model_missing`` row per gap (first missing snapshot .. last missing snapshot)."""
        names = np.asarray(self.names, dtype=object)
        codes = np.concatenate([g[0] for g in self.gaps]) if self.gaps else np.zeros(0, dtype=np.int64)
        pk = np.concatenate([g[1] for g in self.gaps]).astype(np.int64) if self.gaps else np.zeros(0, dtype=np.int64)
        k = np.concatenate([np.full(len(g[0]), g[2]) for g in self.gaps]) if self.gaps else np.zeros(0, dtype=np.int64)
        org = np.concatenate([g[3] for g in self.gaps]) if self.gaps else np.zeros(0, dtype=np.int32)
        first_missing = pd.Series(names[pk + 1], dtype="string")
        last_missing = pd.Series(names[k - 1], dtype="string")
        n_missed = k - pk - 1
        span = first_missing.where(n_missed == 1, first_missing + " to " + last_missing)
        return issue("model_missing", snapshot=first_missing, model_id=pd.array(np.asarray(ids, dtype=object)[codes], dtype="string"),
                     org=pd.array(np.where(org >= 0, orgs[np.maximum(org, 0)] if len(orgs) else None, None), dtype="string"),
                     value=n_missed.astype(float),
                     detail="absent from " + pd.Series(n_missed, dtype="Int64").astype("string") + " snapshot(s) (" + span
                            + "), present before and again in " + pd.Series(names[k], dtype="string"),
                     action=MISSING_ACTION)

    def _rename_pairs(self, ids: pd.Index, orgs: np.ndarray) -> pd.DataFrame:
        """Ids gone for good after snapshot t and ids new from t + 1 with the same createdAt to the
        second and the same namespace or repo name: one-to-one matches only."""
        # only models that leave the series early or join it late can be either side of a rename
        last_k = len(self.names) - 1
        first, last = self.first, self.last
        cand = np.flatnonzero((first >= 0) & ((last < last_k) | (first > 0)) & ~np.isnat(self.created))
        # of those, only models whose (t, createdAt to the second) the other side holds too: a
        # match needs both (millions join a growing Hub late; a handful can pair)
        second, width = np.floor_divide(self.created[cand].view(np.int64), 10**9), last_k + 1
        is_gone, is_new = last[cand] < last_k, first[cand] > 0
        gone_key, new_key = second * width + last[cand], second * width + first[cand] - 1  # (t, second) as one number
        cand = cand[(is_gone & _isin(gone_key, new_key[is_new])) | (is_new & _isin(new_key, gone_key[is_gone]))]
        org = self.org[cand]
        frame = pd.DataFrame({"first": first[cand], "last": last[cand], "created": self.created[cand],
                              "org": pd.array(np.where(org >= 0, orgs[np.maximum(org, 0)] if len(orgs) else None, None), dtype="string")},
                             index=pd.Index(pd.array(np.asarray(ids, dtype=object)[cand], dtype="string"), name="model_id"))
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

    def _renamed(self, ids: pd.Index, orgs: np.ndarray) -> pd.DataFrame:
        """One ``renamed`` row per rename, on the new id (the detail names the old one)."""
        pairs = self._rename_pairs(ids, orgs)
        if pairs.empty:
            return issue("renamed", [], [])
        names = np.asarray(self.names, dtype=object)
        old_snap = pd.Series(names[pairs["t"].to_numpy()], index=pairs.index, dtype="string")
        new_snap = pd.Series(names[pairs["t"].to_numpy() + 1], index=pairs.index, dtype="string")
        return issue("renamed", snapshot=new_snap, model_id=pairs["model_id_new"].astype("string"), org=pairs["org_new"].astype("string"),
                     detail="same model as " + pairs["model_id_old"].astype("string") + " (last seen in " + old_snap
                            + "): same createdAt " + pairs["created_s"].dt.strftime("%Y-%m-%dT%H:%M:%S").astype("string")
                            + ", " + pairs["how"].astype("string"),
                     action=RENAMED_ACTION)


class Presence:
    """Every series' walk: ``feed`` a main snapshot, ``issues`` at the end."""

    def __init__(self, n_models: int):
        self.n, self.walks = n_models, {}

    def feed(self, name: str, codes: np.ndarray, created: np.ndarray, org: np.ndarray) -> None:
        key = series_of(name)
        if key not in self.walks:
            self.walks[key] = PresenceWalk(self.n)
        self.walks[key].feed(name, codes, created, org)

    def issues(self, ids: pd.Index, orgs: np.ndarray) -> list[pd.DataFrame]:
        return [df for key in sorted(self.walks) for df in self.walks[key].issues(ids, orgs)]
