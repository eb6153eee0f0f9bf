"""The build: snapshots in the store → validated tables in ``processed/``.

Thin steps, each in its own module: type each snapshot (transform.records), attribute
organizations (registry), resolve lineage (transform.lineage), measure downloads per month
(transform.monthly), aggregate shares (transform.shares), validate (schemas), then write every
table to a temporary folder that replaces ``processed/`` in one step. A build that fails leaves
the previous outputs exactly as they were.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .errors import AtomdataError
from .ingest import store
from .io import staging_dir, write_csv
from .rules.organizations import attribute, load_registry
from .schemas import TABLES
from .rules import inference, lineage, monthly, publisher
from .rules import presence as presence_rules
from .steps import shares
from .rules import cache, ids
from .steps import claims
from .rules import scope as scope_rules
from .rules.scope import Scope
from .steps import analyses
from .validate import validate_tables

#: the latest record's columns that come from Hub fields a snapshot may lack, by those fields (any one
#: of them will do): a snapshot without them says nothing about these columns, so a model's values
#: come from its latest snapshot that has them
LINEAGE_FIELDS = ("baseModels", "tags")  # either gives the declared bases (records.base_edges)
FIELD_COLUMNS = {
    ("createdAt",): ("created_at",),
    ("pipeline_tag",): ("pipeline_tag",),
    ("library_name",): ("library_name",),
    ("tags",): ("license", "model_type"),
    ("safetensors",): ("params",),
    LINEAGE_FIELDS: ("relation", "base_id", "n_bases"),  # and the base edges
}

#: a snapshot whose all-time counters all equal the latest earlier readings of at least this many
#: models repeats them (a re-published or lagging listing): its counters are not readings of its date
MIN_REPEATED_COUNTERS = 100

#: snapshots of at least this many rows are typed in worker processes when two or more are cold
PARALLEL_MIN_ROWS = 100_000
DQ_COLUMNS = ["kind", "snapshot", "month", "model_id", "org", "value", "detail", "action"]


@dataclass
class BuildResult:
    tables: dict[str, pd.DataFrame]
    snapshots: list[store.Snapshot]
    out: Path | None = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        t = self.tables
        dbc = t["downloads_by_country"]
        lines = [f"snapshots: {len(self.snapshots)} ({self.snapshots[0].name} … {self.snapshots[-1].name})",
                 f"models: {len(t['models'])}  derivatives: {len(t['derivatives'])}",
                 f"months measured: {', '.join(sorted(dbc['month'].unique())) or 'none'}"]
        if not dbc.empty:
            last = dbc[dbc["month"] == dbc["month"].max()]
            by_region = last.groupby("region")["share"].sum().sort_values(ascending=False)
            lines.append(f"latest month {last['month'].iloc[0]} share by region: " +
                         ", ".join(f"{r} {s:.1%}" for r, s in by_region.items()))
        dq = t["data_quality"]["kind"].value_counts()
        if len(dq):
            lines.append("data quality: " + ", ".join(f"{k} {v}" for k, v in dq.items()))
        if self.out:
            lines.append(f"tables written to {self.out}")
        return "\n".join(lines)


def _return_freed_memory() -> None:
    """Have glibc map blocks of 1 MB and more on their own and give them back to the system when
    freed. By default it raises that threshold as large blocks are freed (up to 32 MB) and serves
    such blocks from its heap, where freed ones stay held: a build over millions of rows would keep
    GBs it no longer uses. Linux with glibc only; elsewhere nothing changes."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # glibc, not musl
        libc.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


