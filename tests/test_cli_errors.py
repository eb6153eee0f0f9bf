"""What a user meets when the file system or the store is in the way: one-line errors naming the
path, exit code 1, no traceback; and `atomdata validate` outside a project folder."""
from __future__ import annotations

import errno
import json
import tempfile

import pytest
from click.testing import CliRunner

from atomdata.schemas import TABLES
from atomdata.cli import main
from atomdata.errors import SnapshotError
from atomdata.ingest import store
from atomdata.ingest.dump import import_dump
from conftest import write_dump

ROWS = [{"id": "Qwen/A", "downloadsAllTime": 10}, {"id": "google/B", "downloadsAllTime": 5}]


def _store(tmp_path):
    raw = tmp_path / "raw"
    import_dump(write_dump(tmp_path / "in" / "2026-07-01" / "models.parquet", ROWS), raw)
    return raw


def _clean_error(res, *needles):
    """Exit 1 through click (SystemExit), the message on the output, no exception escaped."""
    assert res.exit_code == 1, res.output
    assert isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    for n in needles:
        assert str(n) in res.output, res.output


def test_an_output_folder_that_cannot_be_created_is_a_clean_error(tmp_path):
    raw = _store(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    # build: the tables' folder lies under a file
    res = CliRunner().invoke(main, ["build", "--raw", str(raw), "--out", str(blocker / "processed")])
    _clean_error(res, blocker)
    assert blocker.read_text() == "not a folder"
    # ingest dump: the store lies under a file
    dump = write_dump(tmp_path / "in" / "2026-07-02" / "models.parquet", ROWS)
    _clean_error(CliRunner().invoke(main, ["ingest", "dump", str(dump), "--raw", str(blocker / "raw")]), blocker)
    # figures: their output folder lies under a file (release writes through the same handler)
    _clean_error(CliRunner().invoke(main, ["figures", "--out", str(blocker / "figures")]), blocker)


def test_a_read_only_output_folder_is_named_with_a_hint(tmp_path, monkeypatch):
    """As root the tests cannot make a folder read-only; the error a read-only folder raises
    (EACCES on the temporary folder next to the output) is raised where it would be."""
    raw = _store(tmp_path)
    out = tmp_path / "site" / "processed"

    mkdtemp = tempfile.mkdtemp

    def denied(prefix=None, suffix=None, dir=None):
        if dir is None:  # the build's scratch folder in the system's temporary space
            return mkdtemp(prefix=prefix, suffix=suffix)
        raise PermissionError(errno.EACCES, "Permission denied", f"{dir}/{prefix}x1y2z3{suffix}")

    monkeypatch.setattr(tempfile, "mkdtemp", denied)
    res = CliRunner().invoke(main, ["build", "--raw", str(raw), "--out", str(out)])
    _clean_error(res, f"{tmp_path / 'site'}: Permission denied", "permissions")
    assert ".tmp" not in res.output  # the folder is named, not the temporary name inside it


def test_os_error_message_names_absolute_paths_and_keeps_plain_files():
    from atomdata.cli import _os_error_message

    msg = _os_error_message(FileNotFoundError(errno.ENOENT, "No such file or directory", "x/models.parquet"))
    assert msg.endswith("x/models.parquet: No such file or directory") and msg.startswith("/")
    assert "permissions" not in msg
    assert _os_error_message(OSError(errno.ENOSPC, "No space left on device")) == "No space left on device"


@pytest.mark.parametrize("text, expected", [
    ("[]", "a JSON object was expected, found list"),
    ("null", "a JSON object was expected, found NoneType"),
    ("DROP", "'sha256' is missing"),
    ("BADSHA", "'sha256' is not 64 hex digits"),
    ("NOROWS", "'rows' is missing"),
])
def test_a_damaged_manifest_is_a_snapshot_error_not_a_crash(tmp_path, text, expected):
    raw = _store(tmp_path)
    path = raw / "2026-07-01" / "manifest.json"
    m = json.loads(path.read_text())
    if text == "DROP":
        del m["sha256"]
        text = json.dumps(m)
    elif text == "BADSHA":
        m["sha256"] = "abc"
        text = json.dumps(m)
    elif text == "NOROWS":
        del m["rows"]
        text = json.dumps(m)
    path.write_text(text)
    with pytest.raises(SnapshotError, match="manifest") as err:
        store.list_snapshots(raw)
    assert expected in str(err.value) and str(path) in str(err.value)
    res = CliRunner().invoke(main, ["build", "--raw", str(raw), "--out", str(tmp_path / "processed")])
    _clean_error(res, expected)
    assert not (tmp_path / "processed").exists()
    # re-importing the dump names the damaged manifest too, instead of crashing on it
    dump = tmp_path / "in" / "2026-07-01" / "models.parquet"
    _clean_error(CliRunner().invoke(main, ["ingest", "dump", str(dump), "--raw", str(raw)]), expected)


def test_validate_outside_a_project_checks_the_shipped_release(tmp_path, monkeypatch):
    """After `pip install atomdata-hub`, the README's `atomdata validate && atomdata figures` from any
    folder checks the shipped tables, as `figures` and `release` fall back to them."""
    from atomdata.settings import release_dir

    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["validate"])
    assert res.exit_code == 0, res.output
    assert str(release_dir() / "processed") in res.output and f"{len(TABLES)} tables valid" in res.output
    # an explicit folder that does not exist is still an error, and so is an empty ./processed
    res = CliRunner().invoke(main, ["validate", "--processed", str(tmp_path / "nope")])
    assert res.exit_code == 1 and "no such folder" in res.output
    (tmp_path / "processed").mkdir()
    res = CliRunner().invoke(main, ["validate"])
    assert res.exit_code == 1 and str(tmp_path / "processed") in res.output


