"""Hub-shaped monthly histories: one call writes the snapshots of a series ending at a date.

    python benchmarks/history.py --models 2200000 --months 61 --end 2026-08-01 --out /tmp/atomhist/dumps-2200000

writes OUT/YYYY-MM-DD/models.parquet (zstd), one snapshot near the 1st of each month (the archive
backfill stores the reading nearest the 1st, dated the day it was read: most on the 1st, some a
day or two either side). ``--models`` is the population of the newest snapshot.

Why not ``synth.py``: its rows carry 2 tags and a one-field ``safetensors`` struct, so a typed
snapshot holds far less than a real one (the issue measured 4.6 GB per typing worker on a
540-fold replica of the real rows). Here every synthetic model takes a **real row as its
template** (``--real``: a shared hub-stats snapshot): its whole tag list, its ``baseModels``
structure (relation and number of bases), its pipeline tag, library, ``safetensors`` struct and
the length of its name. The template's bases are replaced by earlier synthetic models (in the
tags and in ``baseModels``), chosen by popularity so that fan-in is heavy-tailed and about half
of the bases are derivatives themselves, as in the real rows (chains several levels deep).

The population is fixed by (models, end, seed), not by the number of months: models are created
from 2019 on with the Hub's exponential growth (``DOUBLING_MONTHS``); they appear at their
creation date and stay, except the few that vanish (``VANISH``) or are renamed (``RENAME``: a
new name, or the same name under a new namespace) and the few missing from one snapshot
(``ABSENT``). The snapshot of a month depends only on its date, so the last k snapshots of any
longer series *are* the k-month series ending at the same date (byte for byte): generate once,
reuse for every N. All-time counters grow monotonically, ``K * age^beta`` per model; every 24
months (``STALE_MONTHS``) a snapshot falls back to stale cached counters for ~98% of the models,
as the real 2026-08-03 did (its counters were those of 75 days earlier). Everything is
vectorised numpy/Arrow and seeded.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
REAL_DATE = "2026-08-01"
RELATIONS = ("finetune", "adapter", "quantized", "merge")
#: the fields a stored Hub snapshot holds (``vocab.SOURCE_FIELDS`` present in 2026 dumps), in the dumps' order
COLUMNS = ("id", "author", "createdAt", "downloads", "downloadsAllTime", "likes", "tags", "pipeline_tag",
           "library_name", "baseModels", "safetensors")
BASE_TYPE = pa.struct([("relation", pa.string()), ("models", pa.list_(pa.struct([("_id", pa.string()), ("id", pa.string())])))])
FIRST_CREATED = np.datetime64("2019-01-01T00:00:00", "s")
#: the Hub's model count doubles in about 20 months (1 M in 2024-09, 2.2 M in 2026-08)
DOUBLING_MONTHS = 20
VANISH, RENAME, ABSENT = 0.03, 0.01, 0.001
#: a stale snapshot every 24 months (counting back from the end: months 6, 30, 54 before it)
STALE_MONTHS, STALE_FIRST, STALE_SHARE, STALE_LAG_DAYS = 24, 6, 0.976, 75
#: share of a derivative's bases that are derivatives themselves (real rows: 47%)
BASE_IS_DERIVATIVE = 0.47
#: popularity exponent of base choice (fan-in): weight = all-time downloads ** ALPHA
ALPHA = 0.55
#: days a month-boundary snapshot lies from the 1st, and how often (as archive readings fall)
DAY_OFFSETS, DAY_P = np.array([-2, -1, 0, 1, 2]), np.array([0.05, 0.15, 0.6, 0.15, 0.05])
SUFFIX = 5  # base-36 characters that make every id unique (36**5 = 60 M models)


def default_real() -> Path:
    """The real rows to calibrate on: the shared hub-stats snapshot, else the committed fixture subset."""
    env = os.environ.get("ATOMDATA_SHARED")
    for root in ([Path(env)] if env else []) + [up / "shared" for up in REPO.parents]:
        p = root / "data" / "hub-stats" / REAL_DATE / "models.parquet"
        if p.is_file():
            return p
    return REPO / "tests" / "fixtures" / "data" / "hub-stats" / REAL_DATE / "models.parquet"


# --------------------------------------------------------------------------- the real rows

@dataclass
class Templates:
    """The real rows, prepared once. Tags are held as entries: a code into ``vocab``, or (code -1)
    a ``base_model:`` tag of the row's base number ``slot`` (``bare``: without the relation)."""

    static: pa.Table          # pipeline_tag, library_name, safetensors of each real row
    names: pa.Array           # the name part of the id, shortened to leave room for the suffix
    authors: np.ndarray       # the real namespace
    relation: np.ndarray      # the baseModels relation ('' where none)
    n_bases: np.ndarray
    tag_off: np.ndarray       # entries of row j: tag_off[j]:tag_off[j + 1]
    tag_null: np.ndarray      # rows whose tags are null
    code: np.ndarray
    slot: np.ndarray
    bare: np.ndarray
    vocab: pa.Array

    def __len__(self):
        return len(self.n_bases)


