"""Release zip: deterministic, unpacks into a package the frictionless validator accepts, and its
CHANGELOG states what changed since the previous release."""
from __future__ import annotations

import shutil
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import click
import pandas as pd
import pytest
from click.testing import CliRunner

from _publish_fixtures import early_build, shared_build  # noqa: F401  (fixtures)
from atomdata.errors import InputError
from atomdata.publish.figures import FIGURES
from atomdata.publish.release import changelog_entry, make_release
from atomdata.schemas import TABLES

FRICTIONLESS = Path(sys.executable).parent / "frictionless"


@pytest.fixture(scope="module")
def release_zip(shared_build, tmp_path_factory) -> Path:
    return make_release(shared_build / "processed", tmp_path_factory.mktemp("dist"))


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def test_zip_is_deterministic(shared_build, release_zip, tmp_path):
    assert release_zip.name == "atomdata-2026.08.03.zip"
    again = make_release(shared_build, tmp_path / "other")  # the project folder works too
    assert again.read_bytes() == release_zip.read_bytes()
    # re-running into the same folder does not compare the release with itself
    rerun = make_release(shared_build / "processed", release_zip.parent)
    assert rerun == release_zip and rerun.read_bytes() == again.read_bytes()
    with zipfile.ZipFile(release_zip) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        for i in infos:
            assert i.date_time == (1980, 1, 1, 0, 0, 0)
            assert (i.external_attr >> 16) & 0o777 == 0o644
            assert i.compress_type == zipfile.ZIP_DEFLATED
        assert zf.testzip() is None
    assert not [p for p in release_zip.parent.iterdir() if p.name.endswith(".tmp")]


def test_zip_contents(release_zip):
    m = _members(release_zip)
    top = "atomdata-2026.08.03/"
    assert all(n.startswith(top) for n in m)
    for name in TABLES:
        assert f"{top}processed/{name}.csv" in m
    for fig in FIGURES:
        for ext in ("png", "svg"):
            assert len(m[f"{top}figures/{fig}.{ext}"]) > 5_000
    readme = m[f"{top}README.md"].decode()
    # data dictionary from the schemas: every table and every column, with type and unit
    for name, model in TABLES.items():
        assert f"### `{name}`" in readme
        for col in model.to_schema().columns:
            assert f"| `{col}` |" in readme, f"{name}.{col} missing from the data dictionary"
    assert "| `downloads` | integer | downloads | required; ≥ 0 |" in readme
    assert "| `month` | yearmonth |" in readme
    assert "one of `us`, `china`, `eu`, `other`, `unknown`" in readme
    assert "samples of the Hub, not the whole Hub" in readme
    assert "CC-BY-4.0" in readme and "Apache-2.0" in readme
    assert "## Citation" in readme and "atomdata contributors (2026)" in readme
    assert "docs/methodology.md" in readme
    assert "Months with measured downloads: 2026-07" in readme
    changelog = m[f"{top}CHANGELOG.md"].decode()
    assert "## 2026.08.03" in changelog and "First release" in changelog
    # self-contained and citable: the licences, notice and citation travel with the data
    from conftest import REPO

    for f in ("LICENSE", "LICENSE-DATA", "NOTICE", "docs/methodology.md", "raw/families.csv"):
        assert m[f"{top}{f}"] == (REPO / f).read_bytes(), f
    assert "pip install atomdata-hub" in readme and "pip install atomdata`" not in readme
    assert "data version **2026.08.03**, released 2026-08-03" in readme and "@misc{atomdata_2026_08_03," in readme
    for f in ("LICENSE", "LICENSE-DATA", "NOTICE", "CITATION.cff"):
        assert f"`{f}`" in readme, f


def test_zip_citation_names_its_data_version_and_date(release_zip):
    import yaml

    cff = yaml.safe_load(_members(release_zip)["atomdata-2026.08.03/CITATION.cff"])
    pref = cff["preferred-citation"]
    assert (str(pref["version"]), str(pref["date-released"])) == ("2026.08.03", "2026-08-03")
    assert "atomdata-2026.08.03.zip" in pref["notes"] and pref["license"] == "CC-BY-4.0"
    assert cff["url"].startswith("https://pypi.org/project/atomdata-hub")


