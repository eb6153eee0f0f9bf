"""Reading published tables from CSV, typed by their pandera schemas (internal: ``atomdata.load``,
``atomdata validate``, the release and the curated inputs read through here).

A value that typing would turn into a missing value is an error naming its line, never a silent
NaN; rows are named by their line in the file (the header is line 1).
"""
from __future__ import annotations

import io
import os
from functools import cached_property
from pathlib import Path

import pandas as pd

from .errors import InputError
from .schemas import column_kind, schema_of


def _no_silent_nulls(before, after, expected, row) -> str | None:
    """A value that typing would turn into a missing value is an error, never a silent NaN:
    the problem with example rows, or None."""
    lost = before.notna() & after.isna()
    if not lost.any():
        return None
    ex = ", ".join(f"{row(i)}: {v!r}" for i, v in before[lost].head(3).items())
    return f"{int(lost.sum())} value(s) are not {expected}; e.g. {ex}"


def _convert(s, kind: str, row):
    """Text column ``s`` as ``kind``, and the problem if some values are not of that kind."""
    if kind in ("integer", "number"):
        t = pd.to_numeric(s, errors="coerce")
        if kind == "number":
            t = t.astype("Float64")
            return t, _no_silent_nulls(s, t, "numbers", row)
        if pd.api.types.is_integer_dtype(t.dtype) and pd.api.types.is_signed_integer_dtype(t.dtype):
            t = t.astype("Int64")  # every value read as an integer: exact
            return t, _no_silent_nulls(s, t, "whole numbers", row)
        # never rounded: digits are read as integers (exact at any size); other spellings (1.0, 1e3)
        # pass through floats, so only while they are whole and exact there (below 2**53)
        plain = s.str.fullmatch(r"[+-]?[0-9]{1,18}").fillna(False)  # always within 64 bits
        long = s.str.fullmatch(r"[+-]?[0-9]{19,}").fillna(False)
        exact = pd.to_numeric(s.where(plain), errors="coerce").astype("Int64")
        if long.any():  # rare: checked one by one against the 64-bit range
            big = {i: int(v) for i, v in s[long].items() if -2**63 <= int(v) < 2**63}
            exact = exact.astype(object).where(~long.to_numpy(), pd.Series(big, dtype=object).reindex(s.index)).astype("Int64")
        t = t.where((~plain & ~long & (t % 1 == 0) & (t.abs() < 2**53)).fillna(False)).astype("Float64").astype("Int64")
        t = exact.where(plain | long, t)
        return t, _no_silent_nulls(s, t, "whole numbers", row)
    if kind == "boolean":
        t = s.map({"True": True, "False": False, "true": True, "false": False}).astype("boolean")
        return t, _no_silent_nulls(s, t, "True or False", row)
    if kind == "date":
        t = pd.to_datetime(s, format="%Y-%m-%d", errors="coerce")
        return t, _no_silent_nulls(s, t, "dates YYYY-MM-DD", row)
    return s, None


def _binary(src):
    """A fresh binary reader of a CSV source (a path, or bytes held in a ``BytesIO``); None for others."""
    if isinstance(src, (str, os.PathLike)):
        return open(src, "rb")
    return io.BytesIO(src.getvalue()) if isinstance(src, io.BytesIO) else None


def _row_starts(path, n_rows: int):
    """The line of the file on which each data row starts (the header is line 1), or None where
    that cannot be told (another kind of buffer, or the csv module splits rows otherwise than pandas did)."""
    f = _binary(path)
    if f is None:
        return None
    with f:
        newlines, last = 0, b"\n"
        for block in iter(lambda: f.read(1 << 24), b""):
            newlines, last = newlines + block.count(b"\n"), block[-1:]
    if newlines + (last != b"\n") == n_rows + 1:  # the header, then one line per row
        return range(2, n_rows + 2)
    # a quoted field spans lines (the writer quotes newlines) or blank lines (pandas skips them)
    import csv
    from array import array

    starts = array("q")
    try:
        with io.TextIOWrapper(_binary(path), encoding="utf-8", newline="\n") as f:  # lines end at LF, as for grep -n
            reader = csv.reader(f)
            next(reader, None)
            start = reader.line_num + 1
            for record in reader:
                if record:
                    starts.append(start)
                start = reader.line_num + 1
    except (csv.Error, UnicodeDecodeError):
        return None
    return starts if len(starts) == n_rows else None


