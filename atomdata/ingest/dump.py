"""Import Hub metadata dumps (hub-stats ``models.parquet`` layout) into the snapshot store.

The dump is checked first (readable parquet, ``id`` present, no control characters in ids, ids,
authors and declared bases as the Hub allows them and no absurdly long text (``ingest.fields``),
counters are non-negative integers, no duplicate ids, no creation date after the snapshot) and then stored byte for byte, so the
snapshot's sha256 is the dump's own and anyone can check our numbers against the source file.
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import InputError, SnapshotError
from ..io import sha256_file, write_via_temp
from . import fields, store

COUNTER_FIELDS = ("downloads", "downloadsAllTime", "likes")
#: C0 and C1 control characters and DEL (Unicode category Cc), in RE2 syntax
CONTROL_RE = r"[\x00-\x1f\x{7f}-\x{9f}]"


def date_from_path(path: Path) -> str | None:
    """The snapshot date from the nearest parent folder named ``YYYY-MM-DD``."""
    for parent in Path(path).resolve().parents:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", parent.name):
            return parent.name
    return None


def _examples(ids: pa.Array, mask, values=None, limit=3):
    """``row i: id=...`` for the first ``limit`` rows of ``mask`` (``values``: an Arrow column or an array)."""
    idx = np.flatnonzero(mask)[:limit]
    if values is None:
        return [f"row {i}: id={ids[i].as_py()!r}" for i in idx]
    arrow = isinstance(values, (pa.Array, pa.ChunkedArray))

    def plain(v):  # numpy scalars and timestamps as a reader writes them, not as Python reprs
        v = v.as_py() if arrow else (v.item() if isinstance(v, np.generic) else v)
        return v.isoformat(sep=" ") if isinstance(v, dt.datetime) else repr(v)

    return [f"row {i}: id={ids[i].as_py()!r} value={plain(values[i])}" for i in idx]


class DumpInfo(NamedTuple):
    """What the importer keeps of a checked dump (named like the ``pa.Table`` attributes)."""

    num_rows: int
    column_names: list[str]


def check_dump(path: Path, date: dt.date) -> DumpInfo:
    """Validate a dump; raise :class:`InputError` naming file, column and example rows.

    Reads every column (a corrupt one must fail here, not at build time) and checks the ids, the
    counters and ``createdAt``; returns the dump's row count and column names."""
    path = Path(path)
    table, names = _read_dump(path)
    ids = _check_ids(path, table, names)
    _check_unique(path, table, names, ids)
    for field in COUNTER_FIELDS:
        if field in names:
            _check_counter(path, table.column(field), field, ids)
    if "createdAt" in names:
        _check_created(path, table.column("createdAt"), date, ids)
    return DumpInfo(table.num_rows, names)


def _read_dump(path: Path) -> tuple[pa.Table, list[str]]:
    """The whole dump and its column names; a missing, empty or unreadable file is refused."""
    if not path.is_file():
        raise InputError(path, "no such file")
    if path.stat().st_size == 0:
        raise InputError(path, "file is empty")
    try:
        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
        # read every column (a corrupt one must fail here, not at build time); check a few
        table = pf.read()
    except Exception as exc:  # pyarrow raises several types for corrupt files
        with open(path, "rb") as f:
            head = f.read(64)
        hint = " (it looks like CSV or text, not parquet)" if b"," in head and head[:4] != b"PAR1" else ""
        raise InputError(path, f"not a readable parquet file{hint}: {exc}") from None
    return table, names


