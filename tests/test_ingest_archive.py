"""``atomdata ingest archive`` against a fake archive (tests/fakearchive.py) serving the shared snapshots
as a dataset repo's history. The real huggingface_hub client (HfApi, HfFileSystem, hf_hub_download over
httpx2) talks HTTP to a server on 127.0.0.1; nothing is patched.

The stand-in daily archive: the shared llm-catalog days (2026-03-01, 2026-04-01) as models.csv commits,
then every shared hub-stats day (2026-05-20 to 2026-08-03) as that day's models.parquet commit; the
2026-06-17 and 2026-07-01 commits re-carry the 2026-06-16 file byte for byte.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from atomdata.build import build_tables
from atomdata.cli import main
from atomdata.ingest import archive as a
from atomdata.ingest import archive_read, store
from atomdata.ingest.dump import import_dump

from fakearchive import Commit, FakeArchive, weeks, daily_history, weekly_history
from fakehub import DATA as SHARED  # the full shared series, else the committed fixtures


REPO = "cfahlgren1/hub-stats"
RANGE = ["--since", "2026-02-01", "--until", "2026-08-01"]
FAST = ["--backoff", "0.001"]
STORED = ["2026-03-01", "2026-04-01", "2026-07-02", "2026-08-01"]


@pytest.fixture(scope="module", autouse=True)
def _isolated_hf(tmp_path_factory):
    """No login token, no offline mode, no endpoint from the machine running the tests."""
    keys = ("HF_TOKEN", "HF_HUB_OFFLINE", "HF_ENDPOINT", "HUGGING_FACE_HUB_TOKEN", "HF_HOME")
    saved = {k: os.environ.pop(k) for k in keys if k in os.environ}
    os.environ["HF_HOME"] = str(tmp_path_factory.mktemp("hf_home"))
    yield
    os.environ.pop("HF_HOME", None)
    os.environ.update(saved)


@pytest.fixture(scope="module")
def history():
    return daily_history()


def run(args, expect=0):
    res = CliRunner().invoke(main, ["ingest", "archive", *args], catch_exceptions=False)
    assert res.exit_code == expect, res.output
    return res


def commit_of(fake: FakeArchive, day: str, path="models") -> Commit:
    return next(c for c in fake.commits if c.time.date().isoformat() == day and any(p.startswith(path) for p in c.files))


def data_files(raw: Path) -> dict[str, bytes]:
    return {s.name: s.verify().read_bytes() for s in store.list_snapshots(raw)}


@pytest.fixture(scope="module")
def daily_run(history, tmp_path_factory):
    """A fault-free backfill of 2026-02 .. 2026-08 (commit pages of 10, to page through the history)."""
    raw = tmp_path_factory.mktemp("daily") / "raw"
    with FakeArchive(REPO, history, page_size=10) as fake:
        res = run([*RANGE, "--raw", str(raw), "--endpoint", fake.url, *FAST])
        return raw, fake, res.output


# -- what is stored ---------------------------------------------------------------------------


def test_stores_the_observation_nearest_each_month_boundary(daily_run):
    raw, fake, output = daily_run
    snaps = {s.name: s for s in store.list_snapshots(raw)}
    assert sorted(snaps) == STORED  # none dated 2026-07-01: that commit re-carries the 2026-06-16 file
    for name, s in snaps.items():
        m, c = s.manifest, commit_of(fake, name)
        src = c.files[m["archive"]["path"]]
        assert m["kind"] == "archive" and m["archive"]["commit"] == c.id and m["archive"]["repo"] == REPO
        assert m["archive"]["sha256"] == hashlib.sha256(src).hexdigest() and m["archive"]["size"] == len(src)
        assert m["archive"]["commit_time"] == c.time.isoformat().replace("+00:00", "Z")
        assert m["archive"]["observed"] == m["date"] == name and m["license"] == "apache-2.0"
        assert m["sha256"] == hashlib.sha256(s.data_path.read_bytes()).hexdigest()
    assert snaps["2026-07-02"].manifest["archive"]["boundary"] == "2026-07-01"
    assert snaps["2026-03-01"].manifest["archive"]["path"] == "models.csv"
    # the commit dated 2026-07-01 is in the archive, but carries bytes first seen on 2026-06-16
    assert commit_of(fake, "2026-07-01").files["models.parquet"] == commit_of(fake, "2026-06-16").files["models.parquet"]
    for day in ("2026-02-01", "2026-05-01", "2026-06-01"):
        assert f"{day}: no observation within 3 days" in output
    assert "2026-06-01: no observation within 3 days in cfahlgren1/hub-stats (nearest: 2026-06-05, 4 days after)" in output


def test_a_parquet_snapshot_is_the_needed_columns_of_the_source_file(daily_run):
    raw, fake, _ = daily_run
    snap = store.find(raw, "2026-07-02")
    m = snap.manifest
    source = pq.read_table(SHARED / "hub-stats" / "2026-07-02" / "models.parquet")
    assert m["archive"]["source_fields"] == source.column_names
    assert "lastModified" in source.column_names and "lastModified" not in m["fields"]  # the build never reads it
    stored = pq.read_table(snap.data_path)
    assert stored.equals(source.select(stored.column_names))
    assert "column subset" in m["archive"]["stored"] and m["archive"]["sha256"] in m["source"]
    # read by range requests: every GET of the file asked for a byte range
    gets = [r for p, r in fake.ranges if p == "models.parquet"]
    assert gets and all(r and r.startswith("bytes=") for r in gets)


def test_a_csv_era_file_is_read_whole_and_stored_with_its_30_day_counters(daily_run):
    raw, fake, _ = daily_run
    snap = store.find(raw, "2026-03-01")
    src = pq.read_table(SHARED / "llm-catalog" / "2026-03-01" / "models.parquet")
    stored = pq.read_table(snap.data_path)
    assert snap.manifest["archive"]["format"] == "csv" and "downloadsAllTime" not in stored.column_names
    assert stored.column("id").to_pylist() == src.column("id").to_pylist()
    assert stored.column("downloads").to_pylist() == src.column("downloads").to_pylist()
    assert ("models.csv", None) in fake.ranges  # the whole file, one GET


def test_july_equals_a_build_from_the_dumps_and_february_march_come_from_30_day_counters(daily_run, tmp_path):
    raw, _, _ = daily_run
    dumps = tmp_path / "raw"
    for d in ("2026-07-02", "2026-08-01"):
        import_dump(SHARED / "hub-stats" / d / "models.parquet", dumps)
    got, want = build_tables(raw).tables, build_tables(dumps).tables
    cols = ["month", "model_id", "downloads", "method", "start_snapshot", "end_snapshot", "all_time_end"]
    july = [t["model_downloads_monthly"].astype({"month": "string", "model_id": "string"}).query("month == '2026-07'")[cols]
            .reset_index(drop=True) for t in (got, want)]
    start = pq.read_table(SHARED / "hub-stats" / "2026-07-02" / "models.parquet", columns=["id", "downloadsAllTime"]).to_pandas()
    end = pq.read_table(SHARED / "hub-stats" / "2026-08-01" / "models.parquet", columns=["id", "downloadsAllTime"]).to_pandas()
    both = start.dropna().merge(end.dropna(), on="id")
    assert len(july[0]) == len(both) > 2000  # every model read on both days (no 2026-07-02 reading is stale)
    pd.testing.assert_frame_equal(july[0], july[1], check_categorical=False)
    by_country = [t["downloads_by_country"].query("month == '2026-07'").reset_index(drop=True) for t in (got, want)]
    pd.testing.assert_frame_equal(by_country[0], by_country[1])
    mdm = got["model_downloads_monthly"].astype({"month": "string", "method": "string"})
    early = mdm[mdm["month"].isin(["2026-02", "2026-03"])]
    assert set(early["month"]) == {"2026-02", "2026-03"} and set(early["method"]) == {"rolling_30d"}


# -- resumable, idempotent, robust ----------------------------------------------------------


def test_a_second_run_downloads_nothing(daily_run):
    raw, fake, _ = daily_run
    before = data_files(raw)
    with FakeArchive(REPO, fake.commits) as again:
        res = run([*RANGE, "--raw", str(raw), "--endpoint", again.url])
        assert again.body_bytes == 0 and not again.ranges
        assert not [p for p in again.paths if "/resolve/" in p or "paths-info" in p]  # file infos come from the cache
    assert data_files(raw) == before
    assert res.output.count("stored already") == 4


def test_faults_are_retried_and_store_the_same_bytes(daily_run, tmp_path):
    raw, fake, _ = daily_run
    with FakeArchive(REPO, fake.commits, fault_rate=0.3, fault_kinds=("429", "500", "drop", "ratelimit"), seed=3) as bad:
        res = run([*RANGE, "--raw", str(tmp_path / "raw"), "--endpoint", bad.url, *FAST, "--retries", "12"])
        kinds = {k for _, k in bad.faulted}
    assert {"429", "500"} <= kinds
    assert data_files(tmp_path / "raw") == data_files(raw)
    assert " 0 retries" not in res.output and "rate-limited" in res.output


def test_retries_are_bounded_and_the_run_can_be_continued(daily_run, tmp_path):
    raw, fake, _ = daily_run
    # the first file read meets a wall of 500s: the run stops with a clear message, keeps nothing half-written
    with FakeArchive(REPO, fake.commits, fault_rate=1.0, fault_kinds=("500",)) as bad:
        res = run([*RANGE, "--raw", str(tmp_path / "raw"), "--endpoint", bad.url, *FAST, "--retries", "2"], expect=1)
    assert "gave up after 3 attempts (last: HTTP 500)" in res.output and "run the command again" in res.output
    assert not list((tmp_path / "raw").glob(".tmp-*"))
    with FakeArchive(REPO, fake.commits) as good:
        run([*RANGE, "--raw", str(tmp_path / "raw"), "--endpoint", good.url, "--resume"])
    assert data_files(tmp_path / "raw") == data_files(raw)


def test_a_killed_run_resumes_to_the_same_bytes(daily_run, tmp_path):
    raw, fake, _ = daily_run
    box = {}

    def kill_at_second_parquet(n):  # SIGKILL in the middle of reading the 2026-08-01 file
        if len([p for p in fake_k.paths if p.endswith("/models.parquet") and "/resolve/" in p]) == 4 and "proc" in box:
            os.kill(box["proc"].pid, signal.SIGKILL)

    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    with FakeArchive(REPO, fake.commits, hook=kill_at_second_parquet) as fake_k:
        cmd = [sys.executable, "-m", "atomdata.cli", "ingest", "archive", *RANGE, "--raw", str(tmp_path / "raw"),
               "--endpoint", fake_k.url]
        box["proc"] = proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.communicate(timeout=120)
        assert proc.returncode == -9
    partial = data_files(tmp_path / "raw")
    assert set(partial) < set(STORED) and "2026-08-01" not in partial
    with FakeArchive(REPO, fake.commits) as again:
        run([*RANGE, "--raw", str(tmp_path / "raw"), "--endpoint", again.url, "--resume"])
    assert data_files(tmp_path / "raw") == data_files(raw)
    assert not list((tmp_path / "raw").glob(".tmp-*"))  # the killed run's temporary folder is gone


def test_the_token_is_sent_but_never_written(daily_run, tmp_path, monkeypatch):
    secret = "hf_atomdataARCHIVEtoken0123456789"
    monkeypatch.setenv("MY_HUB_TOKEN", secret)
    raw, fake, _ = daily_run
    with FakeArchive(REPO, fake.commits) as ok:
        res = run([*RANGE, "--raw", str(tmp_path / "raw"), "--endpoint", ok.url, "--token-env", "MY_HUB_TOKEN"])
        assert set(ok.auth_headers) == {f"Bearer {secret}"}
    with FakeArchive(REPO, fake.commits, fault_rate=1.0, fault_kinds=("500",)) as bad:
        err = run([*RANGE, "--raw", str(tmp_path / "raw2"), "--endpoint", bad.url, "--token-env", "MY_HUB_TOKEN",
                   *FAST, "--retries", "1"], expect=1)
    written = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]
    assert written and not any(secret.encode() in b for b in written)
    assert secret not in res.output and secret not in err.output


def test_huggingface_hub_reads_hf_endpoint_once_so_the_command_reads_it_when_it_runs(daily_run, tmp_path, monkeypatch):
    import huggingface_hub.constants as c

    raw, fake, _ = daily_run
    with FakeArchive(REPO, fake.commits) as other:
        monkeypatch.setenv("HF_ENDPOINT", other.url)
        assert c.ENDPOINT != other.url  # huggingface_hub's own copy was taken at import
        run(["--since", "2026-07-30", "--until", "2026-08-01", "--raw", str(tmp_path / "raw")])
        assert other.requests > 0
    assert sorted(data_files(tmp_path / "raw")) == ["2026-08-01"]


# -- bad files --------------------------------------------------------------------------------


def _bad_history(history):
    """The daily history plus, on 2026-09-01, 2026-10-01 and 2026-11-01, a truncated file, a file that is
    neither Parquet nor CSV, and a Parquet file without ids; 2026-12-01 is a good file again."""
    good = history[-1].files
    t = pq.read_table(SHARED / "hub-stats" / "2026-08-01" / "models.parquet")
    import io

    noid = io.BytesIO()
    pq.write_table(t.drop_columns(["id"]), noid)
    bad = {"2026-09-01": good["models.parquet"][: len(good["models.parquet"]) // 2],
           "2026-10-01": b"<html><body>502 Bad Gateway</body></html>" * 100,
           "2026-11-01": noid.getvalue(),
           "2026-12-01": (SHARED / "hub-stats" / "2026-08-02" / "models.parquet").read_bytes()}
    extra = [Commit(dt.datetime.fromisoformat(d).replace(hour=5, tzinfo=dt.timezone.utc), f"Update {d}",
                    dict(good, **{"models.parquet": b})) for d, b in bad.items()]
    return history + extra


def test_unreadable_files_are_refused_the_run_goes_on_and_exits_1(history, tmp_path):
    with FakeArchive(REPO, _bad_history(history)) as fake:
        res = run(["--since", "2026-08-01", "--until", "2026-12-01", "--raw", str(tmp_path / "raw"), "--endpoint", fake.url],
                  expect=1)
        ids = {d: commit_of(fake, d).id[:12] for d in ("2026-09-01", "2026-10-01", "2026-11-01")}
    assert sorted(data_files(tmp_path / "raw")) == ["2026-08-01", "2026-12-01"]
    assert not list((tmp_path / "raw").glob(".tmp-*"))
    for d, cid in ids.items():
        assert f"{d}: cfahlgren1/hub-stats@{cid}:models.parquet:" in res.output
    assert "not a readable Parquet file" in res.output and "column 'id': required column is missing" in res.output
    assert "3 of 5 boundaries failed, nothing stored for them: 2026-09-01" in res.output


# -- the weekly archive -----------------------------------------------------------------------


def test_weekly_archive_labels_are_dated_by_the_documented_rule(tmp_path):
    with FakeArchive("hfmlsoc/hub_weekly_snapshots", weekly_history(), license="odbl") as fake:
        res = run(["--repo", "hfmlsoc/hub_weekly_snapshots", "--since", "2026-07-01", "--until", "2026-08-03",
                   "--every", "week", "--raw", str(tmp_path / "raw"), "--endpoint", fake.url])
        head = fake.commits[-1].id
    snaps = {s.name: s.manifest for s in store.list_snapshots(tmp_path / "raw")}
    assert sorted(snaps) == [day for _, day, _ in weeks()]  # label + 6 days, each the Monday boundary's nearest
    for label, day, source in weeks():
        m = snaps[day]
        assert m["archive"]["label"] == label and m["archive"]["observed"] == day and m["license"] == "odbl"
        assert m["archive"]["path"] == f"models/{label}/models.parquet" and m["archive"]["commit"] == head
        assert "label + 6 days" in m["archive"]["observation_rule"]
        src = pq.read_table(SHARED / "hub-stats" / source / "models.parquet")
        stored = pq.read_table(tmp_path / "raw" / day / "models.parquet")
        assert stored.equals(src.select(stored.column_names))
    assert "5 stored" in res.output


# -- pieces -----------------------------------------------------------------------------------


def test_boundaries():
    d = dt.date.fromisoformat
    assert a.boundaries(d("2026-02-01"), d("2026-05-01")) == [d("2026-02-01"), d("2026-03-01"), d("2026-04-01"), d("2026-05-01")]
    assert a.boundaries(d("2026-02-02"), d("2026-04-30")) == [d("2026-03-01"), d("2026-04-01")]
    assert a.boundaries(d("2026-07-01"), d("2026-07-14"), "week") == [d("2026-07-06"), d("2026-07-13")]
    assert len(a.boundaries(d("2026-07-01"), d("2026-07-31"), "day")) == 31


def test_csv_cells_are_conformed_without_a_loop_over_rows():
    t = pa.table({"id": ["a/b", "c/d", "e/f", "g/h"],
                  "tags": ["['transformers', 'license:mit']", '["base_model:x/y"]', "[]", None],
                  "createdAt": ["2024-01-02T03:04:05.000Z", None, "2024-01-03T00:00:00Z", "2024-01-04T00:00:00+00:00"],
                  "baseModels": ["{'models': []}", None, None, None]})
    out, dropped = archive_read.conform(t, "x@1:models.csv")
    assert out.column("tags").to_pylist() == [["transformers", "license:mit"], ["base_model:x/y"], [], None]
    assert out.column("createdAt").type == pa.timestamp("us")
    assert out.column("createdAt")[0].as_py() == dt.datetime(2024, 1, 2, 3, 4, 5)
    assert "baseModels" not in out.column_names and "baseModels" in dropped


def test_help_names_every_option():
    out = CliRunner().invoke(main, ["ingest", "archive", "--help"]).output
    for opt in ("--since", "--until", "--repo", "--raw", "--every", "--tolerance", "--suffix", "--listing", "--license",
                "--resume", "--token-env", "--endpoint", "--retries", "--backoff", "--max-retry-after"):
        assert opt in out


@pytest.mark.parametrize("until", ["2026-03-01", "2026-08-01"])
def test_a_file_read_that_keeps_failing_stops_the_run_cleanly(daily_run, tmp_path, until):
    """Retries exhausted inside hf_hub_download (CSV) or inside pyarrow's range reads (Parquet): the
    transport's error reaches the command as one line, nothing half-written, resumable."""
    raw, fake, _ = daily_run
    since = until[:8] + "01"
    with FakeArchive(REPO, fake.commits, fail_paths="/resolve/") as bad:
        res = run(["--since", since, "--until", until, "--raw", str(tmp_path / "raw"), "--endpoint", bad.url, *FAST,
                   "--retries", "1"], expect=1)
    assert "gave up after 2 attempts (last: HTTP 500)" in res.output and "/resolve/" in res.output
    assert "Traceback" not in res.output and res.output.count("Error:") == 1
    assert [p.name for p in (tmp_path / "raw").iterdir()] == [".cache"]  # the file infos only: no snapshot, no temporary folder


