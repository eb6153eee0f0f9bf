"""The CSV text of parts of the tables kept in parts (``workspace.KeptTable``: the months of the
monthly table, the snapshots of the organization summary), kept in the store's cache by what the
part is a function of: a build copies the text of every part it has written before and formats
only the new ones. A part's text depends on its rows alone (a row's text on the row alone), so
the copied bytes are those the build would format. Entries are zstd-compressed (about a fifth of
the text) and touched when used: ``cache.prune`` removes those no build has used for a day.

A table written so is recorded too (``written_path``: which parts, where each ends, by the file's
identity), so that the next build writing the table over it copies the leading parts it shares
with that file from the file itself (in the kernel: no decompression, no counting) instead of
from the entries: adding a month to a long history copies the months before as they are.
"""
from __future__ import annotations

import hashlib
import json
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


def written_path(folder: Path, st: os.stat_result) -> Path:
    """The record of the table file whose ``os.stat`` is ``st``: its parts' text names and where
    each ends (``record_written``). Named by the file's device and inode, which outlast the rename
    of the build's folder into place, and checked against its size and modification time."""
    return Path(folder) / f"written-{st.st_dev}-{st.st_ino}.json"


def record_written(f, header: bytes, texts: list, ends: list[int]) -> None:
    """Record that the table file ``f`` (written, flushed by the caller's last write) holds
    ``header`` then the text of each part of ``texts`` ending at the offsets ``ends``, up to the
    first part of no cache place; nothing where there is no cache or it is read-only."""
    first_none = next((i for i, p in enumerate(texts) if p is None), len(texts))
    named = [(path.name, end) for path, end in zip(texts[:first_none], ends)]
    if not named:
        return
    f.flush()
    st = os.fstat(f.fileno())
    record = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "header": len(header), "parts": named}
    try:
        write_via_temp(written_path(texts[0].parent, st), lambda tmp: Path(tmp).write_text(json.dumps(record)))
    except OSError:
        pass


def shared_prefix(previous: Path | None, header: bytes, texts: list) -> list[int]:
    """Where each of the leading parts of ``texts`` that the table file ``previous`` holds ends in
    it, by its record (``record_written``); none when there is no such file, or the file, its
    record or its header differ (a file changed since it was written has another size or
    modification time)."""
    if previous is None or not texts or texts[0] is None:
        return []
    try:
        st = os.stat(previous)
        path = written_path(texts[0].parent, st)
        record = json.loads(path.read_text())
        if (record["size"], record["mtime_ns"], record["header"]) != (st.st_size, st.st_mtime_ns, len(header)):
            return []
        with open(previous, "rb") as f:
            if f.read(len(header)) != header:
                return []
        ends = []
        for (name, end), want in zip(record["parts"], texts):
            if want is None or want.name != name:
                break
            ends.append(int(end))
        if ends:
            os.utime(path)
        return ends
    except (OSError, ValueError, KeyError, TypeError):
        return []


def copy_prefix(src: Path, f, length: int) -> bool:
    """Copy the first ``length`` bytes of the file ``src`` to the start of the empty binary file
    ``f`` (in the kernel where it can: ``os.copy_file_range``); False (``f`` empty again) when
    fewer bytes could be copied."""
    f.flush()
    done = 0
    try:
        with open(src, "rb") as s:
            try:
                while done < length and (n := os.copy_file_range(s.fileno(), f.fileno(), length - done, done, done)) > 0:
                    done += n
            except (AttributeError, OSError):  # no copy_file_range here (or across these file systems)
                s.seek(done)
                f.seek(done)
                while done < length and (block := s.read(min(COPY_BYTES, length - done))):
                    f.write(block)
                    done += len(block)
    except OSError:
        done = -1
    f.seek(0, os.SEEK_END)
    if done == length and f.tell() == length:
        return True
    f.seek(0)
    f.truncate()
    return False
