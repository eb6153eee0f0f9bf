"""Data-quality checks over snapshots and lineage that need more than one table, vectorised.

Each function returns rows in the ``data_quality`` layout (kind, snapshot, month, model_id, org,
value, detail, action) and is called from :func:`atomdata.build.data_quality`:

- ``model_missing``: a model absent from one or more snapshots between two that hold it;
- ``renamed``: an id that disappears for good and a new id that appears in the next snapshot
  with the same ``createdAt`` (to the second) and either the same namespace or the same repo
  name under a new namespace (one-to-one matches only);
- ``merge_mixed_roots``: a derivative with several declared bases whose roots lie in at least
  two different known regions (us, china, eu, other; ``unknown`` roots do not count as a region
  of their own); attribution stays with the first declared base.

No loop runs over models: everything is groupby, merge and array work (presence: one pass per
snapshot, vectorised over models).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..vocab import REGIONS
from . import lineage
from .ids import isin, positions, split_id, take

COLUMNS = ["kind", "snapshot", "month", "model_id", "org", "value", "detail", "action"]

MISSING_ACTION = ("no reading invented for the snapshots it is missing from; month boundaries use the nearest "
                  "snapshot within the tolerance that holds the model, else the model has no row for that month")
RENAMED_ACTION = ("kept as two separate models; no counter difference is taken across the two ids, so a month "
                  "spanning the rename counts the new id's 30-day counter (rolling_30d) where the snapshot has one")
MERGE_ACTION = "attributed to the root of the first declared base (root_region in derivatives); other bases not counted"


def presence_issues(presence: pd.DataFrame, order: list[str]) -> list[pd.DataFrame]:
    """``model_missing`` and ``renamed`` rows from (snapshot, model_id, org, created_at) of every snapshot.

    ``order`` lists the snapshot names in store order (date, then name). Presence is compared
    within one series of snapshots only: those sharing a name suffix (``2026-07-01`` with
    ``2026-08-01``; ``2026-05-04-trending`` with other ``-trending`` ones), since a second source
    lists a different population of models.
    """
    from ..ingest.store import NAME_RE

    if presence is None or presence.empty:
        return []
    series = {n: (NAME_RE.fullmatch(n).group(2) or "") if NAME_RE.fullmatch(n) else "" for n in order}
    out = []
    for key in sorted(set(series.values())):  # a few series, not a loop over models
        sub_order = [n for n in order if series[n] == key]
        out += _series_presence_issues(presence[presence["snapshot"].isin(sub_order)], sub_order)
    return out


def _codes(col: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes of a column and the values they stand for (-1 for missing)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return col.cat.codes.to_numpy().astype(np.int64), col.dtype.categories
    codes, uniq = pd.factorize(col, sort=True)
    return codes.astype(np.int64), uniq


def _series_presence_issues(presence: pd.DataFrame, order: list[str]) -> list[pd.DataFrame]:
    if presence is None or presence.empty or len(order) < 2:
        return []
    names = np.asarray(order, dtype=object)
    pos = pd.Series(np.arange(len(order)), index=pd.Index(order))
    presence = presence.reset_index(drop=True)
    # one pass over the snapshots in order, vectorised over models (no sort of the presence rows):
    # each model's previous snapshot, first and last snapshot, and latest createdAt and namespace
    mcode, ids = _codes(presence["model_id"])
    has_created = presence["created_at"].notna().to_numpy()
    has_org = presence["org"].notna().to_numpy()
    k_all = pos.to_numpy()[positions(presence["snapshot"], pos.index)]
    M = len(ids)
    first = np.full(M, -1, dtype=np.int64)
    last = np.full(M, -1, dtype=np.int64)
    # the row of each model's latest non-missing createdAt and namespace
    created_row = np.full(M, -1, dtype=np.int64)
    org_row = np.full(M, -1, dtype=np.int64)
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
    out = []

    # -- model_missing: one row per gap (first missing snapshot .. last missing snapshot)
    rows, pk = np.concatenate(gap_rows), np.concatenate(gap_prev)
    if len(rows):
        gap = presence.iloc[rows].reset_index(drop=True)
        k = k_all[rows]
        first_missing = pd.Series(names[pk + 1], dtype="string")
        last_missing = pd.Series(names[k - 1], dtype="string")
        n_missed = k - pk - 1
        span = first_missing.where(n_missed == 1, first_missing + " to " + last_missing)
        out.append(pd.DataFrame({
            "kind": "model_missing", "snapshot": first_missing, "month": None, "model_id": gap["model_id"], "org": gap["org"],
            "value": pd.array(n_missed.astype(float), dtype="Float64"),
            "detail": "absent from " + pd.Series(n_missed).astype("string") + " snapshot(s) (" + span
                      + "), present before and again in " + gap["snapshot"].astype("string"),
            "action": MISSING_ACTION,
        }))

    # only models that leave the series early or join it late can be either side of a rename
    last_k = len(order) - 1
    cand = np.flatnonzero((first >= 0) & ((last < last_k) | (first > 0)) & (created_row >= 0))
    seen = pd.DataFrame({"first": first[cand], "last": last[cand],
                         "created": take(presence["created_at"], created_row[cand]).array,
                         "org": take(presence["org"], org_row[cand]).array},
                        index=pd.Index(ids[cand], name="model_id"))
    # -- renamed: gone for good after snapshot K, new from K+1, same createdAt to the second
    ns, name = split_id(pd.Series(seen.index, index=seen.index))
    seen = seen.assign(ns=ns.str.lower(), name=name, created_s=seen["created"].dt.floor("s"))
    gone = seen[seen["last"] < last_k].assign(t=lambda d: d["last"])
    new = seen[seen["first"] > 0].assign(t=lambda d: d["first"] - 1)
    if gone.empty or new.empty:
        return out
    pairs = gone.reset_index().merge(new.reset_index(), on=["t", "created_s"], suffixes=("_old", "_new"))
    same_ns = (pairs["ns_old"] == pairs["ns_new"]).fillna(False) & (pairs["name_old"] != pairs["name_new"]).fillna(False)
    moved = (pairs["name_old"] == pairs["name_new"]).fillna(False) & (pairs["ns_old"] != pairs["ns_new"]).fillna(False)
    pairs = pairs[(same_ns | moved).to_numpy()].assign(how=np.where(same_ns[same_ns | moved], "same namespace", "same repo name, new namespace"))
    # one-to-one matches only: an ambiguous candidate is not reported as a rename
    pairs = pairs[~pairs["model_id_old"].duplicated(keep=False) & ~pairs["model_id_new"].duplicated(keep=False)]
    if pairs.empty:
        return out
    old_snap = pd.Series(names[pairs["t"].to_numpy()], index=pairs.index, dtype="string")
    new_snap = pd.Series(names[pairs["t"].to_numpy() + 1], index=pairs.index, dtype="string")
    out.append(pd.DataFrame({
        "kind": "renamed", "snapshot": new_snap, "month": None, "model_id": pairs["model_id_new"].astype("string"),
        "org": pairs["org_new"].astype("string"), "value": None,
        "detail": "same model as " + pairs["model_id_old"].astype("string") + " (last seen in " + old_snap
                  + "): same createdAt " + pairs["created_s"].dt.strftime("%Y-%m-%dT%H:%M:%S").astype("string")
                  + ", " + pairs["how"].astype("string"),
        "action": RENAMED_ACTION,
    }))
    return out


def merge_issues(edges: pd.DataFrame, derivs: pd.DataFrame, registry: pd.DataFrame) -> list[pd.DataFrame]:
    """``merge_mixed_roots``: derivatives with several bases whose roots lie in different regions."""
    from .organizations import attribute

    if edges is None or edges.empty or registry is None:
        return []
    multi = derivs[derivs["n_bases"].fillna(0) > 1]
    if multi.empty:
        return []
    e = edges[isin(edges["model_id"], multi["model_id"])].drop_duplicates(["model_id", "base_id"])
    er = lineage.edge_roots(e, derivs[["model_id", "root_model_id"]].dropna())
    # which regions each merge's roots lie in: a (merge x region) boolean table on integer codes
    mcode, merges = pd.factorize(er["model_id"], sort=True)
    rcode = pd.Categorical(attribute(er["root_org"], registry)["region"], categories=REGIONS).codes
    cells = np.zeros((len(merges), len(REGIONS)), dtype=bool)
    cells[mcode[rcode >= 0], rcode[rcode >= 0]] = True
    has = pd.DataFrame(cells, index=pd.Index(merges, name="model_id"), columns=list(REGIONS))
    # unknown is not a region of its own: a merge is mixed when two known regions meet
    n_regions = has[[r for r in REGIONS if r != "unknown"]].sum(axis=1)
    mixed = has[n_regions > 1]
    if mixed.empty:
        return []
    listing = pd.Series("", index=mixed.index, dtype="string")
    for r in REGIONS:  # five fixed regions, not a loop over models
        listing = listing + np.where(mixed[r], r + " ", "")
    listing = listing.str.strip().str.replace(" ", ", ", regex=False)
    d = multi.set_index("model_id").loc[mixed.index]
    return [pd.DataFrame({
        "kind": "merge_mixed_roots", "snapshot": None, "month": None, "model_id": pd.array(mixed.index, dtype="string"),
        "org": d["root_org"].astype("string").to_numpy(),
        "value": pd.array(n_regions[mixed.index].astype(float).to_numpy(), dtype="Float64"),
        "detail": ("roots of the " + d["n_bases"].astype("string").to_numpy() + " declared bases lie in regions "
                   + listing.to_numpy() + "; first base's root " + d["root_model_id"].astype("string").fillna("none").to_numpy()
                   + " (" + d["root_region"].astype("string").to_numpy() + ")"),
        "action": MERGE_ACTION,
    })]
