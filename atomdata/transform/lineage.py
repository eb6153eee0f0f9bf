"""Lineage: from each derivative's declared base to its root base model, vectorised.

Every model points at its first declared base. Roots are found by pointer doubling over integer
arrays (``next = next[next]``), so a chain of any depth costs O(log depth) array passes and no
Python loop over models. A base that is not among the known models ends the chain there (its id
is still the best-known root: ``outside_snapshot``); a self-reference is cut and flagged; models
on or leading into a cycle never converge and are flagged ``cycle`` with no root.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def _namespace(ids: pd.Series) -> pd.Series:
    ids = ids.astype("string")
    return ids.str.split("/", n=1).str[0].where(ids.str.contains("/", regex=False)).astype("string")


def resolve(models: pd.DataFrame) -> pd.DataFrame:
    """Root of every model with a declared base.

    ``models`` needs ``model_id`` (unique) and ``base_id`` (first declared base, null for originals).
    Returns one row per derivative: model_id, root_model_id, root_org, depth, lineage_status.
    """
    ids = models["model_id"].astype("string").reset_index(drop=True)
    base = models["base_id"].astype("string").reset_index(drop=True)
    n = len(ids)
    index = pd.Index(ids)
    parent = index.get_indexer(base.fillna("\x00<none>"))
    has_base = base.notna().to_numpy()
    self_ref = has_base & (base == ids).fillna(False).to_numpy()
    parent[self_ref] = -1
    idx = np.arange(n)
    nxt = np.where(parent >= 0, parent, idx)
    depth = (parent >= 0).astype(np.int64)
    # pointer doubling: after k rounds nxt jumps 2**k links and depth counts them
    rounds = int(np.ceil(np.log2(max(n, 2)))) + 1
    for _ in range(rounds):
        nn = nxt[nxt]
        if np.array_equal(nn, nxt):
            break
        depth = depth + depth[nxt]
        nxt = nn
    # a true end of chain has no parent; landing anywhere else means the chain loops
    cycle = (nxt[nxt] != nxt) | (parent[nxt] >= 0)
    root = nxt
    # a root whose own declared base is missing from the known models: the chain leaves here
    root_base = base.to_numpy(dtype=object)[root]
    leaves = has_base[root] & (parent[root] < 0) & ~self_ref[root]
    root_id = np.where(leaves, root_base, ids.to_numpy(dtype=object)[root])
    depth = depth + leaves.astype(np.int64)
    status = np.where(cycle, "cycle", np.where(self_ref[root] & ~leaves, "self_reference", np.where(leaves, "outside_snapshot", "complete")))
    out = pd.DataFrame({
        "model_id": ids,
        "root_model_id": pd.array(np.where(cycle, None, root_id), dtype="string"),
        "depth": pd.array(np.where(cycle, None, depth), dtype="Int64"),
        "lineage_status": pd.array(status, dtype="string"),
    })
    out["root_org"] = _namespace(out["root_model_id"])
    return out[has_base].reset_index(drop=True)


def edge_roots(edges: pd.DataFrame, roots: pd.DataFrame) -> pd.DataFrame:
    """Root of every declared base edge (for merges: one root per base)."""
    r = roots.set_index("model_id")["root_model_id"]
    out = edges[["model_id", "base_id", "position"]].copy()
    out["root_model_id"] = out["base_id"].map(r).fillna(out["base_id"]).astype("string")
    out["root_org"] = _namespace(out["root_model_id"])
    return out
