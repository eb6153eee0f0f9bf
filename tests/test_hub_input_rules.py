"""Input that cannot come from the Hub: an unusable endpoint, repo ids the Hub forbids, absurd field
sizes. One line (or one report naming the rule, the column and example rows), exit code 1, and
nothing left in the snapshot store."""
from __future__ import annotations

import socket
import string

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from atomdata.cli import main
from atomdata.ingest import fields
from atomdata.ingest.client import check_endpoint
from atomdata.ingest.hub_records import BadPage, page_table
from conftest import write_dump


def _refused_port() -> str:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture(autouse=True)
def _no_hf_environment(monkeypatch, tmp_path):
    for k in ("HF_TOKEN", "HF_HUB_OFFLINE", "HF_ENDPOINT", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))


@pytest.mark.parametrize("endpoint", ["ftp://x", "notaurl", "http://", "http://256.1.1.1:1", "refused port",
                                      "http://x:99999", "http://a b", "https://user:pw@huggingface.co"])
@pytest.mark.parametrize("store_exists", [False, True])
def test_an_unusable_endpoint_is_one_line_and_leaves_nothing(endpoint, store_exists, tmp_path):
    raw = tmp_path / "raw"
    if store_exists:
        raw.mkdir()
    endpoint = _refused_port() if endpoint == "refused port" else endpoint
    res = CliRunner().invoke(main, ["ingest", "hub", "--raw", str(raw), "--date", "2026-08-01",
                                    "--endpoint", endpoint, "--backoff", "0.01"])
    assert res.exit_code == 1, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    errors = [ln for ln in res.output.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in res.output, res.output
    assert repr(endpoint) in errors[0] or endpoint in errors[0]
    assert len(res.output.splitlines()) <= 2  # the error, and for a refused port the one retry said on stderr
    # nothing in the store: no .tmp-* folder that would block the next run; no store if there was none
    assert (sorted(p.name for p in raw.iterdir()) == []) if store_exists else not raw.exists()
    # and the next run is not blocked by an interrupted one
    again = CliRunner().invoke(main, ["ingest", "hub", "--raw", str(raw), "--date", "2026-08-01",
                                      "--endpoint", endpoint, "--backoff", "0.01"])
    assert "interrupted run" not in again.output and again.exit_code == 1


def test_a_good_endpoint_passes_as_given():
    for e in ("https://huggingface.co", "http://127.0.0.1:8080", "https://hf-mirror.example/prefix", "http://[::1]:9"):
        assert check_endpoint(e) == e


# -- repo ids ------------------------------------------------------------------------------

ID_CHARS = string.ascii_letters[:3] + string.digits[:2] + "-_./é "


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=ID_CHARS, min_size=0, max_size=12) | st.text(alphabet="ab-_./", min_size=90, max_size=200))
def test_repo_id_rule_is_huggingface_hubs(text):
    """The vectorised rule refuses exactly what huggingface_hub's validate_repo_id refuses."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(text)
        hub_ok = True
    except HFValidationError:
        hub_ok = False
    assert bool(fields.not_repo_ids([text])[0]) is not hub_ok, text


@pytest.mark.parametrize("model_id", ["../../x", "..", ".", "a/..", "/x", "x/", "a//b", "a/b/c", "a\\b/c", "a/b c",
                                      "a/" + "b" * 97, "c" * 97 + "/b", "a/b.git", "a/b--c", "-a/b", "a/b-", "a/café"])
def test_dump_with_an_id_the_hub_forbids_is_refused(model_id, tmp_path):
    dump = write_dump(tmp_path / "in" / "2026-07-01" / "models.parquet",
                      [{"id": "ok/model-a"}, {"id": model_id, "author": "x"}])
    res = CliRunner().invoke(main, ["ingest", "dump", str(dump), "--raw", str(tmp_path / "raw")])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert f"{dump}: column 'id': 1 row(s) have an id that is not a Hub repo id" in res.output
    assert "each part 1 to 96 characters" in res.output and "validate_repo_id" in res.output
    assert f"row 1: id={model_id!r}" in res.output
    assert not (tmp_path / "raw").exists()


@pytest.mark.parametrize("row, column, shown", [
    ({"pipeline_tag": "x" * 50_000_000}, "pipeline_tag", "(50,000,000 characters)"),
    ({"library_name": "y" * 101}, "library_name", "library_name='" + "y" * 101 + "'"),
    ({"tags": ["license:mit", "z" * 1001]}, "tags", "(1,001 characters)"),
    ({"base": ["../evil"]}, "baseModels", "baseModels='../evil'"),
    ({"tags": ["base_model:finetune:a--b/c"]}, "tags", "tags='base_model:finetune:a--b/c'"),
    ({"author": "../.."}, "author", "author='../..'"),
])
def test_dump_with_an_absurd_field_is_refused(row, column, shown, tmp_path):
    dump = write_dump(tmp_path / "in" / "2026-07-01" / "models.parquet", [{"id": "ok/model-a"}, {"id": "ok/model-b", **row}])
    res = CliRunner().invoke(main, ["ingest", "dump", str(dump), "--raw", str(tmp_path / "raw")])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert f"column '{column}': 1 row(s)" in res.output and "row 1: id='ok/model-b'" in res.output
    assert shown in res.output and len(res.output) < 2_000  # the 50 MB value is never printed
    assert not (tmp_path / "raw").exists()


def test_a_hub_page_with_a_forbidden_id_is_refused_not_retried():
    ok = {"id": "a/b", "author": "a", "pipeline_tag": "text-generation"}
    assert page_table([ok]).num_rows == 1
    for bad, rule in (({"id": "../../x"}, "not a Hub repo id"), ({"id": "a/b", "pipeline_tag": "p" * 5_000}, "longer than 100"),
                      ({"id": "a/b", "baseModels": {"relation": "finetune", "models": [{"_id": "1", "id": "x/../y"}]}}, "base model")):
        with pytest.raises(BadPage, match=rule):
            page_table([ok, bad])


def test_live_listing_with_a_record_the_hub_cannot_hold_is_refused(tmp_path):
    """A served record whose pipeline tag is 5 MB: the run stops naming the page, the column, the
    rule and the record; no snapshot is made, nothing is retried."""
    from fakehub import HUB_STATS, FakeHub, load_records

    if not HUB_STATS.is_file():
        pytest.skip("shared Hub data not available")
    records = [r for r in load_records() if (r.get("author") or "").lower() == "01-ai"]
    records.append(dict(records[0], id="01-ai/Yi-huge-tag", modelId="01-ai/Yi-huge-tag", pipeline_tag="t" * 5_000_000))
    orgs = tmp_path / "orgs.csv"
    orgs.write_text("org\n01-ai\n")
    raw = tmp_path / "raw"
    with FakeHub(sorted(records, key=lambda r: r["id"])) as fake:
        res = CliRunner().invoke(main, ["ingest", "hub", "--raw", str(raw), "--date", "2026-08-01", "--orgs", str(orgs),
                                        "--endpoint", fake.url, "--depth", "0", "--backoff", "0.01"])
        assert res.exit_code == 1 and "Traceback" not in res.output
        assert "column 'pipeline_tag': 1 row(s) have a pipeline_tag longer than 100 characters" in res.output
        assert "id='01-ai/Yi-huge-tag'" in res.output and "(5,000,000 characters)" in res.output
        assert fake.requests == 1  # refused, not retried
    assert not [p for p in raw.iterdir() if not p.name.startswith(".tmp-")]  # no snapshot
