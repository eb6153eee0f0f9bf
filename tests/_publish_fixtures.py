"""Fixtures for the publishing tests (figures, release): tables built from the shared snapshots.

Import the fixtures into a test module with ``from _publish_fixtures import shared_build``.
The builds are cached for the whole session, so modules that import them share one build.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

_CACHE: dict[str, Path] = {}


def build_release_inputs(root: Path, dumps: list[Path]) -> Path:
    """Import ``dumps`` into ``root/raw``, build ``root/processed`` and ``root/datapackage.json``."""
    from atomdata.build import build
    from atomdata.ingest.dump import import_dump
    from atomdata.publish.datapackage import write_datapackage

    raw, processed = root / "raw", root / "processed"
    for dump in dumps:
        import_dump(dump, raw)
    res = build(raw, processed)
    write_datapackage(res, processed)
    return root


def _cached(key: str, tmp_path_factory, make) -> Path:
    if key not in _CACHE:
        _CACHE[key] = make(tmp_path_factory.mktemp(key))
    return _CACHE[key]


@pytest.fixture(scope="session")
def shared_build(tmp_path_factory, shared_data) -> Path:
    """Every dated snapshot in ../shared/data/hub-stats built into a project folder (raw/,
    processed/, datapackage.json), once per session."""
    dumps = sorted((shared_data / "hub-stats").glob("*/models.parquet"))
    return _cached("publish_full", tmp_path_factory, lambda root: build_release_inputs(root, dumps))


@pytest.fixture(scope="session")
def early_build(tmp_path_factory, shared_data) -> Path:
    """The same series cut at 2026-07-20: fewer snapshots, no measurable month of downloads yet."""
    dumps = sorted(p for p in (shared_data / "hub-stats").glob("*/models.parquet") if p.parent.name <= "2026-07-20")
    return _cached("publish_early", tmp_path_factory, lambda root: build_release_inputs(root, dumps))


def rewrite_csv(path: Path, keep) -> int:
    """Keep the rows of a table CSV for which ``keep(row: dict)`` is true (header kept); returns rows kept."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames
        rows = [r for r in reader if keep(r)]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return len(rows)
