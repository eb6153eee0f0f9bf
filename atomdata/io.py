"""Atomic, deterministic writers: every output goes to a temporary path and is renamed into place."""
from __future__ import annotations

import contextlib
import csv
import ctypes
import ctypes.util
import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: a leading quote is doubled too, so that the reader can always remove exactly one
GUARD_PREFIXES = FORMULA_PREFIXES + ("'",)


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``
    (``write_via_temp``), synced to disk, readable by all (outputs are meant to be shared)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
    write_via_temp(path, write)
    _fsync_dir(path.parent)


def write_via_temp(path: Path, write) -> None:
    """``write(tmp)`` to a temporary file beside ``path`` (``.<name>.<pid>-<thread>.tmp``: no two
    writers share one), then renamed to it: the file is whole or absent (the temporary file goes
    if ``write`` fails)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_npy(path: Path, a) -> None:
    """``a`` as a ``.npy`` file at ``path``, written whole or not at all (``write_via_temp``)."""
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # to the name given (``np.save`` would add ``.npy`` to a path)
            np.save(f, np.ascontiguousarray(a), allow_pickle=False)
    write_via_temp(path, write)


def parquet_bytes(table: pa.Table) -> bytes:
    """A table as Parquet written with fixed settings: the same table always gives the same bytes."""
    import io
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(table.combine_chunks(), buf, compression="zstd",
                   row_group_size=1 << 20, write_statistics=True, store_schema=True)
    return buf.getvalue()


def atomic_write_text(path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def dumps_json(obj) -> str:
    """Deterministic JSON (sorted keys, fixed indent, trailing newline)."""
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def atomic_write_json(path, obj) -> None:
    atomic_write_text(path, dumps_json(obj))


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with Linux renameat2(RENAME_EXCHANGE); False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    AT_FDCWD = -100
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = fn(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return rc == 0


def replace_dir(new: Path, dest: Path) -> None:
    """Put the complete folder ``new`` at ``dest``; readers see the old or the new folder, never a mix.

    On Linux the two folders are exchanged in one system call; elsewhere the old folder is
    moved aside first (a crash in between leaves ``dest`` missing and ``dest.old`` complete).
    """
    new, dest = Path(new), Path(dest)
    _fsync_dir(new)
    if not dest.exists():
        os.rename(new, dest)
    elif _exchange(new, dest):
        shutil.rmtree(new)  # ``new`` now holds the old contents
    else:  # pragma: no cover - non-Linux fallback
        old = dest.with_name(dest.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        os.rename(dest, old)
        os.rename(new, dest)
        shutil.rmtree(old)
    _fsync_dir(dest.parent)


@contextlib.contextmanager
def staging_dir(dest: Path):
    """Yield a fresh temporary folder next to ``dest``; on success it replaces ``dest`` atomically."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    os.chmod(tmp, 0o755)
    try:
        yield tmp
        replace_dir(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula (=, +, -, @, tab, CR) with a quote.

    A cell that already starts with a quote gets a second one, so the reader
    (:func:`atomdata.tableio.read_csv_typed`) removes exactly one leading quote from every cell that
    starts with one and any text round-trips unchanged. Applies to text columns only; numbers
    keep their sign. Documented in the methodology.
    """
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(s.dtype.categories.dtype):
            s = s.astype("string")  # guarded like its categories' text
        if pd.api.types.is_string_dtype(s.dtype) or s.dtype == object:
            # an object column counts as text when every non-missing cell is a str (vectorised type test)
            if s.dtype == object and pd.api.types.infer_dtype(s[s.notna()], skipna=False) not in ("string", "empty"):
                continue
            text = s.astype("string")
            bad = text.str.startswith(GUARD_PREFIXES).fillna(False)
            if bad.any():
                out[col] = text.where(~bad, "'" + text)
    return out


def _has_carriage_return(df: pd.DataFrame) -> bool:
    for col in df.columns:
        s = df[col]
        if (pd.api.types.is_string_dtype(s.dtype) or s.dtype == object) and \
                s.astype("string").str.contains("\r", regex=False).fillna(False).any():
            return True
    return False


def _text_cells(text: pa.Array, guard_formulas: bool = True) -> pa.Array | None:
    """Formula guard and minimal quoting of text cells (None: a carriage return, see to_csv_bytes)."""
    if pc.any(pc.match_substring(text, "\r")).as_py():
        return None
    guard = pc.is_in(pc.utf8_slice_codeunits(text, 0, 1), value_set=_GUARDS)
    if guard_formulas and pc.any(guard).as_py():
        text = pc.if_else(guard, pc.binary_join_element_wise("'", text, ""), text)
    quote = pc.match_substring_regex(text, '[,"\\n]')
    if pc.any(quote).as_py():
        text = pc.if_else(pc.fill_null(quote, False), pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', ""), text)
    return text


_NAN_BITS = np.array([np.nan]).view(np.int64)[0]


def _per_distinct(keys: np.ndarray, fmt) -> pa.Array:
    """``fmt`` (distinct keys -> their text) applied once per distinct key and spread back to every
    row: dates and rounded sizes repeat a lot in a column of millions of rows."""
    uniq, inv = np.unique(keys, return_inverse=True)
    return fmt(uniq).take(pa.array(inv.reshape(-1).astype(np.int64, copy=False)))


def _csv_cells(s: pd.Series, memo: dict | None = None) -> pa.Array | None:
    """The CSV text of every cell of one column, as pandas' ``to_csv`` writes it with the options of
    :func:`to_csv_bytes` (missing values empty), formula guard and minimal quoting applied; None for
    a column type this fast path does not handle."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        if not pd.api.types.is_string_dtype(dtype.categories.dtype):
            return None  # pandas writes other categories with str(): left to it
        # the categories are formatted once (``memo`` carries them from one slice of rows, or one
        # frame, to the next); an entry holds its categories, so another object at the same id is not taken for them
        key = (s.name, id(dtype.categories))
        held = memo.get(key) if memo is not None else None
        cats = held[1] if held is not None and held[0] is dtype.categories else None
        if cats is None:
            cats = _csv_cells(pd.Series(dtype.categories))
            if memo is not None:
                memo[key] = (dtype.categories, cats)
        if cats is None:
            return None
        codes = s.cat.codes.to_numpy()
        return pc.fill_null(cats.take(pa.array(codes, mask=codes < 0)), "")
    if pd.api.types.is_bool_dtype(dtype):
        vals = pa.array(s, type=pa.bool_(), from_pandas=True)
        return pc.fill_null(pc.if_else(vals, "True", "False"), "")
    if pd.api.types.is_integer_dtype(dtype):
        return pc.fill_null(pa.array(s, type=pa.int64(), from_pandas=True).cast(pa.string()), "")
    if pd.api.types.is_float_dtype(dtype):
        vals = s.to_numpy(dtype="float64", na_value=np.nan)
        bits = vals.view(np.int64).copy()  # by bit pattern: -0.0 and 0.0 are written apart
        bits[np.isnan(vals)] = _NAN_BITS
        # the float_format of pandas' writer, once per distinct value
        return _per_distinct(bits, lambda u: pa.array(["" if np.isnan(v) else "%.10g" % v for v in u.view(np.float64)], pa.string()))
    if pd.api.types.is_datetime64_dtype(dtype):
        vals = (s.dt.tz_localize(None) if s.dt.tz is not None else s).to_numpy()
        return _per_distinct(vals.view(np.int64), lambda u: pc.fill_null(pc.strftime(pa.array(u.view(vals.dtype), from_pandas=True), "%Y-%m-%d"), ""))
    if pd.api.types.is_string_dtype(dtype) or dtype == object:
        if dtype == object and pd.api.types.infer_dtype(s[s.notna()], skipna=False) not in ("string", "empty"):
            return None
        text = pa.array(s, type=pa.string(), from_pandas=True)
        text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
        head = text.slice(0, 10_000)
        if pc.count_distinct(head).as_py() * 2 < len(head):  # few distinct values (judged on the first rows): format each once
            enc = pc.dictionary_encode(text)
            cells = _text_cells(enc.dictionary)
            return None if cells is None else pc.fill_null(cells.take(enc.indices), "")
        cells = _text_cells(text)
        return None if cells is None else pc.fill_null(cells, "")
    return None


_GUARDS = pa.array(GUARD_PREFIXES, pa.string())
#: large strings (64-bit offsets): a table may hold more than 2 GB of text
_SEP, _EMPTY, _EOL = (pa.scalar(v, pa.large_string()) for v in (",", "", "\n"))


def _fast_csv(df: pd.DataFrame, memo: dict | None = None) -> bytes | None:
    """The bytes of :func:`to_csv_bytes` built column by column in Arrow (None when a column needs
    the general writer): the same text, without formatting millions of cells in Python."""
    cols = []
    for name in df.columns:
        cells = _csv_cells(df[name], memo)
        if cells is None or not isinstance(name, str):
            return None
        cols.append(cells.combine_chunks() if isinstance(cells, pa.ChunkedArray) else cells)
    # column names are written as they are (neutralise_formulas guards cells, not names)
    header = _text_cells(pa.array([str(c) for c in df.columns], pa.string()), guard_formulas=False)
    if header is None or len(df.columns) == 0:
        return None
    if len(df.columns) == 1 and len(df):
        return None  # a single empty field is written quoted by the csv module: leave it to pandas
    out = []
    for line in ([header.slice(i, 1) for i in range(len(header))], cols if len(df) else None):
        if line is None:
            continue
        line = [c.cast(pa.large_string()) for c in line]
        line[-1] = pc.binary_join_element_wise(line[-1], _EOL, _EMPTY)  # the line ending rides on the last cell
        joined = pc.binary_join_element_wise(*line, _SEP)  # rows end up back to back in one buffer
        offsets = np.frombuffer(joined.buffers()[1], dtype=np.int64)[joined.offset:joined.offset + len(joined) + 1]
        out.append(memoryview(joined.buffers()[2])[offsets[0]:offsets[-1]])
    return b"".join(out)


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """Deterministic CSV: fixed float format, ISO dates, LF line endings, minimal quoting.

    Python's csv writer does not quote a cell holding a bare carriage return when rows end with
    LF, and readers then split the row there; a table with such a cell is written with every
    field quoted instead (still valid CSV, read back unchanged). Tables are formatted column by
    column in Arrow (:func:`_fast_csv`) where every column allows it, with the same bytes as
    pandas' writer (checked by the tests); pandas writes the rest.
    """
    fast = _fast_csv(df)
    if fast is not None:
        return fast
    df = neutralise_formulas(df)
    quoting = csv.QUOTE_ALL if _has_carriage_return(df) else csv.QUOTE_MINIMAL
    return df.to_csv(index=False, lineterminator="\n", float_format="%.10g", date_format="%Y-%m-%d",
                     quoting=quoting).encode("utf-8")


#: rows formatted at a time when writing a CSV: three slices in flight hold about 0.1 GB of text
#: for a Hub-sized table (a million rows at a time held over a GB: the build's peak)
CSV_SLICE_ROWS = 250_000


def write_csv(df: pd.DataFrame, path: Path, chunk_rows: int = CSV_SLICE_ROWS) -> None:
    """Write ``to_csv_bytes(df)`` to ``path`` a slice of rows at a time, so a table of tens of
    millions of rows never exists as one string in memory (same bytes as one call)."""
    with open(path, "wb") as f:
        append_csv(f, df, header=True, chunk_rows=chunk_rows)


def append_csv(f, df: pd.DataFrame, header: bool = True, chunk_rows: int = CSV_SLICE_ROWS, memo: dict | None = None) -> None:
    """Append ``to_csv_bytes(df)`` (without its header line unless ``header``) to the open binary
    file ``f``, a slice of rows at a time (a table written in pieces: the same bytes as at once).
    ``memo``: formatted categories, shared by the frames of a table written a frame at a time."""
    start = f.tell()

    def whole() -> bytes:
        data = to_csv_bytes(df)
        return data if header else data[data.index(b"\n") + 1:]
    head = _fast_csv(df.iloc[0:0]) if len(df) > chunk_rows else None
    if head is None:  # a short table, or a column the Arrow writer leaves to pandas
        f.write(whole())
        return
    parts = _csv_slices(df, chunk_rows, {} if memo is None else memo)
    for i, part in enumerate(parts):
        if part is None:  # a column the Arrow writer leaves to pandas: write the whole table its way
            parts.close()
            f.seek(start)
            f.truncate()
            f.write(whole())
            return
        f.write(part if i == 0 and header else part[len(head):])


def _csv_slices(df: pd.DataFrame, chunk_rows: int, memo: dict, ahead: int = 2):
    """``_fast_csv`` of each slice of rows, in order, formatted two at a time in threads (Arrow's
    kernels release the GIL) with at most ``ahead`` + 1 slices held at once."""
    _fast_csv(df.iloc[0:1], memo)  # categories formatted once, before the threads share the memo
    pending = deque()
    with ThreadPoolExecutor(max_workers=2) as pool:
        try:
            for start in range(0, len(df), chunk_rows):
                pending.append(pool.submit(_fast_csv, df.iloc[start:start + chunk_rows], memo))
                if len(pending) > ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for p in pending:
                p.cancel()