def load_templates(path: Path) -> Templates:
    """Read the real rows (a few thousand: a Python loop over them is fine) into :class:`Templates`."""
    t = pq.read_table(path, columns=["id", "author", "tags", "pipeline_tag", "library_name", "baseModels", "safetensors"])
    rows = t.to_pylist()
    vocab, codes, slots, bares, off = {}, [], [], [], [0]
    rel, nb = [], []
    for r in rows:
        bases = [m["id"] for m in (r["baseModels"] or {}).get("models") or []]
        rel.append((r["baseModels"] or {}).get("relation") or "")
        nb.append(len(bases))
        for tag in r["tags"] or []:
            ref = _base_ref(tag)
            if ref is None:
                codes.append(vocab.setdefault(tag, len(vocab)))
                slots.append(0), bares.append(False)
            elif ref[1] in bases:  # every base tag of the real rows names a base of its struct
                codes.append(-1), slots.append(bases.index(ref[1])), bares.append(ref[0])
        off.append(len(codes))
    name = [r["id"].split("/", 1)[-1] for r in rows]
    short = [n[:max(1, len(n) - SUFFIX - 1)].rstrip("-.") or "m" for n in name]
    return Templates(
        static=t.select(["pipeline_tag", "library_name", "safetensors"]), names=pa.array(short, pa.string()),
        authors=np.array([r["author"] for r in rows], dtype=object), relation=np.array(rel, dtype=object),
        n_bases=np.array(nb, dtype=np.int64), tag_off=np.array(off, dtype=np.int64),
        tag_null=np.array([r["tags"] is None for r in rows]), code=np.array(codes, dtype=np.int64),
        slot=np.array(slots, dtype=np.int64), bare=np.array(bares, dtype=bool),
        vocab=pa.array(list(vocab), pa.string()))


def _base_ref(tag: str):
    """(bare, base id) of a ``base_model:[relation:]id`` tag, else None."""
    if not tag.startswith("base_model:"):
        return None
    rest = tag[len("base_model:"):]
    head, _, tail = rest.partition(":")
    return (False, tail) if tail and head in RELATIONS else (True, rest)


def registry_orgs() -> set[str]:
    """The registry's namespaces, lower case (the shipped ``raw/organizations.csv``)."""
    import csv

    with open(REPO / "raw" / "organizations.csv", newline="") as f:
        return {row["org"].lower() for row in csv.DictReader(f)}


# --------------------------------------------------------------------------- the population

@dataclass
class Population:
    """Every model of the history, in creation order; ids before and after a rename."""

    created: np.ndarray       # datetime64[s]
    ids: pa.Array
    authors: pa.Array
    new_ids: pa.Array         # the id after a rename (the same where none)
    new_authors: pa.Array
    renamed_at: np.ndarray    # datetime64[s]; NaT where never
    vanish_at: np.ndarray     # datetime64[s]; NaT where never
    k: np.ndarray             # all-time downloads = k * age_years ** beta
    beta: np.ndarray
    likes: np.ndarray         # likes per sqrt(download)
    static: pa.Table          # tags, pipeline_tag, library_name, baseModels, safetensors


