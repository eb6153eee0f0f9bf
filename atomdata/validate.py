"""Validate tables against their pandera schemas, lazily, and turn failures into one clear report."""
from __future__ import annotations

import pandas as pd
import pandera.errors as pae
import pyarrow as pa

from .errors import ValidationFailed
from .schemas import TABLES


def _report(table: str, exc: pae.SchemaErrors, df: pd.DataFrame, where: str | None = None) -> str:
    """One line per failed check: column, check, how many rows, example rows."""
    fc = exc.failure_cases
    lines = [f"table '{table}'" + (f" ({where})" if where else "") + ":"]
    whole = fc["schema_context"] == "DataFrameSchema"
    # checks over whole rows are reported once per row, with the row's values
    for check, rows in fc[whole].groupby("check", sort=False):
        idx = list(dict.fromkeys(i for i in rows["index"].tolist() if i is not None and not pd.isna(i)))
        ex = "; ".join(f"row {i}: {df.loc[i].to_dict()}" for i in idx[:3] if i in df.index)
        lines.append(f"  rows: check '{check}' failed for {len(idx)} row(s); e.g. {ex}")
    for (column, check), rows in fc[~whole].groupby(["column", "check"], dropna=False, sort=False):
        idx = [i for i in rows["index"].tolist() if i is not None and not pd.isna(i)][:5]
        vals = rows["failure_case"].astype(str).tolist()[:5]
        col = "(table)" if column is None or pd.isna(column) else column
        ex = ", ".join(f"row {i}: {v!r}" for i, v in zip(idx, vals)) if idx else ", ".join(map(repr, vals))
        lines.append(f"  column {col}: check {check} failed for {len(rows)} row(s); e.g. {ex}")
    return "\n".join(lines)


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


def validate_table(name: str, df: pd.DataFrame, where: str | None = None) -> pd.DataFrame:
    """Validate one table (all failures at once); return the coerced frame or raise ValidationFailed."""
    text, cats = _text_columns(df)
    try:
        out = TABLES[name].validate(text, lazy=True)
    except pae.SchemaErrors as exc:
        raise ValidationFailed(_report(name, exc, text, where)) from None
    # categorical text stays categorical (validated as text, same values): a per-model table holds
    # one code per row instead of one string, here and when written
    if cats and out.index.equals(df.index):
        for c in cats:
            out[c] = df[c]
    return out


def validate_tables(tables: dict[str, pd.DataFrame], where: str | None = None) -> dict[str, pd.DataFrame]:
    """Validate every table and report all failures of all tables together."""
    out, errors = {}, []
    for name, df in tables.items():
        try:
            out[name] = validate_table(name, df, where)
        except ValidationFailed as exc:
            errors.append(str(exc))
    if errors:
        raise ValidationFailed("validation failed:\n" + "\n".join(errors))
    return out