def _check_ids(path: Path, table: pa.Table, names: list[str]) -> pa.Array:
    """The ``id`` column, once it is text with no empty id and no control character, and every
    field is as the Hub allows it (``ingest.fields``)."""
    if "id" not in names:
        raise InputError(path, f"required column is missing (columns present: {', '.join(names) or 'none'})", column="id")
    if table.num_rows == 0:
        raise InputError(path, "the dump has no rows")
    ids = table.column("id").combine_chunks()
    if not (pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type)):
        raise InputError(path, f"must be text, found {ids.type}", column="id")
    # null, or nothing but whitespace (Arrow's Unicode whitespace is Python's str.strip's)
    empty = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(ids), ""), True).to_numpy(zero_copy_only=False)
    if empty.any():
        raise InputError(path, f"{int(empty.sum())} rows have an empty id", column="id", examples=[f"row {i}" for i in np.flatnonzero(empty)[:3]])
    # no Hub repo id holds a control character: one means a corrupt or hand-edited dump
    ctrl = pc.fill_null(pc.match_substring_regex(ids, CONTROL_RE), False).to_numpy(zero_copy_only=False)
    if ctrl.any():
        raise InputError(path, f"{int(ctrl.sum())} ids contain control characters (newline, tab, NUL, escape, ...), "
                         "which no Hub repo id can hold", column="id", examples=_examples(ids, ctrl))
    # ids, authors, declared bases and text sizes as the Hub allows them (ingest.fields)
    for problem in fields.problems(table):
        raise InputError(path, problem.message, column=problem.column, examples=problem.examples)
    return ids


def _check_unique(path: Path, table: pa.Table, names: list[str], ids: pa.Array) -> None:
    """No model id twice; the message says when the repeated rows' download counts differ."""
    counts = pc.value_counts(ids)
    dup_ids = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
    if not len(dup_ids):
        return
    mask = pc.is_in(ids, value_set=dup_ids).to_numpy(zero_copy_only=False)
    rows = pa.array(np.flatnonzero(mask))
    dup_of = ids.take(rows).to_pylist()
    differ = ""
    for field in ("downloadsAllTime", "downloads"):
        if field in names:
            vals = table.column(field).take(rows).to_pylist()  # the duplicated rows only
            by_id: dict = {}
            for i, v in zip(dup_of, vals):
                by_id.setdefault(i, set()).add(v)
            if any(len(v) > 1 for v in by_id.values()):
                differ = f" with different {field} counts"
                break
    raise InputError(path, f"{len(dup_ids)} model ids appear more than once{differ}", column="id",
                     examples=_examples(ids, mask))


def _check_counter(path: Path, col, field: str, ids: pa.Array) -> None:
    """A counter holds whole, non-negative numbers (a float column of whole numbers and NaN, as
    pandas writes counts with gaps, is accepted)."""
    if pa.types.is_null(col.type):
        return
    if not pa.types.is_integer(col.type):
        if not pa.types.is_floating(col.type):
            raise InputError(path, f"counts must be integers, found {col.type}", column=field,
                             examples=_examples(ids, np.ones(len(ids), bool), col))
        col = pc.if_else(pc.is_nan(col), pa.scalar(None, col.type), col)  # NaN: pandas' missing count
        vals = col.to_numpy(zero_copy_only=False)
        frac = ~np.isnan(vals) & (vals != np.round(vals))
        if frac.any():
            raise InputError(path, "counts must be whole numbers", column=field, examples=_examples(ids, frac, vals))
        col = pc.cast(col, pa.int64())
    vals = col.to_numpy(zero_copy_only=False)
    vals = np.where(pc.is_null(col).to_numpy(zero_copy_only=False), 0, vals)
    neg = vals < 0
    if neg.any():
        raise InputError(path, f"{int(neg.sum())} negative counts", column=field, examples=_examples(ids, neg, vals))