def created_dates(rng, n: int, end: np.datetime64) -> np.ndarray:
    """Creation times from 2019 to ``end``, sorted, with the density of exponential growth."""
    tau = DOUBLING_MONTHS * 30.44 * 86400 / np.log(2)
    span = (end - FIRST_CREATED).astype(np.int64)
    u = rng.random(n)
    back = -tau * np.log(u * (1 - np.exp(-span / tau)) + np.exp(-span / tau))  # seconds before end
    return np.sort(end - np.minimum(back, span - 1).astype("timedelta64[s]") - np.timedelta64(1, "s"))


def one(x) -> pa.Array:
    """An Arrow array in one piece (compute functions may return chunked arrays at millions of rows)."""
    return x.combine_chunks() if isinstance(x, pa.ChunkedArray) else x


def base36(x: np.ndarray, width: int = SUFFIX) -> pa.Array:
    """Fixed-width base-36 text of non-negative integers, vectorised."""
    digits = np.frombuffer(b"0123456789abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
    out = np.empty((len(x), width), dtype=np.uint8)
    v = np.asarray(x, dtype=np.int64).copy()
    for i in range(width - 1, -1, -1):
        out[:, i] = digits[v % 36]
        v //= 36
    return pa.array(out.view(f"S{width}").ravel()).cast(pa.string())


def namespaces(rng, tpl: Templates, tmpl: np.ndarray) -> pa.Array:
    """A model keeps its template's namespace where that is a registry organization (as many models
    of registry organizations as in the real rows); the others go to community namespaces whose
    catalogue sizes follow a power law (Zipf 2.1, capped at 2% of the models: ~200 namespaces per
    1,000 models, most holding one), named with 9 characters like the real ones."""
    n = len(tmpl)
    reg = np.isin(np.char.lower(tpl.authors.astype(str)), np.array(sorted(registry_orgs())))
    sizes = np.minimum(rng.zipf(2.1, n), max(1, n // 50))
    k = int(np.searchsorted(np.cumsum(sizes), n)) + 1
    owner = rng.permutation(np.repeat(np.arange(k), sizes[:k]))[:n]
    community = pc.binary_join_element_wise("u", base36(owner, 8), "")
    real = pa.array(tpl.authors.tolist(), pa.string()).take(pa.array(tmpl))
    return one(pc.if_else(pa.array(reg[tmpl]), real, one(community)))


def choose_bases(rng, n_bases: np.ndarray, alltime: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bases of every model (flat, with offsets): earlier models, picked in proportion to
    their popularity (``alltime ** ALPHA``), a derivative with probability ``BASE_IS_DERIVATIVE``;
    distinct within a model. A model with fewer earlier models than bases gets none."""
    n = len(n_bases)
    n_bases = np.where(np.arange(n) > n_bases * 4, n_bases, 0)
    off = np.concatenate([[0], np.cumsum(n_bases)])
    row = np.repeat(np.arange(n), n_bases)
    w = alltime.astype(np.float64) ** ALPHA
    is_d = n_bases > 0
    cum = {True: np.cumsum(np.where(is_d, w, 0)), False: np.cumsum(np.where(is_d, 0, w))}
    want_d = rng.random(len(row)) < BASE_IS_DERIVATIVE
    pool_d, pool_o = cum[True][row - 1], cum[False][row - 1]
    # no earlier model of the wanted kind: one of the other kind
    want_d = np.where(want_d, pool_d > 0, pool_o <= 0)
    u = rng.random(len(row)) * np.where(want_d, pool_d, pool_o)
    base = np.where(want_d, np.searchsorted(cum[True], u, side="right"), np.searchsorted(cum[False], u, side="right"))
    base = np.minimum(base, row - 1)
    return off, _distinct(rng, row, base)


def _distinct(rng, row: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Redraw bases a model names twice (uniformly among earlier models) until none repeats."""
    for attempt in range(20):
        key = row * (row.max(initial=0) + 1) + base
        _, first = np.unique(key, return_index=True)
        dup = np.ones(len(key), dtype=bool)
        dup[first] = False
        if not dup.any():
            break
        r = row[dup]
        base[dup] = (rng.random(len(r)) * r).astype(np.int64) if attempt < 19 else r - 1 - np.arange(len(r)) % r
    return base


def population(tpl: Templates, n: int, end: str, seed: int = 0) -> Population:
    """The models of a history ending at ``end``, ``n`` of them alive then (about: a few vanished)."""
    rng = np.random.default_rng([seed, 19])
    n_all = int(round(n / (1 - VANISH * 0.5)))  # vanished models are gone from the newest snapshot
    end_s = np.datetime64(end, "s")
    created = created_dates(rng, n_all, end_s)
    tmpl = rng.integers(0, len(tpl), n_all)
    alltime_end = np.floor(10 ** rng.normal(3.4, 1.55, n_all))
    beta = np.clip(rng.lognormal(np.log(1.2), 1.2, n_all), 0.02, 4.0)
    age_end = np.maximum((end_s - created).astype(np.float64) / 86400 / 365.25, 30 / 365.25)
    ns = namespaces(rng, tpl, tmpl)
    name = pc.binary_join_element_wise(tpl.names.take(pa.array(tmpl)), base36(np.arange(n_all)), "_")
    ids = one(pc.binary_join_element_wise(ns, name, "/"))
    renamed_at, vanish_at, new_ids, new_authors = _renames(rng, created, end_s, ns, name, tpl, tmpl)
    base_off, base = choose_bases(rng, tpl.n_bases[tmpl], alltime_end)
    # a derivative names its base by the id the base had when the derivative was created
    b_renamed = renamed_at[base] <= np.repeat(created, np.diff(base_off))
    base_ids = one(pc.if_else(pa.array(b_renamed), new_ids.take(pa.array(base)), ids.take(pa.array(base))))
    static = _static(tpl, tmpl, base_off, base, base_ids)
    return Population(created=created, ids=ids, authors=ns, new_ids=new_ids, new_authors=new_authors,
                      renamed_at=renamed_at, vanish_at=vanish_at, k=alltime_end / age_end ** beta, beta=beta,
                      likes=0.05 * rng.lognormal(0, 1, n_all), static=static)


def _renames(rng, created, end_s, ns, name, tpl, tmpl):
    """When models vanish or are renamed, and their ids after a rename: half a new name in the same
    namespace, half the same name under another (community) namespace."""
    n = len(created)
    life = (end_s + np.timedelta64(60, "D") - created).astype(np.int64)
    nat = np.datetime64("NaT", "s")
    vanish_at = np.where(rng.random(n) < VANISH, created + (rng.random(n) * life).astype("timedelta64[s]"), nat)
    renamed = (rng.random(n) < RENAME) & np.isnat(vanish_at)
    renamed_at = np.where(renamed, created + (rng.random(n) * life).astype("timedelta64[s]"), nat)
    move = renamed & (rng.random(n) < 0.5)
    other_ns = namespaces(rng, tpl, rng.permutation(tmpl))
    new_ns = pc.if_else(pa.array(move), other_ns, ns)
    new_name = pc.binary_join_element_wise(tpl.names.take(pa.array(tmpl)), base36(np.arange(n) + n), "_")
    new_name = pc.if_else(pa.array(renamed & ~move), new_name, name)
    return renamed_at, vanish_at, one(pc.binary_join_element_wise(new_ns, new_name, "/")), one(new_ns)


def _static(tpl: Templates, tmpl: np.ndarray, base_off: np.ndarray, base: np.ndarray, base_ids: pa.Array) -> pa.Table:
    """The columns a model keeps from snapshot to snapshot: its template's tags (base tags naming
    its synthetic bases), ``baseModels``, pipeline tag, library and ``safetensors``."""
    n = len(tmpl)
    n_b = np.diff(base_off)
    has = n_b > 0
    rel = np.where(has, tpl.relation[tmpl], None)
    rel = np.where(has & (rel == ""), "finetune", rel)
    rel_arr = pa.array(rel.astype(object), pa.string())
    oid = one(pc.utf8_lpad(pc.cast(pa.array(base), pa.string()), 24, "0"))
    models = pa.ListArray.from_arrays(pa.array(base_off.astype(np.int32)),
                                      pa.StructArray.from_arrays([oid, base_ids], names=["_id", "id"]))
    base_models = pa.StructArray.from_arrays([rel_arr, models], names=["relation", "models"], mask=pa.array(~has))
    tags = _tags(tpl, tmpl, base_off, n_b, base_ids, rel_arr)
    st = tpl.static.take(pa.array(tmpl))
    return pa.table({"tags": tags, "pipeline_tag": st.column("pipeline_tag"), "library_name": st.column("library_name"),
                     "baseModels": base_models.cast(BASE_TYPE), "safetensors": st.column("safetensors")})


def _tags(tpl: Templates, tmpl, base_off, n_b, base_ids: pa.Array, rel_arr: pa.Array) -> pa.ListArray:
    """Every model's tag list: its template's entries in order, a base tag naming the synthetic
    base of the same slot (dropped where the model has no such base)."""
    n = len(tmpl)
    start, lens = tpl.tag_off[tmpl], np.diff(tpl.tag_off)[tmpl]
    row = np.repeat(np.arange(n), lens)
    src = np.arange(len(row)) + np.repeat(start - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
    code, slot = tpl.code[src], tpl.slot[src]
    is_base = code < 0
    keep = ~is_base | (slot < n_b[row])
    row, code, slot, bare, is_base = row[keep], code[keep], slot[keep], tpl.bare[src][keep], is_base[keep]
    b = np.flatnonzero(is_base)
    ref = base_ids.take(pa.array(base_off[row[b]] + slot[b]))
    rel = rel_arr.take(pa.array(row[b]))
    with_rel = pc.binary_join_element_wise("base_model:", rel, ":", ref, "")
    base_tags = pc.if_else(pa.array(bare[b]), pc.binary_join_element_wise("base_model:", ref, ""), with_rel)
    plain = tpl.vocab.take(pa.array(code[~is_base]))
    order = np.empty(len(code), dtype=np.int64)
    order[~is_base] = np.arange(len(plain))
    order[b] = len(plain) + np.arange(len(b))
    values = one(pa.concat_arrays([one(plain), one(base_tags).cast(pa.string())]).take(pa.array(order)))
    off = np.concatenate([[0], np.cumsum(np.bincount(row, minlength=n))]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(off), values, mask=pa.array(tpl.tag_null[tmpl]))


# --------------------------------------------------------------------------- snapshots

def month_starts(end: str, months: int) -> list[dt.date]:
    """The 1st of the ``months`` months ending with the month of ``end``."""
    e = dt.date.fromisoformat(end)
    idx = e.year * 12 + e.month - 1
    return [dt.date(i // 12, i % 12 + 1, 1) for i in range(idx - months + 1, idx + 1)]


def snapshot_day(first: dt.date, end: str, seed: int = 0) -> dt.date:
    """The date of the snapshot of the month beginning ``first``: the 1st, or a day or two off
    (the newest snapshot is on the 1st)."""
    if first == dt.date.fromisoformat(end).replace(day=1):
        return first
    rng = np.random.default_rng([seed, 23, first.year, first.month])
    return first + dt.timedelta(days=int(rng.choice(DAY_OFFSETS, p=DAY_P)))


def is_stale(first: dt.date, end: str) -> bool:
    e = dt.date.fromisoformat(end)
    back = (e.year * 12 + e.month) - (first.year * 12 + first.month)
    return back >= STALE_FIRST and (back - STALE_FIRST) % STALE_MONTHS == 0


def plan(end: str, months: int, seed: int = 0) -> list[tuple[dt.date, bool]]:
    """(date, stale) of each snapshot of the ``months``-month series ending at ``end``."""
    return [(snapshot_day(first, end, seed), is_stale(first, end)) for first in month_starts(end, months)]


def alltime(pop: Population, at: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """All-time downloads of models ``rows`` at times ``at`` (0 before creation; never decreasing)."""
    age = np.maximum((at - pop.created[rows]).astype(np.float64), 0) / 86400 / 365.25
    return np.floor(np.minimum(pop.k[rows] * age ** pop.beta[rows], 1e15)).astype(np.int64)


def snapshot_table(pop: Population, day: dt.date, stale: bool, seed: int = 0) -> pa.Table:
    """The snapshot read on ``day``: the models alive then, under their ids of that day."""
    rng = np.random.default_rng([seed, 29, day.toordinal()])
    t = np.datetime64(day, "s")
    gone = ~np.isnat(pop.vanish_at) & (pop.vanish_at <= t)
    rows = np.flatnonzero((pop.created < t) & ~gone & (rng.random(len(pop.created)) >= ABSENT))
    read = np.full(len(rows), t)
    if stale:  # most counters fall back to a cached reading of STALE_LAG_DAYS before
        old = t - np.timedelta64(STALE_LAG_DAYS, "D")
        lag = (rng.random(len(rows)) < STALE_SHARE) & (pop.created[rows] < old)
        read[lag] = old
    at = alltime(pop, read, rows)
    d30 = at - alltime(pop, read - np.timedelta64(30, "D"), rows)
    renamed = pa.array(~np.isnat(pop.renamed_at[rows]) & (pop.renamed_at[rows] <= t))
    take = pa.array(rows)
    static = pop.static.take(take)
    cols = {
        "id": pc.if_else(renamed, pop.new_ids.take(take), pop.ids.take(take)).cast(pa.large_string()),
        "author": pc.if_else(renamed, pop.new_authors.take(take), pop.authors.take(take)).cast(pa.large_string()),
        "createdAt": pa.array(pop.created[rows].astype("datetime64[us]")),
        "downloads": pa.array(d30), "downloadsAllTime": pa.array(at),
        "likes": pa.array(np.floor(np.sqrt(at) * pop.likes[rows]).astype(np.int64)),
        **{c: static.column(c) for c in static.column_names},
    }
    cols["pipeline_tag"] = cols["pipeline_tag"].cast(pa.large_string())
    cols["library_name"] = cols["library_name"].cast(pa.large_string())
    return pa.table({c: cols[c] for c in COLUMNS})


def generate(out: Path, models: int, months: int, end: str, seed: int = 0, real: Path | None = None,
             skip_existing: bool = True, log=None) -> list[Path]:
    """Write the ``months`` snapshots ending at ``end`` into ``out``/DATE/models.parquet; files
    already there are kept (they are the same bytes: a snapshot depends on its date only)."""
    pop = None
    paths = []
    for day, stale in plan(end, months, seed):
        p = Path(out) / day.isoformat() / "models.parquet"
        if not (skip_existing and p.is_file()):
            pop = pop or population(load_templates(real or default_real()), models, end, seed)
            p.parent.mkdir(parents=True, exist_ok=True)
            tmp = p.with_name(".models.parquet.tmp")
            pq.write_table(snapshot_table(pop, day, stale, seed), tmp, compression="zstd")
            os.replace(tmp, p)
            if log:
                log(f"{p} ({p.stat().st_size / 1e6:.0f} MB, {pq.read_metadata(p).num_rows:,} models)")
        paths.append(p)
    return paths


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 2)[2],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=2_200_000, help="population of the newest snapshot (default 2.2 M)")
    ap.add_argument("--months", type=int, default=61, help="snapshots, one a month, ending at --end (default 61)")
    ap.add_argument("--end", default="2026-08-01", help="date of the newest snapshot (default 2026-08-01)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--real", type=Path, default=None, help=f"real hub-stats rows to calibrate on (default: {default_real()})")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    generate(a.out, a.models, a.months, a.end, a.seed, a.real, log=print)


if __name__ == "__main__":
    main()
