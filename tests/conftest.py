"""Shared fixtures: the real snapshots (the full shared series, else the committed subset of it;
see testdata.py) and small dumps written by tests."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from testdata import DATA, FIXTURES, FULL, NEEDS_FULL, REPO, SHARED, SHARED_ENV  # noqa: F401  (FULL, REPO: for the tests)

BASE_TYPE = pa.struct([("relation", pa.string()), ("models", pa.list_(pa.struct([("_id", pa.string()), ("id", pa.string())])))])
SAFETENSORS_TYPE = pa.struct([("total", pa.float64())])


def write_dump(path: Path, rows: list[dict]) -> Path:
    """Write a small dump in the hub-stats layout. Row keys: id, author, createdAt, downloads,
    downloadsAllTime, likes, tags, pipeline_tag, library_name, base (list of ids), relation, params."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    def base(r):
        if not r.get("base"):
            return None
        return {"relation": r.get("relation", "finetune"), "models": [{"_id": f"x{i}", "id": b} for i, b in enumerate(r["base"])]}
    table = pa.table({
        "id": pa.array([r["id"] for r in rows], pa.string()),
        "author": pa.array([r.get("author", r["id"].split("/")[0]) for r in rows], pa.string()),
        "createdAt": pa.array([r.get("createdAt", dt.datetime(2025, 1, 15)) for r in rows], pa.timestamp("us")),
        "downloads": pa.array([r.get("downloads") for r in rows], pa.int64()),
        "downloadsAllTime": pa.array([r.get("downloadsAllTime") for r in rows], pa.int64()),
        "likes": pa.array([r.get("likes", 0) for r in rows], pa.int64()),
        "tags": pa.array([r.get("tags", []) for r in rows], pa.list_(pa.string())),
        "pipeline_tag": pa.array([r.get("pipeline_tag", "text-generation") for r in rows], pa.string()),
        "library_name": pa.array([r.get("library_name", "transformers") for r in rows], pa.string()),
        "baseModels": pa.array([base(r) for r in rows], BASE_TYPE),
        "safetensors": pa.array([{"total": float(r["params"])} if r.get("params") else None for r in rows], SAFETENSORS_TYPE),
    })
    pq.write_table(table, path)
    return path


def pytest_configure(config):
    if SHARED_ENV and not (SHARED / "hub-stats").is_dir():
        raise pytest.UsageError(f"ATOMDATA_SHARED={SHARED_ENV}: no data/hub-stats there (unset it to use ../shared "
                                f"or the committed fixtures {FIXTURES})")


def pytest_report_header(config):
    if FULL:
        return f"test data: the full shared snapshots at {SHARED}"
    return f"test data: the committed fixtures at {FIXTURES} (tests that need the full series skip)"


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The folder holding hub-stats/ and hub-trending/: the full shared series when it is there,
    else the committed fixtures (real rows cut from it). ``FULL`` says which."""
    return DATA


@pytest.fixture(scope="session")
def full_shared() -> Path:
    """The full shared series (../shared/data or $ATOMDATA_SHARED/data); skips without it."""
    if not FULL:
        pytest.skip(NEEDS_FULL)
    return SHARED


@pytest.fixture(scope="session")
def july_build(tmp_path_factory, data_root):
    """The 2026-07-01 and 2026-08-01 snapshots imported and built (once per session)."""
    from atomdata.build import build
    from atomdata.ingest.dump import import_dump

    root = tmp_path_factory.mktemp("july")
    raw = root / "raw"
    for d in ("2026-07-01", "2026-08-01"):
        import_dump(data_root / "hub-stats" / d / "models.parquet", raw)
    res = build(raw, root / "processed")
    return root, res
