"""Snapshot store and dump import on small dumps written by the tests: bad input is refused cleanly."""
from __future__ import annotations

import datetime as dt
import os

import pytest
from click.testing import CliRunner

from atomdata.cli import main
from atomdata.errors import InputError, SnapshotError
from atomdata.ingest import store
from atomdata.ingest.dump import import_dump
from conftest import write_dump

ROWS = [{"id": "Qwen/A", "downloadsAllTime": 10}, {"id": "google/B", "downloadsAllTime": 5}]


def _tree(path):
    return sorted((p.relative_to(path).as_posix(), p.stat().st_size) for p in path.rglob("*")) if path.exists() else []


def test_import_is_immutable_and_idempotent(tmp_path):
    dump = write_dump(tmp_path / "in" / "2026-07-01" / "models.parquet", ROWS)
    raw = tmp_path / "raw"
    snap, created = import_dump(dump, raw)
    assert created and snap.name == "2026-07-01" and snap.manifest["rows"] == 2
    assert (raw / "2026-07-01" / "models.parquet").read_bytes() == dump.read_bytes()
    manifest = (raw / "2026-07-01" / "manifest.json").read_bytes()
    again, created = import_dump(dump, raw)
    assert not created and (raw / "2026-07-01" / "manifest.json").read_bytes() == manifest
    other = write_dump(tmp_path / "other.parquet", ROWS[:1])
    with pytest.raises(SnapshotError, match="never overwritten"):
        import_dump(other, raw, date="2026-07-01")
    snap2, _ = import_dump(other, raw, date="2026-07-01", suffix="trending")
    assert snap2.name == "2026-07-01-trending"
    assert [s.name for s in store.list_snapshots(raw)] == ["2026-07-01", "2026-07-01-trending"]


def test_checksum_checked_on_read(tmp_path):
    dump = write_dump(tmp_path / "2026-07-01" / "models.parquet", ROWS)
    snap, _ = import_dump(dump, tmp_path / "raw")
    data = snap.data_path
    os.chmod(data, 0o644)
    data.write_bytes(data.read_bytes()[:-3] + b"xyz")
    with pytest.raises(SnapshotError, match="does not match manifest"):
        snap.verify()
    data.unlink()
    with pytest.raises(SnapshotError, match="missing"):
        snap.verify()


@pytest.mark.parametrize("case, column, expected", [
    ("missing_id", "id", "required column is missing"),
    ("csv", None, "not a readable parquet file (it looks like CSV"),
    ("empty", None, "file is empty"),
    ("truncated", None, "not a readable parquet file"),
    ("negative", "downloadsAllTime", "negative counts"),
    ("strings", "downloads", "must be integers"),
    ("future", "createdAt", "created after the snapshot date"),
    ("duplicates", "id", "appear more than once with different downloadsAllTime counts"),
])
def test_bad_dumps_are_refused_and_nothing_is_written(tmp_path, case, column, expected):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "2026-07-01" / "models.parquet"
    path.parent.mkdir()
    if case == "missing_id":
        pq.write_table(pa.table({"author": ["a"], "downloads": [1]}), path)
    elif case == "csv":
        path.write_text("id,downloads\nQwen/A,1\n")
    elif case == "empty":
        path.write_bytes(b"")
    elif case == "truncated":
        write_dump(tmp_path / "full.parquet", ROWS)
        path.write_bytes((tmp_path / "full.parquet").read_bytes()[:200])
    elif case == "negative":
        write_dump(path, [{"id": "Qwen/A", "downloadsAllTime": -4}, {"id": "Qwen/B", "downloadsAllTime": 1}])
    elif case == "strings":
        pq.write_table(pa.table({"id": ["Qwen/A"], "downloads": ["12"]}), path)
    elif case == "future":
        write_dump(path, [{"id": "Qwen/A", "createdAt": dt.datetime(2026, 9, 1)}])
    elif case == "duplicates":
        write_dump(path, [{"id": "Qwen/A", "downloadsAllTime": 4}, {"id": "Qwen/A", "downloadsAllTime": 5}])
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "keep.txt").write_text("previous content")
    before = _tree(raw)
    with pytest.raises(InputError) as err:
        import_dump(path, raw)
    msg = str(err.value)
    assert str(path) in msg and expected in msg
    if column:
        assert f"column '{column}'" in msg
    if case in ("negative", "duplicates", "future"):
        assert "row " in msg and "Qwen/A" in msg  # example rows are named
    assert _tree(raw) == before
    # the CLI says the same and exits 1
    res = CliRunner().invoke(main, ["ingest", "dump", str(path), "--raw", str(raw)])
    assert res.exit_code == 1 and expected in res.output
    assert _tree(raw) == before