def snapshot_claims(r: pd.DataFrame, snap, snapinfo: pd.DataFrame, registry: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The claims rows of one snapshot (cached by its sha256, see ``transform.cache``)."""
    parts = {}
    if len(r):
        parts["org"] = claims.organization_summary(r, snapinfo, registry)
    info = snapinfo.set_index("snapshot").loc[snap.name]
    if info["has_trending"] and r["trending_score"].notna().any():
        parts["trend"], parts["trenddq"] = claims.trending_by_country(r, snapinfo, registry)
    return parts


def _prepare(snap, snapinfo: pd.DataFrame, registry: pd.DataFrame) -> str:
    """Fill the cache of one snapshot (typed records, edges, claims rows); run in a worker process."""
    ckey = cache.claims_key(registry, snapinfo.set_index("snapshot").loc[snap.name].to_dict())
    snap.verify()
    r, _ = cache.cached_load(snap)
    if not cache.has_claims(snap, ckey):
        r["snapshot"] = snap.name
        r["date"] = pd.Timestamp(snap.date)
        cache.store_claims(snap, ckey, snapshot_claims(r, snap, snapinfo, registry))
    if not (all(p.is_file() for p in cache.cache_paths(snap)) and cache.has_claims(snap, ckey)):
        raise OSError(f"{snap.name}: cache entry not written")  # the build types it itself
    return snap.name


def prepare_snapshots(snaps, snapinfo: pd.DataFrame, registry: pd.DataFrame, progress=None) -> set[str]:
    """Type the snapshots whose cache is cold in parallel worker processes (one per core, at most
    two: each holds one snapshot in memory). Returns the names prepared; the build then reads
    them from the cache. Anything a worker cannot do (a read-only store, a damaged snapshot) is
    left to the build's own pass, which reports it."""
    info = snapinfo.set_index("snapshot")
    cold = []
    for snap in snaps:
        ckey = cache.claims_key(registry, info.loc[snap.name].to_dict())
        if not (all(p.is_file() for p in cache.cache_paths(snap)) and cache.has_claims(snap, ckey)):
            cold.append(snap)
    # a worker pays off for Hub-sized snapshots only (starting one costs more than typing a small sample)
    cold = [s for s in cold if (s.manifest.get("rows") or 0) >= PARALLEL_MIN_ROWS]
    workers = min(2, os.cpu_count() or 1, len(cold))
    folder = snaps[0].path.parent / ".cache" if snaps else None
    try:
        folder.mkdir(exist_ok=True)
    except (OSError, AttributeError):
        return set()
    # fork only where it is safe and cheap (Linux); elsewhere the build types the snapshots itself
    if workers < 2 or not os.access(folder, os.W_OK) or not sys.platform.startswith("linux"):
        return set()
    done = set()
    # fork: the workers inherit the (still small) build state and never re-run the caller's script
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = [pool.submit(_prepare, snap, snapinfo, registry) for snap in cold]
        for f in as_completed(futures):
            try:
                done.add(f.result())
            except Exception:  # noqa: BLE001 - redone (and reported) by the build's own pass
                continue
            if progress:
                progress(1)
    return done


class _History:
    """One pass over the snapshots that keeps only what the whole-history steps need.

    Per snapshot the claims tables (organization summary, trending) are computed right away; of a
    main snapshot only the counters (``readings``) and the presence rows are kept, with model ids
    as integer codes into one vocabulary, and the latest record and base edges of every model are
    updated incrementally. Model ids come back as a categorical whose categories are the sorted ids,
    so sorting and grouping by id stay in id order.
    """

    def __init__(self, snaps, main_names, counter_names, snapinfo, registry, progress=None):
        self.snapinfo, self.registry = snapinfo, registry
        main = [s.name for s in snaps if s.name in main_names]
        snap_dtype = pd.CategoricalDtype(sorted(main))
        # the readings and presence rows, column by column: a column's pieces are joined one column
        # at a time and dropped as they go, so the rows never exist as frames of pieces and a whole
        readings = {k: [] for k in ("snap", "code", "at", "at_na", "d30", "d30_na")}
        presence = {k: [] for k in ("snap", "code", "created_at")}
        orgs, snap_dates = [], {}
        self._org_parts, self._trend_parts = [], []
        k = -1
        info = snapinfo.set_index("snapshot")
        prepared = prepare_snapshots(snaps, snapinfo, registry, progress)
        # model ids of every main snapshot (records and edges) coded in one Arrow hash pass
        held, id_codes, vocab = self._code_ids([s for s in snaps if s.name in main_names])

        # first and last main snapshot of every model, known before any record is read
        first_k = np.full(len(vocab), -1, dtype=np.int32)
        last_k = np.zeros(len(vocab), dtype=np.int32)
        for j, name in enumerate(main):
            idx = id_codes[name][0]
            first_k[idx[first_k[idx] < 0]] = j
            last_k[idx] = j
        # fields some main snapshots lack: the last main snapshot of each model that has them (-1: none)
        fields = {s.name: set(s.fields) for s in snaps}
        self.field_gaps = {}  # fields -> (snapshots that have them, last such snapshot of each model)
        for group in FIELD_COLUMNS:
            has = [bool(fields[n] & set(group)) for n in main]
            if any(has) and not all(has):
                last_g = np.full(len(vocab), -1, dtype=np.int32)
                for j, name in enumerate(main):
                    if has[j]:
                        last_g[id_codes[name][0]] = j
                self.field_gaps[group] = (has, last_g)
        fill = {group: [] for group in self.field_gaps}  # (codes, columns) of values from earlier snapshots
        # the latest reading of each model's all-time counter so far, to recognise a snapshot that repeats them
        self.counter_repeats = {}  # snapshot -> (the snapshot it repeats, models compared)
        last_at, last_at_ok = np.zeros(len(vocab), dtype=np.int64), np.zeros(len(vocab), dtype=bool)
        last_from = np.zeros(len(vocab), dtype=np.int32)  # the main snapshot (position in ``main``) of that reading
        # readings of the current date join them only once a later date comes: a second listing of the
        # same day that agrees with the first is another reading of that day, not a repeat of old counters
        same_day, same_day_date = [], None
        latest, edges = [], []
        for snap in snaps:
            tick = progress if snap.name not in prepared else None
            if snap.name not in prepared:  # a worker verified it moments ago
                snap.verify()
            ckey = cache.claims_key(registry, info.loc[snap.name].to_dict())
            parts = cache.load_claims(snap, ckey)
            if parts is not None and snap.name not in main_names:
                self._add_claims(parts)  # a trending listing whose claims rows are cached: nothing else to read
                if tick:
                    tick(1)
                continue
            is_main = snap.name in main_names
            # a main snapshot's ids are its codes into the vocabulary: its cached frames are read without them
            r, e = held.pop(snap.name) if snap.name in held else cache.cached_load(snap, without=("model_id",) if is_main else ())
            if is_main:  # (a freshly typed snapshot comes with them)
                r, e = r.drop(columns="model_id", errors="ignore"), e.drop(columns="model_id", errors="ignore")
            if tick:
                tick(1)
            date = pd.Series([pd.Timestamp(snap.date)]).to_numpy()[0]  # the type a column of it would have
            idx, e_idx = id_codes.pop(snap.name) if is_main else (None, None)
            if parts is None:
                full = r.assign(model_id=lineage.id_strings(vocab, idx)) if is_main else r
                parts = snapshot_claims(full.assign(snapshot=snap.name, date=date), snap, snapinfo, registry)
                cache.store_claims(snap, ckey, parts)
                del full
            self._add_claims(parts)
            if not is_main:
                continue
            k += 1
            # the latest record (and edges) of each model: the rows of its last snapshot
            keep = last_k[idx] == k
            latest.append(r[keep].assign(_code=idx[keep]) if not keep.all() else r.assign(_code=idx))
            for group, (has, last_g) in self.field_gaps.items():
                if has[k]:  # the models whose latest record lacks these fields and whose last one with them is this
                    take = (last_g[idx] == k) & (last_k[idx] != k)
                    if take.any():
                        fill[group].append(r.loc[take, list(FIELD_COLUMNS[group])].assign(_code=idx[take]))
            last_e = self.field_gaps[LINEAGE_FIELDS][1] if LINEAGE_FIELDS in self.field_gaps else last_k
            keep = last_e[e_idx] == k
            edges.append(e[keep].drop(columns="record_row").assign(_code=e_idx[keep]))
            codes = idx.astype(np.int32)
            snapcode = np.full(len(r), snap_dtype.categories.get_loc(snap.name), dtype=np.int8 if len(main) < 127 else np.int32)
            snap_dates[snap.name] = date
            at = pd.array(r["downloads_all_time"], dtype="Int64")
            if same_day and same_day_date < date:
                for i, v, j in same_day:
                    last_at[i], last_at_ok[i], last_from[i] = v, True, j
                same_day = []
            both = ~at._mask & last_at_ok[idx]
            n_both = int(np.count_nonzero(both))
            if snap.name in counter_names and n_both >= MIN_REPEATED_COUNTERS and (at._data[both] == last_at[idx[both]]).all():
                # the snapshot that took the newest of the readings it repeats (not merely the last one read)
                self.counter_repeats[snap.name] = (main[int(last_from[idx[both]].max())], n_both)
            elif snap.name in counter_names:
                same_day.append((idx[~at._mask], at._data[~at._mask], k))
                same_day_date = date
                readings["snap"].append(snapcode)
                readings["code"].append(codes)
                # counters stay Int64: values and validity
                for key, a in (("at", at), ("d30", pd.array(r["downloads_30d"], dtype="Int64"))):
                    readings[key].append(a._data)
                    readings[key + "_na"].append(a._mask)
            presence["snap"].append(snapcode)
            presence["code"].append(codes)
            presence["created_at"].append(r["created_at"].to_numpy())
            orgs.append(ids._arrow(r["org"]))
            del r, e
        latest = pd.concat(latest, ignore_index=True)
        # columns of the latest record that its snapshot lacks: from the model's last snapshot that has them
        n_latest = np.bincount(last_k, minlength=len(main))  # models whose latest record each snapshot holds
        gaps = []
        row_of = np.empty(len(vocab), dtype=np.int64)
        row_of[latest["_code"].to_numpy()] = np.arange(len(latest))
        for group, pieces in fill.items():
            filled = np.zeros(len(main), dtype=np.int64)  # models given the fields, by their latest snapshot
            if pieces:
                vals = pd.concat(pieces, ignore_index=True)
                at_code = vals["_code"].to_numpy()
                filled = np.bincount(last_k[at_code], minlength=len(main))
                for c in FIELD_COLUMNS[group]:
                    col = latest[c].copy()
                    col.iloc[row_of[at_code]] = vals[c].array
                    latest[c] = col
            has = self.field_gaps[group][0]
            gaps += [{"kind": "snapshot_lacks_fields", "snapshot": name, "month": None, "model_id": None, "org": None,
                      "value": float(n_latest[j]),
                      "detail": f"no {' or '.join(group)} field: of the {n_latest[j]} models whose latest record this is, "
                                f"{filled[j]} take {', '.join(FIELD_COLUMNS[group])} from their latest earlier snapshot with it",
                      "action": "a missing field is not read as missing values: the latest snapshot that has it is used; "
                                "models in no such snapshot have none"}
                     for j, name in enumerate(main) if not has[j] and n_latest[j]]
        self.gaps = pd.DataFrame(gaps, columns=DQ_COLUMNS)
        del fill, row_of
        latest.insert(0, "model_id", lineage.id_strings(vocab, latest["_code"].to_numpy()))
        edges = pd.concat(edges, ignore_index=True)
        edges.insert(0, "model_id", lineage.id_strings(vocab, edges["_code"].to_numpy()))
        order = pc.sort_indices(vocab).to_numpy()
        rank = np.empty(len(vocab), dtype=np.int32)
        rank[order] = np.arange(len(vocab), dtype=np.int32)
        self.id_dtype = pd.CategoricalDtype(pd.Index(pd.array(vocab.take(pa.array(order)), dtype="string")))

        names = np.asarray(main, dtype=object)
        code = latest["_code"].to_numpy()
        # first and last snapshot of each model, by its code (no string lookups)
        self.latest = latest.drop(columns="_code").assign(first_seen=names[first_k[code]], last_seen=names[last_k[code]]).reset_index(drop=True)
        self.alledges = edges.drop(columns="_code").reset_index(drop=True)
        self._no_records = self.latest.iloc[0:0]  # the claims tables' columns when no snapshot has rows for them

        def joined(pieces, key):
            out = np.concatenate(pieces[key])
            pieces[key].clear()
            return out

        def snapshots_and_ids(pieces):
            snapcol = pd.Categorical.from_codes(joined(pieces, "snap"), dtype=snap_dtype)
            return snapcol, pd.Categorical.from_codes(rank[joined(pieces, "code")], dtype=self.id_dtype)

        if readings["snap"]:
            snapcol, idcol = snapshots_and_ids(readings)
            dates = np.array([snap_dates[n] for n in snap_dtype.categories])  # one date per snapshot, the type a column of it has
            self.readings = pd.DataFrame({
                "snapshot": snapcol, "date": dates[snapcol.codes], "model_id": idcol,
                "downloads_all_time": pd.arrays.IntegerArray(joined(readings, "at"), joined(readings, "at_na")),
                "downloads_30d": pd.arrays.IntegerArray(joined(readings, "d30"), joined(readings, "d30_na"))}, copy=False)
            del snapcol, idcol
        else:
            self.readings = pd.DataFrame({
                "snapshot": pd.Categorical([], dtype=snap_dtype), "date": np.array([], dtype="datetime64[s]"),
                "model_id": pd.Series([], dtype="string"), "downloads_all_time": pd.array([], dtype="Int64"),
                "downloads_30d": pd.array([], dtype="Int64")})
        del readings
        snapcol, idcol = snapshots_and_ids(presence)
        p = pd.DataFrame({"snapshot": snapcol, "model_id": idcol, "created_at": joined(presence, "created_at")}, copy=False)
        del presence, snapcol, idcol
        # namespaces of every presence row, coded in one Arrow pass (categories in order of appearance)
        enc = pc.dictionary_encode(pa.chunked_array(orgs, type=pa.string()))
        del orgs
        org_codes = np.concatenate([pc.fill_null(c.indices, -1).to_numpy() for c in enc.chunks]) if enc.num_chunks else np.zeros(0, np.int32)
        org_cats = pd.Index(pd.array(enc.chunks[0].dictionary, dtype="string")) if enc.num_chunks else pd.Index([], dtype="string")
        p.insert(2, "org", pd.Categorical.from_codes(org_codes, categories=org_cats))
        self.presence = p[["snapshot", "model_id", "org", "created_at"]]

    @staticmethod
    def _code_ids(main_snaps) -> tuple[dict, dict, pa.Array]:
        """Integer codes of the model ids of each main snapshot's records and edges, from one
        dictionary encoding over all records (one hash table, instead of one per snapshot; an edge
        takes the code of its record row), read
        from the cached records; a snapshot without a cache entry (read-only store) is typed here
        and its frames are held for the pass that follows. Returns (held frames, codes per
        snapshot name, the id of every code)."""
        held, arrays, sizes, rows = {}, [], [], []

        def cached_ids(snap):
            rpath, epath = cache.cache_paths(snap)
            return (pq.read_table(rpath, columns=["model_id"]).column(0),
                    pq.read_table(epath, columns=["record_row"]).column(0).to_numpy())

        for snap in main_snaps:
            try:
                rec_ids, edge_rows = cached_ids(snap)
            except (OSError, ValueError, KeyError, pa.ArrowException):
                snap.verify()  # a damaged data file is reported as such, before anything reads it
                frames = cache.cached_load(snap)  # types the snapshot and fills its cache entry
                try:
                    rec_ids, edge_rows = cached_ids(snap)
                except (OSError, ValueError, KeyError, pa.ArrowException):  # read-only store: keep the frames
                    held[snap.name] = frames
                    rec_ids, edge_rows = pa.chunked_array([ids._arrow(frames[0]["model_id"])]), frames[1]["record_row"].to_numpy()
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

    def _add_claims(self, parts: dict[str, pd.DataFrame]) -> None:
        if "org" in parts:
            self._org_parts.append(parts["org"])
        if "trend" in parts:
            self._trend_parts.append((parts["trend"], parts["trenddq"]))

    def organization_summary(self) -> pd.DataFrame:
        if not self._org_parts:
            return claims.organization_summary(self._no_records.assign(snapshot=pd.Series([], dtype="string")),
                                               self.snapinfo, self.registry)
        out = pd.concat(self._org_parts, ignore_index=True)
        return out.sort_values(["date", "snapshot", "org"], kind="stable").reset_index(drop=True)

    def trending(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        if not self._trend_parts:
            empty = self._no_records.assign(snapshot=pd.Series([], dtype="string"))
            return claims.trending_by_country(empty, self.snapinfo, self.registry)
        out = pd.concat([t for t, _ in self._trend_parts], ignore_index=True)
        out = out.sort_values(["date", "snapshot", "top_n", "models", "region", "country"],
                              ascending=[True, True, True, False, True, True], na_position="last", kind="stable")
        return out.reset_index(drop=True), pd.concat([d for _, d in self._trend_parts], ignore_index=True)


def build_tables(raw: Path, registry_file=None, scope: Scope | None = None, tolerance_days: int = 3,
                 period: str = "month", progress=None) -> BuildResult:
    """Every table, validated. ``scope``: the headline's (default: the ``default`` preset of the
    project's scope policy). In the result, the text columns of the per-model monthly table
    (model id, month, method, snapshots, flags) are categoricals (its rows are models x months);
    the values are those written to the CSV, which ``atomdata.load`` reads back as strings."""
    presets = scope_rules.load_policy(scope_rules.policy_path(raw))
    scope = scope or presets["default"]
    _return_freed_memory()
    registry = load_registry(registry_file)
    if not Path(raw).is_dir():
        raise AtomdataError(f"{raw}: no such snapshot store (folder); import snapshots with `atomdata ingest dump PATH --raw {raw}`")
    snaps = store.list_snapshots(raw)
    if not snaps:
        raise AtomdataError(f"{raw}: no snapshots in the store; import some with `atomdata ingest dump PATH`")
    # trending listings (a different sample) feed only the claims tables: never models, lineage or downloads
    listing = {s.name: claims.listing_kind(s.manifest, s.name) for s in snaps}
    snapinfo = pd.DataFrame({"snapshot": [s.name for s in snaps], "date": [pd.Timestamp(s.date) for s in snaps],
                             "has_trending": ["trendingScore" in s.fields for s in snaps],
                             "listing": [listing[s.name] for s in snaps],
                             "tree_coverage": [claims.FULL if listing[s.name] == "full" else claims.SAMPLE for s in snaps]})
    main_names = {n for n, k in listing.items() if k != "trending"}
    if not main_names:
        raise AtomdataError(f"{raw}: the store holds only trending listings ({', '.join(listing)}); the model, "
                            "lineage and download tables need at least one snapshot of a tracked sample or full listing")
    has_counter = [s.name for s in snaps if {"downloadsAllTime", "downloads"} & set(s.fields) and s.name in main_names]
    # a data file that is byte for byte an earlier snapshot's holds that snapshot's readings, not its own day's
    repeats = repeated_snapshots([s for s in snaps if s.name in has_counter])
    has_counter = [n for n in has_counter if n not in repeats]
    hist = _History(snaps, main_names, set(has_counter), snapinfo, registry, progress)
    # a snapshot whose all-time counters all equal the latest earlier readings repeats them too
    # (a copy of a file whose counters repeat earlier ones holds those earlier counters: read by the snapshot it repeats)
    sha = {s.name: s.sha256 for s in snaps}
    repeats = {n: (hist.counter_repeats.get(orig, (orig,))[0],
                   f"data file identical (sha256 {sha[n][:12]}...) to that of snapshot {orig}")
               for n, orig in repeats.items()}
    repeats.update({n: (orig, f"all-time counters of all {k:,} models it shares with earlier readings equal "
                              f"their latest earlier readings, last taken by snapshot {orig}")
                    for n, (orig, k) in hist.counter_repeats.items()})
    has_counter = [n for n in has_counter if n not in repeats]
    latest, alledges = hist.latest, hist.alledges
    readings, presence = hist.readings, hist.presence

    # -- models
    att = attribute(latest["org"], registry)
    models = pd.DataFrame({
        "model_id": latest["model_id"],
        "org": latest["org"],
        "registry_org": att["registry_org"],
        "country": att["country"],
        "region": att["region"],
        "first_party": publisher.first_party(att["registry_org"], latest["base_id"]),
        "relation": latest["relation"],
        "base_model_id": latest["base_id"],
        "created_at": latest["created_at"].dt.normalize(),
        "pipeline_tag": latest["pipeline_tag"],
        "library_name": latest["library_name"],
        "license": latest["license"],
        "params_b": (latest["params"].astype("Float64") / 1e9).round(3),
        "downloads_all_time": monthly.highest_reading(readings, latest["model_id"]).array,
        "first_seen": latest["first_seen"],
        "last_seen": latest["last_seen"],
    }).sort_values("model_id", kind="stable").reset_index(drop=True)
    models.insert(6, "in_scope", scope.mask(models).to_numpy())

    # -- lineage
    roots = lineage.resolve(latest[["model_id", "base_id"]])
    ratt = attribute(roots["root_org"], registry)
    # each derivative's row in ``latest``: resolve keeps the rows with a declared base, in order
    at = np.flatnonzero(latest["base_id"].notna().to_numpy())
    assert len(at) == len(roots)
    derivs = pd.DataFrame({
        "model_id": roots["model_id"],
        "created_at": ids.take(latest["created_at"], at, roots.index).dt.normalize(),
        "relation": ids.take(latest["relation"], at, roots.index),
        "base_model_id": ids.take(latest["base_id"], at, roots.index),
        "n_bases": ids.take(latest["n_bases"], at, roots.index).astype("Int64"),
        "root_model_id": roots["root_model_id"],
        "root_org": roots["root_org"],
        "root_country": ratt["country"],
        "root_region": ratt["region"],
        "publisher": publisher.publisher(roots["model_id"], roots["root_org"], registry),
        "depth": roots["depth"],
        "lineage_status": roots["lineage_status"],
        "_model_type": ids.take(latest["model_type"], at, roots.index),  # for the inference below
    }).sort_values("model_id", kind="stable").reset_index(drop=True)
    # -- attribution beyond the declared chain (transform.inference)
    known_ids = pd.concat([latest["model_id"], alledges["base_id"]], ignore_index=True)
    mtype = pd.Series(latest["model_type"].array, index=pd.Index(latest["model_id"]))
    iframe = pd.DataFrame({"model_id": derivs["model_id"], "root_model_id": derivs["root_model_id"],
                           "model_type": derivs.pop("_model_type"),
                           "root_model_type": ids.lookup(derivs["root_model_id"], mtype)})
    kindex = inference.known_model_index(known_ids, registry, inference.load_mirrors())
    derivs = pd.concat([derivs, inference.infer(iframe, registry, known_ids, index=kindex)], axis=1)
    held_out = inference.held_out(iframe, registry, known_ids, truth=derivs, index=kindex)[1]
    # the latest records are not needed past this point: release them before the models x months work
    del latest, known_ids, mtype, iframe, kindex, at, roots, ratt, att
    hist.latest = None

    # -- downloads per month
    snaptab = pd.DataFrame({"snapshot": [s.name for s in snaps if s.name in has_counter],
                            "date": [pd.Timestamp(s.date) for s in snaps if s.name in has_counter]})
    # the monthly tables are always monthly; --period feeds downloads_by_period (transform.analyses)
    readings = monthly.flag_stale(readings)  # once: the quality rows and the momentum table use the flags
    hist.readings = None  # the unflagged copy is not needed any more
    stale = readings[readings["stale"].to_numpy()]  # with their previous maximum, for data_quality
    del readings["previous_max"]  # a column of models x snapshots, needed on the stale rows only
    per_model, unmeasured = monthly.downloads_per_period(readings, snaptab, "month", tolerance_days)
    per_model = per_model.rename(columns={"period": "month"})
    del readings["downloads_30d"]  # read for the monthly table's rolling_30d rows only (weeks and quarters never use it)

    dbc = shares.downloads_by_country(per_model, models, scope)
    dvc = shares.derivatives_by_country(derivs)

    snapshots = pd.DataFrame({
        "name": [s.name for s in snaps],
        "date": [pd.Timestamp(s.date) for s in snaps],
        "kind": [s.manifest.get("kind", "dump") for s in snaps],
        "source": [s.manifest.get("source", "") for s in snaps],
        "license": [s.manifest.get("license") for s in snaps],
        "rows": [s.manifest.get("rows") for s in snaps],
        "sha256": [s.sha256 for s in snaps],
        "fields": [" ".join(s.fields) for s in snaps],
    })

    dq = data_quality(stale, snaptab, unmeasured, models, derivs, per_model, scope, tolerance_days, "month",
                      presence=presence, snapshot_order=[s.name for s in snaps if s.name in main_names],
                      edges=alledges, registry=registry)
    attribution_dq = inference.quality_rows(derivs, presence[["snapshot", "model_id"]], held_out)
    del presence, alledges  # last used above
    hist.presence = hist.alledges = None
    tbc, trend_dq = hist.trending()
    # -- analyses beyond the headline: families, sizes, ecosystem, momentum, sensitivity, periods
    extra, xdq = analyses.build_analyses(per_model, models, derivs, readings, snaptab, registry, scope, tolerance_days, period, dbc, presets)
    del readings
    dq = _concat_quality([dq, repeat_quality(repeats, snaps), hist.gaps, attribution_dq, trend_dq, xdq,
                          scope_rules.quality_rows(models, scope)])
    tables = {
        "organizations": registry,
        "models": models,
        "model_downloads_monthly": per_model,
        "downloads_by_country": dbc,
        "derivatives": derivs,
        "derivatives_by_country": dvc,
        "trending_by_country": tbc,
        "organization_summary": hist.organization_summary(),
        "derivatives_by_root_org": claims.derivatives_by_root_org(derivs, registry),
        **extra,
        "snapshots": snapshots,
        "data_quality": dq,
    }
    tables = validate_tables({k: tables[k] for k in TABLES})
    return BuildResult(tables, snaps)


def repeated_snapshots(snaps) -> dict[str, str]:
    """Snapshots whose data file is byte for byte that of an earlier snapshot (same sha256), each
    mapped to the earliest such snapshot. A re-published file holds the readings of the day it was
    first published (the shared 2026-06-17 and 2026-07-01 files are the 2026-06-16 file): its
    counters are not readings of its own date, so they never serve as a boundary."""
    first, out = {}, {}
    for s in sorted(snaps, key=lambda s: (s.date, s.name)):
        if s.sha256 in first:
            out[s.name] = first[s.sha256]
        else:
            first[s.sha256] = s.name
    return out


def repeat_quality(repeats: dict[str, tuple[str, str]], snaps) -> pd.DataFrame:
    """One ``snapshot_repeated`` row per repeated snapshot: ``repeats`` maps it to (the snapshot it
    repeats, why); value = days after that snapshot."""
    by_name = {s.name: s for s in snaps}
    rows = [{"kind": "snapshot_repeated", "snapshot": name, "month": None, "model_id": None, "org": None,
             "value": float((by_name[name].date - by_name[orig].date).days),
             "detail": f"{why}: its counters were read by {orig}, not on {by_name[name].date.isoformat()}",
             "action": "its counters are not used as readings (month boundaries, stale checks, adoption momentum); "
                       "presence and the per-snapshot tables keep it"}
            for name, (orig, why) in sorted(repeats.items())]
    return pd.DataFrame(rows, columns=DQ_COLUMNS)


def _concat_quality(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One data_quality table from the parts each step reports, typed and in a stable order."""
    types = {c: ("Float64" if c == "value" else "string") for c in DQ_COLUMNS}
    parts = [p[DQ_COLUMNS].astype(types) for p in parts if len(p)]
    dq = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({c: pd.Series([], dtype=t) for c, t in types.items()})
    return dq.sort_values(["kind", "snapshot", "month", "model_id", "org"], na_position="first", kind="stable").reset_index(drop=True)


def data_quality(readings, snaptab, unmeasured, models, derivs, per_model, scope, tolerance_days, period,
                 presence=None, snapshot_order=None, edges=None, registry=None) -> pd.DataFrame:
    """The quality rows of the build. ``readings``: counter readings, flagged or not (of flagged
    ones, the stale rows with their ``previous_max`` are enough: only those are reported)."""
    parts = []
    r = monthly.flag_stale(readings)
    st = r[r["stale"]]
    if not st.empty:
        parts.append(pd.DataFrame({
            "kind": "counter_decreased", "snapshot": st["snapshot"], "month": None, "model_id": st["model_id"], "org": None,
            "value": (st["previous_max"] - st["downloads_all_time"]).astype("Float64"),
            "detail": "all-time downloads " + st["downloads_all_time"].astype("string") + " below an earlier reading of " + st["previous_max"].astype("Int64").astype("string"),
            "action": "reading treated as stale: not used as a month boundary; no negative downloads",
        }))
    for _, row in unmeasured.iterrows():
        parts.append(pd.DataFrame([{"kind": "period_not_measured", "snapshot": None, "month": row["period"] if period == "month" else None,
                                    "model_id": None, "org": None, "value": None,
                                    "detail": f"{period} {row['period']}: {row['detail']}", "action": "no downloads reported for it; nothing invented"}]))
    bounds = monthly.period_starts(snaptab["date"].min().date(), snaptab["date"].max().date(), period) if not snaptab.empty else []
    for name, date in zip(snaptab["snapshot"], snaptab["date"]):
        nearest = min((abs((pd.Timestamp(b) - date).days) for b in bounds), default=None)
        if nearest is not None and nearest > tolerance_days:
            parts.append(pd.DataFrame([{"kind": "snapshot_off_boundary", "snapshot": name, "month": None, "model_id": None, "org": None,
                                        "value": float(nearest), "detail": f"{nearest} days from the nearest {period} boundary (tolerance {tolerance_days})",
                                        "action": "used only to detect stale counters, not as a boundary reading"}]))
    # organizations the registry lacks: the downloads of the models the scope would count if every
    # namespace were in the registry show the coverage (a model list counts unmapped ones already)
    reach = scope.mask(models) if scope.models is not None else replace(scope, orgs="all").mask(models)
    pm = shares.inner_join(per_model[["month", "model_id", "downloads"]], models[["model_id", "org", "registry_org"]], where=reach)
    if not pm.empty:
        dl = pm["downloads"].astype("int64")
        g = pd.DataFrame({"all": dl, "mapped": dl.where(pm["registry_org"].notna().to_numpy(), 0)}).groupby(pm["month"]).sum()
        cover = g["mapped"] / g["all"].clip(lower=1)
        parts.append(pd.DataFrame({"kind": "coverage", "snapshot": None, "month": cover.index, "model_id": None, "org": None,
                                   "value": cover.astype("Float64").to_numpy(),
                                   "detail": "share of the downloads of the models the scope counts (every namespace taken as mapped) whose organization is in the registry",
                                   "action": "unmapped organizations are outside presets limited to registry organizations (default) and listed as unmapped_org"}))
        um = pm[pm["registry_org"].isna()].groupby("org")["downloads"].sum().sort_values(ascending=False)
        parts.append(pd.DataFrame({"kind": "unmapped_org", "snapshot": None, "month": None, "model_id": None, "org": um.index.astype("string"),
                                   "value": um.astype("Float64").to_numpy(),
                                   "detail": "organization not in the registry; value = downloads over all measured months of its models the scope would count",
                                   "action": "region unknown; outside presets limited to registry organizations (default)"}))
    for status, action in (("cycle", "no root; counted as unknown"), ("self_reference", "self-link ignored; the model is its own root")):
        bad = derivs[derivs["lineage_status"] == status]
        if not bad.empty:
            parts.append(pd.DataFrame({"kind": f"lineage_{status}", "snapshot": None, "month": None, "model_id": bad["model_id"], "org": None,
                                       "value": None, "detail": "declared base chain: " + status.replace("_", " "), "action": action}))
    out = derivs[derivs["lineage_status"] == "outside_snapshot"]
    if not out.empty:
        parts.append(pd.DataFrame({"kind": "lineage_outside_snapshot", "snapshot": None, "month": None, "model_id": out["model_id"],
                                   "org": out["root_org"], "value": out["depth"].astype("Float64"),
                                   "detail": "chain leaves the snapshots at " + out["root_model_id"],
                                   "action": "root taken as the last known ancestor; region from its namespace"}))
    # models that vanish and come back, renamed repos, merges of bases from different regions
    parts += presence_rules.presence_issues(presence, snapshot_order or [])
    parts += presence_rules.merge_issues(edges, derivs, registry)
    return _concat_quality(parts)


#: what a build writes into the tables' folder; anything else there is someone's file
TABLE_FILES = frozenset({f"{name}.csv" for name in TABLES} | {"datapackage.json"})
#: files a file manager leaves in any folder it shows
_DESKTOP_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


def check_tables_folder(out: Path) -> None:
    """Refuse an output folder that a build must not replace: the tables' folder is replaced as a
    whole, so a folder holding anything but atomdata's tables (someone's files, the snapshot store,
    the project) or the current folder would be lost with it."""
    out = Path(out)
    if not out.exists():
        return
    if not out.is_dir():
        raise AtomdataError(f"{out}: is a file, not a folder for the tables")
    here, target = Path.cwd().resolve(), out.resolve()
    if target == here or target in here.parents:
        raise AtomdataError(f"{out}: is the current folder or holds it; `atomdata build` replaces the tables' folder "
                            "as a whole: write the tables to a folder of their own (the default ./processed, or --out my-build)")
    others = sorted(p.name for p in target.iterdir() if p.name not in TABLE_FILES and p.name not in _DESKTOP_FILES)
    if others:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise AtomdataError(f"{out}: holds files atomdata did not write ({shown}); `atomdata build` replaces the "
                            "tables' folder as a whole and would delete them: choose a new or empty folder "
                            "(--out my-build), or move them elsewhere first")


def write_tables(tables: dict[str, pd.DataFrame], out: Path, extra: dict[str, bytes] | None = None) -> None:
    """Write every table as ``<name>.csv`` (and any ``extra`` files) into a temporary folder that
    then replaces ``out`` in one step (refused by :func:`check_tables_folder` where that would
    delete anything else)."""
    check_tables_folder(out)
    with staging_dir(Path(out)) as tmp:
        for fname, data in (extra or {}).items():
            (tmp / fname).write_bytes(data)
        for name, df in tables.items():
            write_csv(df, tmp / f"{name}.csv")


def build(raw: Path, out: Path, **kw) -> BuildResult:
    check_tables_folder(out)  # before the work, not after it
    res = build_tables(raw, **kw)
    write_tables(res.tables, out)
    res.out = Path(out)
    return res
