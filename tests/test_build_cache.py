"""The per-snapshot cache (transform/cache.py): a warm build writes exactly what a cold one does."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from atomdata.build import build
from atomdata.ingest.dump import import_dump


def _tables(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))}


def test_warm_build_is_byte_identical_and_reuses_claims(tmp_path, data_root):
    raw = tmp_path / "raw"
    for d in ("2026-07-01", "2026-08-01"):
        import_dump(data_root / "hub-stats" / d / "models.parquet", raw)
    import_dump(data_root / "hub-trending" / "2026-05-04" / "models.parquet", raw, suffix="trending")
    build(raw, tmp_path / "cold")
    done = sorted((raw / ".cache").glob("claims-*.done"))
    assert len(done) == 3  # one entry of claims rows per snapshot
    assert len(list((raw / ".cache").glob("claims-*-trend.parquet"))) == 1
    build(raw, tmp_path / "warm")
    assert _tables(tmp_path / "cold") == _tables(tmp_path / "warm")
    # a damaged entry is recomputed, never trusted
    for p in (raw / ".cache").glob("claims-*-org.parquet"):
        p.write_bytes(b"not parquet")
    build(raw, tmp_path / "damaged")
    assert _tables(tmp_path / "cold") == _tables(tmp_path / "damaged")


def test_claims_cache_key_follows_the_registry(tmp_path, data_root):
    from atomdata.rules.organizations import load_registry
    from atomdata.steps.cache import default_typing
    from atomdata.steps.claims_cache import claims_key as key_of

    def claims_key(reg, info):
        return key_of(reg, info, default_typing())

    reg = load_registry()
    info = {"date": pd.Timestamp("2026-07-01"), "has_trending": False, "listing": "sample", "tree_coverage": "sample"}
    assert claims_key(reg, info) == claims_key(reg.copy(), dict(info))
    changed = reg.copy()
    changed.iloc[0, changed.columns.get_loc("country")] = "ZZ"
    assert claims_key(changed, info) != claims_key(reg, info)
    assert claims_key(reg, {**info, "tree_coverage": "full listing"}) != claims_key(reg, info)


def test_claims_cache_key_follows_its_own_code_not_the_rest_of_the_cache(tmp_path, monkeypatch):
    """An edit to the code that lays out the claims entries makes new keys; an edit to the rest
    of the cache (``steps/cache.py``) does not recompute every snapshot's claims rows."""
    from atomdata.rules.organizations import load_registry
    from atomdata.steps import cache, claims_cache

    reg, typing = load_registry(), cache.default_typing()
    info = {"date": pd.Timestamp("2026-07-01"), "listing": "sample"}
    before = claims_cache.claims_key(reg, info, typing)
    edited = tmp_path / "edited.py"
    edited.write_text(Path(cache.__file__).read_text() + "\n# an edit\n")
    monkeypatch.setattr(cache, "__file__", str(edited))
    assert claims_cache.claims_key(reg, info, typing) == before
    edited.write_text(Path(claims_cache.__file__).read_text() + "\n# an edit\n")
    monkeypatch.setattr(claims_cache, "__file__", str(edited))
    assert claims_cache.claims_key(reg, info, typing) != before


def test_cold_snapshots_typed_in_worker_processes_give_the_same_tables(tmp_path, data_root, monkeypatch):
    """Hub-sized cold snapshots are typed two at a time in worker processes (steps.prepare.prepare_snapshots);
    the tables are byte-identical to a build that types them itself, and a snapshot a worker
    cannot read is still reported by the build (nothing swallowed)."""
    import atomdata.steps.history as history_mod
    import atomdata.steps.prepare as prepare_mod

    raw_serial, raw_parallel = tmp_path / "serial", tmp_path / "parallel"
    for raw in (raw_serial, raw_parallel):
        for d in ("2026-07-01", "2026-08-01", "2026-08-03"):
            import_dump(data_root / "hub-stats" / d / "models.parquet", raw)
        import_dump(data_root / "hub-trending" / "2026-05-04" / "models.parquet", raw, suffix="trending")
    build(raw_serial, tmp_path / "out_serial")
    monkeypatch.setattr(prepare_mod, "PARALLEL_MIN_ROWS", 0)  # the shared snapshots are small: make them count
    from atomdata.ingest import store

    prepared = []
    real = prepare_mod.prepare_snapshots
    monkeypatch.setattr(history_mod, "prepare_snapshots", lambda *a, **k: prepared.append(real(*a, **k)) or prepared[-1])
    build(raw_parallel, tmp_path / "out_parallel")
    assert prepared == [({s.name for s in store.list_snapshots(raw_parallel)}, None)]  # every snapshot typed by a worker
    assert _tables(tmp_path / "out_serial") == _tables(tmp_path / "out_parallel")
    build(raw_parallel, tmp_path / "out_warm")
    assert prepared[-1] == (set(), None)  # warm: nothing left to prepare
    assert _tables(tmp_path / "out_serial") == _tables(tmp_path / "out_warm")

    fresh = tmp_path / "fresh"
    for d in ("2026-07-01", "2026-08-01"):
        import_dump(data_root / "hub-stats" / d / "models.parquet", fresh)
    build(fresh, tmp_path / "out_fresh")  # a cold build that goes through the workers
    damaged = store.list_snapshots(fresh)[0].data_path
    damaged.write_bytes(damaged.read_bytes()[:-10] + b"0123456789")
    from atomdata.errors import AtomdataError

    with pytest.raises(AtomdataError, match="sha256|checksum"):
        build(fresh, tmp_path / "out_fresh")
    assert (tmp_path / "out_fresh" / "models.csv").is_file()  # the previous outputs stay


