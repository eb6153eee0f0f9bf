"""Integrity across tables: broken keys and totals that no longer add up fail `atomdata validate`,
and `atomdata release` refuses such a folder without writing anything.

Each test damages a copy of the committed release the way a careless edit or a partial copy
would: rows of models.csv, model_downloads_monthly.csv or derivatives.csv deleted, one model's
monthly downloads inflated, a row repeated, a registry country changed.
"""
from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from atomdata.schemas import TABLES
from atomdata.cli import main
from atomdata.errors import ValidationFailed
from atomdata.integrity import validate_folder
from conftest import REPO

FRICTIONLESS = Path(sys.executable).parent / "frictionless"


@pytest.fixture
def site(tmp_path) -> Path:
    """A project folder holding a copy of the committed tables and their datapackage.json."""
    shutil.copytree(REPO / "processed", tmp_path / "processed")
    shutil.copy(REPO / "datapackage.json", tmp_path / "datapackage.json")
    return tmp_path


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def _write(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def _drop_lines(path: Path, keep) -> list[str]:
    """Rewrite a CSV keeping the lines (header is line 1) for which ``keep(line_number)``; returns the lines dropped."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    dropped = [ln for n, ln in enumerate(lines, 1) if not keep(n)]
    path.write_text("".join(ln for n, ln in enumerate(lines, 1) if keep(n)), encoding="utf-8")
    return dropped


def _add_downloads(path: Path, model_id: str, extra: int) -> int:
    rows = _rows(path)
    h = rows[0]
    (i,) = [n for n, r in enumerate(rows) if r[h.index("model_id")] == model_id]
    before = int(rows[i][h.index("downloads")])
    rows[i][h.index("downloads")] = str(before + extra)
    _write(path, rows)
    return before


def _validate(site: Path):
    return CliRunner().invoke(main, ["validate", "--processed", str(site / "processed")])


def _release_refuses(site: Path) -> str:
    dist = site / "dist"
    res = CliRunner().invoke(main, ["release", "--processed", str(site / "processed"), "--out", str(dist),
                                    "--figures", str(REPO / "figures")])
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    assert not dist.exists() or not any(dist.iterdir()), "a refused release wrote something"
    return res.output


def _region_total(site: Path, country: str) -> int:
    rows = _rows(site / "processed" / "downloads_by_country.csv")
    h = rows[0]
    return sum(int(r[h.index("downloads")]) for r in rows[1:] if r[h.index("country")] == country)


def test_the_committed_release_is_consistent_across_tables(site):
    res = _validate(site)
    assert res.exit_code == 0, res.output
    assert f"{len(TABLES)} tables valid" in res.output


def test_deleting_100_models_breaks_every_reference_to_them(site):
    models = site / "processed" / "models.csv"
    gone = [ln.split(",")[0] for ln in _drop_lines(models, lambda n: not 2 <= n <= 101)]
    assert len(gone) == 100
    res = _validate(site)
    assert res.exit_code == 1
    out = res.output
    for table in ("model_downloads_monthly", "derivatives", "model_attributes"):
        assert f"table '{table}' ({site / 'processed' / table}.csv): across tables:" in out, table
    assert "foreign key (model_id) -> models (model_id): 100 row(s) name 100 key(s) that models lacks; e.g. line 2: " \
           f"('{gone[0]}')" in out  # model_attributes: one row per model, in the same order
    assert "check 'one row per model of models': 100 row(s) here that it does not give" in out
    _release_refuses(site)


def test_frictionless_and_atomdata_agree_on_broken_foreign_keys(site):
    """The keys atomdata checks are those datapackage.json declares: frictionless rejects the
    same damaged folder for foreign keys."""
    _drop_lines(site / "processed" / "models.csv", lambda n: not 2 <= n <= 101)
    r = subprocess.run([str(FRICTIONLESS), "validate", "--json", "datapackage.json"], cwd=site,
                       capture_output=True, text=True, timeout=600)
    report = json.loads(r.stdout)
    assert report["valid"] is False
    codes = {e["type"] for t in report["tasks"] for e in t["errors"]}
    assert codes == {"foreign-key"}, codes
    with pytest.raises(ValidationFailed, match="foreign key"):
        validate_folder(site / "processed")


def test_deleting_monthly_rows_breaks_the_country_totals(site):
    _drop_lines(site / "processed" / "model_downloads_monthly.csv", lambda n: not 2 <= n <= 101)
    res = _validate(site)
    assert res.exit_code == 1
    assert ("table 'downloads_by_country'" in res.output and
            "check 'model_downloads_monthly of the models in_scope summed by month, country and region'" in res.output)
    assert "row(s) differ; e.g. line " in res.output and "expected" in res.output
    _release_refuses(site)


def test_deleting_the_last_50_derivatives_is_seen(site):
    dropped = _drop_lines(site / "processed" / "derivatives.csv", lambda n, total=2587: n <= total - 50)
    assert len(dropped) == 50
    res = _validate(site)
    assert res.exit_code == 1
    assert ("check 'one row per model that models lists with a declared base, with the same relation, base and "
            f"creation date': 50 row(s) it gives are missing; e.g. ({dropped[0].split(',')[0]})") in res.output
    assert "table 'derivatives_by_country'" in res.output and "table 'derivatives_by_root_org'" in res.output
    _release_refuses(site)


def test_inflated_downloads_of_a_first_party_model_break_the_headline(site):
    """50,000,000 more July downloads for DeepSeek-R1 (first-party, China): the China row of
    downloads_by_country no longer adds up, and the report says by how much."""
    mid = "deepseek-ai/DeepSeek-R1"
    models = _rows(site / "processed" / "models.csv")
    h = models[0]
    assert [r[h.index("first_party")] for r in models if r[0] == mid] == ["True"]
    _add_downloads(site / "processed" / "model_downloads_monthly.csv", mid, 50_000_000)
    china = _region_total(site, "CN")
    res = _validate(site)
    assert res.exit_code == 1
    assert f"(2026-07, CN, china): downloads {china:,}, expected {china + 50_000_000:,}" in res.output
    out = _release_refuses(site)
    assert "downloads_by_country" in out


def test_inflated_downloads_of_a_derivative_break_the_ecosystem_table(site):
    mid = "Orion-zhen/Qwen2.5-7B-Instruct-Uncensored"  # a community fine-tune of Qwen: derivative downloads
    _add_downloads(site / "processed" / "model_downloads_monthly.csv", mid, 50_000_000)
    res = _validate(site)
    assert res.exit_code == 1
    assert "table 'ecosystem_downloads_by_country'" in res.output
    assert "table 'downloads_by_country'" not in res.output  # not first-party: the headline is untouched
    assert "(declared, 2026-07, CN, china): derivative_downloads" in res.output


def test_a_repeated_primary_key_is_reported_and_totals_wait(site):
    """The schemas' own uniqueness checks see a repeated row first; the integrity check derives the
    same keys from the schemas' metadata (it is the backstop where a schema declares no unique),
    and totals over a table with repeated keys wait: its rows cannot be lined up."""
    from atomdata import integrity

    tables = validate_folder(site / "processed")
    dbp = tables["downloads_by_period"]
    tables["downloads_by_period"] = dbp.iloc[[*range(len(dbp)), 0]].reset_index(drop=True)
    rows = {n: (lambda i: f"line {i + 2}") for n in tables}
    blocks = integrity.check(tables, rows, {n: f"{n}.csv" for n in tables})
    assert len(blocks) == 1, blocks
    assert blocks[0].startswith("table 'downloads_by_period' (downloads_by_period.csv): across tables:\n"
                                "  primary key (period_type, period, country, region): 2 row(s) share their key with another row; "
                                f"e.g. line 2: ('month', '2026-07', 'CN', 'china'); line {len(dbp) + 2}: ('month', '2026-07', 'CN', 'china')")
    assert "totals and references that need downloads_by_period: not checked until every key is unique" in blocks[0]
    # through the CLI the schema's uniqueness check reports it, naming both lines
    path = site / "processed" / "downloads_by_period.csv"
    csv_rows = _rows(path)
    _write(path, csv_rows + [csv_rows[1]])
    res = _validate(site)
    assert res.exit_code == 1 and "unique" in res.output and f"line {len(csv_rows) + 1}" in res.output


def test_a_registry_country_that_changed_is_seen_in_models(site):
    """Qwen moved to the US in organizations.csv (country and region consistent, so the table
    itself passes): models and derivatives still say China."""
    path = site / "processed" / "organizations.csv"
    rows = _rows(path)
    h = rows[0]
    for r in rows:
        if r[0] == "Qwen":
            r[h.index("country")], r[h.index("region")] = "US", "us"
    _write(path, rows)
    res = _validate(site)
    assert res.exit_code == 1
    assert "check 'country and region of the models of registry organizations as organizations gives them'" in res.output
    assert "country 'CN', expected 'US', region 'china', expected 'us'" in res.output


def test_every_problem_of_every_table_in_one_report(site):
    """A schema failure in one table and broken references in others: one run lists them all,
    and says what waits for the table that failed its schema."""
    _drop_lines(site / "processed" / "models.csv", lambda n: not 2 <= n <= 11)
    path = site / "processed" / "snapshots.csv"
    rows = _rows(path)
    rows[3][rows[0].index("rows")] = "many"
    _write(path, rows)
    res = _validate(site)
    assert res.exit_code == 1
    assert "column rows: 1 value(s) are not whole numbers; e.g. line 4: 'many'" in res.output
    assert "table 'model_attributes'" in res.output and "foreign key (model_id) -> models" in res.output
    assert "keys and totals that involve snapshots are not checked until they pass their schemas" in res.output


def test_a_scope_the_code_cannot_rebuild_is_reported(site):
    for name in ("downloads_by_country", "downloads_by_period"):
        path = site / "processed" / f"{name}.csv"
        path.write_text(path.read_text(encoding="utf-8").replace("default (scope policy 1): ATOM-comparable",
                                                                 "default (scope policy 1): models I liked"), encoding="utf-8")
    res = _validate(site)
    assert res.exit_code == 1
    assert "cannot be checked: scope 'default (scope policy 1): models I liked" in res.output
    assert "is not a preset of" in res.output


def test_an_in_scope_mark_the_rules_do_not_give_is_reported(site):
    """models.in_scope is what the share tables sum; it must be the mask of the preset they name."""
    path = site / "processed" / "models.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    col = header.index("in_scope")
    at = next(i for i, line in enumerate(lines[1:], 1) if line.startswith("facebook/opt-125m,"))
    cells = lines[at].rstrip("\n").split(",")
    assert cells[col] == "False"  # created before ChatGPT: outside the default scope
    cells[col] = "True"
    lines[at] = ",".join(cells) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    res = _validate(site)
    assert res.exit_code == 1
    assert "check 'in_scope is the mask of the scope downloads_by_country names (its preset's rules)'" in res.output
    assert "table 'downloads_by_country'" in res.output  # and the totals no longer add up
    _release_refuses(site)
