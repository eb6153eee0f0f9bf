"""Integer codes of the model ids and namespaces of the main snapshots (``IdCodes``), in order of
first appearance.

The pass over the snapshots works on integer codes, not strings; a snapshot's codes depend only
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
from ..rules.records import namespaces
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
    ``vocab``: the id of every code. The namespace of each record (``orgs``) is coded the same way,
    into ``namespaces``: the pass reads no namespace text of a snapshot it has coded before."""

    def __init__(self, main_snaps, typing, workspace: Workspace, later: str | None = None):
        self.workspace, self.held, self.later, self.deferred, self.typing = workspace, {}, later, {}, typing
        keys = cache.id_chain(main_snaps, typing)
        done, vocab, org_vocab = cache.cached_ids(main_snaps, keys)
        self.files = {s.name: cache.id_paths(s, key) for s, key in zip(main_snaps[:done], keys)}
        try:  # a damaged entry, or one beyond its vocabulary, is never trusted: every month is coded anew
            if any(self._mapped(s.name, "rec").max(initial=-1) >= len(vocab) or self._mapped(s.name, "edge").ndim != 1
                   or self._mapped(s.name, "org").max(initial=-1) >= len(org_vocab)
                   for s in main_snaps[:done]):  # mapped, not copied: read whole once, by the pass
                raise ValueError("codes beyond their vocabulary")
        except (OSError, ValueError):
            done, vocab, org_vocab, self.files = 0, pa.array([], pa.string()), pa.array([], pa.string()), {}
        self.namespaces = Namespaces(org_vocab)
        todo = main_snaps[done:]
        # each snapshot's ids are read in a thread while the one before is coded
        for snap, key, (rec_ids, edge_rows, orgs) in zip(todo, keys[done:], one_ahead(lambda s: self._read(s, typing), todo)):
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
            org = self.namespaces.codes(orgs)
            if edge_rows is None:  # typed in a worker meanwhile: its edges' codes when the pass takes it
                workspace.save(f"ids.{snap.name}", rec=rec, org=org)
                self.deferred[snap.name] = (snap, key)
            else:
                self._keep(snap, key, rec, edge_rows, org)
        self.keys = keys  # the key of each main snapshot's codes (``cache.id_chain``)
        self.vocab, self._last = vocab, (main_snaps[-1], keys[-1]) if main_snaps else None
        self._names = [s.name for s in main_snaps]
        if todo:
            self._keep_vocab()

    def _keep(self, snap, key: str, rec: np.ndarray, edge_rows: np.ndarray, org: np.ndarray) -> None:
        """Cache a snapshot's codes (in the workspace where the store is read-only)."""
        codes = {"rec": rec, "edge": rec[edge_rows.astype(np.int64)], "org": org}
        files = None if snap.name in self.held else cache.store_ids(snap, key, **codes)
        if files:
            self.files[snap.name] = files
        else:
            self.workspace.save(f"ids.{snap.name}", **codes)

    def _keep_vocab(self) -> None:
        """Cache the vocabulary once every snapshot's codes are cached."""
        if self._last is not None and all(n in self.files for n in self._names):
            cache.store_ids(*self._last, vocab=self.vocab, orgvocab=self.namespaces.vocab)

    def _read(self, snap, typing):
        """(the ids of a main snapshot's records, its edges' record rows or None, their namespaces
        dictionary-encoded: in the reading thread, not the coding one)."""
        ids, rows, orgs = self._read_columns(snap, typing)
        return ids, rows, pc.dictionary_encode(orgs)

    def _read_columns(self, snap, typing):
        if snap.name == self.later:  # its records are being typed: the ids are its data file's, in order
            try:
                f = pq.ParquetFile(snap.data_path)
                table = f.read(columns=[c for c in ("id", "author") if c in f.schema_arrow.names])
                return table.column("id"), None, namespaces(table)  # the namespaces typing gives
            except (OSError, ValueError, KeyError, pa.ArrowException):
                snap.verify()  # a damaged data file is reported as such
                raise

        def cached_ids():
            rpath, epath = cache.cache_paths(snap, typing)
            recs = pq.read_table(rpath, columns=["model_id", "org"])
            return (recs.column("model_id"), pq.read_table(epath, columns=["record_row"]).column(0).to_numpy(),
                    recs.column("org").combine_chunks())
        try:
            return cached_ids()
        except (OSError, ValueError, KeyError, pa.ArrowException):
            snap.verify()  # a damaged data file is reported as such, before anything reads it
            frames = cache.cached_load(snap, typing=typing)  # types the snapshot and fills its cache entry
            try:
                return cached_ids()
            except (OSError, ValueError, KeyError, pa.ArrowException):  # read-only store: keep the frames
                self.held[snap.name] = frames
                return (pa.chunked_array([as_arrow(frames[0]["model_id"])]), frames[1]["record_row"].to_numpy(),
                        as_arrow(frames[0]["org"]))

    def _mapped(self, name: str, part: str) -> np.ndarray:
        if name in self.files:
            return np.load(self.files[name][part], mmap_mode="r", allow_pickle=False)
        return self.workspace.load(f"ids.{name}", part)

    def rec_path(self, name: str):
        """The file of main snapshot ``name``'s record codes (its cache entry, else the workspace)."""
        return self.files[name]["rec"] if name in self.files else self.workspace.path / f"ids.{name}.rec.npy"

    def records(self, name: str) -> np.ndarray:
        return np.array(self._mapped(name, "rec"))

    def orgs(self, name: str) -> np.ndarray:
        """The namespace code of each record of main snapshot ``name`` (-1: none)."""
        return np.array(self._mapped(name, "org"))

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
            self._keep(snap, key, self.records(name), rows, self.orgs(name))
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


class Namespaces:
    """Namespaces as integer codes into one growing vocabulary (a few per snapshot are new)."""

    def __init__(self, vocab: pa.Array | None = None):
        self.vocab = pa.array([], pa.string()) if vocab is None else vocab.cast(pa.string())

    def codes(self, enc: pa.DictionaryArray) -> np.ndarray:
        """The code of each namespace (``enc``: a snapshot's, dictionary-encoded; -1: none); new
        namespaces join the vocabulary."""
        local = enc.dictionary.cast(pa.string())
        found = pc.index_in(local, value_set=self.vocab)  # one lookup (the vocabulary hashed once a snapshot)
        at = pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int32)
        new = np.flatnonzero(at < 0)  # the dictionary's values are distinct: each new one joins once, in its order
        if len(new):
            at[new] = np.arange(len(self.vocab), len(self.vocab) + len(new), dtype=np.int32)
            self.vocab = pa.concat_arrays([self.vocab, local.take(pa.array(new))])
        idx = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False)
        return np.where(idx >= 0, at[np.maximum(idx, 0)] if len(at) else -1, -1).astype(np.int32)

    def values(self) -> np.ndarray:
        return np.asarray(self.vocab.to_pylist(), dtype=object)
