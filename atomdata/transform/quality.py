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

No loop runs over models: everything is groupby, merge and array work.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..schemas import REGIONS
from . import lineage
from .ids import isin, positions, split_id

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


def _series_presence_issues(presence: pd.DataFrame, order: list[str]) -> list[pd.DataFrame]:
    if presence is None or presence.empty or len(order) < 2:
        return []
    names = np.asarray(order, dtype=object)
    pos = pd.Series(np.arange(len(order)), index=pd.Index(order))
    # rows sorted by (model, snapshot position) on integer codes; prev_k: the model's previous snapshot
    mcode = presence["model_id"].cat.codes.to_numpy() if isinstance(presence["model_id"].dtype, pd.CategoricalDtype) \
        else pd.factorize(presence["model_id"], sort=True)[0]
    k_all = pos.to_numpy()[positions(presence["snapshot"], pos.index)]
    srt = np.lexsort((k_all, mcode))
    p = presence[["snapshot", "model_id", "org", "created_at"]].iloc[srt].reset_index(drop=True)
    p["k"] = k_all[srt]
    same = np.r_[False, mcode[srt][1:] == mcode[srt][:-1]]
    prev_k = pd.Series(np.where(same, np.r_[-1, p["k"].to_numpy()[:-1]], np.nan))
    out = []

    # -- model_missing: one row per gap (first missing snapshot .. last missing snapshot)
    gap = p[(p["k"] - prev_k) > 1].copy()
    if not gap.empty:
        pk = prev_k[gap.index].astype("int64").to_numpy()
        first_missing = pd.Series(names[pk + 1], index=gap.index, dtype="string")
        last_missing = pd.Series(names[gap["k"].to_numpy() - 1], index=gap.index, dtype="string")
        n_missed = gap["k"].to_numpy() - pk - 1
        span = first_missing.where(n_missed == 1, first_missing + " to " + last_missing)
        out.append(pd.DataFrame({
            "kind": "model_missing", "snapshot": first_missing, "month": None, "model_id": gap["model_id"], "org": gap["org"],
            "value": pd.array(n_missed.astype(float), dtype="Float64"),
            "detail": "absent from " + pd.Series(n_missed, index=gap.index).astype("string") + " snapshot(s) (" + span
                      + "), present before and again in " + gap["snapshot"].astype("string"),
            "action": MISSING_ACTION,
        }))

    # -- renamed: gone for good after snapshot K, new from K+1, same createdAt to the second
    seen = p.groupby("model_id", sort=False).agg(first=("k", "min"), last=("k", "max"),
                                                 created=("created_at", "last"), org=("org", "last"))
    seen = seen[seen["created"].notna()]
    last_k = len(order) - 1
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
    from ..registry import attribute

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
