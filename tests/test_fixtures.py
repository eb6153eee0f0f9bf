"""The committed fixtures (tests/fixtures/data) are what their provenance says: real rows of the
shared snapshots, cut by tests/fixtures/make_fixtures.py, with their sources' licences beside them."""
from __future__ import annotations

import csv
import hashlib
import importlib.util

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import FIXTURES

spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES.parent / "make_fixtures.py")
make_fixtures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_fixtures)


def _provenance(folder):
    with open(folder / "provenance.csv", newline="", encoding="utf-8") as f:
        return {r["path"]: r for r in csv.DictReader(f)}


def test_every_fixture_file_is_listed_with_its_rows_sha256_and_licence():
    prov = _provenance(FIXTURES)
    on_disk = {p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("*.parquet")}
    assert on_disk == set(prov) and len(prov) == len(make_fixtures.DATES) + 1 + len(make_fixtures.CATALOG)
    for rel, row in prov.items():
        data = (FIXTURES / rel).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row["sha256"], rel
        assert pq.read_metadata(FIXTURES / rel).num_rows == int(row["rows"]) <= int(row["source_rows"]), rel
        licence = (FIXTURES / rel.split("/")[0] / "LICENSE").read_text()
        assert {"Apache-2.0": "Apache License", "MIT": "MIT License"}[row["licence"]] in licence, rel
    # the shared 2026-06-17 and 2026-07-01 files are the 2026-06-16 file: so are their fixtures
    trio = {prov[f"hub-stats/{d}/models.parquet"]["sha256"] for d in ("2026-06-16", "2026-06-17", "2026-07-01")}
    assert len(trio) == 1
    assert sum(int(r["rows"]) for r in prov.values()) < sum(int(r["source_rows"]) for r in prov.values())


def test_fixtures_are_row_subsets_of_the_shared_snapshots(full_shared):
    """Each hub-stats fixture is its source's rows for one model set (the selection rule, run on
    the sources), in the source's order and schema, values unchanged; the trending listing and the
    two LLM-catalog days are their sources' bytes. A fixture's source is the file the shared provenance.csv names."""
    prov, shared_prov = _provenance(FIXTURES), _provenance(full_shared)
    sources = {d: pq.read_table(full_shared / f"hub-stats/{d}/models.parquet") for d in make_fixtures.DATES}
    chosen = make_fixtures.model_set(sources)
    for d, source in sources.items():
        rel = f"hub-stats/{d}/models.parquet"
        assert prov[rel]["source_sha256"] == shared_prov[rel]["sha256"], rel
        assert int(prov[rel]["source_rows"]) == source.num_rows, rel
        expected = source.filter(pa.array([i in chosen for i in source.column("id").to_pylist()]))
        got = pq.read_table(FIXTURES / rel)
        assert got.equals(expected, check_metadata=True), rel
    for rel in (make_fixtures.TRENDING, *make_fixtures.CATALOG):  # kept whole
        assert (FIXTURES / rel).read_bytes() == (full_shared / rel).read_bytes(), rel
        assert prov[rel]["sha256"] == shared_prov[rel]["sha256"], rel


def test_fixtures_are_cut_byte_for_byte(full_shared):
    """make_fixtures.py regenerates every committed file, provenance.csv included, byte for byte
    (with the pyarrow that wrote the sources)."""
    if pa.__version__ != "26.0.1":
        pytest.skip(f"pyarrow {pa.__version__}: the sources were written by 26.0.1, whose bytes this compares")
    files, rows = make_fixtures.cut(full_shared)
    files["provenance.csv"] = make_fixtures.provenance_csv(rows)
    assert {rel: hashlib.sha256(b).hexdigest() for rel, b in files.items()} == \
           {rel: hashlib.sha256((FIXTURES / rel).read_bytes()).hexdigest() for rel in files}
