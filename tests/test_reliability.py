"""Reliability (issue 6): faults flagged in data_quality, hostile strings, SIGKILL atomicity, idempotency.

Every input is written by the tests (small dumps in the hub-stats layout); nothing is copied.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from atomdata.tableio import read_csv_typed
from atomdata.build import build, build_tables
from atomdata.errors import InputError
from atomdata.ingest.dump import import_dump
from atomdata.io import neutralise_formulas, to_csv_bytes
from atomdata.schemas import TABLES
from conftest import REPO, write_dump

T0 = dt.datetime(2024, 1, 1)


def _ct(i: int) -> dt.datetime:
    """A distinct creation time per model (so no two unrelated models share a createdAt)."""
    return T0 + dt.timedelta(hours=i)


# --------------------------------------------------------------------------------------------
# 1. faults between snapshots and in lineage -> data_quality rows with the exact text


def _fault_store(tmp_path: Path) -> Path:
    """Four snapshots (07-01, 07-15, 08-01, 09-01) with a model that vanishes and comes back,
    a model missing at a month boundary, two renames, near-miss non-renames and merges."""
    renamed_at = dt.datetime(2025, 3, 4, 5, 6, 7, 123000)
    moved_at = dt.datetime(2025, 2, 1, 10, 0, 0)
    amb_at = dt.datetime(2025, 4, 1, 12, 0, 0)
    stable = [
        {"id": "Qwen/Q1", "createdAt": _ct(1)},
        {"id": "Qwen/Q2", "createdAt": _ct(2)},
        {"id": "meta-llama/L1", "createdAt": _ct(3)},
        {"id": "mistralai/M1", "createdAt": _ct(4)},
        {"id": "nobody/x", "createdAt": _ct(5)},
        {"id": "someone/ft-of-qwen", "base": ["Qwen/Q1"], "createdAt": _ct(6)},
        {"id": "m/merge-mixed", "base": ["Qwen/Q1", "meta-llama/L1"], "relation": "merge", "createdAt": _ct(7)},
        {"id": "m/merge-same", "base": ["Qwen/Q1", "Qwen/Q2"], "relation": "merge", "createdAt": _ct(8)},
        {"id": "m/merge-unknown", "base": ["Qwen/Q1", "nobody/x"], "relation": "merge", "createdAt": _ct(9)},
        {"id": "m/merge-deep", "base": ["someone/ft-of-qwen", "mistralai/M1"], "relation": "merge", "createdAt": _ct(10)},
        {"id": "m/ft-outside", "base": ["ghost/Base"], "createdAt": _ct(11)},
    ]
    back = {"id": "Qwen/Back", "createdAt": _ct(20)}
    hole = {"id": "Qwen/Hole", "createdAt": _ct(21)}
    old_name = {"id": "Qwen/Old-Name", "createdAt": renamed_at}
    new_name = {"id": "Qwen/New-Name", "createdAt": renamed_at.replace(microsecond=999000)}  # same second
    moved_old = {"id": "someone/Cool-7B", "createdAt": moved_at}
    moved_new = {"id": "newhome/Cool-7B", "createdAt": moved_at}
    deleted = {"id": "Qwen/Deleted", "createdAt": _ct(30)}
    unrelated = {"id": "Qwen/Unrelated", "createdAt": _ct(30) + dt.timedelta(seconds=1)}  # one second off
    amb = [{"id": "amb/a", "createdAt": amb_at}, {"id": "amb/b", "createdAt": amb_at}]
    amb_new = {"id": "amb/c", "createdAt": amb_at}  # two candidates: ambiguous, not a rename
    other_new = {"id": "y/bar", "createdAt": _ct(40)}
    other_old = {"id": "x/foo", "createdAt": _ct(40)}  # same createdAt, new namespace and new name
    days = {
        "2026-07-01": stable + [back, hole, old_name, moved_old, deleted, *amb, other_old],
        "2026-07-15": stable + [hole, old_name, moved_new, deleted, *amb, other_old],
        "2026-08-01": stable + [back, new_name, moved_new, unrelated, amb_new, other_new],
        "2026-09-01": stable + [back, hole, new_name, moved_new, unrelated, amb_new, other_new],
    }
    raw = tmp_path / "raw"
    for i, (day, rows) in enumerate(days.items()):
        rows = [dict(r, downloadsAllTime=100 * (i + 1), downloads=7) for r in rows]
        import_dump(write_dump(tmp_path / "dumps" / day / "models.parquet", rows), raw)
    return raw


@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    res = build_tables(_fault_store(tmp_path_factory.mktemp("faults")))
    dq = res.tables["data_quality"]
    return res, dq


def _rows(dq, kind):
    return dq[dq["kind"] == kind].set_index("model_id")


def test_model_that_disappears_and_comes_back(faults):
    res, dq = faults
    miss = _rows(dq, "model_missing")
    assert sorted(miss.index) == ["Qwen/Back", "Qwen/Hole"]
    b = miss.loc["Qwen/Back"]
    assert (b["snapshot"], b["org"], b["value"]) == ("2026-07-15", "Qwen", 1.0)
    assert b["detail"] == "absent from 1 snapshot(s) (2026-07-15), present before and again in 2026-08-01"
    assert b["action"].startswith("no reading invented")
    h = miss.loc["Qwen/Hole"]
    assert (h["snapshot"], h["value"]) == ("2026-08-01", 1.0)
    pm = res.tables["model_downloads_monthly"]
    # Back is in both July boundary snapshots: measured normally; Hole lacks the 2026-08-01
    # boundary reading, so July has no row for it (nothing interpolated) and August falls back
    # to its 30-day counter at 2026-09-01 (June, like every model's, is measured by the first
    # snapshot's 30-day counter: 2026-07-01 ends June)
    back = pm[pm["model_id"] == "Qwen/Back"].set_index("month")
    assert back.loc["2026-07", "downloads"] == 200 and back.loc["2026-07", "method"] == "all_time_diff"
    hole = pm[pm["model_id"] == "Qwen/Hole"].set_index("month")
    assert list(hole.index) == ["2026-06", "2026-08"] and set(hole["method"]) == {"rolling_30d"}
    assert hole.loc["2026-08", "downloads"] == 7
    assert (pm["downloads"] >= 0).all()


def test_renamed_repos_are_flagged_one_to_one(faults):
    res, dq = faults
    ren = _rows(dq, "renamed")
    assert sorted(ren.index) == ["Qwen/New-Name", "newhome/Cool-7B"]
    n = ren.loc["Qwen/New-Name"]
    assert (n["snapshot"], n["org"]) == ("2026-08-01", "Qwen") and pd.isna(n["value"])
    assert n["detail"] == "same model as Qwen/Old-Name (last seen in 2026-07-15): same createdAt 2025-03-04T05:06:07, same namespace"
    m = ren.loc["newhome/Cool-7B"]
    assert m["snapshot"] == "2026-07-15"
    assert m["detail"] == ("same model as someone/Cool-7B (last seen in 2026-07-01): same createdAt 2025-02-01T10:00:00, "
                           "same repo name, new namespace")
    assert n["action"].startswith("kept as two separate models")
    # the action is what happens: July spans the rename, so the new id counts its 30-day counter
    pm = res.tables["model_downloads_monthly"].set_index(["month", "model_id"])
    assert pm.loc[("2026-07", "Qwen/New-Name"), "method"] == "rolling_30d"
    assert pm.loc[("2026-07", "Qwen/New-Name"), "downloads"] == 7
    assert ("2026-07", "Qwen/Old-Name") not in pm.index
    # near misses are not renames: one second apart, ambiguous matches, new namespace and new name
    assert not {"Qwen/Unrelated", "amb/c", "y/bar"} & set(ren.index)
    assert set(res.tables["models"]["model_id"]) >= {"Qwen/Old-Name", "Qwen/New-Name"}


def test_merge_with_bases_from_different_regions(faults):
    res, dq = faults
    mix = _rows(dq, "merge_mixed_roots")
    assert sorted(mix.index) == ["m/merge-deep", "m/merge-mixed"]  # same region / unknown base: not flagged
    r = mix.loc["m/merge-mixed"]
    assert (r["org"], r["value"]) == ("Qwen", 2.0)
    assert r["detail"] == "roots of the 2 declared bases lie in regions us, china; first base's root Qwen/Q1 (china)"
    assert r["action"].startswith("attributed to the root of the first declared base")
    assert mix.loc["m/merge-deep", "detail"] == "roots of the 2 declared bases lie in regions china, eu; first base's root Qwen/Q1 (china)"
    d = res.tables["derivatives"].set_index("model_id")
    assert d.loc["m/merge-mixed", "root_region"] == "china" and d.loc["m/merge-mixed", "n_bases"] == 2
    assert d.loc["m/merge-deep", "root_model_id"] == "Qwen/Q1" and d.loc["m/merge-deep", "depth"] == 2


def test_base_not_in_the_snapshots(faults):
    res, dq = faults
    out = _rows(dq, "lineage_outside_snapshot")
    assert list(out.index) == ["m/ft-outside"]
    r = out.loc["m/ft-outside"]
    assert (r["org"], r["value"], r["detail"]) == ("ghost", 1.0, "chain leaves the snapshots at ghost/Base")
    d = res.tables["derivatives"].set_index("model_id").loc["m/ft-outside"]
    assert (d["root_model_id"], d["lineage_status"], d["root_region"]) == ("ghost/Base", "outside_snapshot", "unknown")


# --------------------------------------------------------------------------------------------
# 2. hostile strings: ingest refuses them as ids (not Hub repo ids); ids of a store filled before
#    that check (or by hand) still go through build -> CSV -> read_csv_typed unchanged, and neutralised

HOSTILE = [
    "acme/a,b,c", 'acme/say "hi"', "acme/it's", "acme/'=quoted-already", "acme/''double",
    "=cmd/calc", "+plus/x", "-minus/x", "@at/x", "=HYPERLINK(\"http://x\",\"y\")/z",
    "Qwen/Qwen3-ünïcödé", "月之暗面/Kimi-模型", "acme/emoji-🤖", "acme/rtl-\u202eevil", "acme/e\u0301-combining",
    "'lead/quote", "acme/trailing ", "acme/semi;colon", "acme/pipe|tab",
]


def _store_unchecked(dump: Path, raw: Path, day: str) -> None:
    """Put a dump into the store as it is, with no check (as a store filled by an older atomdata holds it)."""
    import shutil

    from atomdata.ingest import store

    tmp = store.new_snapshot_dir(raw, day)
    shutil.copyfile(dump, tmp / store.DATA_FILE)
    fields = ["author", "baseModels", "createdAt", "downloads", "downloadsAllTime", "id", "library_name", "likes",
              "pipeline_tag", "safetensors", "tags"]
    store.commit_snapshot(tmp, raw, day, {"name": day, "date": day, "kind": "dump", "source": "hand-made", "license": None,
                                          "rows": len(pd.read_parquet(dump)), "data_file": store.DATA_FILE, "fields": fields})


def test_hostile_strings_round_trip_unchanged_and_are_neutralised(tmp_path):
    rows = [{"id": h, "downloadsAllTime": 10 + i, "createdAt": _ct(i)} for i, h in enumerate(HOSTILE)]
    rows.append({"id": "=evil/ft", "base": ["+plus/x"], "createdAt": _ct(99), "downloadsAllTime": 1,
                 "library_name": "=lib", "pipeline_tag": "text-generation"})
    raw = tmp_path / "raw"
    for i, day in enumerate(("2026-07-01", "2026-08-01")):
        later = [dict(r, downloadsAllTime=r["downloadsAllTime"] * (i + 1)) for r in rows]
        dump = write_dump(tmp_path / "d" / day / "models.parquet", later)
        with pytest.raises(InputError, match="not a Hub repo id"):  # ingest refuses every one of them
            import_dump(dump, tmp_path / "checked")
        _store_unchecked(dump, raw, day)
    out = tmp_path / "processed"
    res = build(raw, out)
    ids = set(HOSTILE) | {"=evil/ft"}
    for name in TABLES:
        back = read_csv_typed(out / f"{name}.csv", name)
        orig = res.tables[name].reset_index(drop=True)
        assert list(back.columns) == list(orig.columns)
        for col in orig.columns:
            a, b = orig[col], back[col]
            if pd.api.types.is_float_dtype(a.dtype):
                assert ((a.astype("Float64") - b.astype("Float64")).abs().fillna(0) < 1e-9).all(), (name, col)
            elif pd.api.types.is_datetime64_any_dtype(a.dtype):
                assert (a.dt.normalize().fillna(pd.Timestamp(0)) == b.fillna(pd.Timestamp(0))).all(), (name, col)
            else:
                assert a.astype("string").fillna("<NA>").tolist() == b.astype("string").fillna("<NA>").tolist(), (name, col)
    models = read_csv_typed(out / "models.csv", "models")
    assert set(models["model_id"]) == ids
    d = read_csv_typed(out / "derivatives.csv", "derivatives").set_index("model_id")
    assert d.loc["=evil/ft", "base_model_id"] == "+plus/x" and d.loc["=evil/ft", "root_org"] == "+plus"
    assert set(read_csv_typed(out / "model_downloads_monthly.csv", "model_downloads_monthly")["model_id"]) == ids
    # spreadsheet safety: no cell of any CSV starts with a formula character
    for name in TABLES:
        raw_cells = pd.read_csv(out / f"{name}.csv", dtype="string", keep_default_na=False)
        for col in raw_cells.columns:
            text_col = pd.api.types.is_string_dtype(res.tables[name][col].dtype) or res.tables[name][col].dtype == object
            if text_col:
                starts = raw_cells[col].str.slice(0, 1)
                assert not starts.isin(["=", "+", "-", "@", "\t", "\r"]).any(), (name, col)
    text = (out / "models.csv").read_text(encoding="utf-8")
    assert "'=cmd/calc" in text and "'+plus/x" in text and "'-minus/x" in text and "'@at/x" in text
    assert "''=quoted-already" not in text  # only the first character matters
    assert "\"''lead/quote\"" in text or "''lead/quote" in text  # a leading quote is doubled, so it survives the reader


def test_neutralise_formulas_keeps_numbers_and_only_touches_text():
    df = pd.DataFrame({"t": pd.array(["=1+1", "-x", "ok", "'kept", None], dtype="string"),
                       "n": pd.array([-1, 2, 3, -4, None], dtype="Int64"), "f": [-1.5, 0.0, 1.0, 2.0, None]})
    got = neutralise_formulas(df)
    assert got["t"].tolist()[:4] == ["'=1+1", "'-x", "ok", "''kept"] and pd.isna(got["t"].iloc[4])
    assert got["n"].tolist()[:4] == [-1, 2, 3, -4] and got["f"].iloc[0] == -1.5
    assert to_csv_bytes(df).decode().splitlines()[1] == "'=1+1,-1,-1.5"


def test_csv_layer_round_trips_newlines_and_control_characters(tmp_path):
    """Ids with control characters never pass the dump importer (below), but the CSV layer
    still round-trips them: a newline or tab inside a cell can never split a row."""
    ids = ["a/line\nbreak", "a/cr\rlf", "a/tab\tx", "\tlead/tab", "a/\"\n\"mixed,\n"]
    df = pd.DataFrame({"kind": "x", "snapshot": None, "month": None, "model_id": ids, "org": "a",
                       "value": [1.0, None, -2.0, 0.5, 3.0], "detail": ids, "action": "=SUM(A1)"})
    path = tmp_path / "data_quality.csv"
    path.write_bytes(to_csv_bytes(df))
    back = read_csv_typed(path, "data_quality")
    assert back["model_id"].tolist() == ids and back["detail"].tolist() == ids
    assert (back["action"] == "=SUM(A1)").all()
    assert len(back) == len(ids)


@pytest.mark.parametrize("bad", ["acme/new\nline", "acme/nul\x00", "acme/cr\r", "acme/esc\x1b[31m", "acme/tab\t", "acme/del\x7f", "acme/c1\x85"])
def test_importer_rejects_control_characters_in_ids(tmp_path, bad):
    """Decision: no Hub repo id can hold a control character, so a dump with one is corrupt and
    refused, naming the file, the id column and the row (the id printed with escapes)."""
    path = write_dump(tmp_path / "2026-07-01" / "models.parquet", [{"id": "ok/fine"}, {"id": bad}])
    raw = tmp_path / "raw"
    with pytest.raises(InputError) as err:
        import_dump(path, raw)
    msg = str(err.value)
    assert str(path) in msg and "column 'id'" in msg and "control characters" in msg and "row 1" in msg
    assert repr(bad) in msg and "\n  examples" in msg and msg.count("\n") == 1  # escaped: the message stays on its lines
    assert not raw.exists() or not any(p for p in raw.iterdir() if not p.name.startswith("."))


# --------------------------------------------------------------------------------------------
# 3. atomicity: SIGKILL a build subprocess at random moments, 50 times in a row


def _digest(folder: Path, dp: Path) -> dict:
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())} if folder.is_dir() else None
    return {"tables": files, "datapackage": hashlib.sha256(dp.read_bytes()).hexdigest() if dp.exists() else None}


def _small_rows(scale: int):
    return [
        {"id": "Qwen/Q1", "downloadsAllTime": 100 * scale, "downloads": 10, "createdAt": _ct(1)},
        {"id": "meta-llama/L1", "downloadsAllTime": 300 * scale, "downloads": 30, "createdAt": _ct(2)},
        {"id": "someone/ft", "downloadsAllTime": 5 * scale, "base": ["Qwen/Q1"], "createdAt": _ct(3)},
        {"id": "nobody/orig", "downloadsAllTime": 50 * scale, "createdAt": _ct(4)},
    ]


#: a build subprocess that imports first, says "ready", and runs `atomdata build ARGS` when told
#: to (the same as `python -m atomdata.cli build ...`; importing writes nothing, so the kill
#: window starts when the build proper starts and the next worker can import meanwhile)
WORKER = ("import sys, atomdata.cli as cli; sys.stdout.write('ready\\n'); sys.stdout.flush(); "
          "sys.stdin.readline(); cli.main(args=sys.argv[1:], prog_name='atomdata')")


def test_sigkill_during_build_leaves_old_or_new_outputs(tmp_path):
    dumps = tmp_path / "dumps"
    stores = {"A": tmp_path / "rawA", "B": tmp_path / "rawB"}
    for i, day in enumerate(("2026-07-01", "2026-08-01", "2026-09-01")):
        d = write_dump(dumps / day / "models.parquet", _small_rows(i + 1))
        import_dump(d, stores["B"])
        if i < 2:
            import_dump(d, stores["A"])
    site = tmp_path / "site"
    # `build --out` writes the tables and their datapackage.json into one folder, replaced in one step
    out = site / "processed"
    dp = out / "datapackage.json"
    scratch = tmp_path / "tmp"  # the builds' system temporary space (their workspaces)
    scratch.mkdir()
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""), TMPDIR=str(scratch))

    def spawn(key):
        proc = subprocess.Popen([sys.executable, "-c", WORKER, "build", "--raw", str(stores[key]), "--out", str(out)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path)
        return proc

    def go(proc):
        assert proc.stdout.readline() == b"ready\n"
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
        return time.monotonic()

    known, durations = {}, []
    for key in ("B", "A"):  # the complete outputs of each store; ends with A's in place
        proc = spawn(key)
        t = go(proc)
        assert proc.wait(timeout=120) == 0
        durations.append(time.monotonic() - t)
        known[key] = _digest(out, dp)
    assert known["A"]["tables"] != known["B"]["tables"] and known["A"]["datapackage"] != known["B"]["datapackage"]
    assert set(known["A"]["tables"]) == {f"{n}.csv" for n in TABLES} | {"datapackage.json"}
    full = min(durations)  # the first build of each store also fills its record cache
    rng = random.Random(6)
    current, outcomes = "A", {"killed": 0, "finished": 0}
    # a warm worker per store, so the next worker has imported while the current one builds
    warm = {k: [spawn(k)] for k in stores}
    target = "B"
    for i in range(50):
        proc = warm[target].pop(0)
        warm[target].append(spawn(target))
        # uniform over the whole build (import done), up to its usual end
        delay = rng.uniform(0, full)
        t = go(proc)
        time.sleep(max(0.0, delay - (time.monotonic() - t)))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            outcomes["killed"] += 1
        else:
            outcomes["finished"] += 1
        proc.wait()
        now = _digest(out, dp)
        assert now["tables"] in (known["A"]["tables"], known["B"]["tables"]), f"half-written tables after run {i}"
        assert now["datapackage"] in (known["A"]["datapackage"], known["B"]["datapackage"]), f"half-written datapackage.json after run {i}"
        # the descriptor always belongs to the tables beside it
        assert (now["tables"] == known["A"]["tables"]) == (now["datapackage"] == known["A"]["datapackage"]), f"mixed outputs after run {i}"
        # temp folders/files may be left behind, but only hidden ones; no visible partial output
        assert sorted(p.name for p in site.iterdir() if not p.name.startswith(".")) == ["processed"]
        assert not [p for p in out.iterdir() if p.name.startswith(".")]
        current = "A" if now["tables"] == known["A"]["tables"] else "B"
        # the next build always aims at the other outputs, so every kill can catch a change
        target = "B" if current == "A" else "A"
    for p in warm["A"] + warm["B"]:
        p.kill()
        p.wait()
    assert outcomes["killed"] >= 15, (outcomes, durations)  # the test is not vacuous
    # a killed build leaves its workspace (GBs at Hub scale); the next build removes what is left
    proc = spawn(target)
    go(proc)
    assert proc.wait(timeout=120) == 0
    assert not list(scratch.glob("atomdata-build-*"))


# --------------------------------------------------------------------------------------------
# 4. idempotency: the same inputs twice give byte-identical snapshots, tables, manifests, figures


def _tree_bytes(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)}


def test_ingest_build_publish_twice_is_byte_identical(tmp_path):
    from atomdata.publish.datapackage import write_datapackage
    from atomdata.publish.figures import make_figures
    from atomdata.publish.release import make_release

    dumps = [write_dump(tmp_path / "dumps" / day / "models.parquet", _small_rows(i + 1))
             for i, day in enumerate(("2026-07-01", "2026-08-01"))]
    runs = []
    for run in ("one", "two"):
        root = tmp_path / run
        for d in dumps:
            import_dump(d, root / "raw", source="test dump", license="Apache-2.0")
        res = build(root / "raw", root / "processed")
        write_datapackage(res, root / "processed", root)
        make_figures(root / "processed", root / "figures")
        make_release(root, root / "dist")
        runs.append(_tree_bytes(root))
    one, two = runs
    assert sorted(one) == sorted(two)
    assert any(k.startswith("raw/") and k.endswith("manifest.json") for k in one)
    assert any(k.startswith("processed/") for k in one) and "datapackage.json" in one
    for k in one:
        assert one[k] == two[k], k
    # and building again into the same folder changes nothing
    before = _tree_bytes(tmp_path / "one" / "processed")
    build(tmp_path / "one" / "raw", tmp_path / "one" / "processed")
    assert _tree_bytes(tmp_path / "one" / "processed") == before


@pytest.mark.parametrize("repeated", ["new", "known"])
def test_a_stored_snapshot_listing_a_model_twice_is_refused_by_name(tmp_path, repeated):
    """The build codes each snapshot's ids as its own dictionary (the import checks that a dump
    lists each model once); a store filled without that check, holding a repeated id (one new to
    the history, or one an earlier snapshot listed), fails naming the snapshot's file, and the
    previous tables stay."""
    from atomdata.errors import SnapshotError

    rows = [{"id": f"acme/m{i}", "downloadsAllTime": 10 + i, "createdAt": _ct(i)} for i in range(4)]
    raw = tmp_path / "raw"
    _store_unchecked(write_dump(tmp_path / "d1" / "models.parquet", rows), raw, "2026-07-01")
    out = tmp_path / "processed"
    build(raw, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    twice = "acme/m1" if repeated == "known" else "acme/new"
    later = rows + [{"id": twice, "downloadsAllTime": 99, "createdAt": _ct(7)}] * (1 if repeated == "known" else 2)
    _store_unchecked(write_dump(tmp_path / "d2" / "models.parquet", later), raw, "2026-08-01")
    with pytest.raises(SnapshotError, match=r"2026-08-01.*lists a model id more than once"):
        build(raw, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
