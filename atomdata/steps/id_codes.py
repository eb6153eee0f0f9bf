"""Integer codes of the model ids of the main snapshots (``IdCodes``), in order of first appearance.

The pass over the snapshots works on integer codes, not id strings; a snapshot's codes depend only
on the main snapshots up to it, so they are cached under a key that chains those snapshots and
this module's code (``cache.id_chain``).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import SnapshotError
from ..rules.ids import as_arrow
from . import cache
from .workspace import Workspace


class IdCodes:
    """Integer codes of the model ids of each main snapshot's records and edges (an edge takes the
    code of its record row), in order of first appearance over the snapshots: the codes one
    dictionary encoding of every snapshot's ids would give, made a snapshot at a time (its ids
    matched to the vocabulary so far) so that the ids of only one snapshot are held.
    A snapshot's codes depend only on the main snapshots up to it: they are cached under a key
    chaining those (``cache.id_chain``), so a build coding the same snapshots again, or one more
    month, reads the codes of the months it has coded before and codes only the new ones. Where
    the store is read-only they wait in the build's workspace. Read from the cached records; a
    snapshot without a cache entry (read-only store) is typed here and its frames are held for the
    pass (``held``); the snapshot being typed in a worker meanwhile (``later``: a month just added,
    ``prepare.Preparing``) is coded from its data file's ids, its edges once the pass takes it.
    ``vocab``: the id of every code."""

    def __init__(self, main_snaps, typing, workspace: Workspace, later: str | None = None):
        self.workspace, self.held, self.later, self.deferred, self.typing = workspace, {}, later, {}, typing
        keys = cache.id_chain(main_snaps, typing)
        done, vocab = cache.cached_ids(main_snaps, keys)
        self.files = {s.name: cache.id_paths(s, key) for s, key in zip(main_snaps[:done], keys)}
        try:  # a damaged entry, or one beyond its vocabulary, is never trusted: every month is coded anew
            if any(self._mapped(s.name, "rec").max(initial=-1) >= len(vocab) or self._mapped(s.name, "edge").ndim != 1
                   for s in main_snaps[:done]):  # mapped, not copied: read whole once, by the pass
                raise ValueError("id codes beyond their vocabulary")
        except (OSError, ValueError):
            done, vocab, self.files = 0, pa.array([], pa.string()), {}
        todo = main_snaps[done:]
        # each snapshot's ids are read in a thread while the one before is coded
        for snap, key, (rec_ids, edge_rows) in zip(todo, keys[done:], one_ahead(lambda s: self._read(s, typing), todo)):
            ids = pa.concat_arrays([c.cast(pa.string()) for c in rec_ids.chunks]) if rec_ids.num_chunks else pa.array([], pa.string())
            # a snapshot lists each id once (the store's import checks it), so its ids are their own
            # dictionary: one lookup in the vocabulary so far; the others are new, in order
            at = pc.index_in(ids, value_set=vocab)
            new = at.is_null().to_numpy(zero_copy_only=False)
            known = at.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int32)
            rec = np.where(new, len(vocab) + np.cumsum(new, dtype=np.int32) - 1, known).astype(np.int32)
            added = ids.filter(pa.array(new))
            if (len(rec) and np.bincount(rec).max() > 1) or pc.count_distinct(added).as_py() < len(added):
                raise SnapshotError(f"{snap.data_path}: lists a model id more than once (a snapshot lists each model "
                                    "once): import the dump again (`atomdata ingest dump` names the repeated rows)")
            vocab = pa.concat_arrays([vocab, added]) if len(added) else vocab
            if edge_rows is None:  # typed in a worker meanwhile: its edges' codes when the pass takes it
                workspace.save(f"ids.{snap.name}", rec=rec)
                self.deferred[snap.name] = (snap, key)
            else:
                self._keep(snap, key, rec, edge_rows)
        self.vocab, self._last = vocab, (main_snaps[-1], keys[-1]) if main_snaps else None
        self._names = [s.name for s in main_snaps]
        if todo:
            self._keep_vocab()

    def _keep(self, snap, key: str, rec: np.ndarray, edge_rows: np.ndarray) -> None:
        """Cache a snapshot's codes (in the workspace where the store is read-only)."""
        codes = {"rec": rec, "edge": rec[edge_rows.astype(np.int64)]}
        files = None if snap.name in self.held else cache.store_ids(snap, key, **codes)
        if files:
            self.files[snap.name] = files
        else:
            self.workspace.save(f"ids.{snap.name}", **codes)

    def _keep_vocab(self) -> None:
        """Cache the vocabulary once every snapshot's codes are cached."""
        if self._last is not None and all(n in self.files for n in self._names):
            cache.store_ids(*self._last, vocab=self.vocab)

    def _read(self, snap, typing):
        if snap.name == self.later:  # its records are being typed: the ids are its data file's, in order
            try:
                return pq.read_table(snap.data_path, columns=["id"]).column(0), None
            except (OSError, ValueError, KeyError, pa.ArrowException):
                snap.verify()  # a damaged data file is reported as such
                raise

        def cached_ids():
            rpath, epath = cache.cache_paths(snap, typing)
            return (pq.read_table(rpath, columns=["model_id"]).column(0),
                    pq.read_table(epath, columns=["record_row"]).column(0).to_numpy())
        try:
            return cached_ids()
        except (OSError, ValueError, KeyError, pa.ArrowException):
            snap.verify()  # a damaged data file is reported as such, before anything reads it
            frames = cache.cached_load(snap, typing=typing)  # types the snapshot and fills its cache entry
            try:
                return cached_ids()
            except (OSError, ValueError, KeyError, pa.ArrowException):  # read-only store: keep the frames
                self.held[snap.name] = frames
                return pa.chunked_array([as_arrow(frames[0]["model_id"])]), frames[1]["record_row"].to_numpy()

    def _mapped(self, name: str, part: str) -> np.ndarray:
        if name in self.files:
            return np.load(self.files[name][part], mmap_mode="r", allow_pickle=False)
        return self.workspace.load(f"ids.{name}", part)

    def records(self, name: str) -> np.ndarray:
        return np.array(self._mapped(name, "rec"))

    def count(self, name: str) -> int:
        """How many records main snapshot ``name`` has (its codes not read)."""
        return len(self._mapped(name, "rec"))

    def take(self, name: str, edges: pd.DataFrame | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(record codes, edge codes) of main snapshot ``name`` (``edges``: its base edges, read
        whole, for a snapshot whose edges' codes wait for them)."""
        if name in self.deferred:
            snap, key = self.deferred.pop(name)
            rows = edges["record_row"].to_numpy() if edges is not None else \
                pq.read_table(cache.cache_paths(snap, self.typing)[1], columns=["record_row"]).column(0).to_numpy()
            self._keep(snap, key, self.records(name), rows)
            self._keep_vocab()
        return self.records(name), np.array(self._mapped(name, "edge"))


def one_ahead(fn, items):
    """``fn(item)`` for each item in order, the next one computed in a thread while the caller
    works on the current one (two results held at most)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        ahead = pool.submit(fn, items[0]) if items else None
        for nxt in items[1:]:
            current, ahead = ahead, pool.submit(fn, nxt)
            yield current.result()
        if ahead is not None:
            yield ahead.result()
