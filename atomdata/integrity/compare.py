"""Compare a published table (or its sums) with the rows other tables say it must hold, on a key.

Both sides are lined up on the key columns (a missing value is a value of its own, as in the
CSV); a value column agrees when both are missing or equal: numbers with a float type within
1e-9 (shares and fractions are written with 10 significant digits), everything else exactly,
as text (whole numbers at any size, dates, booleans, categories).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

ROW = "__row"  # the published row (0-based, as read) a compared row stands for
MISSING = "\x00"  # a missing key value, as a value of its own (no CSV cell holds NUL)
EXAMPLES = 3


def _key_text(df: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    return pd.DataFrame({k: df[k].astype("string").fillna(MISSING).to_numpy(dtype=object) for k in key})


def _agree(a: pd.Series, b: pd.Series) -> np.ndarray:
    both_na = (a.isna() & b.isna()).to_numpy(dtype=bool)
    if pd.api.types.is_float_dtype(a.dtype) or pd.api.types.is_float_dtype(b.dtype):
        x = pd.to_numeric(a, errors="coerce").astype("float64").to_numpy()
        y = pd.to_numeric(b, errors="coerce").astype("float64").to_numpy()
        with np.errstate(invalid="ignore"):
            same = np.isclose(x, y, rtol=1e-9, atol=1e-12)
        return both_na | np.nan_to_num(same, nan=False).astype(bool)
    same = (a.astype("string") == b.astype("string")).fillna(False).to_numpy(dtype=bool)
    return both_na | same


def _fmt(v) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return "empty"
    v = v.item() if isinstance(v, np.generic) else v
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:.10g}"  # as the CSV writes it
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    return repr(v)


def _key_of(row: pd.Series, key: list[str]) -> str:
    return "(" + ", ".join("empty" if row[k] == MISSING else str(row[k]) for k in key) + ")"


def _differences(matched: pd.DataFrame, values: list[str], key: list[str], row) -> str | None:
    """The rows whose values differ: how many, and examples (rows where a count or a text differs
    first, then those where only a fraction does; each in file order)."""
    bad = {v: ~_agree(matched[v], matched[f"{v}__expected"]) for v in values}
    any_bad = np.logical_or.reduce(list(bad.values()))
    if not any_bad.any():
        return None
    exact = [v for v in values if not pd.api.types.is_float_dtype(matched[v].dtype)]
    weight = np.logical_or.reduce([bad[v] for v in exact]) if exact else np.zeros(len(matched), dtype=bool)
    order = pd.DataFrame({"w": ~weight, "row": matched[ROW].to_numpy()})[any_bad].sort_values(["w", "row"], kind="stable")
    ex = []
    for i in order.index[:EXAMPLES]:
        r = matched.loc[i]
        diffs = ", ".join(f"{v} {_fmt(r[v])}, expected {_fmt(r[f'{v}__expected'])}" for v in values if bad[v][i])
        ex.append(f"{row(int(r[ROW]))} {_key_of(r, key)}: {diffs}")
    return f"{int(any_bad.sum())} row(s) differ; e.g. " + "; ".join(ex)


def compare(published: pd.DataFrame, expected: pd.DataFrame, key: list[str], values: list[str], rule: str, row) -> list[str]:
    """Report lines for the rows of ``published`` (with a :data:`ROW` column) that ``expected``
    lacks, the rows ``expected`` holds that ``published`` lacks, and the rows whose ``values``
    differ; ``rule`` says what ``expected`` is, ``row(i)`` names published row ``i`` by its line
    in the CSV file."""
    left = pd.concat([_key_text(published, key), published[values + [ROW]].reset_index(drop=True)], axis=1)
    right = pd.concat([_key_text(expected, key), expected[values].reset_index(drop=True)], axis=1)
    both = left.merge(right, on=key, how="outer", suffixes=("", "__expected"), indicator=True, sort=False)
    found = []
    extra = both[both["_merge"] == "left_only"].sort_values(ROW)
    if len(extra):
        ex = "; ".join(f"{row(int(r[ROW]))} {_key_of(r, key)}" for _, r in extra.head(EXAMPLES).iterrows())
        found.append(f"{len(extra)} row(s) here that it does not give; e.g. {ex}")
    missing = both[both["_merge"] == "right_only"]
    if len(missing):
        ex = "; ".join(_key_of(r, key) for _, r in missing.head(EXAMPLES).iterrows())
        found.append(f"{len(missing)} row(s) it gives are missing; e.g. {ex}")
    matched = both[both["_merge"] == "both"].reset_index(drop=True)
    differ = _differences(matched, values, key, row) if values and len(matched) else None
    found += [differ] if differ else []
    return [f"  check '{rule}': {f}" for f in found]


def with_rows(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with :data:`ROW`: each row's own position."""
    return df.assign(**{ROW: np.arange(len(df))})


def group_sums(df: pd.DataFrame, by: list[str], values: list[str]) -> pd.DataFrame:
    """Sums of ``values`` per ``by`` (missing keys kept), with :data:`ROW` = the group's first row."""
    g = with_rows(df.reset_index(drop=True)).groupby(by, dropna=False, observed=True, sort=True)
    out = g[values].sum(min_count=1)
    out[ROW] = g[ROW].min()
    return out.reset_index()