def test_a_store_whose_cache_cannot_be_written_builds_the_same_tables(tmp_path, data_root, monkeypatch):
    """When no cache entry can be written (a read-only store), the build types each snapshot
    itself, holds those frames for its pass, and writes the same tables."""
    from atomdata.steps import cache, claims_cache

    raw = tmp_path / "raw"
    for d in ("2026-07-01", "2026-08-01"):
        import_dump(data_root / "hub-stats" / d / "models.parquet", raw)
    build(raw, tmp_path / "normal")
    import shutil

    shutil.rmtree(raw / ".cache")

    write, written = claims_cache.write_parquet, []

    def refuse(df, path):  # the store is read-only; the build's workspace (system temp) is not
        if raw in Path(path).parents:
            raise OSError("read-only file system")
        written.append(Path(path).name)
        write(df, path)

    for module in (cache, claims_cache):  # the typed records, and the claims rows
        monkeypatch.setattr(module, "write_parquet", refuse)
    build(raw, tmp_path / "readonly")
    assert not list((raw / ".cache").glob("records-*.parquet"))
    assert _tables(tmp_path / "normal") == _tables(tmp_path / "readonly")
    # organization_summary's rows of each snapshot waited in the workspace instead of the cache
    assert sorted(written) == ["org.2026-07-01.parquet", "org.2026-08-01.parquet"]


def test_cache_entries_no_build_uses_go_after_a_day(tmp_path, data_root):
    """Entries of another typing or registry (an upgrade, an edited curated table), of snapshots
    gone from the store and the temporary files of writes cut short would stay for good (GBs at
    Hub scale): a build removes those it did not use once no build has written them for a day.
    Its own entries, younger unused ones (a build of another configuration may be running) and the
    other files of ``.cache`` stay."""
    import os
    import shutil
    import time

    from atomdata.steps.cache import STALE_SECONDS

    raw = tmp_path / "raw"
    for d in ("2026-07-01", "2026-08-01"):
        import_dump(data_root / "hub-stats" / d / "models.parquet", raw)
    build(raw, tmp_path / "first")
    folder = raw / ".cache"
    used = sorted(p.name for p in folder.iterdir())
    records = next(folder.glob("records-*.parquet"))
    old = time.time() - STALE_SECONDS - 60
    made = {}
    for name in ("stale", "young"):
        made[name] = [folder / records.name.replace("records-", f"records-{name}"), folder / f"claims-{name}-org.parquet",
                      folder / f".ids-{name}.rec.npy.4242.tmp"]  # a write cut short
        for p in made[name]:
            shutil.copy(records, p)
            if name == "stale":
                os.utime(p, (old, old))
    other = folder / "lineage-cache.json"  # the hub ingest's, as old as can be
    other.write_text("{}")
    os.utime(other, (old, old))
    for p in folder.iterdir():  # this build's own entries are old too: they are kept for being used
        if p.name in used:
            os.utime(p, (old, old))
    build(raw, tmp_path / "second")
    left = sorted(p.name for p in folder.iterdir())
    # the records of the tables written from parts (``csv_texts.record_written``): used by a build
    # writing over that file only, so the first build's go with the stale entries
    from atomdata.steps.csv_texts import written_path

    kept = ("model_downloads_monthly.csv", "organization_summary.csv")
    records = [written_path(folder, (tmp_path / build_ / name).stat()).name for build_ in ("first", "second") for name in kept]
    assert set(records[:2]) <= set(used) and not set(records[2:]) & set(used)
    assert left == sorted([n for n in used if n not in records[:2]] + records[2:] + [p.name for p in made["young"]] + [other.name])
    assert _tables(tmp_path / "first") == _tables(tmp_path / "second")