class CsvRows:
    """Names a table's rows (0-based, as read) for reports by the line of the file where each
    starts: "line 5"; "data row 4" where the line cannot be told. Lines are counted on first use,
    so only reports pay for them."""

    def __init__(self, path, n_rows: int):
        self.path, self.n_rows = path, n_rows

    @cached_property
    def starts(self):
        return _row_starts(self.path, self.n_rows)

    def __call__(self, i: int) -> str:
        return f"data row {i + 1}" if self.starts is None else f"line {self.starts[i]}"


def read_csv_text(path, what: str, label=None):
    """A CSV with every cell as text (an empty cell is missing); errors name the file (``label``
    if given, for bytes held in a buffer) and say what it was meant to hold."""
    label = path if label is None else label
    try:
        df = pd.read_csv(path, dtype="string", keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise InputError(label, f"{what} is empty (no header row)") from None
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(label, f"unreadable {what}: {exc}") from None
    if not isinstance(df.index, pd.RangeIndex):  # pandas made the first field an index: one field too many
        raise InputError(label, f"{what}: the rows have more fields than the header (a trailing comma?)")
    return df


def read_csv_columns(path: Path, name: str, categorical: bool = False, label=None):
    """One table's CSV typed column by column; every column that cannot be (missing, or values
    not of its type) is left out and named, so that one report can list them all. ``path`` may be
    a ``BytesIO`` of the file's bytes; ``label`` then names the file in errors.

    Returns ``(frame, {column: problem}, row)``; ``row`` names a row by its line in the file.
    """
    schema = schema_of(name).to_schema()
    df = read_csv_text(path, f"table {name}", label)
    row = CsvRows(path, len(df))
    bad = {c: "missing" for c in schema.columns if c not in df.columns}
    for cname, col in schema.columns.items():
        if cname in bad:
            continue
        kind = column_kind(col)
        s = df[cname]
        # undo the CSV formula guard on text that we prefixed
        if kind == "string":
            s = s.where(~s.str.match(r"^'[=+\-@\t\r']").fillna(False), s.str.slice(1))
        s, problem = _convert(s, kind, row)
        allowed = categorical and kind == "string" and next((c.statistics.get("allowed_values") for c in col.checks if c.name == "isin"), None)
        if allowed:
            problem = _no_silent_nulls(s, s.where(s.isin(list(allowed))), "one of " + ", ".join(map(str, allowed)), row)
        if problem:
            bad[cname] = problem
            continue
        df[cname] = pd.Series(pd.Categorical(s, categories=list(allowed)), index=s.index) if allowed else s
    return df.drop(columns=[c for c in bad if c in df.columns]), bad, row


def read_csv_typed(path: Path, name: str, categorical: bool = False, label=None):
    """Read one table's CSV with the dtypes of its schema (dates parsed, enums as categories);
    InputError names every column that cannot be typed, not just the first. ``label`` as for
    ``read_csv_columns``."""
    df, bad, _ = read_csv_columns(path, name, categorical, label)
    if bad:
        raise InputError(path if label is None else label, f"table {name}: {len(bad)} bad column(s)" + "".join(f"\n  column {c}: {p}" for c, p in bad.items()))
    return df


def read_tables(folder: Path, names=None) -> dict:
    """The table CSVs in ``folder`` (every table, or ``names``), typed; a missing one is an error."""
    from .schemas import TABLES

    folder = Path(folder)
    names = list(names or TABLES)
    missing = [n for n in names if not (folder / f"{n}.csv").is_file()]
    if len(missing) == 1:
        raise InputError(folder / f"{missing[0]}.csv", f"table {missing[0]} is missing")
    if missing:  # all of them named at once
        raise InputError(folder, f"tables {', '.join(missing)} are missing")
    return {name: read_csv_typed(folder / f"{name}.csv", name) for name in names}
