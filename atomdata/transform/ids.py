"""Repo-id string helpers computed in Arrow (pandas 3 runs ``.str.split`` in Python).

A Hub repo id is ``namespace/name``; legacy ids without a slash have no namespace.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _arrow(s: pd.Series) -> pa.Array:
    arr = pa.array(s, type=pa.string(), from_pandas=True)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _series(arr: pa.Array, index) -> pd.Series:
    return pd.Series(pd.array(arr, dtype="string") if len(arr) else pd.array([], dtype="string"), index=index)


def split_id(ids: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(namespace, name) of each id; namespace null and name = the id when there is no slash."""
    arr = _arrow(ids)
    m = pc.extract_regex(arr, r"^(?P<ns>[^/]*)/(?P<name>.*)$")
    ns = pc.struct_field(m, "ns")
    name = pc.if_else(pc.is_null(ns), arr, pc.struct_field(m, "name"))
    return _series(ns, ids.index), _series(name, ids.index)


def namespace(ids: pd.Series) -> pd.Series:
    """Namespace (``Qwen`` of ``Qwen/Qwen3-8B``); null when the id has no slash."""
    return split_id(ids)[0]


def isin(s: pd.Series, values) -> np.ndarray:
    """Boolean mask ``s in values`` (nulls are False), hashed in Arrow."""
    value_set = pa.array(pd.Series(values, dtype="string"), type=pa.string(), from_pandas=True)
    return pc.fill_null(pc.is_in(_arrow(s), value_set=value_set), False).to_numpy(zero_copy_only=False)
