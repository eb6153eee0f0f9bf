"""Incremental builds: what a build derives from one snapshot (or from the snapshots up to it)
is cached by their sha256s: a snapshot's typed records and base edges, its claims rows (``claims_cache``), its
model id codes (by the main snapshots up to it) and the records of the models the next main
snapshot does not list (by the pair).

Adding one month to a long history then types and codes only the new snapshot, and reads the
others narrow (``history._Pass._narrow``). Every key also holds a hash of the typing code
(``records.py``) and of the model-type vocabulary (:class:`Typing`), so a change to how records
are typed can never serve stale rows. The cache lives in ``<store>/.cache`` (git-ignored); if
the store is read-only the build simply recomputes.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import pandas as pd
import pyarrow
import pyarrow.parquet as pq

from ..io import write_npy, write_via_temp
from ..rules import ids, inference, records
from ..version import code_version
from . import pass_state
from .claims_cache import claims_key, claims_paths, write_parquet


@dataclass(frozen=True)
class Typing:
    """How snapshots are typed: the model-type tags a record looks for (the ``architecture`` rows
    of the curated ``architectures.csv`` the build uses). Part of every cache key, with the
    typing code and library versions: another table, or another code, types anew."""

    model_types: tuple[str, ...]

    @cached_property
    def key(self) -> str:
        h = hashlib.sha256(f"{code_version()} {pd.__version__} {pyarrow.__version__}".encode())
        for path in (Path(records.__file__), Path(ids.__file__)):
            h.update(path.read_bytes())
        h.update("\n".join(self.model_types).encode())
        return h.hexdigest()[:12]


def typing_of(architectures: pd.DataFrame) -> Typing:
    return Typing(tuple(architectures.loc[architectures["kind"] == "architecture", "value"]))


@lru_cache(maxsize=1)
def default_typing() -> Typing:
    """The typing of the shipped ``architectures.csv`` (for callers outside a build)."""
    return typing_of(inference.load_architectures())


def cache_paths(snap, typing: Typing | None = None) -> tuple[Path, Path]:
    key = f"{snap.sha256[:32]}-{(typing or default_typing()).key}"
    folder = snap.path.parent / ".cache"
    return folder / f"records-{key}.parquet", folder / f"edges-{key}.parquet"


def _read(path: Path, without: tuple[str, ...]) -> pd.DataFrame:
    if not without:
        return pd.read_parquet(path)
    names = pq.read_schema(path).names
    return pd.read_parquet(path, columns=[c for c in names if c not in without and not c.startswith("__index")])


def cached_load(snap, without: tuple[str, ...] = (), typing: Typing | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed records and base edges of a verified snapshot, from the cache when possible; a
    cached entry is read without the columns in ``without`` (a freshly typed one comes whole)."""
    typing = typing or default_typing()
    rpath, epath = cache_paths(snap, typing)
    if rpath.is_file() and epath.is_file():
        try:
            return _read(rpath, without), _read(epath, without)
        except (OSError, ValueError, ImportError, KeyError):  # a damaged cache entry is recomputed, never trusted
            pass
    recs, edges = records.load_snapshot(snap.data_path, model_types=typing.model_types)
    try:
        rpath.parent.mkdir(exist_ok=True)
        write_parquet(recs, rpath)
        write_parquet(edges, epath)
    except OSError:
        pass
    return recs, edges


def load_columns(snap, columns: list[str], typing: Typing) -> pd.DataFrame | None:
    """Some columns of a snapshot's cached typed records, or None when the entry is missing or damaged."""
    try:
        return pd.read_parquet(cache_paths(snap, typing)[0], columns=columns)
    except (OSError, ValueError, ImportError, KeyError, pyarrow.ArrowException):
        return None


# -- model id codes, by the main snapshots up to each --------------------------------------------

