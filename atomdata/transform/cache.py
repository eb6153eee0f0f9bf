"""Incremental builds: a snapshot's typed records are cached by its sha256.

Adding one month to a long history then types only the new snapshot. The cache key also holds
a hash of the typing code (``records.py``), so a change to how records are typed can never
serve stale rows. The cache lives in ``<store>/.cache`` (git-ignored); if the store is read-only
the build simply recomputes.
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import pandas as pd

from . import records


@lru_cache(maxsize=1)
def _code_hash() -> str:
    """Everything typing depends on: its code, the model-type vocabulary, library versions."""
    import pyarrow

    from .. import __version__
    from . import ids, inference

    h = hashlib.sha256(f"{__version__} {pd.__version__} {pyarrow.__version__}".encode())
    for path in (Path(records.__file__), Path(inference.__file__), Path(ids.__file__), inference.architectures_path()):
        h.update(path.read_bytes() if path.is_file() else b"")
    return h.hexdigest()[:12]


def cache_paths(snap) -> tuple[Path, Path]:
    key = f"{snap.sha256[:32]}-{_code_hash()}"
    folder = snap.path.parent / ".cache"
    return folder / f"records-{key}.parquet", folder / f"edges-{key}.parquet"


def _write(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def cached_load(snap) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed records and base edges of a verified snapshot, from the cache when possible."""
    rpath, epath = cache_paths(snap)
    if rpath.is_file() and epath.is_file():
        try:
            return pd.read_parquet(rpath), pd.read_parquet(epath)
        except (OSError, ValueError, ImportError):  # a damaged cache entry is recomputed, never trusted
            pass
    recs, edges = records.load_snapshot(snap.data_path)
    try:
        rpath.parent.mkdir(exist_ok=True)
        _write(recs, rpath)
        _write(edges, epath)
    except OSError:
        pass
    return recs, edges