@pytest.mark.parametrize("bad", ["2026-13-40", "../../etc", "2026-7-1", "20260701", "2026-02-30"])
def test_bad_dates_are_rejected(tmp_path, bad):
    dump = write_dump(tmp_path / "x.parquet", ROWS)
    res = CliRunner().invoke(main, ["ingest", "dump", str(dump), "--date", bad, "--raw", str(tmp_path / "raw")])
    assert res.exit_code == 1 and bad in res.output
    assert not (tmp_path / "raw").exists() or not any((tmp_path / "raw").iterdir())


def test_date_required_when_not_in_path(tmp_path):
    dump = write_dump(tmp_path / "x.parquet", ROWS)
    with pytest.raises(InputError, match="no snapshot date"):
        import_dump(dump, tmp_path / "raw")


def test_bad_suffix_rejected(tmp_path):
    dump = write_dump(tmp_path / "x.parquet", ROWS)
    with pytest.raises(InputError):
        import_dump(dump, tmp_path / "raw", date="2026-07-01", suffix="../evil")


def test_manifest_only_store_is_restored_by_reimport(tmp_path):
    """A fresh clone holds manifests only: importing the same dump puts the data back, other bytes are refused."""
    dump = write_dump(tmp_path / "in" / "2026-07-01" / "models.parquet", ROWS)
    raw = tmp_path / "raw"
    snap, _ = import_dump(dump, raw)
    manifest = (raw / "2026-07-01" / "manifest.json").read_bytes()
    snap.data_path.unlink()
    with pytest.raises(SnapshotError, match="missing"):
        snap.verify()
    other = write_dump(tmp_path / "other" / "2026-07-01" / "models.parquet", ROWS[:1])
    with pytest.raises(SnapshotError, match="never overwritten"):
        import_dump(other, raw)
    assert not snap.data_path.exists()
    again, written = import_dump(dump, raw)
    assert written and again.verify() == snap.data_path
    assert (raw / "2026-07-01" / "manifest.json").read_bytes() == manifest
    assert not [p for p in (raw / "2026-07-01").iterdir() if p.name.startswith(".")]


