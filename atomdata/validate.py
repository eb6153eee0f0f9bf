"""Validate tables against their pandera schemas, lazily, and turn failures into one clear report."""
from __future__ import annotations

import copy
import weakref
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.errors as pae
import pyarrow as pa
import pyarrow.compute as pc

from .errors import ValidationFailed
from .tableio import CsvRows, read_csv_text
from .schemas import TABLES


def _row(i) -> str:
    return f"row {i}"


def _failed(table: str, where: str | None, lines: list[str]) -> ValidationFailed:
    return ValidationFailed("\n".join([f"table '{table}'" + (f" ({where})" if where else "") + ":", *lines]))


def failure_lines(exc: pae.SchemaErrors, df: pd.DataFrame, row=_row) -> list[str]:
    """One line per failed check: column, check, how many rows, example rows (named by ``row``)."""
    fc = exc.failure_cases
    lines = []
    whole = fc["schema_context"] == "DataFrameSchema"
    # checks over whole rows are reported once per row, with the row's values
    for check, rows in fc[whole].groupby("check", sort=False):
        idx = list(dict.fromkeys(i for i in rows["index"].tolist() if i is not None and not pd.isna(i)))
        if not idx:  # a check of the table itself (a column it should not have): the failure case names it
            lines.append(f"  table: check '{check}' failed for " + ", ".join(map(repr, rows["failure_case"].astype(str).tolist()[:5])))
            continue
        ex = "; ".join(f"{row(i)}: {df.loc[i].to_dict()}" for i in idx[:3] if i in df.index)
        lines.append(f"  rows: check '{check}' failed for {len(idx)} row(s); e.g. {ex}")
    for (column, check), rows in fc[~whole].groupby(["column", "check"], dropna=False, sort=False):
        idx = [i for i in rows["index"].tolist() if i is not None and not pd.isna(i)][:5]
        vals = rows["failure_case"].astype(str).tolist()[:5]
        col = "(table)" if column is None or pd.isna(column) else column
        ex = ", ".join(f"{row(i)}: {v!r}" for i, v in zip(idx, vals)) if idx else ", ".join(map(repr, vals))
        lines.append(f"  column {col}: check {check} failed for {len(rows)} row(s); e.g. {ex}")
    return lines


