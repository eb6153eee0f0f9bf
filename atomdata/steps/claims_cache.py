"""A snapshot's claims rows (organization_summary, trending_by_country) in the store's cache,
named by what they are a function of (``claims_key``), and the parquet files they are kept in
(``PartFile``). A module of its own: the key hashes the code that lays out these entries, and
only that code, so an edit elsewhere in the cache never recomputes every snapshot's claims."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow
import pyarrow.parquet as pq

from ..io import write_via_temp
from ..rules import lineage
from ..rules import organizations as registry_mod
from . import claims


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    """``df`` as a parquet file at ``path``, written whole or not at all."""
    write_via_temp(path, lambda tmp: df.to_parquet(tmp, index=False))


@dataclass(frozen=True)
class PartFile:
    """A frame kept in a parquet file rather than in memory: its path and its pandas dtypes
    (parquet keeps values, not every pandas dtype: datetime units); ``rows``: its length."""

    path: Path
    dtypes: dict
    rows: int

    def read(self) -> pd.DataFrame:
        return pd.read_parquet(self.path).astype(self.dtypes)

    @classmethod
    def write(cls, df: pd.DataFrame, path: Path) -> "PartFile":
        write_parquet(df, path)
        return cls(path, {c: str(t) for c, t in df.dtypes.items()}, len(df))


def claims_key(registry: pd.DataFrame, info: dict, typing) -> str:
    """Everything a snapshot's claims rows depend on besides the snapshot itself: the typing
    (``cache.Typing``), the claims code (and this module's, which lays out the entries), the
    registry's content and the snapshot's row of ``snapinfo``."""
    h = hashlib.sha256(typing.key.encode())
    for path in (Path(claims.__file__), Path(lineage.__file__), Path(registry_mod.__file__), Path(__file__)):
        h.update(path.read_bytes())
    h.update(repr((list(registry.columns), [str(t) for t in registry.dtypes], len(registry))).encode())
    h.update(pd.util.hash_pandas_object(registry, index=True).to_numpy().tobytes())
    h.update(repr(sorted((k, str(v)) for k, v in info.items())).encode())
    return h.hexdigest()[:16]


def claims_paths(snap, key: str) -> dict[str, Path]:
    folder = snap.path.parent / ".cache"
    stem = f"claims-{snap.sha256[:32]}-{key}"
    return {part: folder / f"{stem}-{part}.parquet" for part in ("org", "trend", "trenddq")} | {"done": folder / f"{stem}.done"}


def has_claims(snap, key: str) -> bool:
    return claims_paths(snap, key)["done"].is_file()


def load_claims(snap, key: str, kept: tuple[str, ...] = ()) -> dict | None:
    """A snapshot's cached claims parts (``org``, ``trend``, ``trenddq``; a part the snapshot does
    not produce is absent), or None when not cached; the parts named in ``kept`` come as
    ``PartFile`` (not read)."""
    paths = claims_paths(snap, key)
    if not paths["done"].is_file():
        return None
    try:
        files = {part: PartFile(paths[part], entry["dtypes"], entry["rows"])
                 for part, entry in json.loads(paths["done"].read_text()).items()}
        for f in (files[part] for part in kept if part in files):
            if pq.read_metadata(f.path).num_rows != f.rows:  # read later: its file is checked now
                return None
        return {part: f if part in kept else f.read() for part, f in files.items()}
    except (OSError, ValueError, ImportError, KeyError, TypeError, pyarrow.ArrowException):
        return None


def store_claims(snap, key: str, parts: dict[str, pd.DataFrame]) -> dict[str, PartFile] | None:
    """Cache a snapshot's claims parts; their ``PartFile`` by name, or None where the store is
    read-only."""
    paths = claims_paths(snap, key)
    try:
        paths["done"].parent.mkdir(exist_ok=True)
        files = {part: PartFile.write(df, paths[part]) for part, df in parts.items()}
        done = json.dumps({part: {"dtypes": f.dtypes, "rows": f.rows} for part, f in files.items()})
        write_via_temp(paths["done"], lambda tmp: tmp.write_text(done))
        return files
    except OSError:
        return None