def test_id_codes_of_the_months_before_are_read_back_when_a_month_is_added(tmp_path, data_root, monkeypatch):
    """The model id and namespace codes of each main snapshot are cached under a key chaining the
    snapshots up to it (``cache.id_chain``): a month added to a built store codes only that month,
    the entries of the months before stay as written, and the tables are those of a build that
    codes every month afresh; a damaged entry is coded anew, never trusted."""
    import numpy as np

    from atomdata.steps import cache

    raw, days = tmp_path / "raw", ("2026-07-01", "2026-08-01", "2026-08-03")
    for d in days[:2]:
        import_dump(data_root / "hub-stats" / d / "models.parquet", raw)
    build(raw, tmp_path / "two")
    folder = raw / ".cache"
    before = {p.name: p.stat().st_mtime_ns for p in folder.glob("ids-*")}
    # codes of records, edges and namespaces, a month each; the two vocabularies after the last
    assert len(before) == 6 and len(list(folder.glob("vocab-*"))) == 2

    import_dump(data_root / "hub-stats" / days[2] / "models.parquet", raw)
    coded, store_ids = [], cache.store_ids
    monkeypatch.setattr(cache, "store_ids", lambda snap, key, **a: coded.append((snap.name, sorted(a))) or store_ids(snap, key, **a))
    build(raw, tmp_path / "added")
    assert coded == [(days[2], ["edge", "org", "rec"]), (days[2], ["orgvocab", "vocab"])]
    assert {p.name: p.stat().st_mtime_ns for p in folder.glob("ids-*") if p.name in before} == before

    fresh = tmp_path / "fresh"
    for d in days:
        import_dump(data_root / "hub-stats" / d / "models.parquet", fresh)
    build(fresh, tmp_path / "afresh")
    assert _tables(tmp_path / "added") == _tables(tmp_path / "afresh")

    for part in ("rec", "org"):
        coded.clear()
        first = sorted(folder.glob(f"ids-*.{part}.npy"))[0]
        np.save(first, np.full(3, 10**9, dtype=np.int32))  # codes beyond the vocabulary
        build(raw, tmp_path / f"damaged-{part}")
        assert [name for name, parts in coded if parts == ["edge", "org", "rec"]] == list(days)
        assert _tables(tmp_path / f"damaged-{part}") == _tables(tmp_path / "afresh")


def test_snapshots_read_narrow_give_the_tables_of_whole_reads(tmp_path, data_root, monkeypatch):
    """A later build reads a main snapshot narrow (counters and dates of every model, their
    namespaces as the cached codes; whole records only of the models the next snapshot does not
    list, cached by the build before): the tables are byte-identical to those of the first build,
    which read every snapshot whole. (A later build that finds the pass's state resumes past them,
    ``pass_state``: here the state is removed, as another version of atomdata would not find it.)
    Real rows: models taken out of the later snapshots, for good (their latest record is the first
    or the second snapshot's) or for one snapshot only."""
    import pyarrow.parquet as pq

    from atomdata.steps import cache

    raw, days = tmp_path / "raw", ("2026-07-01", "2026-08-01", "2026-08-03")
    first = pq.read_table(data_root / "hub-stats" / days[0] / "models.parquet")
    ids = first.column("id").to_pylist()
    # gone after the first snapshot, missing from the second only, gone after the second
    gone, back, later = set(ids[:40:2]), set(ids[1:40:2]), set(ids[40:50])
    for d, drop in zip(days, (set(), gone | back, gone | later)):
        t = pq.read_table(data_root / "hub-stats" / d / "models.parquet")
        keep = [i not in drop for i in t.column("id").to_pylist()]
        (tmp_path / "dumps" / d).mkdir(parents=True)
        pq.write_table(t.filter(keep), tmp_path / "dumps" / d / "models.parquet")
        import_dump(tmp_path / "dumps" / d / "models.parquet", raw)
    build(raw, tmp_path / "whole")
    for p in (raw / ".cache").glob("state-*.pkl"):
        p.unlink()
    read, load_leavers = [], cache.load_leavers
    monkeypatch.setattr(cache, "load_leavers", lambda *a: read.append(load_leavers(*a)) or read[-1])
    build(raw, tmp_path / "narrow")
    assert [len(r[0]) for r in read] == [40, 10]  # the models each snapshot's next one does not list
    assert _tables(tmp_path / "whole") == _tables(tmp_path / "narrow")
    models = pd.read_csv(tmp_path / "narrow" / "models.csv")
    assert set(models.loc[models["model_id"].isin(gone), "last_seen"]) == {days[0]}
    assert set(models.loc[models["model_id"].isin(later), "last_seen"]) == {days[1]}