def _text_columns(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Categorical text columns (the build keeps per-model tables that way) as string columns,
    converted in Arrow: pandera's coercion goes through one Python string per row. Returns the
    frame and the names of the columns converted."""
    cats = [c for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)
            and pd.api.types.is_string_dtype(df[c].dtype.categories.dtype)]
    if not cats:
        return df, cats
    df = df.copy(deep=False)
    for c in cats:
        codes = df[c].cat.codes.to_numpy()
        text = pa.array(df[c].dtype.categories.astype("string"), type=pa.string(), from_pandas=True)
        df[c] = pd.array(text.take(pa.array(codes, mask=codes < 0)), dtype="string") if len(df) else pd.array([], dtype="string")
    return df, cats


#: tables longer than this are validated a slice of rows at a time (per-model tables are models x months)
SLICE_ROWS = 2_000_000


def validate_table(name: str, df: pd.DataFrame, where: str | None = None, slice_rows: int | None = None,
                   row=_row, unread: dict | None = None) -> pd.DataFrame:
    """Validate one table (all failures at once); return the coerced frame or raise ValidationFailed.

    ``row`` names a row in the report (by its line, for a table read from a CSV); ``unread`` are
    the columns a CSV reader could not type (column -> problem), reported with the failures.

    A long table, or one with categorical text, whose columns have their schema types already
    (categorical text aside) is validated a slice of rows at a time, so its text is never all held
    as strings at once; the table-wide uniqueness check then runs on the whole table, on category
    codes (pandera's runs on the text). Failures of all
    slices are reported together."""
    slice_rows = slice_rows or SLICE_ROWS
    if unread:
        raise _partial_report(name, df, where, row, unread)
    categorical = any(isinstance(t, pd.CategoricalDtype) for t in df.dtypes)
    if (len(df) > slice_rows or categorical) and _typed(name, df):  # keys checked on codes, not on text
        return _validate_slices(name, df, where, slice_rows, row)
    text, cats = _text_columns(df)
    try:
        out = TABLES[name].validate(text, lazy=True)
    except pae.SchemaErrors as exc:
        raise _failed(name, where, failure_lines(exc, text, row)) from None
    # categorical text stays categorical (validated as text, same values): a per-model table holds
    # one code per row instead of one string, here and when written
    if cats and out.index.equals(df.index):
        for c in cats:
            out[c] = df[c]
    return out


def _partial_report(name: str, df: pd.DataFrame, where: str | None, row, unread: dict) -> ValidationFailed:
    """The columns a CSV reader could not type, and the failures of the others: so that one run of
    ``atomdata validate`` lists every problem. Table-wide checks, and keys over unread columns,
    wait until every column can be read: they need them."""
    schema = TABLES[name].to_schema().remove_columns(list(unread))  # a copy
    lines = [f"  column {c}: {p}" for c, p in unread.items()]
    waiting = [c.error or c.name for c in schema.checks]
    if schema.unique and set(schema.unique) & set(unread):
        waiting.append(f"unique {schema.unique}")
        schema.unique = None
    schema.checks = []
    try:
        schema.validate(df, lazy=True)
    except pae.SchemaErrors as exc:
        lines += failure_lines(exc, df, row)
    if waiting:
        lines.append("  not checked until every column can be read: " + "; ".join(waiting))
    return _failed(name, where, lines)


def _typed(name: str, df: pd.DataFrame) -> bool:
    """Every column already has its schema type (categorical text counts as text), and no check
    spans rows beyond uniqueness (a per-slice check of, say, shares summing to 1 would be wrong)."""
    schema = TABLES[name].to_schema()
    if list(df.columns) != list(schema.columns) or schema.checks:
        return False
    for c, col in schema.columns.items():
        dtype, want = df[c].dtype, col.dtype.type
        if isinstance(dtype, pd.CategoricalDtype):
            if not (isinstance(want, pd.StringDtype) and pd.api.types.is_string_dtype(dtype.categories.dtype)):
                return False
        elif dtype != want:
            return False
    return True


def _validate_slices(name: str, df: pd.DataFrame, where: str | None, slice_rows: int, row=_row) -> pd.DataFrame:
    per_slice = copy.deepcopy(TABLES[name].to_schema())
    unique, per_slice.unique = per_slice.unique, None  # checked once below, over the whole table
    unique_cols = [c for c, col in per_slice.columns.items() if col.unique]
    for c in unique_cols:
        per_slice.columns[c].unique = False  # likewise
    lines = _validate_distinct_text(name, df, slice_rows, per_slice, row)
    if lines is None:  # a text value failed: every slice as a whole, so each failure names its rows
        lines = []
        for start in range(0, len(df), slice_rows):
            text, _ = _text_columns(df.iloc[start:start + slice_rows])
            try:
                per_slice.validate(text, lazy=True)
            except pae.SchemaErrors as exc:
                lines += failure_lines(exc, text, row)
    for keys in ([list(unique)] if unique else []) + [[c] for c in unique_cols]:
        if _surely_unique(df, keys):
            continue
        dup = df.duplicated(subset=keys, keep=False).to_numpy()
        if dup.any():
            idx = df.index[dup][:3]
            ex = "; ".join(f"{row(i)}: {df.loc[i].to_dict()}" for i in idx)
            lines.append(f"  rows: check 'unique {keys}' failed for {int(dup.sum())} row(s); e.g. {ex}")
    if lines:
        raise _failed(name, where, lines)
    return df


def _surely_unique(df: pd.DataFrame, keys: list[str]) -> bool:
    """True when the rows' ``keys`` (categoricals) are distinct, decided on their codes with one
    mark per possible combination; False when some repeat or this cannot tell (then pandas finds
    the repeated rows)."""
    if not all(isinstance(df[k].dtype, pd.CategoricalDtype) for k in keys):
        return False
    cell, space = np.zeros(len(df), dtype=np.int64), 1
    for k in keys:
        n = len(df[k].dtype.categories) + 1  # a missing value is a value of its own, as for pandas
        if space * n > 4 * len(df) + 1_000_000:  # too many combinations to mark
            return False
        codes = df[k].cat.codes.to_numpy()
        cell = cell * n + (np.where(codes >= 0, codes, n - 1) if (codes < 0).any() else codes)
        space *= n
    seen = np.zeros(space, dtype=bool)
    seen[cell] = True
    return int(np.count_nonzero(seen)) == len(df)


def _distinct(s: pd.Series) -> pd.Series:
    """The distinct values of a text column (categories in use; a null if any), as strings."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy()
        used = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(s.dtype.categories)))
        vals = pa.array(s.dtype.categories.astype("string"), type=pa.string(), from_pandas=True).take(pa.array(used))
        has_null = bool((codes < 0).any())
    else:
        arr = pa.array(s, type=pa.string(), from_pandas=True)
        vals = pc.unique(arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr).drop_null()
        has_null = s.isna().any()
    if has_null:
        vals = pa.concat_arrays([vals.cast(pa.string()), pa.nulls(1, pa.string())])
    return pd.Series(pd.array(vals, dtype="string") if len(vals) else pd.array([], dtype="string"), name=s.name)


