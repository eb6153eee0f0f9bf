"""Integrity across tables: what no single table's schema can see.

``check`` runs, on tables that passed their own schemas:

- primary keys and foreign keys as the schemas declare them (``keys``): a row whose key repeats,
  a model id, organization or snapshot that the referenced table lacks;
- totals and attributes that tie the tables together (``totals``): downloads by country are the
  sums of the per-model monthly downloads of the in-scope models, every derivative of ``models``
  has its ``derivatives`` row, the share tables agree with each other, and so on.

Every failure of every table is listed at once: the table, the key or rule, how many rows, and
example rows by their line in the CSV file.
"""
from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from ..errors import InputError, ValidationFailed
from ..schemas import TABLES
from ..tableio import read_csv_columns
from ..validate import validate_table
from . import keys, totals


def check(tables: dict[str, pd.DataFrame], rows: dict, where: dict[str, str], skipped=()) -> list[str]:
    """Report blocks (one per table with failures, in ``tables`` order): ``tables`` the typed
    tables that passed their schemas, ``rows[name](i)`` names row ``i`` of a table, ``where[name]``
    its file; ``skipped`` the tables that failed their schemas (whatever needs them waits)."""
    lines: dict[str, list[str]] = {name: [] for name in tables}
    waiting: dict[str, set[str]] = {name: set() for name in tables}
    for name, df in tables.items():
        lines[name] += keys.primary_key(name, df, rows[name])
    repeated = {name for name in tables if lines[name]}  # rows whose key repeats cannot be lined up
    for name, df in tables.items():
        fk_lines, unchecked = keys.foreign_keys(name, df, rows[name], tables)
        lines[name] += fk_lines
        waiting[name].update(unchecked)
    for rel in totals.RELATIONS:
        if rel.table not in tables:
            continue
        needs = {t for t in rel.inputs if t not in tables} | ({rel.table, *rel.inputs} & repeated)
        if needs:
            waiting[rel.table].update(needs)
            continue
        lines[rel.table] += totals.check(rel, tables, rows[rel.table])
    blocks = []
    for name in tables:
        if not lines[name]:
            continue
        wait = sorted(waiting[name])
        note = [f"  totals and references that need {', '.join(wait)}: not checked until every key is unique and every table passes its schema"] if wait else []
        blocks.append("\n".join([f"table '{name}' ({where[name]}): across tables:", *lines[name], *note]))
    if skipped:
        blocks.append("keys and totals that involve " + ", ".join(skipped) + " are not checked until they pass their schemas")
    return blocks


def validate_folder(folder, files: dict[str, bytes] | None = None) -> dict[str, pd.DataFrame]:
    """Read and validate every table CSV in ``folder``: one ValidationFailed reports all problems
    of all tables (missing tables and columns, values that cannot be typed, failed checks), rows
    named by their line in the file; then the keys and totals across the tables that passed
    (``atomdata.integrity``). ``files`` (``{"<name>.csv": bytes}``): the folder's files as read
    already (a release validates the very bytes it packs)."""
    out, errors, rows, where = {}, [], {}, {}
    for name in TABLES:
        path = Path(folder) / f"{name}.csv"
        where[name] = str(path)
        try:
            if not (path.is_file() if files is None else f"{name}.csv" in files):
                raise InputError(path, f"table {name} is missing")
            src = path if files is None else io.BytesIO(files[f"{name}.csv"])
            df, unread, rows[name] = read_csv_columns(src, name, label=path)
            out[name] = validate_table(name, df, str(path), row=rows[name], unread=unread)
        except (InputError, ValidationFailed) as exc:
            errors.append(str(exc))
    errors += check(out, rows, where, skipped=[n for n in TABLES if n not in out])
    if errors:
        raise ValidationFailed("validation failed:\n" + "\n".join(errors))
    return out
