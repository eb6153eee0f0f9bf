"""Repo-id string helpers computed in Arrow (pandas 3 runs ``.str.split`` in Python).

A Hub repo id is ``namespace/name``; legacy ids without a slash have no namespace.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def as_arrow(s: pd.Series) -> pa.Array:
    arr = pa.array(s, type=pa.string(), from_pandas=True)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def as_series(arr: pa.Array, index) -> pd.Series:
    return pd.Series(pd.array(arr, dtype="string") if len(arr) else pd.array([], dtype="string"), index=index)


def split_id(ids: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(namespace, name) of each id; namespace null and name = the id when there is no slash."""
    arr = as_arrow(ids)
    m = pc.extract_regex(arr, r"^(?P<ns>[^/]*)/(?P<name>.*)$")
    ns = pc.struct_field(m, "ns")
    name = pc.if_else(pc.is_null(ns), arr, pc.struct_field(m, "name"))
    return as_series(ns, ids.index), as_series(name, ids.index)


def namespace_of(arr: pa.Array) -> pa.Array:
    """Namespaces of an Arrow array of ids (null where an id has no slash)."""
    return pc.if_else(pc.greater_equal(pc.find_substring(arr, "/"), 0),
                      pc.list_element(pc.split_pattern(arr, "/", max_splits=1), 0), pa.scalar(None, pa.string()))


def namespace(ids: pd.Series) -> pd.Series:
    """Namespace (``Qwen`` of ``Qwen/Qwen3-8B``); null when the id has no slash."""
    return as_series(namespace_of(as_arrow(ids)), ids.index)


def isin(s: pd.Series, values) -> np.ndarray:
    """Boolean mask ``s in values`` (nulls are False), hashed in Arrow."""
    value_set = pa.array(pd.Series(values, dtype="string"), type=pa.string(), from_pandas=True)
    return pc.fill_null(pc.is_in(as_arrow(s), value_set=value_set), False).to_numpy(zero_copy_only=False)


def positions(keys: pd.Series, index) -> np.ndarray:
    """Position of each key in ``index`` (unique strings), -1 where absent or null; hashed in Arrow.

    The fast path for ``keys.map(series_indexed_by_ids)``: pandas hashes an index of Arrow strings
    through Python objects, which dominates a build over millions of ids.
    """
    value_set = index if isinstance(index, pa.Array) else as_arrow(pd.Series(index, dtype="string"))
    if isinstance(keys.dtype, pd.CategoricalDtype):  # look up each category once, then follow the codes
        cats = as_arrow(pd.Series(keys.dtype.categories, dtype="string"))
        codes = keys.cat.codes.to_numpy()
        if cats.equals(value_set):  # the categories are the index: a code is a position (-1 stays -1)
            return codes.astype(np.int64)
        at = positions(pd.Series(keys.dtype.categories), value_set)
        return np.where(codes >= 0, at[codes], -1) if len(at) else np.full(len(codes), -1, dtype=np.int64)
    arr = as_arrow(keys)
    if len(arr) == len(value_set) and arr.equals(value_set):  # aligned already (tables sorted by model id)
        return np.arange(len(arr), dtype=np.int64)
    return pc.fill_null(pc.index_in(arr, value_set=value_set, skip_nulls=True), -1).to_numpy(zero_copy_only=False).astype(np.int64)


def first_rows(codes: np.ndarray, n: int, values: np.ndarray | None = None) -> np.ndarray:
    """For each code 0 .. n-1, ``values`` (default: the row number) at the first row holding it;
    -1 where no row does. Rows with a code below 0 are skipped. No sort: the last write wins, so
    the rows are written back to front."""
    codes = np.asarray(codes)
    rows = np.flatnonzero(codes >= 0)
    out = np.full(n, -1, dtype=np.int64)
    out[codes[rows][::-1]] = (rows if values is None else np.asarray(values)[rows])[::-1]
    return out


def lookup(keys: pd.Series, values: pd.Series) -> pd.Series:
    """``keys.map(values)`` for a Series ``values`` indexed by unique ids (missing keys give NA)."""
    pos = positions(keys, values.index)
    return take(values, pos, keys.index)


def take(values: pd.Series, pos: np.ndarray, index=None) -> pd.Series:
    """``values`` at positions ``pos`` (-1 gives NA), keeping the values' dtype."""
    arr = values.array.take(pos, allow_fill=True) if len(values) else \
        pd.array([pd.NA] * len(pos), dtype=values.dtype if values.dtype != object else "string")
    return pd.Series(arr, index=index if index is not None else pd.RangeIndex(len(pos)), name=values.name)


def re2_error(pattern: str, ignore_case: bool = False) -> str | None:
    """Why ``pattern`` is not an RE2 regular expression Arrow can run (None when it is)."""
    try:
        pc.match_substring_regex(pa.array(["x"]), pattern, ignore_case=ignore_case)
        return None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        return str(exc).splitlines()[0]
