"""The pass over the snapshots: what the whole-history steps read, kept in compact form.

Per snapshot the claims rows (organization summary, trending) are computed right away (and
cached); of a main snapshot only the counters (``readings``) and the presence rows are kept, with
model ids as integer codes into one vocabulary, and the latest record and base edges of every
model are kept from the snapshot that is its latest (``rules.latest_record``). Model ids come
back as a categorical whose categories are the sorted ids, so sorting and grouping by id stay in
id order. Snapshots whose counters repeat earlier readings are recognised on the way
(``rules.repeats``) and give no readings. What a build derived once and a later build would
derive again the same (the id codes of the months up to each, the records of the models leaving
after each) is read back from the store's cache (``steps.cache``), and a build over the snapshots
of a build before and more resumes at the state that build left (``steps.pass_state``): it goes
over the new main snapshots only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..rules import lineage
from ..rules.latest_record import FieldGaps
from ..rules.presence import Presence, PresenceWalk
from ..rules.repeats import CounterRepeats
from ..rules.stale import RunningMax
from ..rules.stale import issues as stale_issues
from . import cache, claims_cache, pass_state
from .claims import snapshot_claims
from .id_codes import IdCodes, one_ahead
from .prepare import prepare_snapshots
from .workspace import MainCodes, StoreReadings, Workspace


@dataclass
class History:
    """What the pass keeps. ``latest``: one row per model (its latest record, field by field,
    ``highest_all_time``, its highest all-time reading, and ``id_rank``, its place in model id
    order: sorting by it sorts by id without comparing text); ``edges``: the declared base edges of
    those records; ``readings``: the counter snapshots that repeat nothing, read back one at a time
    (``workspace.StoreReadings``); ``main_codes``: the models (codes) of each main snapshot, read
    back the same way; ``issues``: ``snapshot_lacks_fields``, ``counter_decreased``,
    ``model_missing`` and ``renamed`` rows; ``counter_repeats``: snapshot -> (the snapshot whose
    counters it repeats, models compared); ``org_parts``: (snapshot, ``claims_cache.PartFile`` of its organization_summary rows);
    ``trend_parts``: per-snapshot trending rows."""

    latest: pd.DataFrame | None = None
    edges: pd.DataFrame | None = None
    readings: StoreReadings | None = None
    main_codes: MainCodes | None = None
    issues: list = field(default_factory=list)
    counter_repeats: dict = field(default_factory=dict)
    org_parts: list = field(default_factory=list)
    trend_parts: list = field(default_factory=list)
    no_records: pd.DataFrame | None = None  # the records' columns, no rows (claims tables of no snapshot)


#: what ``_Pass.fetch`` gives for the claims parts of a snapshot whose worker still makes them
LATER = object()


class _Pass:
    """The state of one pass; :func:`read_history` drives it."""

    def __init__(self, snaps, main_names, counter_names, snapinfo, registry, progress, typing, prepared, preparing):
        self.typing = typing
        self.snaps, self.counter_names, self.snapinfo, self.registry = snaps, counter_names, snapinfo, registry
        self.progress, self.info = progress, snapinfo.set_index("snapshot")
        self.main_names = main_names
        main_snaps = [s for s in snaps if s.name in main_names]
        self.main = [s.name for s in main_snaps]
        self.prepared, self.preparing = prepared, preparing
        self.workspace = Workspace()
        # model ids of every main snapshot (records and edges) coded in order of first appearance
        self.id_codes = IdCodes(main_snaps, typing, self.workspace, later=self.preparing.name if self.preparing else None)
        self.held, self.vocab = self.id_codes.held, self.id_codes.vocab
        n = len(self.vocab)
        # every model's code in id order (the categories of model_id), known before any record is read
        order = pc.sort_indices(self.vocab).to_numpy()
        self.rank = np.empty(n, dtype=np.int32)
        self.rank[order] = np.arange(n, dtype=np.int32)
        self.order = order.astype(np.int32)  # the first-appearance code of each model in id order
        self.ids = pd.Index(pd.array(self.vocab.take(pa.array(order)), dtype="string"))
        # first and last main snapshot of every model, known before any record is read
        self.first_k, self.last_k = np.full(n, -1, dtype=np.int32), np.zeros(n, dtype=np.int32)
        for j, name in enumerate(self.main):
            idx = self.id_codes.records(name)
            self.first_k[idx[self.first_k[idx] < 0]] = j
            self.last_k[idx] = j
        self.gaps = FieldGaps(self.main, {s.name: set(s.fields) for s in snaps}, self.id_codes.records, n)
        # the main snapshot after each: a snapshot's latest records are of models the next one does not list
        self.following = {s.name: t for s, t in zip(main_snaps, main_snaps[1:])} if not self.gaps.groups else {}
        self.repeats = CounterRepeats(n, self.main)
        self.counters = _Counters(n, self.workspace)
        self.presence = Presence(n)
        self.latest, self.edges = [], []
        self.out = History()
        self.later = None  # (snapshot, claims key, places of its parts) whose claims rows its worker still makes
        self.main_snaps, self.pos = main_snaps, {name: j for j, name in enumerate(self.main)}
        self.pass_keys = pass_state.pass_chain(main_snaps, self.id_codes.keys, counter_names)
        # the main snapshot the pass resumes at (its state after it cached by an earlier build), -1: none
        self.resume = self._resume() if not self.gaps.groups else -1

    def _resume(self) -> int:
        """Take the state cached after the latest main snapshot that has one (``pass_state``);
        its position, or -1 (the pass starts from the first snapshot)."""
        for j in range(len(self.main) - 1, -1, -1):
            snap, key = self.main_snaps[j], self.pass_keys[j]
            state = pass_state.load_state(snap, key)
            if state is None or state["main"] != self.main[:j + 1] or state["n"] > len(self.vocab) or \
                    not all(pass_state.has_readings(self.main_snaps[self.pos[name]], self.pass_keys[self.pos[name]])
                            for name in state["readings"]):
                continue
            self._restore(state, j)
            return j
        return -1

    def _restore(self, state: dict, j: int) -> None:
        """The pass as it was after main snapshot ``j`` (``state``: ``_state``), over this build's models."""
        rank, n = self.rank, len(self.vocab)
        grow = partial(_grow, n=n)
        run = self.counters.run
        run.value, run.has = pass_state.from_first(state["run_value"], rank, 0), pass_state.from_first(state["run_has"], rank, False)
        self.counters.names, self.counters.dates = state["readings"], state["dates"]
        self.counters.stale = [(name, rank[codes], at, previous) for name, codes, at, previous in state["stale"]]
        for name in state["readings"]:
            snap = self.main_snaps[self.pos[name]]
            self.counters.files[name] = pass_state.reading_paths(snap, self.pass_keys[self.pos[name]])
        rep = self.repeats
        rep.last, rep.known, rep.source = grow(state["rep_last"], 0), grow(state["rep_known"], False), grow(state["rep_source"], 0)
        rep.pending, rep.pending_date, rep.found = state["pending"], state["pending_date"], state["found"]
        for series, w in state["presence"].items():
            walk = self.presence.walks[series] = PresenceWalk(n)
            walk.first, walk.last = pass_state.from_first(w["first"], rank, -1), pass_state.from_first(w["last"], rank, -1)
            walk.created = pass_state.from_first(w["created"], rank, np.datetime64("NaT"))
            walk.org = pass_state.from_first(w["org"], rank, -1)
            walk.names = w["names"]
            walk.gaps = [(rank[codes], prev, k, org) for codes, prev, k, org in w["gaps"]]
        # the latest records of the models whose last snapshot comes before j (and no later snapshot lists)
        for kept, frame in ((self.latest, state["latest"]), (self.edges, state["edges"])):
            keep = self.last_k[frame["_code"].to_numpy()] < j
            kept.append(frame if keep.all() else frame[keep])

    def _state(self) -> dict:
        """What ``_restore`` takes: the pass after its last main snapshot, by first-appearance code."""
        rank, run, rep = self.rank, self.counters.run, self.repeats
        presence = {series: {"first": pass_state.to_first(w.first, rank), "last": pass_state.to_first(w.last, rank),
                             "created": pass_state.to_first(w.created, rank), "org": pass_state.to_first(w.org, rank),
                             "names": list(w.names), "gaps": [(self.order[codes], prev, k, org) for codes, prev, k, org in w.gaps]}
                    for series, w in self.presence.walks.items()}
        return {"key": self.pass_keys[-1], "main": list(self.main), "n": len(self.vocab),
                "run_value": pass_state.to_first(run.value, rank), "run_has": pass_state.to_first(run.has, rank),
                "readings": list(self.counters.names), "dates": list(self.counters.dates),
                "stale": [(name, self.order[codes], at, previous) for name, codes, at, previous in self.counters.stale],
                "rep_last": rep.last, "rep_known": rep.known, "rep_source": rep.source,
                "pending": rep.pending, "pending_date": rep.pending_date, "found": dict(rep.found), "presence": presence,
                # the latest records (and edges) of the models whose last snapshot is an earlier one
                "latest": _before_last(self.latest), "edges": _before_last(self.edges)}

    def fetch(self, snap) -> tuple:
        """What ``read`` needs of a snapshot from the store: its cached claims parts (or None) and,
        unless those are all it gives (a trending listing), its records and edges. Run a snapshot
        ahead of ``read``, in a thread (reading parquet releases the GIL)."""
        # typed beside the pass (``prepare.Preparing``): its worker verified it, as those of ``prepared`` did
        beside = self.preparing is not None and snap.name == self.preparing.name and self.preparing.records()
        if snap.name not in self.prepared and not beside:
            snap.verify()
        ckey = claims_cache.claims_key(self.registry, self.info.loc[snap.name].to_dict(), self.typing)
        parts = claims_cache.load_claims(snap, ckey, kept=("org",))
        if parts is None and beside:
            parts = LATER  # its claims rows are still being made in the worker: taken at the end of the pass
        is_main = snap.name in self.main_names
        at = self.pos.get(snap.name, -1)
        if parts is not None and (not is_main or at < self.resume):
            return ckey, parts, None  # claims rows cached, and nothing else to read (a trending listing, or resumed past)
        if parts is not None and at == self.resume and at < len(self.main) - 1:
            # the snapshot the pass resumes at: only the records of the models no later one lists
            leavers = self._leavers(snap)
            if leavers is not None:
                return ckey, parts, (None, leavers)
        narrow = self._narrow(snap) if is_main and parts is not None and snap.name not in self.held else None
        if narrow is not None:
            return ckey, parts, narrow
        # a main snapshot's ids are its codes into the vocabulary: its cached frames are read without them
        r, e = self.held.pop(snap.name) if snap.name in self.held else \
            cache.cached_load(snap, without=("model_id",) if is_main else (), typing=self.typing)
        if not is_main:
            return ckey, parts, (r, e)
        # (a freshly typed snapshot comes with them)
        r, e = r.drop(columns="model_id", errors="ignore"), e.drop(columns="model_id", errors="ignore")
        self._keep_leavers(snap, r, e)
        return ckey, parts, (r, e)

    #: the columns of a main snapshot's records that the pass reads for every model
    EVERY_MODEL = ["created_at", "downloads_30d", "downloads_all_time"]

    def _narrow(self, snap) -> tuple | None:
        """A main snapshot whose claims rows are cached, read narrow: of every model only the
        columns of ``EVERY_MODEL`` (presence, counters), and whole records only of the models the
        next main snapshot does not list (``cache.load_leavers``), among which are all those it is
        the latest record of. None where that cannot be done (the last main snapshot, some main
        snapshots lacking fields, no such cache entry): the snapshot is read whole."""
        leavers = self._leavers(snap)
        r = cache.load_columns(snap, self.EVERY_MODEL, self.typing) if leavers is not None else None
        if r is None or len(r) != self.id_codes.count(snap.name):
            return None  # an entry that does not fit the snapshot is not trusted
        return r, leavers

    def _leavers(self, snap) -> tuple | None:
        """The records and edges of main snapshot ``snap``'s models that the next one does not list
        (``cache.load_leavers``), or None (the last main snapshot, fields lacking, no entry, or an
        entry that does not fit the snapshot)."""
        following = self.following.get(snap.name)
        leavers = cache.load_leavers(snap, following, self.typing) if following is not None else None
        n = self.id_codes.count(snap.name)
        if leavers is None or any(len(f) and f[c].max() >= n for f, c in zip(leavers, ("_row", "record_row"))):
            return None
        return leavers

    def _keep_leavers(self, snap, r: pd.DataFrame, e: pd.DataFrame) -> None:
        """Cache the records and edges of the models the next main snapshot does not list, for
        later builds to read the snapshot narrow (``_narrow``)."""
        following = self.following.get(snap.name)
        if following is None or all(p.is_file() for p in cache.leaver_paths(snap, following, self.typing).values()):
            return
        idx = self.id_codes.records(snap.name)
        listed = np.zeros(len(self.vocab), dtype=bool)
        listed[self.id_codes.records(following.name)] = True
        leaving = ~listed[idx]
        rows = np.flatnonzero(leaving)
        cache.store_leavers(snap, following, self.typing, r.iloc[rows].assign(_row=rows),
                            e[leaving[e["record_row"].to_numpy()]])

    def read(self, snap, fetched) -> None:
        """One snapshot (``fetched``: what ``fetch`` gave): its claims rows, and of a main snapshot
        its records, edges and counters."""
        ckey, parts, frames = fetched
        if snap.name not in self.prepared and self.progress:
            self.progress(1)
        if parts is LATER:  # where its claims rows go, once made (``_later_claims``)
            self.later = (snap, ckey, len(self.out.org_parts), len(self.out.trend_parts))
            parts = {}
        if frames is None:
            self._add_claims(snap.name, parts)
            return
        r, e = frames
        is_main = snap.name in self.main_names
        date = pd.Series([pd.Timestamp(snap.date)]).to_numpy()[0]  # the type a column of it would have
        idx, e_idx = self.id_codes.take(snap.name, None if isinstance(e, tuple) else e) if is_main else (None, None)
        if parts is None:
            parts = self._claims(snap, ckey, r.assign(model_id=lineage.id_strings(self.vocab, idx)) if is_main else r, date)
        self._add_claims(snap.name, parts)
        if is_main:
            self._take_main(snap, r, e, idx, e_idx, date)

    def _take_main(self, snap, r, e, idx, e_idx, date) -> None:
        k = self.pos[snap.name]
        if k < self.resume:
            return  # read for its claims rows alone: the state resumed holds the rest
        # the latest record (and edges) of each model: the rows of its last snapshot
        if isinstance(e, tuple):  # read narrow: they are among the records of the models leaving
            lr, le = e
            rows = lr.pop("_row").to_numpy()
            self._take_latest(k, lr, le, idx[rows], idx[le["record_row"].to_numpy()])
        else:
            self._take_latest(k, r, e, idx, e_idx)
            self.gaps.take(k, r, idx, self.last_k)
        if k == self.resume:
            return  # its presence and counters are in the state resumed
        codes = self.rank[idx]
        self.presence.feed(snap.name, codes, r["created_at"].to_numpy(dtype="datetime64[ns]"), self.id_codes.orgs(snap.name))
        if snap.name in self.counter_names:
            at = pd.array(r["downloads_all_time"], dtype="Int64")
            if not self.repeats.observe(snap.name, k, date, idx, at._data, ~at._mask):
                self.counters.read(snap, self.pass_keys[k], date, codes, at, pd.array(r["downloads_30d"], dtype="Int64"))

    def _take_latest(self, k: int, r: pd.DataFrame, e: pd.DataFrame, idx: np.ndarray, e_idx: np.ndarray) -> None:
        """Of main snapshot ``k``'s records ``r`` and edges ``e`` (``idx``, ``e_idx``: their
        model codes), those that are their models' latest."""
        keep = self.last_k[idx] == k
        self.latest.append(r[keep].assign(_code=idx[keep]) if not keep.all() else r.assign(_code=idx))
        keep = self.gaps.last_with_lineage(self.last_k)[e_idx] == k
        self.edges.append(e[keep].drop(columns="record_row").assign(_code=e_idx[keep]))

    def _add_claims(self, name: str, parts: dict, at: tuple[int, int] | None = None) -> None:
        """Keep a snapshot's claims parts (``at``: their places among the parts, else after them)."""
        org, trend = at or (len(self.out.org_parts), len(self.out.trend_parts))
        if "org" in parts:
            self.out.org_parts.insert(org, (name, parts["org"]))
        if "trend" in parts:
            self.out.trend_parts.insert(trend, (parts["trend"], parts["trenddq"]))

    def _later_claims(self) -> None:
        """The claims rows of the snapshot typed beside the pass, made by its worker while the pass
        took its records (``prepare.Preparing``); made here where the worker could not."""
        snap, ckey, *at = self.later
        parts = claims_cache.load_claims(snap, ckey, kept=("org",)) if self.preparing.wait() else None
        if parts is None:
            parts = self._claims(snap, ckey, cache.cached_load(snap, typing=self.typing)[0], pd.Timestamp(snap.date))
        self._add_claims(snap.name, parts, tuple(at))

    def _claims(self, snap, ckey: str, records: pd.DataFrame, date) -> dict:
        """A snapshot's claims parts made from its ``records`` (with their ids) and cached; its
        organization rows kept in a file (the snapshot's cache entry, else the workspace)."""
        parts = snapshot_claims(records.assign(snapshot=snap.name, date=date), snap, self.snapinfo, self.registry)
        files = claims_cache.store_claims(snap, ckey, parts)
        if "org" in parts:
            parts["org"] = files["org"] if files else claims_cache.PartFile.write(parts["org"], self.workspace.path / f"org.{snap.name}.parquet")
        return parts

    def finish(self) -> History:
        """The kept rows as frames, ids as a categorical over the sorted ids; the state after the
        last main snapshot cached for a later build to resume at."""
        out = self.out
        n = len(self.vocab)
        last = len(self.main) - 1
        if last >= 0 and not self.gaps.groups and self.resume < last:
            pass_state.store_state(self.main_snaps[last], self.pass_keys[last], self._state())
        latest = pd.concat(self.latest, ignore_index=True)
        self.latest = None
        # columns of the latest record that its snapshot lacks: from the model's last snapshot that has them
        out.issues.append(self.gaps.fill(latest, self.last_k, n))
        code = latest["_code"].to_numpy()
        latest.insert(0, "model_id", lineage.id_strings(self.vocab, code))
        edges = pd.concat(self.edges, ignore_index=True)
        self.edges = None
        edges.insert(0, "model_id", lineage.id_strings(self.vocab, edges["_code"].to_numpy()))
        names = np.asarray(self.main, dtype=object)
        # first and last snapshot of each model, by its code (no string lookups)
        out.latest = latest.drop(columns="_code").assign(first_seen=names[self.first_k[code]], last_seen=names[self.last_k[code]],
                                                         highest_all_time=self.counters.highest(self.rank[code]),
                                                         id_rank=self.rank[code])
        out.latest = out.latest.reset_index(drop=True)
        out.edges = edges.drop(columns="_code").reset_index(drop=True)
        out.no_records = out.latest.iloc[0:0]
        out.readings = self.counters.readings(self.ids, self.rank, self.order, self.id_codes)
        out.main_codes = MainCodes({name: self.id_codes.rec_path(name) for name in self.main}, self.rank)
        out.issues += self.counters.issues(self.ids) + self.presence.issues(self.ids, self.id_codes.namespaces.values())
        out.counter_repeats = self.repeats.found
        if self.later is not None:
            self._later_claims()
        return out