def test_manifest_date_must_match_folder(tmp_path):
    import json

    dump = write_dump(tmp_path / "2026-07-01" / "models.parquet", ROWS)
    snap, _ = import_dump(dump, tmp_path / "raw")
    m = json.loads((snap.path / "manifest.json").read_text())
    m["date"] = "2026-06-01"
    (snap.path / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(SnapshotError, match="does not match the snapshot folder 2026-07-01"):
        store.list_snapshots(tmp_path / "raw")


def test_store_of_trending_listings_only_is_refused(tmp_path):
    from atomdata.build import build_tables
    from atomdata.errors import AtomdataError

    dump = write_dump(tmp_path / "2026-07-01" / "models.parquet", [{"id": "Qwen/A", "downloads": 3}])
    import_dump(dump, tmp_path / "raw", suffix="trending")
    with pytest.raises(AtomdataError, match="only trending listings"):
        build_tables(tmp_path / "raw")


def test_float_counters_with_nan_are_missing_counts(tmp_path):
    """pandas writes a missing integer as NaN in a float column: a missing count, not an error."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from atomdata.rules.records import load_snapshot
    from atomdata.steps.cache import default_typing

    path = tmp_path / "2026-07-01" / "models.parquet"
    path.parent.mkdir()
    pq.write_table(pa.table({"id": ["Qwen/A", "Qwen/B"], "downloadsAllTime": [4.0, float("nan")]}), path)
    snap, _ = import_dump(path, tmp_path / "raw")
    recs, _ = load_snapshot(snap.data_path, default_typing().model_types)
    assert recs["downloads_all_time"].tolist()[0] == 4 and recs["downloads_all_time"].isna().tolist() == [False, True]
    pq.write_table(pa.table({"id": ["Qwen/A"], "downloadsAllTime": [4.5]}), path)
    with pytest.raises(InputError, match="whole numbers"):
        import_dump(path, tmp_path / "raw2")


def test_date_must_agree_with_the_dump_folder_and_not_be_in_the_future(tmp_path):
    dump = write_dump(tmp_path / "2026-07-01" / "models.parquet", ROWS)
    with pytest.raises(InputError, match="disagrees with the dump's folder date 2026-07-01"):
        import_dump(dump, tmp_path / "raw", date="2026-06-01")
    loose = write_dump(tmp_path / "loose.parquet", ROWS)
    with pytest.raises(InputError, match="in the future"):
        import_dump(loose, tmp_path / "raw", date="2999-01-01")
    with pytest.raises(InputError, match="no such file"):
        import_dump(tmp_path / "missing.parquet", tmp_path / "raw", date="2026-07-01")
    assert not (tmp_path / "raw").exists()


def test_one_bad_dump_among_many_stores_none(tmp_path):
    good = write_dump(tmp_path / "2026-07-01" / "models.parquet", ROWS)
    bad = tmp_path / "2026-08-01" / "models.parquet"
    bad.parent.mkdir()
    bad.write_text("id,downloads\n")
    res = CliRunner().invoke(main, ["ingest", "dump", str(good), str(bad), "--raw", str(tmp_path / "raw")])
    assert res.exit_code == 1 and "not a readable parquet file" in res.output
    assert not (tmp_path / "raw").exists() or not list((tmp_path / "raw").iterdir())


def test_a_batch_with_a_conflicting_dump_stores_none_of_them(tmp_path):
    """`ingest dump` checks every dump before storing any: that includes a dump whose date is
    already a snapshot with other data, and two dumps of the batch for the same date."""
    raw = tmp_path / "raw"
    first = write_dump(tmp_path / "a" / "2026-07-01" / "models.parquet", ROWS)
    import_dump(first, raw)
    before = _tree(raw)
    new = write_dump(tmp_path / "a" / "2026-07-02" / "models.parquet", ROWS)
    other = write_dump(tmp_path / "b" / "2026-07-01" / "models.parquet", ROWS[:1])
    res = CliRunner().invoke(main, ["ingest", "dump", str(new), str(other), "--raw", str(raw)])
    assert res.exit_code == 1 and "already exists with different data" in res.output
    assert _tree(raw) == before  # 2026-07-02 was not stored either
    # two dumps of the same date with different data in one batch
    fresh = tmp_path / "fresh"
    third = write_dump(tmp_path / "c" / "2026-07-03" / "models.parquet", ROWS)
    twin = write_dump(tmp_path / "d" / "2026-07-01" / "models.parquet", ROWS[:1])
    res = CliRunner().invoke(main, ["ingest", "dump", str(third), str(first), str(twin), "--raw", str(fresh)])
    assert res.exit_code == 1 and "would be snapshot 2026-07-01" in res.output and str(twin) in res.output
    assert not fresh.exists() or not any(fresh.iterdir())
    # the same bytes twice are one snapshot, as before
    res = CliRunner().invoke(main, ["ingest", "dump", str(first), str(tmp_path / "a" / "2026-07-01"), "--raw", str(fresh)])
    assert res.exit_code == 0, res.output
    assert [s.name for s in store.list_snapshots(fresh)] == ["2026-07-01"]
