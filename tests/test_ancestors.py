"""Ancestor completion against the fake Hub (alone and through `ingest hub --ancestors N`): a chain
that leaves the listing becomes declared; a deleted base and a cycle stop cleanly; answers are cached,
also when completion is interrupted."""
from __future__ import annotations

import json

import pandas as pd
import pytest
import pyarrow as pa
import pyarrow.parquet as pq

from atomdata.ingest import ancestors
from atomdata.ingest.client import HubError, RetryPolicy
from atomdata.ingest.hub_records import page_table
from atomdata.ingest.listing_client import Client
from atomdata.rules.organizations import load_registry
from atomdata.rules import inference, lineage
from atomdata.rules.records import load_snapshot
from atomdata.steps.cache import default_typing
from fakehub import FakeHub, _object_id


def _rec(mid, base=None, tags=("transformers", "safetensors")):
    r = {"_id": _object_id(mid), "id": mid, "author": mid.split("/")[0], "createdAt": "2025-01-15T00:00:00.000Z",
         "tags": list(tags) + ([f"base_model:finetune:{base}"] if base else []), "pipeline_tag": "text-generation",
         "library_name": "transformers"}
    if base:
        r["baseModels"] = {"relation": "finetune", "models": [{"_id": _object_id(base), "id": base}]}
    return r


HUB = [_rec("Qwen/Qwen2.5-7B"), _rec("mid/ft-1", "Qwen/Qwen2.5-7B"), _rec("user/ft-2", "mid/ft-1"),
       _rec("user/orphan", "gone/deleted"), _rec("cyc/a", "cyc/b"), _rec("cyc/b", "cyc/a"), _rec("user/c", "cyc/a")]
LISTING = ["user/ft-2", "user/orphan", "user/c"]


def test_ancestor_completion(tmp_path):
    listing = page_table([r for r in HUB if r["id"] in LISTING])
    cache = tmp_path / "lineage-cache.json"
    with FakeHub(sorted(HUB, key=lambda r: r["id"])) as fake:
        client = Client(fake.url, token=None)
        res = ancestors.complete(client, listing, cache=cache)
        assert res.status == {"mid/ft-1": "found", "gone/deleted": "missing", "cyc/a": "found",
                              "Qwen/Qwen2.5-7B": "found", "cyc/b": "found"}
        assert res.requests == 5  # one request per missing base, each asked once (the cycle ends)
        before = fake.requests
        again = ancestors.complete(Client(fake.url, token=None), listing, cache=cache)
        assert fake.requests == before and again.requests == 0 and again.status == res.status  # from the cache
        budget = ancestors.complete(Client(fake.url, token=None), listing, max_fetch=1)
        assert "not_fetched" in budget.status.values() and budget.requests == 1
    path = tmp_path / "completed.parquet"
    pq.write_table(pa.concat_tables([listing, res.table]), path)
    recs, _ = load_snapshot(path, default_typing().model_types)
    roots = lineage.resolve(recs[["model_id", "base_id"]]).set_index("model_id")
    assert roots.loc["user/ft-2", "root_model_id"] == "Qwen/Qwen2.5-7B" and roots.loc["user/ft-2", "lineage_status"] == "complete"
    assert roots.loc["user/orphan", "lineage_status"] == "outside_snapshot" and roots.loc["user/orphan", "root_model_id"] == "gone/deleted"
    assert roots.loc["user/c", "lineage_status"] == "cycle"
    frame = roots.reset_index()[["model_id", "root_model_id"]].assign(model_type=pd.NA)
    att = inference.infer(frame, load_registry(), recs["model_id"]).set_axis(frame["model_id"])
    assert att.loc["user/ft-2", "attribution"] == "declared" and att.loc["user/ft-2", "attributed_region"] == "china"
    assert att.loc["user/orphan", "attribution"] == "unknown"


@pytest.mark.parametrize("damage", ["[]", "null", '"x"', "{not json", ""])
def test_a_damaged_cache_is_rebuilt_never_trusted(tmp_path, damage):
    """A lineage cache that is not a JSON object (truncated, or valid JSON of another shape) is
    ignored and rewritten with the answers fetched again."""
    listing = page_table([r for r in HUB if r["id"] in LISTING])
    cache = tmp_path / "lineage-cache.json"
    cache.write_text(damage)
    with FakeHub(sorted(HUB, key=lambda r: r["id"])) as fake:
        res = ancestors.complete(Client(fake.url, token=None), listing, cache=cache)
        assert res.requests == 5 and fake.requests == 5
    assert sorted(json.loads(cache.read_text())) == sorted(res.status)


