"""Steps and CSV writes side by side (steps.lanes): the same bytes as one at a time, and what goes
wrong in a worker process reaches the build by name."""
from __future__ import annotations

import gc
import os
import sys

import pytest

from atomdata.build import build, run_steps
from atomdata.errors import InputError, ValidationFailed
from atomdata.ingest.dump import import_dump
from atomdata.steps import lanes as lanes_mod
from atomdata.steps import prepare
from atomdata.steps.lanes import Lanes, WorkerFailed
from atomdata.steps.step import Built, Step
from atomdata.steps.workspace import Workspace

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes are forked on Linux only")


def _tables(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))}


def test_steps_and_writes_side_by_side_give_the_same_bytes(tmp_path, data_root, monkeypatch):
    """A build whose steps go to worker processes and CSV files to a writer process beside them
    (forced here: the shared snapshots are not Hub-sized) writes the same bytes as one that runs
    them one at a time."""
    raw = tmp_path / "raw"
    for d in ("2026-07-01", "2026-08-01"):
        import_dump(data_root / "hub-stats" / d / "models.parquet", raw)
    import_dump(data_root / "hub-trending" / "2026-05-04" / "models.parquet", raw, suffix="trending")
    build(raw, tmp_path / "one_at_a_time")
    started = []
    real_start = Lanes.start
    monkeypatch.setattr(Lanes, "start", lambda self, key, fn, kwargs, writing=False: started.append((getattr(key, "name", key), writing))
                        or real_start(self, key, fn, kwargs, writing))
    monkeypatch.setattr(prepare, "PARALLEL_MIN_ROWS", 0)
    res = build(raw, tmp_path / "side_by_side")
    assert _tables(tmp_path / "one_at_a_time") == _tables(tmp_path / "side_by_side")
    # the steps after the pass went to workers (the pass reports progress: it runs in the build's process)
    steps, writes = {k for k, w in started if not w}, {k for k, w in started if w}
    assert {"models", "derivatives", "model_downloads_monthly", "organization_summary"} <= steps
    assert "history" not in steps
    assert writes == {f"{name}.csv" for name in res.tables}  # and every CSV was written by the writer beside them
    # the monthly table came back from its worker over the build's own workspace, still there
    monthly = res.tables.stored("model_downloads_monthly")
    assert monthly.workspace.path.is_dir() and len(monthly.to_frame()) == len(monthly)


def _two(second):
    """Steps ready at once: the first two go to workers (the last runs in process), the second ``second``."""
    return (Step("first", lambda: Built("one"), ()), Step("second", second, ()), Step("third", lambda: Built("three"), ()))


def test_an_error_in_a_worker_is_raised_in_the_build_as_it_was(tmp_path):
    def bad_input():
        raise InputError(tmp_path / "organizations.csv", "not a country code", column="country", examples=["row 3: XX"])

    with pytest.raises(InputError) as got:
        run_steps({}, _two(bad_input), workers=2)
    assert got.value.column == "country" and "row 3: XX" in str(got.value) and "organizations.csv" in str(got.value)
    with pytest.raises(ValidationFailed, match="models: 2 failures"):
        run_steps({}, _two(lambda: (_ for _ in ()).throw(ValidationFailed("models: 2 failures"))), workers=2)

    def a_bug():
        return {}["missing"]

    with pytest.raises(KeyError) as bug:  # an unexpected error keeps where it happened in the worker
        run_steps({}, _two(a_bug), workers=2)
    assert "raised in a worker process" in bug.value.__notes__[0] and "a_bug" in bug.value.__notes__[0]


def test_an_error_that_does_not_pickle_comes_back_as_its_traceback():
    class Local(Exception):  # a class defined in a function cannot be pickled
        pass

    def raises():
        raise Local("the reason")

    with pytest.raises(RuntimeError, match="(?s)Local.*the reason"):
        run_steps({}, _two(raises), workers=2)


def test_a_worker_that_dies_is_named_and_the_other_is_stopped():
    def dies():
        os._exit(3)

    with pytest.raises(WorkerFailed, match="second: its worker process ended without a result .exit code 3"):
        run_steps({}, _two(dies), workers=2)
    assert not [p for p in lanes_mod.multiprocessing.active_children() if p.is_alive()]