def _check_created(path: Path, col, date: dt.date, ids: pa.Array) -> None:
    """``createdAt`` is a timestamp, and no model was created after the snapshot's day."""
    if not pa.types.is_timestamp(col.type) and not pa.types.is_null(col.type):
        raise InputError(path, f"must be a timestamp, found {col.type}", column="createdAt",
                         examples=_examples(ids, np.ones(len(ids), bool), col))
    if pa.types.is_timestamp(col.type):
        limit = pa.scalar(dt.datetime.combine(date + dt.timedelta(days=1), dt.time()), pa.timestamp("us"))
        ts = pc.cast(col, pa.timestamp("us")) if col.type.tz is None else pc.cast(pc.cast(col, pa.timestamp("us", "UTC")), pa.timestamp("us"))
        future = pc.fill_null(pc.greater_equal(ts, limit), False).to_numpy(zero_copy_only=False)
        if future.any():
            raise InputError(path, f"{int(future.sum())} models created after the snapshot date {date}", column="createdAt",
                             examples=_examples(ids, future, col))


def restore_data(path: Path, snap: store.Snapshot) -> None:
    """Copy a dump whose sha256 equals the manifest's into a snapshot folder that lacks its data file."""
    write_via_temp(snap.data_path, lambda tmp: _copy_checked(path, tmp, snap.sha256))


def _copy_checked(path: Path, dest: Path, digest: str) -> None:
    """Copy the dump and check the copy's sha256 against ``digest``, the one the manifest
    records: a file that changed while it was copied is refused."""
    shutil.copyfile(path, dest)
    if sha256_file(dest) != digest:
        raise SnapshotError(f"{path}: file changed while it was being copied")


def snapshot_date(path: Path, date: str | None) -> tuple[str, dt.date]:
    """The snapshot date: ``--date`` or the dump's YYYY-MM-DD folder; they must agree, and it is
    not in the future (a wrong date would silently move every reading to another month)."""
    folder = date_from_path(path)
    if not path.exists():
        raise InputError(path, "no such file")
    date = date or folder
    if date is None:
        raise InputError(path, "no snapshot date: pass --date YYYY-MM-DD or keep the dump in a folder named YYYY-MM-DD")
    day = store.parse_date(date, what=f"{path}: snapshot date")
    if folder is not None and folder != date:
        raise InputError(path, f"--date {date} disagrees with the dump's folder date {folder}; "
                               f"move the file to a folder named {date} if that is really its date")
    if day > dt.datetime.now(dt.timezone.utc).date():
        raise InputError(path, f"snapshot date {date} is in the future")
    return date, day


def import_dump(path, raw: Path, date: str | None = None, suffix: str | None = None,
                source: str | None = None, license: str | None = None, check_only: bool = False):
    """Check a dump and store it as a snapshot. Returns (snapshot, written); re-importing the same
    bytes is a no-op (or restores the data file where only the manifest is present, as in a fresh
    clone), a different file for an existing name is refused. ``check_only``: run every check,
    store nothing, and return (snapshot name, sha256) instead."""
    path = Path(path)
    if path.is_dir():
        path = path / store.DATA_FILE
    date, day = snapshot_date(path, date)
    name = store.snapshot_name(date, suffix)
    table = check_dump(path, day)
    digest = sha256_file(path)
    existing = store.find(raw, name)
    if existing is not None and existing.sha256 != digest:
        raise SnapshotError(
            f"{existing.path}: snapshot {name} already exists with different data "
            f"(sha256 {existing.sha256[:12]}… vs {digest[:12]}…); snapshots are never overwritten. "
            f"Use --suffix to store a second source for the same date."
        )
    if check_only:
        return name, digest
    if existing is not None:
        if not existing.data_path.is_file():
            # a clone holds the manifest only: put the verified bytes back, never other bytes
            restore_data(path, existing)
            return existing, True
        return existing, False
    source = source or ("Hugging Face Hub metadata dump (hub-stats models.parquet layout): "
                        f"{path.parent.parent.name}/{path.parent.name}/{path.name}")
    manifest = store.manifest(name, date, "dump", source, license, None, table)
    with store.staging(raw, name) as tmp:
        _copy_checked(path, tmp / store.DATA_FILE, digest)
    return store.commit_snapshot(tmp, raw, name, manifest), True