def test_committed_citation_is_that_of_the_shipped_release():
    """CITATION.cff names the data version of the committed datapackage.json, and is what a
    release of that version writes (so the repository's and the zip's citations agree)."""
    import yaml

    from atomdata.publish.citation import citation_cff
    from conftest import REPO

    text = (REPO / "CITATION.cff").read_text(encoding="utf-8")
    version = json.loads((REPO / "datapackage.json").read_text())["version"]
    assert str(yaml.safe_load(text)["preferred-citation"]["version"]) == version
    assert yaml.safe_load(citation_cff(text, version)) == yaml.safe_load(text)
    other = yaml.safe_load(citation_cff(text, "2027.01.31"))["preferred-citation"]
    assert (other["version"], other["date-released"]) == ("2027.01.31", "2027-01-31")


#: a relative file name in a descriptor's text (the upstream files a source describes, .parquet, aside)
FILE_RE = r"(?<![\w/.:@-])((?:[\w.-]+/)*[\w-]+\.(?:csv|json|md|toml|cff|txt|ya?ml|png|svg|py))\b"


def _named_files(node) -> set[str]:
    import re

    if isinstance(node, dict):
        return set().union(*(_named_files(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(_named_files(v) for v in node)) if node else set()
    return set(re.findall(FILE_RE, node)) if isinstance(node, str) else set()


def test_every_file_the_zips_datapackage_names_is_in_the_zip(release_zip):
    """Every path, and every file its text refers to (README.md, docs/methodology.md, raw/families.csv,
    LICENSE, NOTICE: not shared/data/provenance.csv nor pyproject.toml), is inside the zip."""
    from atomdata.publish.datapackage import local_paths

    m = _members(release_zip)
    top = "atomdata-2026.08.03/"
    desc = json.loads(m[f"{top}datapackage.json"])
    paths = local_paths(desc)
    assert len(paths) == len(TABLES)
    named = _named_files(desc)
    assert {"README.md", "docs/methodology.md", "raw/families.csv"} <= named
    missing = sorted(p for p in set(paths) | named if f"{top}{p}" not in m)
    assert not missing, missing
    assert desc["code_license"] == "Apache-2.0 (the atomdata code; see LICENSE)"


def test_a_descriptor_of_an_older_atomdata_is_brought_up_to_date(tmp_path):
    """A datapackage.json written before the licence files existed (code licence 'see pyproject.toml',
    sources 'see shared/data/provenance.csv') still gives a zip that names only files it holds."""
    from atomdata.publish.datapackage import local_paths
    from conftest import REPO

    site = tmp_path / "site"
    shutil.copytree(REPO / "processed", site / "processed")
    desc = json.loads((REPO / "datapackage.json").read_text())
    desc["code_license"] = "Apache-2.0 (the atomdata code; see pyproject.toml)"
    desc["sources"].append({"title": "my dump, see shared/data/provenance.csv"})
    (site / "datapackage.json").write_text(json.dumps(desc))
    m = _members(make_release(site / "processed", tmp_path / "dist", figures_dir=REPO / "figures"))
    top = f"atomdata-{desc['version']}/"
    packed = json.loads(m[f"{top}datapackage.json"])
    named = _named_files(packed) | set(local_paths(packed))
    assert "pyproject.toml" not in named and "shared/data/provenance.csv" not in named
    assert all(f"{top}{p}" in m for p in named)
    assert packed["sources"][-1]["title"] == "my dump, see NOTICE"


def test_readme_loading_recipes_read_the_tables(release_zip, tmp_path):
    """The README's pandas, DuckDB (and, where R is installed, R) recipes read the unzipped
    tables and agree with each other."""
    import re
    import shutil as sh

    import duckdb

    with zipfile.ZipFile(release_zip) as zf:
        zf.extractall(tmp_path)
    pkg = tmp_path / "atomdata-2026.08.03"
    readme = (pkg / "README.md").read_text()
    blocks = dict(re.findall(r"```(python|r|sql)\n(.*?)```", readme, flags=re.S))
    assert set(blocks) == {"python", "r", "sql"}
    scope: dict = {}
    cwd = Path.cwd()
    try:
        import os

        os.chdir(pkg)
        exec(blocks["python"], scope)
        via_duckdb = duckdb.sql(blocks["sql"].strip().rstrip(";")).df()
    finally:
        os.chdir(cwd)
    df = scope["df"]
    assert len(df) == len(pd.read_csv(pkg / "processed" / "downloads_by_country.csv")) and df["country"].isna().any()
    by_region = df.groupby(["month", "region"])["downloads"].sum()
    assert {(r.month, r.region): int(r.downloads) for r in via_duckdb.itertuples()} == {k: int(v) for k, v in by_region.items()}
    rscript = sh.which("Rscript")
    if rscript:
        code = blocks["r"] + 'cat(nrow(df), sum(is.na(df$country)), sum(df$downloads), "\\n")'
        out = subprocess.run([rscript, "-e", code], cwd=pkg, capture_output=True, text=True, check=True).stdout.split()
        assert out == [str(len(df)), str(int(df["country"].isna().sum())), str(int(df["downloads"].sum()))]


def test_unpacked_zip_passes_frictionless_validate(release_zip, tmp_path):
    assert FRICTIONLESS.is_file(), f"frictionless CLI not found next to {sys.executable}"
    with zipfile.ZipFile(release_zip) as zf:
        zf.extractall(tmp_path)
    pkg = tmp_path / "atomdata-2026.08.03"
    # the JSON report: the console one truncates long table names to the terminal width
    r = subprocess.run([str(FRICTIONLESS), "validate", "--json", "datapackage.json"], cwd=pkg,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    report = json.loads(r.stdout)
    assert report["valid"] is True
    checked = {task["name"]: task["valid"] for task in report["tasks"]}
    assert checked == {name: True for name in TABLES}


def test_changelog_states_months_added_since_previous_release(early_build, shared_build, tmp_path):
    dist = tmp_path / "dist"
    first = make_release(early_build / "processed", dist)
    assert first.name == "atomdata-2026.07.20.zip"
    second = make_release(shared_build / "processed", dist)
    assert second.name == "atomdata-2026.08.03.zip"
    cl = _members(second)["atomdata-2026.08.03/CHANGELOG.md"].decode()
    entry, _, older = cl.partition("\n## 2026.07.20")
    assert "## 2026.08.03" in entry
    assert "previous release 2026.07.20 (`atomdata-2026.07.20.zip`)" in entry
    assert "Months of downloads added: 2026-07." in entry
    assert "2026-08-03" in entry  # snapshots added are named
    assert "Rows:" in entry and "model_downloads_monthly 0 → " in entry
    assert "First release" in older  # the previous entry is kept below
    # the second release is still reproducible with the first one beside it
    again = make_release(shared_build / "processed", dist)
    assert again.read_bytes() == second.read_bytes()


def _dbc(month_shares: dict[str, dict[str, int]]) -> pd.DataFrame:
    rows = [{"month": m, "region": r, "downloads": d} for m, regions in month_shares.items() for r, d in regions.items()]
    return pd.DataFrame(rows)


def test_changelog_reports_shares_moved_by_more_than_a_point():
    prev = {"downloads_by_country": _dbc({"2026-07": {"us": 50, "china": 50}}),
            "snapshots": pd.DataFrame({"name": ["2026-07-01", "2026-08-01"]})}
    new = {"downloads_by_country": _dbc({"2026-07": {"us": 495, "china": 505},  # +0.5 pp: not reported
                                         "2026-08": {"us": 40, "china": 57, "eu": 3}}),
           "snapshots": pd.DataFrame({"name": ["2026-07-01", "2026-08-01", "2026-09-01"]})}
    text = changelog_entry("2026.09.01", new, "2026.08.01", prev, "atomdata-2026.08.01.zip")
    assert "Months of downloads added: 2026-08." in text
    assert "added: 2026-09-01" in text
    assert "2026-07 (revised)" not in text
    assert "latest month 2026-08 against the previous latest month 2026-07" in text
    assert "us 50.0% → 40.0% (-10.0 pp)" in text and "china 50.0% → 57.0% (+7.0 pp)" in text
    assert "eu 0.0% → 3.0% (+3.0 pp)" in text
    same = changelog_entry("2026.08.02", prev, "2026.08.01", prev, "atomdata-2026.08.01.zip")
    assert "No regional share moved by more than 1 percentage point." in same
    assert "Months of downloads added: none." in same


def test_release_needs_the_datapackage(shared_build, tmp_path):
    shutil.copytree(shared_build / "processed", tmp_path / "processed")
    with pytest.raises(InputError, match="datapackage.json"):
        make_release(tmp_path / "processed", tmp_path / "dist")
    assert not (tmp_path / "dist").exists()


def test_cli_release(shared_build, tmp_path):
    from atomdata.commands.publish import release

    @click.group()
    def main():
        pass

    main.add_command(release)
    r = CliRunner().invoke(main, ["release", "--processed", str(shared_build / "processed"), "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert r.output.strip().splitlines()[-1].startswith(str(tmp_path / "atomdata-2026.08.03.zip"))
    assert "processed/models.csv" in r.output
    r = CliRunner().invoke(main, ["release", "--processed", str(tmp_path / "nope"), "--out", str(tmp_path)])
    assert r.exit_code == 1 and "no such folder" in r.output
    figs = tmp_path / "figs"
    figs.mkdir()
    r = CliRunner().invoke(main, ["release", "--processed", str(shared_build / "processed"), "--figures", str(figs),
                                  "--out", str(tmp_path / "d2")])
    assert r.exit_code == 1 and "figures missing" in r.output


def test_release_refuses_tables_that_fail_their_schemas(shared_build, tmp_path):
    import shutil

    from click.testing import CliRunner

    from atomdata.cli import main

    site = tmp_path / "site"
    shutil.copytree(shared_build / "processed", site / "processed")
    shutil.copy(shared_build / "datapackage.json", site / "datapackage.json")
    path = site / "processed" / "downloads_by_country.csv"
    lines = path.read_text().splitlines()
    cells = lines[1].split(",")
    header = lines[0].split(",")
    cells[header.index("downloads")] = "-43047"
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    # and a value that cannot be typed in another table: both in one report, files named by path and line
    snaps = site / "processed" / "snapshots.csv"
    slines = snaps.read_text().splitlines()
    scells = slines[2].split(",")
    scells[slines[0].split(",").index("rows")] = "many"
    slines[2] = ",".join(scells)
    snaps.write_text("\n".join(slines) + "\n")
    res = CliRunner().invoke(main, ["release", "--processed", str(site / "processed"), "--out", str(tmp_path / "dist")])
    assert res.exit_code == 1
    assert "downloads_by_country" in res.output and "downloads" in res.output and "line 2: '-43047'" in res.output
    assert f"({snaps})" in res.output and "column rows: 1 value(s) are not whole numbers; e.g. line 3: 'many'" in res.output
    assert "BytesIO" not in res.output
    assert not (tmp_path / "dist").exists() or not any((tmp_path / "dist").glob("*.zip"))


def test_release_packs_only_the_tables_datapackage_json_describes(tmp_path):
    """A CSV of one's own left in the tables' folder (notes, a copy of a table) is not published:
    the package would carry a file its datapackage.json does not describe."""
    from conftest import REPO

    site = tmp_path / "site"
    shutil.copytree(REPO / "processed", site / "processed")
    shutil.copy(REPO / "datapackage.json", site / "datapackage.json")
    (site / "processed" / "my notes.csv").write_text("draft,not for publication\n")
    shutil.copy(REPO / "processed" / "models.csv", site / "processed" / "models (copy).csv")
    path = make_release(site / "processed", tmp_path / "dist", figures_dir=REPO / "figures")
    tables = sorted(n.split("/processed/")[1] for n in _members(path) if "/processed/" in n)
    assert tables == sorted(f"{name}.csv" for name in TABLES)


def test_release_never_overwrites_a_release_of_the_same_version_with_other_bytes(tmp_path):
    """A release is cited by its data version: a second release of that version with other
    contents (a registry fix without a newer snapshot, a hand-edited table) is refused and the
    first zip stays as it was; the same contents again are a no-op."""
    from atomdata.errors import AtomdataError
    from conftest import REPO

    site = tmp_path / "site"
    shutil.copytree(REPO / "processed", site / "processed")
    shutil.copy(REPO / "datapackage.json", site / "datapackage.json")
    first = make_release(site / "processed", tmp_path / "dist", figures_dir=REPO / "figures")
    before = first.read_bytes()
    assert make_release(site / "processed", tmp_path / "dist", figures_dir=REPO / "figures") == first
    orgs = site / "processed" / "organizations.csv"
    text = orgs.read_text(encoding="utf-8")
    orgs.write_text(text.replace("Alibaba", "Alibaba Group", 1), encoding="utf-8")
    with pytest.raises(AtomdataError, match="exists with other contents"):
        make_release(site / "processed", tmp_path / "dist", figures_dir=REPO / "figures")
    assert first.read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "dist").iterdir()) == [first.name]