def test_build_never_replaces_a_folder_holding_other_files(tmp_path, monkeypatch):
    """`build --out DIR` replaces DIR as a whole: a folder with someone's files in it, the current
    folder or one above it is refused before any work, and nothing in it is touched."""
    from atomdata.build import build
    from atomdata.errors import AtomdataError

    raw = _store(tmp_path)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "thesis.txt").write_text("years of work")
    res = CliRunner().invoke(main, ["build", "--raw", str(raw), "--out", str(docs)])
    _clean_error(res, docs, "thesis.txt", "would delete them")
    assert sorted(p.name for p in docs.iterdir()) == ["thesis.txt"]
    with pytest.raises(AtomdataError, match="thesis.txt"):
        build(raw, docs)
    assert (docs / "thesis.txt").read_text() == "years of work"
    # the current folder (here the project folder, with the store in it) and the folder above it
    monkeypatch.chdir(tmp_path)
    for out in (".", str(tmp_path), str(tmp_path.parent)):
        _clean_error(CliRunner().invoke(main, ["build", "--raw", str(raw), "--out", out]), "current folder")
    assert (raw / "2026-07-01" / "models.parquet").is_file()
    # a folder of tables from an earlier build (or an empty one) is replaced as before
    for out in (tmp_path / "empty", tmp_path / "processed"):
        out.mkdir()
        for _ in range(2):
            res = CliRunner().invoke(main, ["build", "--raw", str(raw), "--out", str(out)])
            assert res.exit_code == 0, res.output
        assert (out / "models.csv").is_file() and (out / "datapackage.json").is_file()
    # the project layout: ./processed by default
    res = CliRunner().invoke(main, ["build", "--raw", str(raw)])
    assert res.exit_code == 0, res.output
    (tmp_path / "processed" / "my_analysis.csv").write_text("mine\n")
    res = CliRunner().invoke(main, ["build", "--raw", str(raw)])
    _clean_error(res, "my_analysis.csv")
    assert (tmp_path / "processed" / "my_analysis.csv").read_text() == "mine\n"
