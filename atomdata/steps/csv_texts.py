"""The CSV text of parts of the tables kept in parts (``workspace.KeptTable``: the months of the
monthly table, the snapshots of the organization summary), kept in the store's cache by what the
part is a function of: a build copies the text of every part it has written before and formats
only the new ones. A part's text depends on its rows alone (a row's text on the row alone), so
the copied bytes are those the build would format. Entries are zstd-compressed (about a fifth of
the text) and touched when used: ``cache.prune`` removes those no build has used for a day.
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pyarrow

from ..io import write_via_temp
from ..version import code_version

#: bytes read or written at a time when copying a part's text to or from the cache
COPY_BYTES = 1 << 24


@lru_cache(maxsize=1)
def source_digest() -> str:
    """A hash of atomdata's source (every module of the package) and of the library versions: a
    key that holds it never serves what another version of the code would write."""
    h = hashlib.sha256(f"{code_version()} {pd.__version__} {pyarrow.__version__}".encode())
    root = Path(__file__).resolve().parents[1]
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def text_path(folder: Path, name: str) -> Path:
    """The cache file of the CSV text (no header) of the part named ``name``: what it is a function
    of, led by the sha256 of the latest snapshot it depends on (for whoever looks in the cache)."""
    return Path(folder) / f"text-{name}.csv.zst"


def validated(path: Path | None) -> bool:
    """Whether the part whose text is cached at ``path`` passed its table's validation: a build
    caches a part's text only when writing a table that passed, and the name holds atomdata's
    source (the schemas) and everything the part's rows are a function of, so the same rows
    under the same schema are not validated again (as their text is not formatted again)."""
    return path is not None and path.is_file()


def copy_text(path: Path, f, rows: int) -> bool:
    """Append the cached text of a part of ``rows`` rows to the open binary file ``f``; False
    (``f`` as it was) when the entry is missing, damaged or of another number of lines. A used
    entry is touched."""
    start = f.tell()
    lines, last = 0, b"\n"
    try:
        with pyarrow.input_stream(str(path), compression="zstd") as src:
            while block := src.read(COPY_BYTES):
                lines += block.count(b"\n")
                last = block[-1:]
                f.write(block)
        if lines == rows and last == b"\n":
            os.utime(path)
            return True
    except (OSError, pyarrow.ArrowException):
        pass
    f.seek(start)
    f.truncate()
    return False


def store_text(path: Path, f, start: int) -> None:
    """Cache the text written to the binary file ``f`` (open for reading too) from offset
    ``start`` to its end (a part's rows); nothing where the store is read-only."""
    end = f.tell()
    f.flush()

    def write(tmp: Path) -> None:
        with pyarrow.output_stream(str(tmp), compression="zstd") as out:
            at = start
            while at < end:
                block = os.pread(f.fileno(), min(COPY_BYTES, end - at), at)
                out.write(block)
                at += len(block)
    try:
        path.parent.mkdir(exist_ok=True)
        write_via_temp(path, write)
    except OSError:
        pass