def test_cache_is_saved_as_completion_goes(tmp_path):
    """Answers reach the lineage cache every `save_every` fetches (a killed run keeps them) and when
    completion stops on an error, so the next run asks only the bases that got no answer."""
    listing = page_table([r for r in HUB if r["id"] in LISTING])
    cache = tmp_path / "lineage-cache.json"
    held = []  # answers in the cache file when each request arrives

    def hook(n):
        held.append(len(json.loads(cache.read_text())) if cache.is_file() else 0)

    with FakeHub(sorted(HUB, key=lambda r: r["id"]), hook=hook) as fake:
        ancestors.complete(Client(fake.url, token=None), listing, cache=cache, save_every=2)
    assert held == [0, 0, 2, 2, 4] and len(json.loads(cache.read_text())) == 5

    cache.unlink()
    with FakeHub(sorted(HUB, key=lambda r: r["id"]), faults={4: "500"}, burst=1) as fake:
        client = Client(fake.url, token=None, policy=RetryPolicy(max_retries=0))
        with pytest.raises(HubError, match="gave up"):
            ancestors.complete(client, listing, cache=cache)  # default save_every: only the error saves
        assert len(json.loads(cache.read_text())) == 3
        again = ancestors.complete(Client(fake.url, token=None), listing, cache=cache)
        assert again.requests == 2 and fake.requests == 4 + 2
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_two_completions_sharing_a_cache_keep_both_answers(tmp_path):
    """Run A (bases of user/ft-2) and run B (bases of user/orphan and user/c) complete at the same time
    with one lineage cache: B starts after A has saved its first answer and ends before A saves
    again. Every save adds its run's answers to the file as it is then, so the cache ends with both
    runs' answers (the last writer, A, used to drop B's), and a third run asks the Hub nothing."""
    cache = tmp_path / "lineage-cache.json"
    hub_records = sorted(HUB, key=lambda r: r["id"])
    listing_a = page_table([r for r in HUB if r["id"] == "user/ft-2"])
    listing_b = page_table([r for r in HUB if r["id"] in ("user/orphan", "user/c")])
    on_disk = {}

    with FakeHub(hub_records) as fake_b:
        def run_b(n):  # at A's second lookup, after A has saved its first answer
            if n == 2:
                on_disk["before_b"] = sorted(json.loads(cache.read_text()))
                on_disk["b"] = ancestors.complete(Client(fake_b.url, token=None), listing_b, cache=cache, save_every=1)
                on_disk["after_b"] = sorted(json.loads(cache.read_text()))

        with FakeHub(hub_records, hook=run_b) as fake_a:
            a = ancestors.complete(Client(fake_a.url, token=None), listing_a, cache=cache, save_every=1)
    b = on_disk["b"]
    assert a.status == {"mid/ft-1": "found", "Qwen/Qwen2.5-7B": "found"} and a.requests == 2
    assert b.status == {"gone/deleted": "missing", "cyc/a": "found", "cyc/b": "found"} and b.requests == 3
    assert on_disk["before_b"] == ["mid/ft-1"]
    assert on_disk["after_b"] == ["cyc/a", "cyc/b", "gone/deleted", "mid/ft-1"]
    saved = json.loads(cache.read_text())
    assert sorted(saved) == sorted({**a.status, **b.status})  # A's two answers and B's three
    assert saved["gone/deleted"] is None
    assert saved["cyc/a"]["baseModels"]["models"][0]["id"] == "cyc/b" and saved["Qwen/Qwen2.5-7B"]["id"] == "Qwen/Qwen2.5-7B"
    assert saved["mid/ft-1"]["baseModels"]["models"][0]["id"] == "Qwen/Qwen2.5-7B"
    with FakeHub(hub_records) as fake:
        listing = page_table([r for r in HUB if r["id"] in LISTING])
        again = ancestors.complete(Client(fake.url, token=None), listing, cache=cache)
        assert fake.requests == 0 and again.requests == 0 and again.status == {**a.status, **b.status}


def test_a_failed_cache_save_does_not_hide_the_error_that_stopped_completion(tmp_path):
    """The cache cannot be written (its path is a folder). When a Hub error stops completion, that
    error is raised, not the failed save; when completion succeeds, the failed save is the error."""
    listing = page_table([r for r in HUB if r["id"] in LISTING])
    cache = tmp_path / "lineage-cache.json"
    cache.mkdir()
    with FakeHub(sorted(HUB, key=lambda r: r["id"]), faults={2: "500"}, burst=1) as fake:
        client = Client(fake.url, token=None, policy=RetryPolicy(max_retries=0))
        with pytest.raises(HubError, match="gave up after 1 attempts"):
            ancestors.complete(client, listing, cache=cache)
        with pytest.raises(HubError, match="cannot save the lineage cache"):
            ancestors.complete(Client(fake.url, token=None), listing, cache=cache)
    assert cache.is_dir() and not list(cache.iterdir()) and not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def _hub_run(fake, raw, orgs, date, *extra):
    from click.testing import CliRunner

    from atomdata.commands.ingest_hub import hub as hub_cmd

    args = ["--date", date, "--raw", str(raw), "--orgs", str(orgs), "--endpoint", fake.url, "--depth", "0",
            "--backoff", "0.001", "--timeout", "5", *extra]
    return CliRunner().invoke(hub_cmd, args, catch_exceptions=False)


