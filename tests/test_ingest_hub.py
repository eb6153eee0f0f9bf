"""Live Hub ingestion against a fake Hub (tests/fakehub.py) serving real records from ../shared/data.

The real ``HfApi``/httpx2 client talks HTTP to a server on 127.0.0.1; nothing is patched.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from atomdata.ingest import store
from atomdata.ingest.checkpoint import Checkpoint
from atomdata.ingest.client import HubError
from atomdata.ingest.hub_records import SCHEMA, BadPage, combine, page_table
from atomdata.ingest.listing_client import Client
from atomdata.commands.ingest_hub import hub
from atomdata.rules.organizations import load_registry
from atomdata.rules.records import load_snapshot
from atomdata.steps.cache import default_typing

from fakehub import FAULTS, HUB_STATS, FakeHub, load_records

pytestmark = pytest.mark.skipif(not HUB_STATS.is_file(), reason="shared Hub data not available")

ROOT = Path(__file__).resolve().parents[1]
SMALL_ORGS = ["deepseek-ai", "mistralai", "01-ai"]
DATE = "2026-08-01"
FAST = ["--backoff", "0.001", "--timeout", "5"]


@pytest.fixture(scope="session", autouse=True)
def _isolated_hf(tmp_path_factory):
    """No login token, no offline mode, no endpoint from the machine running the tests."""
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k in ("HF_TOKEN", "HF_HUB_OFFLINE", "HF_ENDPOINT", "HUGGING_FACE_HUB_TOKEN")}
    home = os.environ.get("HF_HOME")
    os.environ["HF_HOME"] = str(tmp_path_factory.mktemp("hf_home"))
    yield
    os.environ.update(saved)
    if home is None:
        os.environ.pop("HF_HOME", None)
    else:
        os.environ["HF_HOME"] = home


@pytest.fixture(scope="session")
def records():
    return load_records()


@pytest.fixture(scope="session")
def orgs_csv(tmp_path_factory):
    p = tmp_path_factory.mktemp("orgs") / "orgs.csv"
    p.write_text("org,notes\n" + "".join(f"{o},x\n" for o in SMALL_ORGS))
    return p


def run(args, expect=0):
    res = CliRunner().invoke(hub, args, catch_exceptions=False)
    assert res.exit_code == expect, res.output
    return res


def small_args(fake, raw, orgs_csv, *extra):
    return ["--date", DATE, "--raw", str(raw), "--orgs", str(orgs_csv), "--endpoint", fake.url,
            "--page-size", "10", *FAST, *extra]


def data_bytes(raw, name=DATE) -> bytes:
    snap = store.find(raw, name)
    assert snap is not None, f"no snapshot {name} in {raw}"
    snap.verify()
    return snap.data_path.read_bytes()


@pytest.fixture(scope="session")
def small_reference(records, orgs_csv, tmp_path_factory):
    """Fault-free snapshot of the small org set: (bytes, requests)."""
    raw = tmp_path_factory.mktemp("ref") / "raw"
    with FakeHub(records) as fake:
        run(small_args(fake, raw, orgs_csv))
        return data_bytes(raw), fake.requests


@pytest.fixture(scope="session")
def registry_run(records, tmp_path_factory):
    """Fault-free first-party run over the whole registry (default --orgs) at 100 models a page."""
    raw = tmp_path_factory.mktemp("registry") / "raw"
    with FakeHub(records) as fake:
        res = run(["--date", DATE, "--raw", str(raw), "--endpoint", fake.url, "--page-size", "100", *FAST])
        snap = store.find(raw, DATE)
        return raw, snap, fake, res.output


# -- what is listed -------------------------------------------------------------------------


def test_first_party_rows_equal_server(registry_run):
    raw, snap, fake, output = registry_run
    orgs = load_registry()["org"].tolist()
    table = pq.read_table(snap.data_path)
    rows = {r["id"]: r for r in table.to_pylist()}
    expected_fp = {r["id"]: r for o in orgs for r in fake.select([("author", o)])}
    lower = {o.lower() for o in orgs}
    got_fp = {i for i, r in rows.items() if r["author"].lower() in lower}
    assert got_fp == set(expected_fp)
    assert len(expected_fp) > 900
    for i, exp in expected_fp.items():
        got = rows[i]
        assert got["author"] == exp["author"]
        assert got["tags"] == exp.get("tags")
        assert got["downloadsAllTime"] == exp.get("downloadsAllTime")
        assert got["downloads"] == exp.get("downloads")
        assert got["likes"] == exp.get("likes")
        assert got["pipeline_tag"] == exp.get("pipeline_tag")
        assert got["library_name"] == exp.get("library_name")
        assert got["trendingScore"] == exp["trendingScore"]
        for f in ("createdAt", "lastModified"):
            got_ts = got[f].strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] + "Z" if got[f] is not None else None
            assert got_ts == exp.get(f)
        assert got["childrenModelCount"] == exp["childrenModelCount"]
        st = exp.get("safetensors")
        assert (got["safetensors"] or {}).get("total") == (float(st["total"]) if st else None)
        if st:
            assert dict(got["safetensors"]["parameters"]) == st["parameters"]
        assert got["baseModels"] == exp.get("baseModels")
    # the manifest records the query and the run
    m = snap.manifest
    assert m["kind"] == "hub" and m["mode"] == "first-party" and m["rows"] == table.num_rows
    assert m["source"] == f"Hugging Face Hub API {fake.url}/api/models"
    assert sorted(m["query"]["orgs"], key=str.lower) == sorted(orgs, key=str.lower)
    assert set(m["query"]["expand"]) >= {"createdAt", "downloads", "downloadsAllTime", "likes", "trendingScore", "tags",
                                          "pipeline_tag", "library_name", "baseModels", "safetensors", "author", "lastModified"}
    assert m["requests"] == fake.requests and m["retries"] == 0
    assert m["huggingface_hub_version"] and m["endpoint"] == fake.url
    assert m["started_at"] <= m["finished_at"] and m["fields"] == sorted(table.column_names)
    assert m["counts"]["first_party"] == len(expected_fp)
    assert f"{table.num_rows} models" in output and "requests" in output and "retries" in output


def test_derivatives_with_relations(registry_run):
    raw, snap, fake, _ = registry_run
    orgs = {o.lower() for o in load_registry()["org"]}
    fp = [r for r in fake.records if (r.get("author") or "").lower() in orgs]
    bases = {r["id"] for r in fp}
    expected_deriv = {r["id"] for b in bases for r in fake.select([("filter", f"base_model:{b}")])}
    ids = set(pq.read_table(snap.data_path, columns=["id"]).column("id").to_pylist())
    assert ids == bases | expected_deriv
    assert len(expected_deriv - bases) > 1000
    # only bases the Hub reports children for were queried: the request count stays bounded
    with_children = sum(1 for r in fp if r["childrenModelCount"] > 0)
    filters = snap.manifest["query"]["filters"]
    assert len(filters) == with_children and filters == sorted(filters)
    assert snap.manifest["requests"] < len(orgs) + with_children + 60
    # relations as the server holds them, read by the unchanged transform
    recs, edges = load_snapshot(snap.data_path, default_typing().model_types)
    server = {r["id"]: r for r in fake.records}
    first = edges[edges["position"] == 0].set_index("model_id")
    checked = 0
    for mid in sorted(expected_deriv - bases):
        bm = server[mid].get("baseModels")
        if bm:
            assert first.loc[mid, "relation"] == bm["relation"]
            assert first.loc[mid, "base_id"] == bm["models"][0]["id"]
            checked += 1
        else:  # trending records carry their relation only in tags
            assert first.loc[mid, "relation"] in ("finetune", "adapter", "quantized", "merge")
    assert checked > 500
    assert set(edges["relation"]) == {"finetune", "adapter", "quantized", "merge"}


def test_build_runs_on_snapshot(registry_run):
    from atomdata.build import build_tables

    raw, snap, _, _ = registry_run
    res = build_tables(raw)
    assert len(res.tables["models"]) == snap.manifest["rows"]
    assert len(res.tables["derivatives"]) > 1000


def test_bytes_do_not_depend_on_page_size(records, orgs_csv, small_reference, tmp_path):
    with FakeHub(records) as fake:
        args = small_args(fake, tmp_path / "raw", orgs_csv)
        args[args.index("--page-size") + 1] = "1000"
        run(args)
    assert data_bytes(tmp_path / "raw") == small_reference[0]


def test_trending_top_n(records, tmp_path):
    with FakeHub(records) as fake:
        res = run(["--trending", "45", "--date", DATE, "--raw", str(tmp_path), "--endpoint", fake.url, "--page-size", "20", *FAST])
        expected = [r["id"] for r in fake.select([("sort", "trendingScore")])[:45]]
        assert fake.requests == 3
    snap = store.find(tmp_path, f"{DATE}-trending")
    t = pq.read_table(snap.data_path)
    assert t.column("id").to_pylist() == sorted(expected)
    assert t.column("trendingScore").null_count == 0
    assert snap.manifest["mode"] == "trending" and snap.manifest["query"]["sort"] == "trendingScore"
    assert snap.manifest["query"]["top_n"] == 45
    assert "45 models" in res.output
    recs, _ = load_snapshot(snap.data_path, default_typing().model_types)
    assert recs["trending_score"].notna().all()


def test_full_listing(records, tmp_path):
    with FakeHub(records) as fake:
        run(["--mode", "full", "--date", DATE, "--raw", str(tmp_path), "--endpoint", fake.url, *FAST])
        assert fake.requests == -(-len(records) // 1000) > 1  # pages of 1000 (5 for the full shared series)
    t = pq.read_table(store.find(tmp_path, DATE).data_path, columns=["id"])
    assert t.column("id").to_pylist() == [r["id"] for r in records]


# -- faults ---------------------------------------------------------------------------------


def test_each_fault_kind_is_retried(records, orgs_csv, small_reference, tmp_path):
    schedule = {2 + 3 * i: kind for i, kind in enumerate(FAULTS)}  # every kind, one page apart
    schedule.update({40 + 2 * i: kind for i, kind in enumerate(FAULTS)})  # twice
    with FakeHub(records, faults=schedule, slow=1.0) as fake:
        args = small_args(fake, tmp_path / "raw", orgs_csv)
        args[args.index("--timeout") + 1] = "0.3"
        run(args)
        assert sorted(k for _, k in fake.faulted) == sorted(FAULTS * 2)
    assert data_bytes(tmp_path / "raw") == small_reference[0]
    m = store.find(tmp_path / "raw", DATE).manifest
    assert m["retries"] == len(FAULTS) * 2 + 2  # each 500 fault is a burst of two
    assert m["rate_limited"] == 4
    assert m["requests"] == small_reference[1] + m["retries"]


def test_faults_on_a_fraction_of_requests(records, orgs_csv, small_reference, tmp_path):
    with FakeHub(records, fault_rate=0.25, seed=7, slow=0.6, burst=3) as fake:
        args = small_args(fake, tmp_path / "raw", orgs_csv, "--retries", "12")
        args[args.index("--timeout") + 1] = "0.3"
        run(args)
        kinds = {k for _, k in fake.faulted}
    assert len(kinds) >= 6, kinds
    assert data_bytes(tmp_path / "raw") == small_reference[0]
    m = store.find(tmp_path / "raw", DATE).manifest
    assert m["retries"] >= len(fake.faulted) and m["requests"] == fake.requests


def test_retry_after_is_honoured(records, orgs_csv, tmp_path):
    with FakeHub(records, faults={3: "429"}, retry_after=1) as fake:
        t0 = time.monotonic()
        run(small_args(fake, tmp_path / "raw", orgs_csv))
        assert time.monotonic() - t0 >= 1.0


def test_retries_are_bounded_and_resumable(records, orgs_csv, small_reference, tmp_path):
    raw = tmp_path / "raw"
    with FakeHub(records, faults={n: "500" for n in range(5, 40)}) as fake:
        res = run(small_args(fake, raw, orgs_csv, "--retries", "2"), expect=1)
        assert fake.requests == 4 + 3
        assert "gave up after 3 attempts" in res.output and "--resume" in res.output
        assert store.find(raw, DATE) is None and len(Checkpoint.find(raw, DATE)) == 1
        fake.faults, fake._burst_left = {}, 0
        # a plain re-run refuses to start over a checkpoint; --resume completes it
        res = run(small_args(fake, raw, orgs_csv), expect=1)
        assert "--resume" in res.output and fake.requests == 7
        run(small_args(fake, raw, orgs_csv, "--resume"))
        assert fake.requests == 7 + small_reference[1] - 4
    assert data_bytes(raw) == small_reference[0]
    assert not list(raw.glob(".tmp-*"))
    # the three failed attempts of the stopped run are requests of this snapshot too
    m = store.find(raw, DATE).manifest
    assert (m["requests"], m["retries"]) == (fake.requests, 2)


def test_request_budget_stops_resumably(records, orgs_csv, small_reference, tmp_path):
    raw = tmp_path / "raw"
    with FakeHub(records) as fake:
        res = run(small_args(fake, raw, orgs_csv, "--max-requests", "10"), expect=1)
        assert "request budget of 10" in res.output and fake.requests == 10
        # a page lost or damaged since (power loss, disk) is listed again from that page on
        (ckpt,) = Checkpoint.find(raw, DATE)
        pages = sorted((ckpt / ".checkpoint" / "pages").glob("*.parquet"))
        pages[1].write_bytes(pages[1].read_bytes()[:-10])
        lost = [p for p in pages if p.name[:5] == pages[1].name[:5] and p.name >= pages[1].name]
        run(small_args(fake, raw, orgs_csv, "--resume"))
        assert fake.requests == small_reference[1] + len(lost)
    assert data_bytes(raw) == small_reference[0]
    assert store.find(raw, DATE).manifest["requests"] == fake.requests


def test_next_link_to_another_host_is_refused():
    c = Client("http://127.0.0.1:9", token="hf_secret")
    c.check_url("http://127.0.0.1:9/api/models?cursor=x")
    with pytest.raises(HubError, match="refusing"):
        c.check_url("http://evil.example/api/models?cursor=x")


# -- kill and resume ------------------------------------------------------------------------


def _subprocess_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(PYTHONPATH=str(ROOT), HF_HOME=str(tmp_path / "hf_home"))
    return env


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_kill_at_random_page_then_resume(sig, records, orgs_csv, small_reference, tmp_path):
    raw = tmp_path / "raw"
    total = small_reference[1]
    kill_at = random.Random(f"{sig}-{os.getpid()}").randint(3, total - 3)
    proc_box = {}

    def hook(n):
        if n == kill_at:
            os.kill(proc_box["proc"].pid, sig)
            time.sleep(0.3)  # the response to this request never arrives

    with FakeHub(records, hook=hook) as fake:
        cmd = [sys.executable, "-m", "atomdata.commands.ingest_hub", *small_args(fake, raw, orgs_csv)]
        # SIGINT as a terminal delivers it: a test run started in the background (a shell without job
        # control) hands its children SIGINT ignored, and Python then installs no KeyboardInterrupt
        proc_box["proc"] = proc = subprocess.Popen(cmd, env=_subprocess_env(tmp_path), cwd=tmp_path,
                                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == (-9 if sig == signal.SIGKILL else 130), (kill_at, out, err)
        if sig == signal.SIGINT:
            assert "--resume" in err
        assert store.find(raw, DATE) is None
        assert len(Checkpoint.find(raw, DATE)) == 1
        before = fake.requests
        fake.hook = None
        proc = subprocess.run([*cmd, "--resume"], env=_subprocess_env(tmp_path), cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        # the resumed run re-asks at most the page in flight: nothing is listed twice
        assert fake.requests - before == total - (kill_at - 1)
    assert data_bytes(raw) == small_reference[0]
    m = store.find(raw, DATE).manifest
    assert m["resumed"] is True and m["rows"] == pq.read_metadata(store.find(raw, DATE).data_path).num_rows
    assert m["requests"] == fake.requests  # the request in flight when the run was killed counts too
    assert not list(raw.glob(".tmp-*"))


def test_ancestors_fetched_before_a_stop_are_not_fetched_again(records, tmp_path):
    """A rate-limit stop in the middle of `--ancestors` completion keeps the ancestors fetched so far
    (lineage cache): `--resume` asks the Hub only for the others, and the snapshot has the bytes of
    an uninterrupted run. `agentlans` (9 models) declares bases up chains of about 37 lookups."""
    orgs = tmp_path / "orgs.csv"
    orgs.write_text("org\nagentlans\n")

    def args(fake, raw, *extra):
        return ["--date", DATE, "--raw", str(raw), "--orgs", str(orgs), "--endpoint", fake.url, "--depth", "0",
                "--ancestors", "1000", *FAST, *extra]

    def answered(fake):  # the ancestor lookups (one search each) that got an answer
        faulted = {n for n, _ in fake.faulted}
        return [p for n, p in enumerate(fake.paths, 1) if "search=" in p and n not in faulted]

    with FakeHub(records) as fake:
        run(args(fake, tmp_path / "ref"))
        reference = answered(fake)
        assert fake.requests == 1 + len(reference)  # one listing page, then the lookups
    assert len(reference) > 20 and len(set(reference)) == len(reference)

    raw = tmp_path / "raw"
    stop = 1 + 15  # the 15th lookup: the Hub asks to wait an hour, more than --max-retry-after
    with FakeHub(records, faults={stop: "429"}, retry_after=3600) as fake:
        res = run(args(fake, raw), expect=1)
        assert "rate-limited" in res.output and "--resume" in res.output
        assert store.find(raw, DATE) is None and len(Checkpoint.find(raw, DATE)) == 1
        assert len(answered(fake)) == 14
        fake.faults = {}
        run(args(fake, raw, "--resume"))
        assert fake.requests == stop + len(reference) - 14  # no listing page, no lookup asked twice
        assert sorted(answered(fake)) == sorted(reference)
    assert data_bytes(raw) == data_bytes(tmp_path / "ref")
    got, ref = (store.find(r, DATE).manifest["ancestors"] for r in (raw, tmp_path / "ref"))
    assert {k: got[k] for k in ("found_ids", "missing_ids", "not_fetched_ids")} == \
           {k: ref[k] for k in ("found_ids", "missing_ids", "not_fetched_ids")}
    assert ref["found"] > 10 and ref["missing"] > 0


def _ancestor_args(fake, raw, orgs, *extra):
    return ["--date", DATE, "--raw", str(raw), "--orgs", str(orgs), "--endpoint", fake.url, "--depth", "0",
            "--ancestors", "1000", *FAST, *extra]


def _lookups(fake) -> list[str]:
    """The ancestor lookups (one search each) the fake Hub received, answered or not."""
    return [p for p in fake.paths if "search=" in p]


def test_requests_before_a_stop_during_ancestors_are_counted(records, tmp_path):
    """A rate-limit stop at the 15th ancestor lookup, then `--resume`: the manifest counts every request
    the snapshot cost in both runs (the listing page, the 14 answered lookups, the one refused with a
    429, and the resumed run's lookups), as the fake Hub's request log shows, and so does its
    `ancestors` block for the lookups."""
    orgs = tmp_path / "orgs.csv"
    orgs.write_text("org\nagentlans\n")
    raw = tmp_path / "raw"
    stop = 1 + 15
    with FakeHub(records, faults={stop: "429"}, retry_after=3600) as fake:
        res = run(_ancestor_args(fake, raw, orgs), expect=1)
        assert "rate-limited" in res.output and fake.requests == stop
        fake.faults = {}
        res = run(_ancestor_args(fake, raw, orgs, "--resume"))
        sent, lookups = fake.requests, _lookups(fake)
    m = store.find(raw, DATE).manifest
    a = m["ancestors"]
    assert m["resumed"] is True and m["pages"] == 1
    assert m["requests"] == sent == 1 + len(lookups)  # old code: only the resumed run's lookups + 1
    assert (m["rate_limited"], m["retries"]) == (1, 1)  # the 429 that stopped the first run
    assert a["requests"] == len(lookups) == a["found"] + a["missing"] + 1  # each base once, the refused one twice
    assert a["not_fetched"] == 0 and a["max_requests"] == 1000
    assert f"{a['requests']} requests)" in res.output and f"{sent} requests" in res.output


def test_request_budget_holds_across_a_stop_during_ancestors(records, tmp_path):
    """`--max-requests 26` (a listing page and 25 lookups; the chains need 37): a stop at the 15th lookup,
    then `--resume` with the same budget. Across both runs the Hub receives exactly 26 requests, and
    the snapshot records the bases left unasked as not fetched."""
    orgs = tmp_path / "orgs.csv"
    orgs.write_text("org\nagentlans\n")
    raw = tmp_path / "raw"
    budget, stop = 26, 1 + 15
    with FakeHub(records, faults={stop: "429"}, retry_after=3600) as fake:
        run(_ancestor_args(fake, raw, orgs, "--max-requests", str(budget)), expect=1)
        assert fake.requests == stop
        fake.faults = {}
        run(_ancestor_args(fake, raw, orgs, "--max-requests", str(budget), "--resume"))
        sent, lookups = fake.requests, _lookups(fake)
    assert sent == budget  # old code: 16 + 23 = 39, the resumed run got a fresh budget of 25 lookups
    m = store.find(raw, DATE).manifest
    a = m["ancestors"]
    assert m["requests"] == sent and a["requests"] == len(lookups) == budget - 1 == a["max_requests"]
    # 25 lookups answered 24 bases (the refused one was asked again); the rest were not asked
    assert a["found"] + a["missing"] == 24 and a["not_fetched"] > 0
    assert len(a["found_ids"]) + len(a["missing_ids"]) + len(a["not_fetched_ids"]) == a["looked_up"]
    rows = set(pq.read_table(store.find(raw, DATE).data_path, columns=["id"]).column("id").to_pylist())
    assert set(a["found_ids"]) <= rows and not set(a["not_fetched_ids"]) & rows


def test_resume_with_other_options_is_refused(records, orgs_csv, tmp_path):
    raw = tmp_path / "raw"
    with FakeHub(records) as fake:
        run(small_args(fake, raw, orgs_csv, "--max-requests", "5"), expect=1)
        res = run(small_args(fake, raw, orgs_csv, "--resume", "--depth", "2"), expect=1)
        assert "differs in: depth" in res.output


# -- refusals and tokens --------------------------------------------------------------------


def test_second_run_same_date_is_refused(records, orgs_csv, tmp_path):
    raw = tmp_path / "raw"
    with FakeHub(records) as fake:
        run(small_args(fake, raw, orgs_csv, "--depth", "0"))
        n = fake.requests
        before = data_bytes(raw)
        res = run(small_args(fake, raw, orgs_csv, "--depth", "0"), expect=1)
        assert "already exists" in res.output and "never overwritten" in res.output
        assert fake.requests == n
        assert data_bytes(raw) == before
        args = small_args(fake, raw, orgs_csv, "--depth", "0")
        args[args.index("--date") + 1] = "2026-08-02"
        run(args)
    assert {s.name for s in store.list_snapshots(raw)} == {DATE, "2026-08-02"}


def test_token_is_sent_but_never_written(records, orgs_csv, tmp_path, monkeypatch):
    secret = "hf_atomdataTESTtoken0123456789"
    monkeypatch.setenv("MY_HUB_TOKEN", secret)
    raw = tmp_path / "raw"
    with FakeHub(records, faults={3: "500", 4: "500"}) as fake:
        res = run(small_args(fake, raw, orgs_csv, "--token-env", "MY_HUB_TOKEN", "--depth", "0"))
        assert set(fake.auth_headers) == {f"Bearer {secret}"}
    snap = store.find(raw, DATE)
    assert snap.manifest["authenticated"] is True
    for p in raw.rglob("*"):
        if p.is_file():
            assert secret.encode() not in p.read_bytes(), p
    assert secret not in res.output
    # nor in an error message (a failing run keeps a checkpoint: look there too)
    raw2 = tmp_path / "raw2"
    with FakeHub(records, fault_rate=1.0, fault_kinds=("500",)) as fake:
        res = run(small_args(fake, raw2, orgs_csv, "--token-env", "MY_HUB_TOKEN", "--retries", "1"), expect=1)
    assert secret not in res.output
    for p in raw2.rglob("*"):
        if p.is_file():
            assert secret.encode() not in p.read_bytes(), p


def test_missing_token_env_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_SUCH_TOKEN_VAR", raising=False)
    res = CliRunner().invoke(hub, ["--token-env", "NO_SUCH_TOKEN_VAR", "--raw", str(tmp_path)])
    assert res.exit_code == 2 and "NO_SUCH_TOKEN_VAR is not set" in res.output


def test_bad_orgs_file(tmp_path):
    p = tmp_path / "orgs.csv"
    p.write_text("name\nQwen\n")
    res = CliRunner().invoke(hub, ["--orgs", str(p), "--raw", str(tmp_path / "raw"), "--endpoint", "http://127.0.0.1:9"])
    assert res.exit_code == 1 and "column 'org'" in res.output
    p.write_text("org\nQwen\nqwen\n")
    res = CliRunner().invoke(hub, ["--orgs", str(p), "--raw", str(tmp_path / "raw"), "--endpoint", "http://127.0.0.1:9"])
    assert res.exit_code == 1 and "twice" in res.output


def test_page_table_schema_and_bad_records():
    t = page_table([{"id": "a/b", "createdAt": "2026-01-02T03:04:05.000Z", "likes": 3,
                       "safetensors": {"parameters": {"F32": 2, "BF16": 5}, "total": 7},
                       "baseModels": {"relation": "quantized", "models": [{"_id": "x", "id": "c/d"}]}}])
    assert t.schema == SCHEMA
    row = t.to_pylist()[0]
    assert row["safetensors"] == {"parameters": [("BF16", 5), ("F32", 2)], "total": 7.0}
    assert str(row["createdAt"]) == "2026-01-02 03:04:05"
    with pytest.raises(BadPage):
        page_table([{"id": "a/b", "likes": "many"}])
    assert combine([t, t]).num_rows == 1


def test_unreachable_endpoint_fails_fast_with_a_clear_message(tmp_path):
    """No network (or a wrong endpoint) is not a passing fault: two attempts, then a plain message."""
    import socket

    from click.testing import CliRunner

    from atomdata.cli import main

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = CliRunner().invoke(main, ["ingest", "hub", "--raw", str(tmp_path / "raw"), "--date", "2026-08-01",
                                    "--endpoint", f"http://127.0.0.1:{port}", "--backoff", "0.01"])
    assert res.exit_code == 1
    assert f"cannot connect to http://127.0.0.1:{port}" in res.output and "after 2 attempts" in res.output
    assert "retrying in" in res.output and "network" in res.output


def test_interrupted_trending_run_does_not_block_a_listing_of_the_same_day(records, orgs_csv, tmp_path):
    """`.tmp-<date>-trending-*` belongs to the trending snapshot, not to the plain <date> run."""
    raw = tmp_path / "raw"

    def trending(fake, *extra):
        return ["--date", DATE, "--raw", str(raw), "--endpoint", fake.url, "--page-size", "10", *FAST,
                "--trending", "50", *extra]

    with FakeHub(records) as fake:
        run(trending(fake, "--max-requests", "2"), expect=1)  # budget: interrupted after 2 of 5 pages
        assert list(raw.glob(f".tmp-{DATE}-trending-*"))
        run(small_args(fake, raw, orgs_csv, "--depth", "0"))  # the same day's listing is not blocked
        run(trending(fake, "--resume"))
    assert {s.name for s in store.list_snapshots(raw)} == {DATE, f"{DATE}-trending"}
    assert not list(raw.glob(".tmp-*"))
