"""Load API: ``load(name)``, ``tables()``, ``package()``; typed from the pandera schemas.

Reads the release shipped inside the installed package (importlib.resources), no network.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from .errors import InputError


def _schema(name: str):
    from .schemas import TABLES

    if name not in TABLES:
        raise KeyError(f"unknown table {name!r}; atomdata.tables() lists {', '.join(TABLES)}")
    return TABLES[name]


def _column_kind(col) -> str:
    meta = col.metadata or {}
    if meta.get("tstype") in ("date", "datetime"):
        return "date"
    dt = str(col.dtype).lower()
    if "int" in dt:
        return "integer"
    if "float" in dt:
        return "number"
    if "bool" in dt:
        return "boolean"
    if "datetime" in dt:
        return "date"
    return "string"


def _no_silent_nulls(path, column, before, after, expected) -> None:
    """A value that typing would turn into a missing value is an error, never a silent NaN."""
    lost = before.notna() & after.isna()
    if lost.any():
        rows = [f"row {i}: {v!r}" for i, v in before[lost].head(3).items()]
        raise InputError(path, f"{int(lost.sum())} values are not {expected}", column=column, examples=rows)


def read_csv_typed(path: Path, name: str, categorical: bool = False):
    """Read one table's CSV with the dtypes of its schema (dates parsed, enums as categories)."""
    import pandas as pd

    schema = _schema(name).to_schema()
    try:
        df = pd.read_csv(path, dtype="string", keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise InputError(path, f"table {name} is empty (no header row)") from None
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(path, f"unreadable table: {exc}") from None
    missing = [c for c in schema.columns if c not in df.columns]
    if missing:
        raise InputError(path, f"table {name}: missing column(s) {', '.join(missing)}")
    for cname, col in schema.columns.items():
        kind = _column_kind(col)
        s = df[cname]
        # undo the CSV formula guard on text that we prefixed
        if kind == "string":
            s = s.where(~s.str.match(r"^'[=+\-@\t\r']").fillna(False), s.str.slice(1))
        try:
            if kind == "integer":
                s = pd.to_numeric(s).astype("Int64")
            elif kind == "number":
                s = pd.to_numeric(s).astype("Float64")
            elif kind == "boolean":
                b = s.map({"True": True, "False": False, "true": True, "false": False}).astype("boolean")
                _no_silent_nulls(path, cname, s, b, "True or False")
                s = b
            elif kind == "date":
                s = pd.to_datetime(s, format="%Y-%m-%d")
        except (ValueError, TypeError) as exc:
            raise InputError(path, f"values are not of type {kind}: {exc}", column=cname) from None
        if categorical and kind == "string":
            allowed = next((c.statistics.get("allowed_values") for c in col.checks if c.name == "isin"), None)
            if allowed:
                known = s.where(s.isin(list(allowed)))
                _no_silent_nulls(path, cname, s, known, "one of " + ", ".join(map(str, allowed)))
                s = pd.Series(pd.Categorical(s, categories=list(allowed)), index=s.index)
        df[cname] = s
    return df


def read_tables(folder: Path, names=None) -> dict:
    """The table CSVs in ``folder`` (every table, or ``names``), typed; a missing one is an error."""
    from .schemas import TABLES

    folder = Path(folder)
    out = {}
    for name in names or TABLES:
        path = folder / f"{name}.csv"
        if not path.is_file():
            raise InputError(path, f"table {name} is missing")
        out[name] = read_csv_typed(path, name)
    return out


def _release_file(*parts) -> Path:
    from .paths import release_dir

    return release_dir().joinpath(*parts)


def load(name: str, processed: str | Path | None = None):
    """The named table as a typed pandas DataFrame: from the release shipped in the package, or
    from a folder of tables you built (``processed``, e.g. the ``--out`` of ``atomdata build``).

    Dates are datetimes, enumerations (region, relation, ...) are categoricals, counts are
    nullable integers. ``atomdata.tables()`` lists the names.
    """
    _schema(name)
    path = Path(processed) / f"{name}.csv" if processed else _release_file("processed", f"{name}.csv")
    if not path.is_file():
        raise InputError(path, f"table {name} is missing")
    return read_csv_typed(path, name, categorical=True)


def tables() -> dict[str, str]:
    """Table names with one-line descriptions."""
    from .schemas import TABLES

    return {name: (m.Config.description or "").split(". ")[0].rstrip(".") for name, m in TABLES.items()}


@lru_cache(maxsize=1)
def _descriptor() -> dict:
    return json.loads(_release_file("datapackage.json").read_text(encoding="utf-8"))


def package():
    """The shipped release as a ``frictionless.Package``."""
    from frictionless import Package

    base = _release_file()
    return Package(_descriptor(), basepath=str(base))


def data_version() -> str:
    """Version of the shipped data (CalVer: the date of the newest snapshot)."""
    return _descriptor().get("version", "unknown")
