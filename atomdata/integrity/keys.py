"""Primary and foreign keys as the schemas declare them (each Config's ``metadata``), the same keys
``datapackage.json`` declares to frictionless."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..schemas import TABLES
from .compare import EXAMPLES


def declared(name: str) -> dict:
    """``{"primary_key": [...], "foreign_keys": [...]}`` of a table (either may be absent)."""
    return getattr(TABLES[name].Config, "metadata", None) or {}


def _text(s: pd.Series) -> pa.Array:
    arr = pa.array(s.astype("string"), type=pa.string(), from_pandas=True)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _values(df: pd.DataFrame, i: int, fields: list[str]) -> str:
    vals = [df[f].iloc[i] for f in fields]
    return ", ".join("empty" if v is None or v is pd.NA or v != v else repr(str(v)) for v in vals)


def primary_key(name: str, df: pd.DataFrame, row) -> list[str]:
    """Rows that share their primary key with another row (a missing value counts as a value)."""
    pk = declared(name).get("primary_key")
    if not pk or not len(df):
        return []
    dup = df.duplicated(subset=pk, keep=False).to_numpy()
    if not dup.any():
        return []
    idx = np.flatnonzero(dup)[:EXAMPLES]
    ex = "; ".join(f"{row(int(i))}: ({_values(df, int(i), pk)})" for i in idx)
    return [f"  primary key ({', '.join(pk)}): {int(dup.sum())} row(s) share their key with another row; e.g. {ex}"]


def _absent(child: pd.DataFrame, fields: list[str], parent: pd.DataFrame, ref: list[str]) -> np.ndarray:
    """Rows of ``child`` whose key (all fields present) is not a key of ``parent``."""
    present = child[fields].notna().all(axis=1).to_numpy()
    if len(fields) == 1:  # hashed in Arrow: per-model tables have millions of rows
        found = pc.is_in(_text(child[fields[0]]), value_set=_text(parent[ref[0]]).drop_null())
        found = pc.fill_null(found, False).to_numpy(zero_copy_only=False)
    else:
        keys = pd.MultiIndex.from_frame(parent[ref].astype("string"), names=fields)
        found = pd.MultiIndex.from_frame(child[fields].astype("string")).isin(keys)
    return present & ~np.asarray(found, dtype=bool)


def foreign_keys(name: str, df: pd.DataFrame, row, tables: dict[str, pd.DataFrame]) -> tuple[list[str], list[str]]:
    """Rows whose foreign key names no row of the table it references (keys with a missing field
    are not references, as for frictionless). Returns (report lines, referenced tables that are
    not available to check against)."""
    lines, unchecked = [], []
    for fk in declared(name).get("foreign_keys", []):
        fields, ref = list(fk["fields"]), fk["reference"]
        parent = tables.get(ref["resource"])
        if parent is None:
            unchecked.append(ref["resource"])
            continue
        bad = _absent(df, fields, parent, list(ref["fields"]))
        if not bad.any():
            continue
        idx = np.flatnonzero(bad)
        n_keys = len(df.iloc[idx][fields].drop_duplicates())
        ex = "; ".join(f"{row(int(i))}: ({_values(df, int(i), fields)})" for i in idx[:EXAMPLES])
        lines.append(f"  foreign key ({', '.join(fields)}) -> {ref['resource']} ({', '.join(ref['fields'])}): "
                     f"{len(idx)} row(s) name {n_keys} key(s) that {ref['resource']} lacks; e.g. {ex}")
    return lines, unchecked
