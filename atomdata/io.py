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
from pathlib import Path

import pandas as pd

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
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs are meant to be shared
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


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
    (:func:`atomdata.api.read_csv_typed`) removes exactly one leading quote from every cell that
    starts with one and any text round-trips unchanged. Applies to text columns only; numbers
    keep their sign. Documented in the methodology.
    """
    out = df.copy()
    for col in out.columns:
        s = out[col]
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


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """Deterministic CSV: fixed float format, ISO dates, LF line endings, minimal quoting.

    Python's csv writer does not quote a cell holding a bare carriage return when rows end with
    LF, and readers then split the row there; a table with such a cell is written with every
    field quoted instead (still valid CSV, read back unchanged).
    """
    df = neutralise_formulas(df)
    quoting = csv.QUOTE_ALL if _has_carriage_return(df) else csv.QUOTE_MINIMAL
    return df.to_csv(index=False, lineterminator="\n", float_format="%.10g", date_format="%Y-%m-%d",
                     quoting=quoting).encode("utf-8")