class _Counters:
    """The counters of the snapshots that are readings: stale flags by a running maximum (and
    their ``counter_decreased`` rows), every model's highest reading, and each snapshot's arrays
    written to the store's cache (``pass_state``) for the later passes."""

    def __init__(self, n_models: int, workspace: Workspace):
        self.workspace, self.run = workspace, RunningMax(n_models)  # also each model's highest reading
        self.names, self.dates = [], []
        self.stale = []  # (snapshot, codes, reading, highest earlier reading) of the stale readings: rows made at the end
        self.files = {}  # the files of each snapshot's arrays (``pass_state.READING_FIELDS``)

    def read(self, snap, key: str, date, codes: np.ndarray, at, d30) -> None:
        """Counter snapshot ``snap``'s readings (``key``: its ``pass_state.pass_chain`` key), its
        models by ``codes`` (in id order)."""
        name, ok = snap.name, ~at._mask
        stale, previous, _ = self.run.step(codes, at._data, ok)
        if stale.any():
            self.stale.append((name, codes[stale], at._data[stale], previous[stale]))
        arrays = {"at": at._data, "at_ok": ok, "d30": d30._data, "d30_ok": ~d30._mask, "stale": stale}
        files = pass_state.store_readings(snap, key, arrays)
        if files is None:  # a read-only store: in the workspace
            self.workspace.save(f"reading.{name}", **arrays)
            files = {f: self.workspace.path / f"reading.{name}.{f}.npy" for f in arrays}
        self.files[name] = files
        self.names.append(name)
        self.dates.append(date)

    def issues(self, ids: pd.Index) -> list[pd.DataFrame]:
        """The ``counter_decreased`` rows of each snapshot with stale readings (``ids``: the model of
        each code), in the order of ``data_quality`` (by snapshot, then model id: the codes' order),
        so that millions of them are not sorted again (``issues.collect``)."""
        out = []
        for name, c, at, previous in sorted(self.stale, key=lambda s: s[0]):
            o = np.argsort(c, kind="stable")
            out.append(stale_issues(pd.DataFrame({
                "snapshot": pd.array([name] * len(c), dtype="string"), "model_id": pd.array(ids.take(c[o]), dtype="string"),
                "downloads_all_time": pd.array(at[o], dtype="Int64"), "previous_max": pd.array(previous[o], dtype="Int64")})))
        return out

    def highest(self, codes: np.ndarray) -> pd.arrays.IntegerArray:
        return pd.arrays.IntegerArray(self.run.value[codes], ~self.run.has[codes])

    def readings(self, ids: pd.Index, rank: np.ndarray, order: np.ndarray, id_codes: IdCodes) -> StoreReadings:
        files = [{"codes": id_codes.rec_path(name), **self.files[name]} for name in self.names]
        return StoreReadings(self.workspace, self.names, self.dates, ids, rank, order, files)


