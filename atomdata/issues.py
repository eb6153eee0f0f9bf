"""The one helper that makes ``data_quality`` rows: every rule and step reports what it found here.

Its columns are those of the ``DataQuality`` schema, defined once there. A row says what was found
(``kind``, ``detail``), where (``snapshot``, ``month``, ``model_id``, ``org``), how much (``value``)
and what the build did about it (``action``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .schemas import DataQuality

COLUMNS = list(DataQuality.to_schema().columns)
SORT = ["kind", "snapshot", "month", "model_id", "org"]
TYPES = {c: ("Float64" if c == "value" else "string") for c in COLUMNS}


def _length(values) -> int | None:
    sizes = {len(v) for v in values if isinstance(v, (pd.Series, pd.Index, np.ndarray, list, pd.api.extensions.ExtensionArray))}
    if len(sizes) > 1:
        raise ValueError(f"data_quality columns of different lengths: {sorted(sizes)}")
    return sizes.pop() if sizes else None


def _column(value, n: int, dtype: str):
    if isinstance(value, (pd.Series, pd.Index)):
        value = value.array
    if isinstance(value, (np.ndarray, list, pd.api.extensions.ExtensionArray)):
        return pd.array(value, dtype=dtype) if dtype == "string" or len(value) == 0 else pd.array(value).astype(dtype)
    return pd.array([value] * n, dtype=dtype)


def issue(kind: str, detail, action, *, snapshot=None, month=None, model_id=None, org=None, value=None) -> pd.DataFrame:
    """``data_quality`` rows of one kind. Every argument is one value or a sequence (a Series, an
    array, a list) of the rows' values; sequences are of one length, values repeat. No sequence:
    one row."""
    fields = {"kind": kind, "snapshot": snapshot, "month": month, "model_id": model_id, "org": org,
              "value": value, "detail": detail, "action": action}
    n = _length(fields.values())
    n = 1 if n is None else n
    return pd.DataFrame({c: _column(fields[c], n, TYPES[c]) for c in COLUMNS})


def collect(parts) -> pd.DataFrame:
    """One ``data_quality`` table from the rows every step reported, typed and in a stable order."""
    parts = [p[COLUMNS].astype(TYPES) for p in parts if p is not None and len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in TYPES.items()})
    # kind by kind (the first key), each kind's rows sorted by the other keys unless they come so:
    # a step reporting millions of rows in order (``counter_decreased``) costs no sort of them
    of_kind: dict = {}
    for p in parts:
        for kind, rows in (((p["kind"].iloc[0], p),) if (p["kind"] == p["kind"].iloc[0]).all() else p.groupby("kind", sort=False)):
            of_kind.setdefault(kind, []).append(rows)
    blocks = []
    for kind in sorted(of_kind):
        rows = pd.concat(of_kind[kind], ignore_index=True) if len(of_kind[kind]) > 1 else of_kind[kind][0]
        blocks.append(rows if in_order(rows, SORT[1:]) else rows.sort_values(SORT[1:], na_position="first", kind="stable"))
    return pd.concat(blocks, ignore_index=True)


def in_order(df: pd.DataFrame, keys: list[str]) -> bool:
    """Whether ``df``'s rows are sorted by ``keys`` (missing values first), each row compared with
    the next, no sort made."""
    open_ = np.ones(max(len(df) - 1, 0), dtype=bool)  # pairs of rows equal on the keys so far
    for k in keys:
        if not open_.any():
            break
        na = df[k].isna().to_numpy()
        v = df[k].to_numpy(dtype=object, na_value="")
        both = ~na[:-1] & ~na[1:]
        before = (na[:-1] & ~na[1:]) | (both & (v[:-1] < v[1:]))
        after = (~na[:-1] & na[1:]) | (both & (v[:-1] > v[1:]))
        if (open_ & after).any():
            return False
        open_ &= ~before
    return True


def none() -> pd.DataFrame:
    """No rows (a step that found nothing)."""
    return collect([])
