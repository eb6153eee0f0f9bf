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
import pyarrow as pa

from ..issues import issue
from ..vocab import LINEAGE_STATUS, REGIONS
from .ids import as_arrow, isin, lookup, namespace, positions
from .organizations import attribute


#: ``lineage_status`` values, in the order of the codes ``resolve_codes`` returns
STATUSES = tuple(LINEAGE_STATUS)


def resolve_codes(id_codes: np.ndarray, base_codes: np.ndarray) -> dict[str, np.ndarray]:
    """Pointer doubling on integer codes. ``id_codes`` are distinct; ``base_codes`` is -1 for none.

    Returns arrays aligned with the models: ``root_code`` (code of the root id, -1 for cycles),
    ``depth`` (-1 for cycles), ``status`` (a position in ``STATUSES``) and ``has_base``.
    """
    n = len(id_codes)
    size = int(max(id_codes.max(initial=-1), base_codes.max(initial=-1))) + 1
    pos_of_code = np.full(size, -1, dtype=np.int64)
    pos_of_code[id_codes] = np.arange(n)
    has_base = base_codes >= 0
    parent = np.where(has_base, pos_of_code[np.where(has_base, base_codes, 0)], -1)
    self_ref = has_base & (base_codes == id_codes)
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
    leaves = has_base[root] & (parent[root] < 0) & ~self_ref[root]
    root_code = np.where(leaves, base_codes[root], id_codes[root])
    depth = depth + leaves.astype(np.int64)
    # a code into STATUSES per model (text is made once per status, not per model)
    status = np.select([cycle, self_ref[root] & ~leaves, leaves], [STATUSES.index("cycle"), STATUSES.index("self_reference"),
                                                                   STATUSES.index("outside_snapshot")], 0).astype(np.int8)
    return {"root_code": np.where(cycle, -1, root_code), "depth": np.where(cycle, -1, depth),
            "status": status, "has_base": has_base}


def code_ids(ids: pd.Series, base: pd.Series) -> tuple[np.ndarray, np.ndarray, pa.Array]:
    """Integer codes for distinct ``ids`` and their ``base`` ids: model i gets code i, a base among
    the ids gets that id's code, any other base id a code after them; -1 for no base.
    Returns (id codes, base codes, the id string of every code)."""
    n = len(ids)
    pos = positions(base, ids)
    ids_arr = as_arrow(ids)
    outside = pos < 0
    outside &= base.notna().to_numpy()
    extra = as_arrow(base[outside]).dictionary_encode()
    pos[outside] = n + extra.indices.to_numpy(zero_copy_only=False)
    return np.arange(n, dtype=np.int64), pos, pa.concat_arrays([ids_arr, extra.dictionary.cast(pa.string())])


def id_strings(vocab: pa.Array, codes: np.ndarray) -> pd.Series:
    """The ids of ``codes`` (null where -1) as a string Series."""
    return pd.Series(pd.array(vocab.take(pa.array(codes, mask=codes < 0)), dtype="string") if len(codes)
                     else pd.array([], dtype="string"))


def resolve(models: pd.DataFrame) -> pd.DataFrame:
    """Root of every model with a declared base.

    ``models`` needs ``model_id`` (unique) and ``base_id`` (first declared base, null for originals).
    Returns one row per derivative: model_id, root_model_id, root_org, depth, lineage_status and
    ``root_row``, the root's row in ``models`` (-1 where it is outside them or there is none), so
    callers take the root's columns by position instead of looking its id up.
    """
    ids = models["model_id"].astype("string").reset_index(drop=True)
    base = models["base_id"].astype("string").reset_index(drop=True)
    id_codes, base_codes, vocab = code_ids(ids, base)
    r = resolve_codes(id_codes, base_codes)
    keep = r["has_base"]
    depth = r["depth"][keep]
    out = pd.DataFrame({
        "model_id": ids[keep].reset_index(drop=True),
        "root_model_id": id_strings(vocab, r["root_code"][keep]),
        "depth": pd.array(depth, dtype="Int64") if (depth >= 0).all() else pd.array(np.where(depth >= 0, depth, None), dtype="Int64"),
        "lineage_status": pd.array(pa.array(STATUSES, pa.string()).take(pa.array(r["status"][keep])), dtype="string"),
    })
    out["root_org"] = namespace(out["root_model_id"])
    root = r["root_code"][keep]
    out["root_row"] = np.where(root < len(ids), root, -1)  # codes below n are the models' rows
    return out