def test_a_killed_runs_temporary_folder_is_removed_by_the_next_run(daily_run, tmp_path):
    raw, fake, _ = daily_run
    stale = store.new_snapshot_dir(tmp_path / "raw", "2026-08-01")
    (stale / a.LOCK).write_text("")
    (stale / "models.parquet").write_bytes(b"half")
    other = store.new_snapshot_dir(tmp_path / "raw", "2026-08-02")  # not ours (no lock file): left alone
    with FakeArchive(REPO, fake.commits) as again:
        run(["--since", "2026-08-01", "--until", "2026-08-01", "--raw", str(tmp_path / "raw"), "--endpoint", again.url])
    assert not stale.exists() and other.exists()
    assert sorted(data_files(tmp_path / "raw")) == ["2026-08-01"]


def test_a_date_taken_by_another_source_is_refused_unless_a_suffix_keeps_them_apart(daily_run, tmp_path):
    raw, fake, _ = daily_run
    import_dump(SHARED / "hub-stats" / "2026-08-01" / "models.parquet", tmp_path / "raw")
    args = ["--since", "2026-08-01", "--until", "2026-08-01", "--raw", str(tmp_path / "raw")]
    with FakeArchive(REPO, fake.commits) as again:
        res = run([*args, "--endpoint", again.url], expect=1)
        assert "snapshot 2026-08-01 exists from another source (dump); store the archive's 2026-08-01 beside it with --suffix" in res.output
        run([*args, "--endpoint", again.url, "--suffix", "hubstats"])
    snaps = {s.name: s for s in store.list_snapshots(tmp_path / "raw")}
    assert sorted(snaps) == ["2026-08-01", "2026-08-01-hubstats"] and "archive" not in snaps["2026-08-01"].manifest


def test_daily_boundaries_store_each_observation_once(daily_run, tmp_path):
    raw, fake, _ = daily_run
    with FakeArchive(REPO, fake.commits) as again:
        res = run(["--since", "2026-07-10", "--until", "2026-07-14", "--every", "day", "--raw", str(tmp_path / "raw"),
                   "--endpoint", again.url])
    # each day's nearest observation within 3 days (ties: the earlier), stored once: on the full series
    # 2026-07-10, -11 and -12 (2026-07-13 and -14 have no commit: 2026-07-12 stands for them)
    days = [dt.date.fromisoformat(p.name) for p in (SHARED / "hub-stats").iterdir() if p.is_dir()]
    nearest = {min((abs((d - b).days), d) for d in days if abs((d - b).days) <= 3)[1].isoformat()
               for b in (dt.date(2026, 7, 10) + dt.timedelta(days=i) for i in range(5))}
    assert sorted(data_files(tmp_path / "raw")) == sorted(nearest) and "2026-07-12" in nearest
    assert "2026-07-13: its nearest observation (2026-07-12" in res.output and "stored already as 2026-07-12" in res.output
