"""The public face: ``load(name)``, ``tables()``, ``package()``, ``data_version()``.

Reads the release shipped inside the installed package (importlib.resources), or a folder of
tables you built; no network. Nothing inside atomdata imports this module.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from .errors import InputError
from .schemas import TABLES, schema_of, table_facts
from .settings import release_dir
from .tableio import read_csv_typed


def _release_file(*parts) -> Path:
    return release_dir().joinpath(*parts)


def load(name: str, processed: str | Path | None = None):
    """The named table as a typed pandas DataFrame: from the release shipped in the package, or
    from a folder of tables you built (``processed``, e.g. the ``--out`` of ``atomdata build``,
    or the ``processed/`` folder of an unzipped release).

    Types come from the table's pandera schema: dates (``YYYY-MM-DD``, e.g. ``created_at``) are
    ``datetime64`` values; months (``YYYY-MM``, e.g. ``month``) and periods (``2026-W27``,
    ``2026-Q3``) stay text, so a month is never mistaken for its first day (sort and compare them
    as text; ``pd.Period(df["month"].iloc[0], "M")`` if you need a period); enumerations (region,
    relation, ...) are categoricals with their allowed values as categories; counts are nullable
    integers (``Int64``), fractions nullable floats (``Float64``), flags nullable booleans; an
    empty cell is a missing value. ``atomdata.tables()`` lists the names.

    ``df.attrs`` carries the table's description from the schema: ``title``, ``description``,
    ``primary_key``, ``foreign_keys``, ``source`` (the file read) and ``columns``, mapping each
    column to its ``type``, ``title``, ``description`` and ``unit``, e.g.
    ``df.attrs["columns"]["downloads"]["unit"] == "downloads"``.
    """
    schema_of(name)
    path = Path(processed) / f"{name}.csv" if processed else _release_file("processed", f"{name}.csv")
    if not path.is_file():
        raise InputError(path, f"table {name} is missing")
    df = read_csv_typed(path, name, categorical=True)
    df.attrs = {**table_facts(name), "source": str(path)}
    return df


def tables() -> dict[str, str]:
    """Table names with one-line descriptions."""
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
