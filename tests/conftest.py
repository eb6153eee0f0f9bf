"""Shared fixtures: paths to the real snapshots in ../shared/data and small dumps written by tests."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ATOMDATA_SHARED", REPO.parent / "shared")) / "data"
HUB_STATS = SHARED / "hub-stats"

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


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (HUB_STATS / "2026-07-01" / "models.parquet").is_file():
        pytest.fail(f"real snapshots not found at {SHARED} (set ATOMDATA_SHARED to the folder holding data/)")
    return SHARED


@pytest.fixture(scope="session")
def july_build(tmp_path_factory, shared_data):
    """The shared 2026-07-01 and 2026-08-01 snapshots imported and built (once per session)."""
    from atomdata.build import build
    from atomdata.ingest.dump import import_dump

    root = tmp_path_factory.mktemp("july")
    raw = root / "raw"
    for d in ("2026-07-01", "2026-08-01"):
        import_dump(shared_data / "hub-stats" / d / "models.parquet", raw)
    res = build(raw, root / "processed")
    return root, res
