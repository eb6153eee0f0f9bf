"""Where the pass over the snapshots (``history._Pass``) can resume: its state after a main
snapshot, and the readings it kept of each counter snapshot, in the store's cache.

What the pass keeps of main snapshots 0..j depends only on those snapshots (their data, names,
dates, which are readings) and on atomdata's code, so it is cached under a key chaining them
(``pass_chain``), in first-appearance codes (``id_codes.IdCodes``), which adding a month leaves
as they were. A build over the same snapshots and more takes the state of the longest cached
run and reads only the main snapshots after it (and, of the last of that run, the records of
the models no later snapshot lists). Each counter snapshot's readings (``READING_FIELDS``, in
the snapshot's row order) are cached beside it; their model codes are the snapshot's id codes,
put in id order when read (``workspace.StoreReadings``).

The state is a pickle (exact for every pandas dtype) that only this code writes, in the store's
own cache folder; one that does not load or does not fit the build is never trusted: the pass
then starts from the first snapshot.
"""
from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np

from ..io import write_npy, write_via_temp
from .csv_texts import source_digest

#: the arrays kept of a counter snapshot that is a reading (``rules.readings.Reading``, its
#: ``codes`` aside: those are the snapshot's id codes)
READING_FIELDS = ("at", "at_ok", "d30", "d30_ok", "stale")


def pass_chain(main_snaps, id_keys: list[str], counter_names: set[str]) -> list[str]:
    """The key of the pass's state after each main snapshot: its id codes' key (``cache.id_chain``:
    the sha256s of the main snapshots up to it and the typing), chained with each one's name,
    date and whether it is a counter snapshot, and atomdata's source."""
    h = hashlib.sha256(f"pass {source_digest()}".encode())
    keys = []
    for snap, key in zip(main_snaps, id_keys):
        h.update(f"{key} {snap.name} {snap.date} {snap.name in counter_names}\n".encode())
        keys.append(h.copy().hexdigest()[:32])
    return keys


def reading_paths(snap, key: str) -> dict[str, Path]:
    """The cache files of a counter snapshot's readings (``key``: its ``pass_chain`` key)."""
    folder = snap.path.parent / ".cache"
    return {f: folder / f"pass-{key}.{f}.npy" for f in READING_FIELDS}


def state_path(snap, key: str) -> Path:
    return snap.path.parent / ".cache" / f"state-{key}.pkl"


def store_readings(snap, key: str, arrays: dict[str, np.ndarray]) -> dict[str, Path] | None:
    """Cache a counter snapshot's readings; their files by field, or None where the store is read-only."""
    paths = reading_paths(snap, key)
    try:
        paths["at"].parent.mkdir(exist_ok=True)
        for f in READING_FIELDS:
            write_npy(paths[f], arrays[f])
        return paths
    except OSError:
        return None


def has_readings(snap, key: str) -> bool:
    return all(p.is_file() for p in reading_paths(snap, key).values())


def store_state(snap, key: str, state: dict) -> None:
    """Cache the pass's state after main snapshot ``snap``; nothing where the store is read-only."""
    path = state_path(snap, key)
    try:
        path.parent.mkdir(exist_ok=True)
        write_via_temp(path, lambda tmp: tmp.write_bytes(pickle.dumps(state, protocol=5)))
    except OSError:
        pass


def load_state(snap, key: str) -> dict | None:
    """The state cached by :func:`store_state`, or None (not cached, or damaged)."""
    try:
        state = pickle.loads(state_path(snap, key).read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError, TypeError):
        return None
    return state if isinstance(state, dict) and state.get("key") == key else None


def to_first(a: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """An array by model in id order (``rank``: each first-appearance code's position in id
    order) as an array by first-appearance code."""
    return a[rank]


def from_first(a: np.ndarray, rank: np.ndarray, fill) -> np.ndarray:
    """An array by first-appearance code (of the models of a shorter history) as an array by
    model in id order over this build's models (``rank``), ``fill`` for the models it lacks."""
    out = np.full(len(rank), fill, dtype=a.dtype)
    out[rank[:len(a)]] = a
    return out
