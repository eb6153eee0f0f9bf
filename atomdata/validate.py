"""Validate tables against their pandera schemas, lazily, and turn failures into one clear report."""
from __future__ import annotations

import pandas as pd
import pandera.errors as pae

from .errors import ValidationFailed
from .schemas import TABLES


def _report(table: str, exc: pae.SchemaErrors, where: str | None = None) -> str:
    fc = exc.failure_cases
    lines = [f"table '{table}'" + (f" ({where})" if where else "") + f": {len(fc)} failure(s)"]
    grouped = fc.groupby(["column", "check"], dropna=False, sort=False)
    for (column, check), rows in grouped:
        idx = [i for i in rows["index"].tolist() if i is not None and not pd.isna(i)][:5]
        vals = rows["failure_case"].astype(str).tolist()[:5]
        col = "(table)" if column is None or pd.isna(column) else column
        ex = ", ".join(f"row {i}: {v!r}" for i, v in zip(idx, vals)) if idx else ", ".join(map(repr, vals))
        lines.append(f"  column {col}: check {check} failed for {len(rows)} row(s); e.g. {ex}")
    return "\n".join(lines)


def validate_table(name: str, df: pd.DataFrame, where: str | None = None) -> pd.DataFrame:
    """Validate one table (all failures at once); return the coerced frame or raise ValidationFailed."""
    try:
        return TABLES[name].validate(df, lazy=True)
    except pae.SchemaErrors as exc:
        raise ValidationFailed(_report(name, exc, where)) from None


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