def id_chain(main_snaps, typing: Typing) -> list[str]:
    """The key of each main snapshot's id codes (``id_codes.IdCodes``: ids numbered in order of first
    appearance over the main snapshots). A snapshot's codes depend on it and on every main snapshot
    before it, so its key chains their sha256s, after the typing and the coding code; adding a
    month leaves the keys of the months before it as they were."""
    h = hashlib.sha256(typing.key.encode())
    h.update(Path(__file__).with_name("id_codes.py").read_bytes())
    keys = []
    for snap in main_snaps:
        h.update(snap.sha256.encode())
        keys.append(h.copy().hexdigest()[:32])
    return keys


#: the vocabularies kept with the id codes: of the model ids, and of the namespaces
VOCABS = ("vocab", "orgvocab")


def id_paths(snap, key: str) -> dict[str, Path]:
    """The cache files of one main snapshot's codes (``rec``: its records' model ids, ``edge``: its
    edges', ``org``: its records' namespaces) and of the vocabularies after it (``vocab``: the id
    of every code, ``orgvocab``: the namespace of every namespace code; kept for the last main
    snapshot of a build)."""
    folder = snap.path.parent / ".cache"
    return {"rec": folder / f"ids-{key}.rec.npy", "edge": folder / f"ids-{key}.edge.npy", "org": folder / f"ids-{key}.org.npy",
            "vocab": folder / f"vocab-{key}.parquet", "orgvocab": folder / f"vocab-{key}.org.parquet"}


def cached_ids(main_snaps, keys: list[str]) -> tuple[int, pyarrow.Array, pyarrow.Array]:
    """(how many leading main snapshots have their codes cached, the id and namespace vocabularies
    after them): the longest run whose vocabularies are cached too; (0, none, none) when there is none."""
    have = [all(p.is_file() for name, p in id_paths(s, k).items() if name not in VOCABS) for s, k in zip(main_snaps, keys)]
    run = have.index(False) if False in have else len(have)
    for k in range(run - 1, -1, -1):
        paths = id_paths(main_snaps[k], keys[k])
        if all(paths[v].is_file() for v in VOCABS):
            try:
                return (k + 1, *(pq.read_table(paths[v]).column(0).combine_chunks() for v in VOCABS))
            except (OSError, ValueError, pyarrow.ArrowException):  # damaged: recomputed, never trusted
                continue
    return 0, pyarrow.array([], pyarrow.string()), pyarrow.array([], pyarrow.string())


def store_ids(snap, key: str, **arrays) -> dict[str, Path] | None:
    """Cache a main snapshot's codes (``rec``, ``edge``, ``org``) or the vocabularies after it
    (``vocab``, ``orgvocab``); the files by name, or None where the store is read-only."""
    paths = id_paths(snap, key)
    try:
        paths["rec"].parent.mkdir(exist_ok=True)
        for name, a in arrays.items():
            if name in VOCABS:
                write_via_temp(paths[name], lambda tmp, a=a: pq.write_table(pyarrow.table({"value": a}), tmp))
            else:
                write_npy(paths[name], a)
        return paths
    except OSError:
        return None


# -- the records of the models a main snapshot is the last to list -------------------------------

def leaver_paths(snap, following, typing: Typing) -> dict[str, Path]:
    """The cache files of the records (``rec``) and base edges (``edge``) of main snapshot ``snap``
    whose models the next main snapshot, ``following``, does not list: a function of the two
    snapshots and the typing alone."""
    folder = snap.path.parent / ".cache"
    stem = f"leavers-{snap.sha256[:32]}-{following.sha256[:32]}-{typing.key}"
    return {"rec": folder / f"{stem}.rec.parquet", "edge": folder / f"{stem}.edge.parquet"}