def _before_last(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The rows of every part but the last, as one frame (no rows: the last part's columns)."""
    return pd.concat(parts[:-1], ignore_index=True) if len(parts) > 1 else parts[-1].iloc[0:0]


def _grow(a: np.ndarray, fill, n: int) -> np.ndarray:
    """An array by first-appearance code, of the models of a shorter history, over ``n`` models."""
    return np.concatenate([a, np.full(n - len(a), fill, dtype=a.dtype)])


def read_history(snaps, main_names: set[str], counter_names: set[str], snapinfo: pd.DataFrame, registry: pd.DataFrame,
                 progress=None, typing: cache.Typing | None = None) -> History:
    """One pass over ``snaps`` (in store order). ``main_names``: the snapshots that feed models,
    lineage and downloads (every snapshot feeds the claims rows); ``counter_names``: the main
    snapshots whose counters are readings unless they repeat earlier ones; ``typing``: how the
    snapshots are typed (``cache.Typing``, default the shipped architectures)."""
    typing = typing or cache.default_typing()
    prepared, preparing = prepare_snapshots(snaps, snapinfo, registry, typing, progress)
    try:
        run = _Pass(snaps, main_names, counter_names, snapinfo, registry, progress, typing, prepared, preparing)
        for snap, fetched in zip(snaps, one_ahead(run.fetch, snaps)):
            run.read(snap, fetched)
        return run.finish()
    finally:
        if preparing is not None:  # a pass that failed does not wait for its worker
            preparing.close()