def edge_roots(edges: pd.DataFrame, roots: pd.DataFrame) -> pd.DataFrame:
    """Root of every declared base edge (for merges: one root per base)."""
    r = roots.set_index("model_id")["root_model_id"]
    out = edges[["model_id", "base_id", "position"]].copy()
    out["root_model_id"] = lookup(out["base_id"], r).astype("string").fillna(out["base_id"]).array
    out["root_org"] = namespace(out["root_model_id"])
    return out


# --------------------------------------------------------------------------- data_quality

MERGE_ACTION = "attributed to the root of the first declared base (root_region in derivatives); other bases not counted"
STATUS_ACTIONS = {"cycle": "no root; counted as unknown", "self_reference": "self-link ignored; the model is its own root"}


def issues(derivs: pd.DataFrame) -> list[pd.DataFrame]:
    """``lineage_cycle``, ``lineage_self_reference`` and ``lineage_outside_snapshot`` rows."""
    out = []
    for status, action in STATUS_ACTIONS.items():
        bad = derivs[derivs["lineage_status"] == status]
        out.append(issue(f"lineage_{status}", model_id=bad["model_id"], detail="declared base chain: " + status.replace("_", " "),
                         action=action))
    gone = derivs[derivs["lineage_status"] == "outside_snapshot"]
    out.append(issue("lineage_outside_snapshot", model_id=gone["model_id"], org=gone["root_org"],
                     value=gone["depth"].astype("Float64"), detail="chain leaves the snapshots at " + gone["root_model_id"],
                     action="root taken as the last known ancestor; region from its namespace"))
    return out


def merge_issues(edges: pd.DataFrame, derivs: pd.DataFrame, registry: pd.DataFrame) -> pd.DataFrame:
    """``merge_mixed_roots``: derivatives with several declared bases whose roots lie in at least
    two different known regions (``unknown`` roots do not count as a region of their own); the
    attribution stays with the first declared base."""
    none = issue("merge_mixed_roots", [], [])
    multi = derivs[derivs["n_bases"].fillna(0) > 1]
    if edges is None or edges.empty or multi.empty:
        return none
    e = edges[isin(edges["model_id"], multi["model_id"])].drop_duplicates(["model_id", "base_id"])
    er = edge_roots(e, derivs[["model_id", "root_model_id"]].dropna())
    # which regions each merge's roots lie in: a (merge x region) boolean table on integer codes
    mcode, merges = pd.factorize(er["model_id"], sort=True)
    rcode = pd.Categorical(attribute(er["root_org"], registry)["region"], categories=REGIONS).codes
    cells = np.zeros((len(merges), len(REGIONS)), dtype=bool)
    cells[mcode[rcode >= 0], rcode[rcode >= 0]] = True
    has = pd.DataFrame(cells, index=pd.Index(merges, name="model_id"), columns=list(REGIONS))
    n_regions = has[[r for r in REGIONS if r != "unknown"]].sum(axis=1)
    mixed = has[n_regions > 1]
    if mixed.empty:
        return none
    listing = pd.Series("", index=mixed.index, dtype="string")
    for r in REGIONS:  # five fixed regions, not a loop over models
        listing = listing + np.where(mixed[r], r + " ", "")
    listing = listing.str.strip().str.replace(" ", ", ", regex=False)
    d = multi.set_index("model_id").loc[mixed.index]
    return issue("merge_mixed_roots", model_id=pd.array(mixed.index, dtype="string"), org=d["root_org"].astype("string").to_numpy(),
                 value=n_regions[mixed.index].astype(float).to_numpy(),
                 detail=("roots of the " + d["n_bases"].astype("string").to_numpy() + " declared bases lie in regions "
                         + listing.to_numpy() + "; first base's root " + d["root_model_id"].astype("string").fillna("none").to_numpy()
                         + " (" + d["root_region"].astype("string").to_numpy() + ")"),
                 action=MERGE_ACTION)