def test_a_workspace_made_in_a_worker_is_taken_over_by_the_build():
    """A workspace sent back from a worker is the same folder; the build owns it from then on (it
    goes when the build drops it), and one the build holds comes back as that same object."""
    mine = Workspace()
    with Lanes(2) as lanes:
        lanes.start("made", Workspace, {})
        lanes.start("mine", lambda ws: ws, {"ws": mine})
        got = dict([lanes.wait(), lanes.wait()])
    assert got["mine"] is mine
    made = got.pop("made")
    path = made.path
    assert path.is_dir() and path != mine.path
    assert (path / "owner").read_text().split()[0] == str(os.getpid())  # not the worker's: it has gone
    del made
    gc.collect()
    assert not path.exists()


def test_a_workspace_left_by_a_build_that_died_is_removed_by_the_next(tmp_path, monkeypatch):
    """A killed build cannot remove its workspace (GBs at Hub scale); the next build on the host
    removes those whose process has gone, by their ``owner`` file or, for a build killed before
    writing it or while writing it (an empty file), by their name (host tag and process id), and
    leaves a living build's, another host's (a shared temporary folder) and folders it did not mark."""
    import socket
    import subprocess
    import tempfile

    from atomdata.steps import workspace as ws_mod

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    host, tag = socket.gethostname(), ws_mod._host_tag()
    for name, owner in (("gone", f"{gone.pid} {host}"), ("living", f"{os.getpid()} {host}"),
                        ("elsewhere", f"{gone.pid} not-{host}"), ("unmarked", None),
                        (f"{tag}-{gone.pid}-named", None), (f"{tag}-{os.getpid()}-named", None),
                        (f"zzzzzzzz-{gone.pid}-named", None), (f"{tag}-{gone.pid}-emptyowner", "")):
        (tmp_path / f"atomdata-build-{name}").mkdir()
        if owner is not None:
            (tmp_path / f"atomdata-build-{name}" / "owner").write_text(owner)
    ws = Workspace()
    assert ws.path.parent == tmp_path and (ws.path / "owner").read_text() == f"{os.getpid()} {host}"
    assert ws.path.name.startswith(f"atomdata-build-{tag}-{os.getpid()}-")  # named by its maker from the start
    left = sorted(p.name for p in tmp_path.glob("atomdata-build-*") if p != ws.path)
    assert left == sorted(["atomdata-build-elsewhere", "atomdata-build-living", "atomdata-build-unmarked",
                           f"atomdata-build-{tag}-{os.getpid()}-named", f"atomdata-build-zzzzzzzz-{gone.pid}-named"])
    ws.cleanup()
    assert not ws.path.exists()


@pytest.mark.parametrize("workers", [0, 2])
def test_every_table_that_fails_its_schema_is_reported_together_and_not_written(tmp_path, workers):
    """Each table is validated where it is made; the failures of all tables come together once
    every step has run, in step order, and a failed table is never written."""
    import pandas as pd

    good = pd.DataFrame({"path": ["raw/organizations.csv"], "role": ["organization registry"]})
    steps = (Step("snapshots", lambda: Built(pd.DataFrame({"snapshot": ["2026-07-01"]})), ()),
             Step("other", lambda: Built("an item"), ()),
             Step("curated_inputs", lambda: Built(good), ()),
             Step("organizations", lambda: Built(pd.DataFrame({"org": ["Qwen"]})), ()))
    with pytest.raises(ValidationFailed) as err:
        run_steps({}, steps, workers=workers, write_to=tmp_path)
    msg = str(err.value)
    assert msg.startswith("validation failed:")
    assert "'snapshots'" in msg and "'organizations'" in msg and msg.index("'snapshots'") < msg.index("'organizations'")
    assert not (tmp_path / "snapshots.csv").exists() and not (tmp_path / "organizations.csv").exists()


def test_result_files_left_by_a_build_that_died_are_removed(tmp_path):
    """A task's result file (in shared memory where there is one) is named after the build's
    process: the next build removes those of builds that are gone, and leaves the others."""
    import subprocess

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = tmp_path / f"{lanes_mod.TASK_PREFIX}{dead.pid}-x1.pickle"
    mine = tmp_path / f"{lanes_mod.TASK_PREFIX}{os.getpid()}-x2.pickle"
    other = tmp_path / "someone-else.pickle"
    for p in (left, mine, other):
        p.write_bytes(b"x")
    assert lanes_mod.remove_abandoned(tmp_path) == [left]
    assert not left.exists() and mine.exists() and other.exists()
