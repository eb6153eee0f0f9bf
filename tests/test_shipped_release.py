"""The committed release can never drift from the code: rebuild it from the shared snapshots (the
full series: without it, the rebuild tests skip; the committed package is still validated)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from atomdata.build import build
from atomdata.ingest.dump import import_dump
from atomdata.publish.datapackage import write_datapackage
from atomdata.schemas import TABLES
from conftest import REPO

SOURCE = ("hub-stats models.parquet extract (Hugging Face Hub metadata), via "
          "github.com/evaleval/eval-card-registry@0b3ec4c1; see shared/data/provenance.csv")
TRENDING_SOURCE = ("hub-trending models.parquet: top 1,000 models by the Hub's trending sort on 2026-05-04, via "
                   "github.com/0motionguy/starscreener@650c160a; see shared/data/provenance.csv")


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory, full_shared):
    root = tmp_path_factory.mktemp("release")
    for dump in sorted((full_shared / "hub-stats").glob("*/models.parquet")):
        import_dump(dump, root / "raw", source=SOURCE, license="Apache-2.0")
    # the trending listing feeds only trending_by_country and organization_summary (see methodology)
    import_dump(full_shared / "hub-trending" / "2026-05-04" / "models.parquet", root / "raw", suffix="trending",
                source=TRENDING_SOURCE, license="MIT")
    res = build(root / "raw", root / "processed")
    write_datapackage(res, root / "processed", root)
    return root


def test_every_shared_snapshot_has_a_committed_manifest(rebuilt):
    committed = sorted(p.parent.name for p in (REPO / "raw").glob("*/manifest.json"))
    fresh = sorted(p.parent.name for p in (rebuilt / "raw").glob("*/manifest.json"))
    assert committed == fresh and len(committed) == 36
    for name in committed:
        a = json.loads((REPO / "raw" / name / "manifest.json").read_text())
        b = json.loads((rebuilt / "raw" / name / "manifest.json").read_text())
        a.pop("atomdata_version"), b.pop("atomdata_version")
        assert a == b, name


@pytest.mark.parametrize("table", list(TABLES))
def test_committed_tables_equal_a_fresh_build(rebuilt, table):
    assert (REPO / "processed" / f"{table}.csv").read_bytes() == (rebuilt / "processed" / f"{table}.csv").read_bytes()


def test_committed_datapackage_equals_a_fresh_one(rebuilt):
    a = json.loads((REPO / "datapackage.json").read_text())
    b = json.loads((rebuilt / "datapackage.json").read_text())
    assert a == b


def test_frictionless_validates_the_committed_package():
    exe = Path(sys.executable).parent / "frictionless"
    res = subprocess.run([str(exe), "validate", "--json", "datapackage.json"], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    report = json.loads(res.stdout)
    assert report["valid"] is True
    assert {t["name"]: t["valid"] for t in report["tasks"]} == {name: True for name in TABLES}


def test_load_every_table_typed():
    import pandas as pd

    import atomdata

    names = atomdata.tables()
    assert set(names) == set(TABLES) and all(names.values())
    for name in names:
        df = atomdata.load(name)
        assert len(df) > 0
    dbc = atomdata.load("downloads_by_country")
    assert isinstance(dbc["region"].dtype, pd.CategoricalDtype)
    assert list(dbc["region"].cat.categories) == ["us", "china", "eu", "other", "unknown"]
    assert str(dbc["downloads"].dtype) == "Int64"
    models = atomdata.load("models")
    assert pd.api.types.is_datetime64_any_dtype(models["created_at"])
    assert atomdata.data_version() == "2026.08.03"