def load_leavers(snap, following, typing: Typing) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(records, edges) cached by :func:`store_leavers`, or None (not cached, or damaged)."""
    paths = leaver_paths(snap, following, typing)
    try:
        return pd.read_parquet(paths["rec"]), pd.read_parquet(paths["edge"])
    except (OSError, ValueError, ImportError, KeyError, pyarrow.ArrowException):
        return None


def store_leavers(snap, following, typing: Typing, records: pd.DataFrame, edges: pd.DataFrame) -> None:
    """Cache the records (with ``_row``, their rows in the snapshot) and edges (with
    ``record_row``) of the models ``following`` does not list; nothing where the store is read-only."""
    paths = leaver_paths(snap, following, typing)
    try:
        paths["rec"].parent.mkdir(exist_ok=True)
        write_parquet(edges, paths["edge"])
        write_parquet(records, paths["rec"])
    except OSError:
        pass


# -- pruning -----------------------------------------------------------------------------------------

#: an entry no build has written for this long, and that the current build did not use, is removed
STALE_SECONDS = 24 * 3600
#: the names of the build's cache entries start so (other files in ``.cache`` are the ingest's)
ENTRY_PREFIXES = ("records-", "edges-", "claims-", "ids-", "vocab-", "leavers-", "text-", "rows-", "pass-", "state-", "written-")


def prune(snaps, main: list[str], counter_names: set[str], snapinfo: pd.DataFrame, registry: pd.DataFrame,
          typing: Typing) -> list[Path]:
    """Remove the store's cache entries (typed records, edges, claims parts, id codes, leavers, the
    pass's readings and its state after the last main snapshot, ``pass_state``; the
    CSV text of tables' parts and the records of the table files written from them, ``csv_texts``,
    and the monthly table's rows of each month, ``downloads._MonthRows``, all touched whenever a
    build uses them) that this build
    did not use and that were last written a day or more ago (``STALE_SECONDS``): entries of another
    typing or registry (an upgrade of atomdata, an edited curated table) and of snapshots no longer
    in the store, GBs at Hub scale, would otherwise stay for good (``main``: the build's main
    snapshots, whose id codes it used). A day's grace leaves alone a build of another
    configuration running beside this one. The temporary file of an entry whose writing was cut
    short (a killed build) goes the same way. Other files in ``.cache`` (the hub ingest's and
    archive backfill's) are never touched; a read-only store is left as it is. Returns the files
    removed."""
    if not snaps:
        return []
    folder = snaps[0].path.parent / ".cache"
    info = snapinfo.set_index("snapshot")
    used = set()
    for snap in snaps:
        used.update(p.name for p in cache_paths(snap, typing))
        used.update(p.name for p in claims_paths(snap, claims_key(registry, info.loc[snap.name].to_dict(), typing)).values())
    in_main = set(main)
    main_snaps = [s for s in snaps if s.name in in_main]
    keys = id_chain(main_snaps, typing)
    for snap, key in zip(main_snaps, keys):
        used.update(p.name for part, p in id_paths(snap, key).items() if part not in VOCABS)
    pass_keys = pass_state.pass_chain(main_snaps, keys, counter_names)
    for snap, key in zip(main_snaps, pass_keys):
        if snap.name in counter_names:
            used.update(p.name for p in pass_state.reading_paths(snap, key).values())
    if main_snaps:  # the vocabularies and the pass's state after the last: those after earlier months are another build's
        used.update(id_paths(main_snaps[-1], keys[-1])[v].name for v in VOCABS)
        used.add(pass_state.state_path(main_snaps[-1], pass_keys[-1]).name)
    for snap, following in zip(main_snaps, main_snaps[1:]):
        used.update(p.name for p in leaver_paths(snap, following, typing).values())
    cutoff = time.time() - STALE_SECONDS
    removed = []
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    for path in entries:
        # an entry, or the temporary file of one whose writing was cut short (``io.write_via_temp``)
        name = path.name[1:].rsplit(".", 2)[0] if path.name.startswith(".") and path.name.endswith(".tmp") else path.name
        if not name.startswith(ENTRY_PREFIXES) or path.name in used:
            continue
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except OSError:
            continue
    return removed