def test_ingest_hub_ancestors_makes_the_chain_declared(tmp_path, monkeypatch):
    """`ingest hub --ancestors N`: the listing (namespace `user` only) holds user/ft-2, whose chain
    mid/ft-1 -> Qwen/Qwen2.5-7B leaves it. Without ancestors the build stops at mid/ft-1; with them
    the missing bases are stored in the same snapshot, the manifest says what was found, and the
    build attributes user/ft-2 to Qwen (China) through the declared chain."""
    from atomdata.build import build_tables
    from atomdata.ingest import store

    for k in ("HF_TOKEN", "HF_ENDPOINT", "HF_HUB_OFFLINE", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    orgs = tmp_path / "orgs.csv"
    orgs.write_text("org\nuser\n")
    plain, full = tmp_path / "plain", tmp_path / "full"
    with FakeHub(sorted(HUB, key=lambda r: r["id"])) as fake:
        r = _hub_run(fake, plain, orgs, "2026-08-01")
        assert r.exit_code == 0, r.output
        n0 = fake.requests
        r = _hub_run(fake, full, orgs, "2026-08-01", "--ancestors", "50")
        assert r.exit_code == 0, r.output
        assert "4 ancestors added (1 missing, 0 not fetched, 5 requests)" in r.output
        assert fake.requests - n0 == 1 + 5  # the listing, then one request per missing base
        # the cache answers the next snapshot's questions: no ancestor request at all
        n1 = fake.requests
        r = _hub_run(fake, full, orgs, "2026-08-02", "--ancestors", "50")
        assert r.exit_code == 0 and fake.requests - n1 == 1, r.output
        assert "4 ancestors added (1 missing, 0 not fetched, 0 requests)" in r.output
        bad = _trending_with_ancestors(fake, tmp_path)
        assert bad.exit_code == 2 and "--ancestors" in bad.output

    before = store.find(plain, "2026-08-01")
    snap = store.find(full, "2026-08-01")
    snap.verify()
    a = snap.manifest["ancestors"]
    assert a["found_ids"] == ["Qwen/Qwen2.5-7B", "cyc/a", "cyc/b", "mid/ft-1"]
    assert a["missing_ids"] == ["gone/deleted"] and a["not_fetched_ids"] == []
    assert (a["found"], a["missing"], a["not_fetched"], a["requests"], a["looked_up"], a["max_requests"]) == (4, 1, 0, 5, 5, 50)
    assert snap.manifest["rows"] == before.manifest["rows"] + 4 == 7
    rows = pq.read_table(snap.data_path).to_pandas().set_index("id")
    assert sorted(rows.index) == sorted(LISTING + a["found_ids"])
    assert rows.loc[a["found_ids"], "downloads"].isna().all()  # counters of ancestors stay empty
    assert (full / ".cache" / "lineage-cache.json").is_file()

    d0 = build_tables(plain).tables["derivatives"].set_index("model_id")
    assert d0.loc["user/ft-2", "lineage_status"] == "outside_snapshot" and d0.loc["user/ft-2", "root_model_id"] == "mid/ft-1"
    d1 = build_tables(full).tables["derivatives"].set_index("model_id")
    ft2 = d1.loc["user/ft-2"]
    assert ft2["lineage_status"] == "complete" and ft2["root_model_id"] == "Qwen/Qwen2.5-7B" and ft2["depth"] == 2
    assert ft2["root_org"] == "Qwen" and ft2["root_region"] == "china" and ft2["attribution"] == "declared"
    assert d1.loc["user/orphan", "lineage_status"] == "outside_snapshot"  # the deleted base stops the chain cleanly
    assert d1.loc["user/c", "lineage_status"] == "cycle"


def _trending_with_ancestors(fake, tmp_path):
    from click.testing import CliRunner

    from atomdata.commands.ingest_hub import hub as hub_cmd

    return CliRunner().invoke(hub_cmd, ["--trending", "5", "--ancestors", "10", "--raw", str(tmp_path / "t"),
                                        "--endpoint", fake.url])
