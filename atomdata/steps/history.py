"""The pass over the snapshots: what the whole-history steps read, kept in compact form.

Per snapshot the claims rows (organization summary, trending) are computed right away (and
cached); of a main snapshot only the counters (``readings``) and the presence rows are kept, with
model ids as integer codes into one vocabulary, and the latest record and base edges of every
model are kept from the snapshot that is its latest (``rules.latest_record``). Model ids come
back as a categorical whose categories are the sorted ids, so sorting and grouping by id stay in
id order. Snapshots whose counters repeat earlier readings are recognised on the way
(``rules.repeats``) and give no readings.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..rules import lineage
from ..rules.ids import as_arrow
from ..rules.latest_record import FieldGaps
from ..rules.repeats import CounterRepeats
from . import cache
from .claims import snapshot_claims
from .prepare import prepare_snapshots


@dataclass
class History:
    """What the pass keeps. ``latest``: one row per model (its latest record, field by field);
    ``edges``: the declared base edges of those records; ``readings``: the counters of every
    counter snapshot that repeats nothing (snapshot, date, model_id, downloads_all_time,
    downloads_30d); ``presence``: (snapshot, model_id, org, created_at) of every main snapshot;
    ``gaps``: ``snapshot_lacks_fields`` issues; ``counter_repeats``: snapshot -> (the snapshot whose
    counters it repeats, models compared); ``org_parts``/``trend_parts``: per-snapshot claims rows."""

    latest: pd.DataFrame | None = None
    edges: pd.DataFrame | None = None
    readings: pd.DataFrame | None = None
    presence: pd.DataFrame | None = None
    gaps: pd.DataFrame | None = None
    counter_repeats: dict = field(default_factory=dict)
    org_parts: list = field(default_factory=list)
    trend_parts: list = field(default_factory=list)
    no_records: pd.DataFrame | None = None  # the records' columns, no rows (claims tables of no snapshot)


def code_ids(main_snaps, typing) -> tuple[dict, dict, pa.Array]:
    """Integer codes of the model ids of each main snapshot's records and edges, from one
    dictionary encoding over all records (one hash table, instead of one per snapshot; an edge
    takes the code of its record row), read from the cached records; a snapshot without a cache
    entry (read-only store) is typed here and its frames are held for the pass that follows.
    Returns (held frames, codes per snapshot name, the id of every code)."""
    held, arrays, sizes, rows = {}, [], [], []

    def cached_ids(snap):
        rpath, epath = cache.cache_paths(snap, typing)
        return (pq.read_table(rpath, columns=["model_id"]).column(0),
                pq.read_table(epath, columns=["record_row"]).column(0).to_numpy())

    for snap in main_snaps:
        try:
            rec_ids, edge_rows = cached_ids(snap)
        except (OSError, ValueError, KeyError, pa.ArrowException):
            snap.verify()  # a damaged data file is reported as such, before anything reads it
            frames = cache.cached_load(snap, typing=typing)  # types the snapshot and fills its cache entry
            try:
                rec_ids, edge_rows = cached_ids(snap)
            except (OSError, ValueError, KeyError, pa.ArrowException):  # read-only store: keep the frames
                held[snap.name] = frames
                rec_ids, edge_rows = pa.chunked_array([as_arrow(frames[0]["model_id"])]), frames[1]["record_row"].to_numpy()
            del frames
        arrays += [c.cast(pa.string()) for c in rec_ids.chunks]
        sizes.append(len(rec_ids))
        rows.append(edge_rows.astype(np.int64))  # an edge's model is a record of the same snapshot: its code follows
    enc = pc.dictionary_encode(pa.chunked_array(arrays, type=pa.string()))
    vocab = enc.chunks[0].dictionary.cast(pa.string()) if enc.num_chunks else pa.array([], pa.string())
    flat = np.concatenate([c.indices.to_numpy(zero_copy_only=False).astype(np.int64) for c in enc.chunks]) \
        if enc.num_chunks else np.zeros(0, dtype=np.int64)
    bounds = np.cumsum([0] + sizes)
    codes = {}
    for i, snap in enumerate(main_snaps):
        rec = flat[bounds[i]:bounds[i + 1]]
        codes[snap.name] = (rec, rec[rows[i]])
    return held, codes, vocab


class _Columns:
    """Rows kept column by column: a column's pieces are joined one column at a time and dropped as
    they go, so the rows never exist as frames of pieces and a whole."""

    def __init__(self, *names):
        self.pieces = {k: [] for k in names}

    def add(self, **cols):
        for k, v in cols.items():
            self.pieces[k].append(v)

    def __bool__(self):
        return bool(next(iter(self.pieces.values())))

    def join(self, key):
        out = np.concatenate(self.pieces[key])
        self.pieces[key].clear()
        return out


class _Pass:
    """The state of one pass; :func:`read_history` drives it."""

    def __init__(self, snaps, main_names, counter_names, snapinfo, registry, progress, typing):
        self.typing = typing
        self.snaps, self.counter_names, self.snapinfo, self.registry = snaps, counter_names, snapinfo, registry
        self.progress, self.info = progress, snapinfo.set_index("snapshot")
        self.main_names = main_names
        self.main = [s.name for s in snaps if s.name in main_names]
        self.snap_dtype = pd.CategoricalDtype(sorted(self.main))
        self.snap_code_type = np.int8 if len(self.main) < 127 else np.int32
        self.prepared = prepare_snapshots(snaps, snapinfo, registry, typing, progress)
        # model ids of every main snapshot (records and edges) coded in one Arrow hash pass
        self.held, self.id_codes, self.vocab = code_ids([s for s in snaps if s.name in main_names], typing)
        n = len(self.vocab)
        # first and last main snapshot of every model, known before any record is read
        self.first_k, self.last_k = np.full(n, -1, dtype=np.int32), np.zeros(n, dtype=np.int32)
        for j, name in enumerate(self.main):
            idx = self.id_codes[name][0]
            self.first_k[idx[self.first_k[idx] < 0]] = j
            self.last_k[idx] = j
        self.gaps = FieldGaps(self.main, {s.name: set(s.fields) for s in snaps},
                              {name: codes[0] for name, codes in self.id_codes.items()}, n)
        self.repeats = CounterRepeats(n, self.main)
        self.readings = _Columns("snap", "code", "at", "at_na", "d30", "d30_na")
        self.presence = _Columns("snap", "code", "created_at")
        self.orgs, self.snap_dates, self.latest, self.edges = [], {}, [], []
        self.out = History()
        self.k = -1

    def read(self, snap) -> None:
        """One snapshot: its claims rows, and of a main snapshot its records, edges and counters."""
        tick = self.progress if snap.name not in self.prepared else None
        if snap.name not in self.prepared:  # a worker verified it moments ago
            snap.verify()
        ckey = cache.claims_key(self.registry, self.info.loc[snap.name].to_dict(), self.typing)
        parts = cache.load_claims(snap, ckey)
        is_main = snap.name in self.main_names
        if parts is not None and not is_main:
            self._add_claims(parts)  # a trending listing whose claims rows are cached: nothing else to read
            if tick:
                tick(1)
            return
        # a main snapshot's ids are its codes into the vocabulary: its cached frames are read without them
        r, e = self.held.pop(snap.name) if snap.name in self.held else \
            cache.cached_load(snap, without=("model_id",) if is_main else (), typing=self.typing)
        if is_main:  # (a freshly typed snapshot comes with them)
            r, e = r.drop(columns="model_id", errors="ignore"), e.drop(columns="model_id", errors="ignore")
        if tick:
            tick(1)
        date = pd.Series([pd.Timestamp(snap.date)]).to_numpy()[0]  # the type a column of it would have
        idx, e_idx = self.id_codes.pop(snap.name) if is_main else (None, None)
        if parts is None:
            full = r.assign(model_id=lineage.id_strings(self.vocab, idx)) if is_main else r
            parts = snapshot_claims(full.assign(snapshot=snap.name, date=date), snap, self.snapinfo, self.registry)
            cache.store_claims(snap, ckey, parts)
            del full
        self._add_claims(parts)
        if is_main:
            self._take_main(snap, r, e, idx, e_idx, date)

    def _take_main(self, snap, r, e, idx, e_idx, date) -> None:
        self.k += 1
        k = self.k
        # the latest record (and edges) of each model: the rows of its last snapshot
        keep = self.last_k[idx] == k
        self.latest.append(r[keep].assign(_code=idx[keep]) if not keep.all() else r.assign(_code=idx))
        self.gaps.take(k, r, idx, self.last_k)
        keep = self.gaps.last_with_lineage(self.last_k)[e_idx] == k
        self.edges.append(e[keep].drop(columns="record_row").assign(_code=e_idx[keep]))
        codes = idx.astype(np.int32)
        snapcode = np.full(len(r), self.snap_dtype.categories.get_loc(snap.name), dtype=self.snap_code_type)
        self.snap_dates[snap.name] = date
        if snap.name in self.counter_names:
            at = pd.array(r["downloads_all_time"], dtype="Int64")
            if not self.repeats.observe(snap.name, k, date, idx, at._data, ~at._mask):
                d30 = pd.array(r["downloads_30d"], dtype="Int64")  # counters stay Int64: values and validity
                self.readings.add(snap=snapcode, code=codes, at=at._data, at_na=at._mask, d30=d30._data, d30_na=d30._mask)
        self.presence.add(snap=snapcode, code=codes, created_at=r["created_at"].to_numpy())
        self.orgs.append(as_arrow(r["org"]))

    def _add_claims(self, parts: dict[str, pd.DataFrame]) -> None:
        if "org" in parts:
            self.out.org_parts.append(parts["org"])
        if "trend" in parts:
            self.out.trend_parts.append((parts["trend"], parts["trenddq"]))

    def finish(self) -> History:
        """The kept rows as frames, ids as a categorical over the sorted ids."""
        out = self.out
        n = len(self.vocab)
        latest = pd.concat(self.latest, ignore_index=True)
        self.latest = None
        # columns of the latest record that its snapshot lacks: from the model's last snapshot that has them
        out.gaps = self.gaps.fill(latest, self.last_k, n)
        latest.insert(0, "model_id", lineage.id_strings(self.vocab, latest["_code"].to_numpy()))
        edges = pd.concat(self.edges, ignore_index=True)
        self.edges = None
        edges.insert(0, "model_id", lineage.id_strings(self.vocab, edges["_code"].to_numpy()))
        order = pc.sort_indices(self.vocab).to_numpy()
        self.rank = np.empty(n, dtype=np.int32)
        self.rank[order] = np.arange(n, dtype=np.int32)
        self.id_dtype = pd.CategoricalDtype(pd.Index(pd.array(self.vocab.take(pa.array(order)), dtype="string")))
        names = np.asarray(self.main, dtype=object)
        code = latest["_code"].to_numpy()
        # first and last snapshot of each model, by its code (no string lookups)
        out.latest = latest.drop(columns="_code").assign(first_seen=names[self.first_k[code]],
                                                         last_seen=names[self.last_k[code]]).reset_index(drop=True)
        out.edges = edges.drop(columns="_code").reset_index(drop=True)
        out.no_records = out.latest.iloc[0:0]
        out.readings = self._readings()
        out.presence = self._presence()
        out.counter_repeats = self.repeats.found
        return out

    def _ids(self, cols: _Columns):
        snapcol = pd.Categorical.from_codes(cols.join("snap"), dtype=self.snap_dtype)
        return snapcol, pd.Categorical.from_codes(self.rank[cols.join("code")], dtype=self.id_dtype)

    def _readings(self) -> pd.DataFrame:
        if not self.readings:
            return pd.DataFrame({
                "snapshot": pd.Categorical([], dtype=self.snap_dtype), "date": np.array([], dtype="datetime64[s]"),
                "model_id": pd.Series([], dtype="string"), "downloads_all_time": pd.array([], dtype="Int64"),
                "downloads_30d": pd.array([], dtype="Int64")})
        snapcol, idcol = self._ids(self.readings)
        dates = np.array([self.snap_dates[n] for n in self.snap_dtype.categories])  # one date per snapshot
        return pd.DataFrame({
            "snapshot": snapcol, "date": dates[snapcol.codes], "model_id": idcol,
            "downloads_all_time": pd.arrays.IntegerArray(self.readings.join("at"), self.readings.join("at_na")),
            "downloads_30d": pd.arrays.IntegerArray(self.readings.join("d30"), self.readings.join("d30_na"))}, copy=False)

    def _presence(self) -> pd.DataFrame:
        snapcol, idcol = self._ids(self.presence)
        p = pd.DataFrame({"snapshot": snapcol, "model_id": idcol, "created_at": self.presence.join("created_at")}, copy=False)
        # namespaces of every presence row, coded in one Arrow pass (categories in order of appearance)
        enc = pc.dictionary_encode(pa.chunked_array(self.orgs, type=pa.string()))
        self.orgs = None
        org_codes = np.concatenate([pc.fill_null(c.indices, -1).to_numpy() for c in enc.chunks]) if enc.num_chunks \
            else np.zeros(0, np.int32)
        org_cats = pd.Index(pd.array(enc.chunks[0].dictionary, dtype="string")) if enc.num_chunks else pd.Index([], dtype="string")
        p.insert(2, "org", pd.Categorical.from_codes(org_codes, categories=org_cats))
        return p[["snapshot", "model_id", "org", "created_at"]]


def read_history(snaps, main_names: set[str], counter_names: set[str], snapinfo: pd.DataFrame, registry: pd.DataFrame,
                 progress=None, typing: cache.Typing | None = None) -> History:
    """One pass over ``snaps`` (in store order). ``main_names``: the snapshots that feed models,
    lineage and downloads (every snapshot feeds the claims rows); ``counter_names``: the main
    snapshots whose counters are readings unless they repeat earlier ones; ``typing``: how the
    snapshots are typed (``cache.Typing``, default the shipped architectures)."""
    run = _Pass(snaps, main_names, counter_names, snapinfo, registry, progress, typing or cache.default_typing())
    for snap in snaps:
        run.read(snap)
    return run.finish()