def test_a_month_backfilled_before_others_recodes_those_after_it(tmp_path, data_root):
    """The archive backfill adds months before the newest: the id codes of every month after the
    one inserted are keyed by a chain that now holds it, so they are coded anew, as is the pair
    of months it falls between; the tables are those of a build of the three months from scratch."""
    raw, days = tmp_path / "raw", ("2026-07-01", "2026-08-01", "2026-08-03")
    for d in (days[0], days[2]):
        import_dump(data_root / "hub-stats" / d / "models.parquet", raw)
    build(raw, tmp_path / "gap")
    build(raw, tmp_path / "gap-warm")  # reads the first month narrow, its next one the third
    import_dump(data_root / "hub-stats" / days[1] / "models.parquet", raw)
    build(raw, tmp_path / "filled")
    build(raw, tmp_path / "filled-warm")
    fresh = tmp_path / "fresh"
    for d in days:
        import_dump(data_root / "hub-stats" / d / "models.parquet", fresh)
    build(fresh, tmp_path / "afresh")
    assert _tables(tmp_path / "filled") == _tables(tmp_path / "afresh") == _tables(tmp_path / "filled-warm")
    assert _tables(tmp_path / "gap") == _tables(tmp_path / "gap-warm") != _tables(tmp_path / "afresh")


#: three shared snapshots: a store built over the first two, then the third added
ADDED_DAYS = ("2026-07-01", "2026-08-01", "2026-08-03")


def _serial_build(tmp_path, data_root) -> Path:
    """The tables of a build that types every one of ``ADDED_DAYS`` itself (no worker)."""
    serial = tmp_path / "serial"
    for d in ADDED_DAYS:
        import_dump(data_root / "hub-stats" / d / "models.parquet", serial)
    build(serial, tmp_path / "out_serial")
    return tmp_path / "out_serial"


def _forget_month(raw, snap) -> None:
    """Make ``snap`` cold again: its cache entries and the id codes (read from its data file then)."""
    for p in (raw / ".cache").glob("*"):
        if snap.sha256[:32] in p.name or p.name.startswith(("ids-", "vocab-")):
            p.unlink()