#: categories found valid, by (table, column) -> a weak reference to the categories object (a
#: build validates the months of its monthly table against one categorical type of millions of
#: model ids; the reference does not keep them once the build is done with them)
_VALID_CATEGORIES: dict = {}


def _categories_valid(name: str, c: str, s: pd.Series, per_slice) -> bool:
    """True when every category of the categorical text column ``s`` passes the column's checks
    (the checks are element-wise: then so does every value in use). Decided once per categories
    object and column: the frames of one table share it."""
    cats = s.dtype.categories
    seen = _VALID_CATEGORIES.get((name, c))
    if seen is not None and seen() is cats:
        return True
    try:
        per_slice.select_columns([c]).validate(pd.DataFrame({c: pd.array(cats, dtype="string")}), lazy=True)
    except pae.SchemaErrors:
        return False  # some category fails: the values in use decide (they may not include it)
    _VALID_CATEGORIES[(name, c)] = weakref.ref(cats)
    return True


def _validate_distinct_text(name, df, slice_rows, per_slice, row) -> list[str] | None:
    """Checks of a long table's text columns run on each column's distinct values (the checks
    left per slice are element-wise, so the verdict is the same; a categorical column's categories
    all valid and no value missing settles it), its other columns a slice at a time. None when a
    text value fails: the caller then validates whole slices for a report that names rows."""
    text_cols = [c for c in df.columns if pd.api.types.is_string_dtype(df[c].dtype)
                 or (isinstance(df[c].dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(df[c].dtype.categories.dtype))]
    for c in text_cols:
        s = df[c]
        if isinstance(s.dtype, pd.CategoricalDtype) and not (s.cat.codes.to_numpy() < 0).any() and \
                _categories_valid(name, c, s, per_slice):
            continue
        try:
            per_slice.select_columns([c]).validate(pd.DataFrame({c: _distinct(s)}), lazy=True)
        except pae.SchemaErrors:
            return None
    rest = per_slice.remove_columns(text_cols)
    other = [c for c in df.columns if c not in text_cols]
    lines = []
    for start in range(0, len(df), slice_rows):
        part = df.iloc[start:start + slice_rows][other]
        try:
            rest.validate(part, lazy=True)
        except pae.SchemaErrors as exc:
            lines += failure_lines(exc, part, row)
    return lines


def read_curated(path, schema, what: str) -> pd.DataFrame:
    """A curated input CSV (mirrors, architectures, families, model sizes) read as text and
    validated against its pandera ``schema``: every failure at once, rows named by their line."""
    path = Path(path)
    df = read_csv_text(path, what)
    try:
        return schema.validate(df, lazy=True)
    except pae.SchemaErrors as exc:
        raise ValidationFailed(f"{path}: {what} is invalid\n" + "\n".join(failure_lines(exc, df, CsvRows(path, len(df))))) from None