def test_a_single_cold_snapshot_is_typed_beside_the_pass(tmp_path, data_root, monkeypatch):
    """A month added to a built store (the one Hub-sized snapshot not cached) is typed in a worker
    process while the pass reads the others (``prepare.Preparing``; its ids come from its data
    file meanwhile): the tables are those of a build that types it itself, and a damaged data
    file is still reported by name, the previous outputs left as they were."""
    import atomdata.steps.history as history_mod
    import atomdata.steps.prepare as prepare_mod
    from atomdata.errors import AtomdataError
    from atomdata.ingest import store

    days = ADDED_DAYS
    serial = _serial_build(tmp_path, data_root)

    monkeypatch.setattr(prepare_mod, "PARALLEL_MIN_ROWS", 0)  # the shared snapshots are small: make them count
    prepared, real = [], prepare_mod.prepare_snapshots
    monkeypatch.setattr(history_mod, "prepare_snapshots", lambda *a, **k: prepared.append(real(*a, **k)) or prepared[-1])
    raw = tmp_path / "raw"
    for d in days[:2]:
        import_dump(data_root / "hub-stats" / d / "models.parquet", raw)
    build(raw, tmp_path / "out")
    import_dump(data_root / "hub-stats" / days[2] / "models.parquet", raw)
    build(raw, tmp_path / "out")
    done, beside = prepared[-1]
    assert done == set() and beside is not None and beside.name == days[2]
    assert _tables(serial) == _tables(tmp_path / "out")

    before = _tables(tmp_path / "out")
    _forget_month(raw, store.find(raw, days[2]))
    damaged = store.find(raw, days[2]).data_path
    damaged.write_bytes(damaged.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(AtomdataError, match="sha256"):
        build(raw, tmp_path / "out")
    assert prepared[-1][1] is not None and _tables(tmp_path / "out") == before


@pytest.mark.parametrize("claims", ["made by the worker", "failed in the worker"])
def test_the_pass_takes_the_records_of_a_month_typed_beside_it_before_its_claims_rows(tmp_path, data_root, monkeypatch, claims):
    """The worker typing a month beside the pass (``prepare.Preparing``) reports its records
    cached before it makes the month's claims rows, so the pass reads the records while those are
    made: here the claims rows wait until the records have been reported. Where the worker fails
    at the claims rows, the pass makes them itself. Either way the tables are a serial build's."""
    import time

    import atomdata.steps.prepare as prepare_mod
    from atomdata.steps import claims_cache
    from atomdata.steps.context import open_context

    days = ADDED_DAYS
    serial = _serial_build(tmp_path, data_root)
    raw = tmp_path / "raw"
    for d in days[:2]:
        import_dump(data_root / "hub-stats" / d / "models.parquet", raw)
    build(raw, tmp_path / "out")
    import_dump(data_root / "hub-stats" / days[2] / "models.parquet", raw)
    flag, real = tmp_path / "records-reported", prepare_mod.snapshot_claims

    def claims_after_the_records(*a, **k):  # in the worker (forked: the patch holds there)
        for _ in range(600):
            if flag.exists():
                break
            time.sleep(0.1)
        if claims == "failed in the worker":
            raise RuntimeError("claims rows not made")
        return real(*a, **k)

    monkeypatch.setattr(prepare_mod, "snapshot_claims", claims_after_the_records)
    ctx = open_context(raw)
    snap = ctx.snaps[-1]
    ckey = claims_cache.claims_key(ctx.registry, ctx.snapinfo.set_index("snapshot").loc[snap.name].to_dict(), ctx.typing)
    beside = prepare_mod.Preparing(snap, ctx.snapinfo, ctx.registry, ctx.typing)
    try:
        assert beside.records() and not claims_cache.has_claims(snap, ckey)
        flag.touch()
        assert beside.wait() is (claims == "made by the worker")
        assert claims_cache.has_claims(snap, ckey) is (claims == "made by the worker")
    finally:
        beside.close()

    _forget_month(raw, snap)  # cold again, for the build
    flag.unlink()
    monkeypatch.setattr(prepare_mod, "PARALLEL_MIN_ROWS", 0)  # the shared snapshots are small: make them count
    import atomdata.steps.history as history_mod

    later, take = [], history_mod._Pass._later_claims

    def at_the_end_of_the_pass(self):  # the worker's claims rows are let go only once the pass has taken the rest
        later.append(self.later[0].name)
        flag.touch()
        return take(self)

    monkeypatch.setattr(history_mod._Pass, "_later_claims", at_the_end_of_the_pass)
    build(raw, tmp_path / "out")
    assert later == [days[2]]
    assert _tables(serial) == _tables(tmp_path / "out")


def test_the_csv_text_of_tables_parts_is_kept_by_what_they_are_a_function_of(tmp_path, monkeypatch):
    """The tables kept in parts write each part's CSV text into the cache (``steps.csv_texts``):
    the monthly table's months, keyed by the readings up to each month's end (``steps.downloads``),
    and the organization summary's snapshots, by their claims entry. A warm build formats no part;
    a build that adds the next month's snapshot formats only the month it ends (the one before
    ended with the snapshot before, within the tolerance) and that snapshot's organization rows;
    the tables are those of a build from scratch. A damaged entry is formatted anew, never
    trusted. Five monthly snapshots of the benchmark's generator (real rows' shapes; the shared
    series measures one month only)."""
    import sys

    import pyarrow as pa

    from atomdata.steps import csv_texts
    from testdata import REPO

    sys.path.insert(0, str(REPO / "benchmarks"))
    import history

    dumps = history.generate(tmp_path / "dumps", 2000, 5, "2026-08-01")
    raw = tmp_path / "raw"
    for p in dumps[:4]:
        import_dump(p, raw)
    formatted, store = [], csv_texts.store_text
    monkeypatch.setattr(csv_texts, "store_text", lambda path, f, start: formatted.append((Path(f.name).stem, path.name)) or store(path, f, start))
    build(raw, tmp_path / "four")
    months = pd.read_csv(tmp_path / "four" / "model_downloads_monthly.csv")["month"].unique()
    assert len(months) == 4  # the first snapshot's 30-day counters measure the month before it
    assert sorted(t for t, _ in formatted) == ["model_downloads_monthly"] * 4 + ["organization_summary"] * 4
    first = {p.name for p in (raw / ".cache").glob("text-*")}
    assert first == {name for _, name in formatted}

    formatted.clear()
    build(raw, tmp_path / "warm")
    assert formatted == [] and _tables(tmp_path / "warm") == _tables(tmp_path / "four")

    import_dump(dumps[4], raw)
    build(raw, tmp_path / "added")
    assert sorted(t for t, _ in formatted) == ["model_downloads_monthly", "organization_summary"]
    assert {p.name for p in (raw / ".cache").glob("text-*")} - first == {name for _, name in formatted}
    fresh = tmp_path / "fresh"
    for p in dumps:
        import_dump(p, fresh)
    build(fresh, tmp_path / "afresh")
    assert _tables(tmp_path / "added") == _tables(tmp_path / "afresh")

    # entries of another number of lines, or not zstd at all: formatted anew
    entries = sorted(first)[:2]
    with pa.output_stream(str(raw / ".cache" / entries[0]), compression="zstd") as out:
        out.write(b"2026-05,x/y,1,all_time_diff,2026-05-01,2026-06-01,1,\n")
    (raw / ".cache" / entries[1]).write_bytes(b"not zstd")
    formatted.clear()
    build(raw, tmp_path / "damaged")
    assert sorted(name for _, name in formatted) == entries
    assert _tables(tmp_path / "damaged") == _tables(tmp_path / "afresh")


def test_a_table_written_over_the_last_build_copies_the_parts_they_share_from_it(tmp_path, monkeypatch):
    """A table kept in parts is recorded as written (``csv_texts.record_written``: its parts' text
    names and ends, by the file's identity), and the next build into the same folder copies the
    leading parts the two share from the file it replaces: adding a month copies the months and
    snapshots before from the last build's files, reads no cached text and formats only the new
    parts; the tables are those of a build from scratch. A file changed since it was written
    (another modification time or size) is not copied from; nor is a folder no build of this
    store wrote."""
    import os
    import sys

    from atomdata.steps import csv_texts
    from testdata import REPO

    sys.path.insert(0, str(REPO / "benchmarks"))
    import history

    dumps = history.generate(tmp_path / "dumps", 2000, 5, "2026-08-01")
    raw, out = tmp_path / "raw", tmp_path / "out"
    for p in dumps[:4]:
        import_dump(p, raw)
    build(raw, out)
    kept = ("model_downloads_monthly.csv", "organization_summary.csv")
    records = {p.name for p in (raw / ".cache").glob("written-*.json")}
    assert records == {csv_texts.written_path(raw / ".cache", (out / name).stat()).name for name in kept}

    copied, read, formatted = [], [], []
    copy_prefix, copy_text, store_text = csv_texts.copy_prefix, csv_texts.copy_text, csv_texts.store_text
    monkeypatch.setattr(csv_texts, "copy_prefix", lambda src, f, n: copied.append((src.name, n)) or copy_prefix(src, f, n))
    monkeypatch.setattr(csv_texts, "copy_text", lambda path, f, rows: copy_text(path, f, rows) and (read.append(path.name) or True))
    monkeypatch.setattr(csv_texts, "store_text", lambda path, f, start: formatted.append(Path(f.name).name) or store_text(path, f, start))
    before = {name: (out / name).read_bytes() for name in kept}
    import_dump(dumps[4], raw)
    build(raw, out)
    # the whole of each file before is the added build's prefix: its months and snapshots, as they were
    assert sorted(copied) == sorted((name, len(before[name])) for name in kept)
    assert all((out / name).read_bytes().startswith(before[name]) for name in kept)
    assert read == [] and sorted(formatted) == sorted(kept)
    fresh = tmp_path / "fresh"
    for p in dumps:
        import_dump(p, fresh)
    build(fresh, tmp_path / "afresh")
    assert _tables(out) == _tables(tmp_path / "afresh")

    # the monthly file changed since it was written: its parts come from the cache, not from it
    st = (out / kept[0]).stat()
    os.utime(out / kept[0], ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    copied.clear(), read.clear(), formatted.clear()
    build(raw, out)
    assert [name for name, _ in copied] == [kept[1]] and len(read) == 5 and formatted == []
    assert _tables(out) == _tables(tmp_path / "afresh")
    # a folder this store's builds never wrote: nothing is copied from it
    copied.clear()
    build(raw, tmp_path / "afresh")
    assert copied == [] and _tables(out) == _tables(tmp_path / "afresh")


@pytest.mark.parametrize("kernel", [True, False])
def test_a_prefix_is_copied_whole_or_not_at_all(tmp_path, monkeypatch, kernel):
    """``csv_texts.copy_prefix`` copies the leading bytes of a file in the kernel, or in blocks
    where ``os.copy_file_range`` is missing; a file shorter than asked leaves the target empty."""
    import os

    from atomdata.steps import csv_texts

    if not kernel:
        monkeypatch.delattr(os, "copy_file_range", raising=False)
    monkeypatch.setattr(csv_texts, "COPY_BYTES", 1000)  # several blocks
    src = tmp_path / "src.csv"
    src.write_bytes(bytes(range(256)) * 40)
    with open(tmp_path / "to.csv", "w+b") as f:
        assert csv_texts.copy_prefix(src, f, 5000)
        f.write(b"after")
    assert (tmp_path / "to.csv").read_bytes() == src.read_bytes()[:5000] + b"after"
    with open(tmp_path / "short.csv", "w+b") as f:
        assert not csv_texts.copy_prefix(src, f, 20000)
        assert f.tell() == 0
        f.write(b"x")
    assert (tmp_path / "short.csv").read_bytes() == b"x"


def test_the_rows_of_months_walked_before_are_read_back(tmp_path, monkeypatch):
    """A month's rows are kept in the cache by what they are a function of (the readings up to its
    end, ``downloads._MonthKeys``, and the main snapshots that number its models,
    ``cache.id_chain``): a warm build walks no month, a build that adds the next month's snapshot
    walks only the month it ends, a month backfilled in the middle makes the months after it
    walked again, and a damaged entry is walked anew, never trusted; the tables are always those
    of a build from scratch. Five monthly snapshots of the benchmark's generator."""
    import sys

    from atomdata.steps import downloads
    from testdata import REPO

    sys.path.insert(0, str(REPO / "benchmarks"))
    import history

    dumps = history.generate(tmp_path / "dumps", 2000, 5, "2026-08-01")
    fresh = tmp_path / "fresh"
    for p in dumps:
        import_dump(p, fresh)
    build(fresh, tmp_path / "afresh")
    want = _tables(tmp_path / "afresh")

    walked, read = [], []
    store, load = downloads._MonthRows.store, downloads._MonthRows.load
    monkeypatch.setattr(downloads._MonthRows, "store", lambda self, path, rows: walked.append(path.name) or store(self, path, rows))
    monkeypatch.setattr(downloads._MonthRows, "load", lambda self, path, t: read.append(path.name) or load(self, path, t))

    raw = tmp_path / "raw"
    for p in dumps[:4]:
        import_dump(p, raw)
    build(raw, tmp_path / "four")
    assert len(walked) == 4 and not read  # the first snapshot's 30-day counters measure the month before it
    assert {p.name for p in (raw / ".cache").glob("rows-*")} == set(walked)
    walked.clear()
    build(raw, tmp_path / "warm")
    assert not walked and len(read) == 4 and _tables(tmp_path / "warm") == _tables(tmp_path / "four")

    walked.clear(), read.clear()
    import_dump(dumps[4], raw)
    build(raw, tmp_path / "added")
    assert len(walked) == 1 and len(read) == 4
    assert _tables(tmp_path / "added") == want

    # damaged: not a zip, and codes beyond the models: every month walked again
    entries = sorted((raw / ".cache").glob("rows-*"))
    entries[0].write_bytes(b"not a zip")
    with np.load(entries[1]) as z:
        rows = dict(z)
    rows["model"] = rows["model"] + 10**6
    with open(entries[1], "wb") as f:
        np.savez(f, **rows)
    walked.clear()
    build(raw, tmp_path / "damaged")
    assert len(set(walked)) == 5 and _tables(tmp_path / "damaged") == want

    # a month backfilled in the middle: the months after it are walked again (their models renumbered)
    gap = tmp_path / "gap"
    for i in (0, 1, 3, 4):
        import_dump(dumps[i], gap)
    build(gap, tmp_path / "gap-out")
    walked.clear(), read.clear()
    import_dump(dumps[2], gap)
    build(gap, tmp_path / "filled")
    assert _tables(tmp_path / "filled") == want
    assert len(walked) >= 2 and len(walked) + len(read) == 5


def test_the_pass_resumes_at_the_state_a_build_before_left(tmp_path, data_root, monkeypatch):
    """The pass caches its state after the last main snapshot (``pass_state``: running maximum,
    presence, repeated counters, the latest records of the models gone before it, every reading
    kept): a build over the same snapshots and more resumes there and reads only what follows
    (and, of the snapshot it resumes at, the records of the models the next one does not list).
    Built a month at a time, the tables are byte for byte those of one build of every month, over
    real snapshots whose counters repeat an earlier one (2026-06-05), whose file is another's
    (2026-06-17), whose counters fell back (2026-08-03) and with models gone for good, missing
    from one snapshot, or back after the state was taken. A state that does not load, or whose
    readings are gone, is never trusted: the pass starts from the first snapshot."""
    import pyarrow.parquet as pq

    from atomdata.steps import cache, history

    days = ("2026-05-20", "2026-06-05", "2026-06-16", "2026-06-17", "2026-08-01", "2026-08-03")
    ids = pq.read_table(data_root / "hub-stats" / days[0] / "models.parquet").column("id").to_pylist()
    # gone after the first snapshot; missing from the third only; missing from the fifth only
    drop = {days[2]: set(ids[1:40:2]), days[4]: set(ids[40:60])}
    drop = {d: set(ids[:40:2]) | drop.get(d, set()) for d in days[1:]}
    dumps = []
    for d in days:
        t = pq.read_table(data_root / "hub-stats" / d / "models.parquet")
        if d in drop:
            t = t.filter([i not in drop[d] for i in t.column("id").to_pylist()])
        (tmp_path / "dumps" / d).mkdir(parents=True)
        pq.write_table(t, tmp_path / "dumps" / d / "models.parquet")
        dumps.append(tmp_path / "dumps" / d / "models.parquet")
    fresh = tmp_path / "fresh"
    for p in dumps:
        import_dump(p, fresh)
    build(fresh, tmp_path / "afresh")
    want = _tables(tmp_path / "afresh")

    resumed, restore = [], history._Pass._restore
    monkeypatch.setattr(history._Pass, "_restore", lambda self, state, j: resumed.append(j) or restore(self, state, j))
    taken, load_columns = [], cache.load_columns
    monkeypatch.setattr(cache, "load_columns", lambda snap, *a: taken.append(snap.name) or load_columns(snap, *a))
    raw = tmp_path / "raw"
    import_dump(dumps[0], raw)
    build(raw, tmp_path / "one")
    assert resumed == [] and len(list((raw / ".cache").glob("state-*.pkl"))) == 1
    for i, p in enumerate(dumps[1:], start=1):
        resumed.clear(), taken.clear()
        import_dump(p, raw)
        build(raw, tmp_path / f"to-{i}")
        assert resumed == [i - 1] and taken == []  # no snapshot before the new one read for its counters
    assert _tables(tmp_path / "to-5") == want
    resumed.clear()
    build(raw, tmp_path / "warm")
    assert resumed == [5] and _tables(tmp_path / "warm") == want

    newest = max((raw / ".cache").glob("state-*.pkl"), key=lambda p: p.stat().st_mtime_ns)
    others = [p for p in (raw / ".cache").glob("state-*.pkl") if p != newest]
    for p in others:
        p.unlink()
    newest.write_bytes(b"not a pickle")
    resumed.clear()
    build(raw, tmp_path / "damaged")
    assert resumed == [] and _tables(tmp_path / "damaged") == want
    next(iter((raw / ".cache").glob("pass-*.at.npy"))).unlink()  # a reading the state counts on
    resumed.clear()
    build(raw, tmp_path / "no-reading")
    assert resumed == [] and _tables(tmp_path / "no-reading") == want


def test_parts_from_the_cache_were_validated_by_the_build_that_kept_them(tmp_path, monkeypatch):
    """A month's rows are kept in the cache only once the month has passed validation, and a
    snapshot's organization text only once the table has passed and is written: a part read back
    under the same key (the same rows under the same schemas: the key holds atomdata's source)
    is not validated again. A warm build validates no part, adding a month's snapshot validates
    that month and that snapshot's rows; a part that failed is kept by nothing, so the next build
    validates it again. Five monthly snapshots of the benchmark's generator."""
    import sys

    from atomdata.errors import ValidationFailed
    from atomdata.steps import claims, downloads
    from testdata import REPO

    sys.path.insert(0, str(REPO / "benchmarks"))
    import history

    dumps = history.generate(tmp_path / "dumps", 2000, 5, "2026-08-01")
    raw = tmp_path / "raw"
    for p in dumps[:4]:
        import_dump(p, raw)
    seen, fail = [], set()

    def counting(module):
        real = module.validate_table

        def validate(name, df, **kw):
            part = df["month"].iloc[0] if name == "model_downloads_monthly" else kw.get("where")
            seen.append((name, part))
            if (name, part) in fail:
                raise ValidationFailed(f"{name}: {part} refused by the test")
            return real(name, df, **kw)
        monkeypatch.setattr(module, "validate_table", validate)
    counting(downloads), counting(claims)

    def validated(table):
        return sorted(part for name, part in seen if name == table)

    # a month and a snapshot's organization rows refused: the build fails, and neither is kept
    fail.update({("model_downloads_monthly", "2026-06"), ("organization_summary", f"snapshot {dumps[3].parent.name}")})
    with pytest.raises(ValidationFailed):
        build(raw, tmp_path / "refused")
    assert not (tmp_path / "refused").exists()
    assert not list((raw / ".cache").glob("text-*"))  # no table was written: no organization text kept
    months = validated("model_downloads_monthly")
    assert months == ["2026-03", "2026-04", "2026-05", "2026-06"]
    assert len(list((raw / ".cache").glob("rows-*"))) == 3  # all but the refused month

    fail.clear(), seen.clear()
    build(raw, tmp_path / "four")
    # the refused month walked and validated again (the others read back); every snapshot's rows validated
    assert validated("model_downloads_monthly") == ["2026-06"] and len(validated("organization_summary")) == 4
    seen.clear()
    build(raw, tmp_path / "warm")
    assert seen == [] and _tables(tmp_path / "warm") == _tables(tmp_path / "four")

    import_dump(dumps[4], raw)
    build(raw, tmp_path / "added")
    assert len(validated("model_downloads_monthly")) == 1 and validated("organization_summary") == [f"snapshot {dumps[4].parent.name}"]
    fresh = tmp_path / "fresh"
    for p in dumps:
        import_dump(p, fresh)
    build(fresh, tmp_path / "afresh")
    assert _tables(tmp_path / "added") == _tables(tmp_path / "afresh")
