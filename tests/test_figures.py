"""Reference figures: all written (seven headline and analysis figures, two of the claims tables), deterministic, readable, robust to one month and to no data."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from _publish_fixtures import early_build, rewrite_csv, shared_build  # noqa: F401  (fixtures)
from atomdata.publish.figures import FIGURES, REGION_LABELS, data_version, make_figures, read_inputs, render

ATOMDATA_PARENT = str(Path(__import__("atomdata").__file__).resolve().parents[1])
NAMES = list(FIGURES)


def _svg(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def svgs(shared_build, tmp_path_factory):
    out = tmp_path_factory.mktemp("svg")
    return make_figures(shared_build / "processed", out, "svg")


def test_seven_figures_in_png_and_svg(shared_build, svgs, tmp_path):
    pngs = make_figures(shared_build / "processed", tmp_path, "png")
    assert [p.name for p in pngs] == [f"{n}.png" for n in NAMES]
    assert [p.name for p in svgs] == [f"{n}.svg" for n in NAMES]
    assert len(NAMES) >= 9 and {"trending_top_by_region", "cumulative_derivatives_top_root_orgs"} <= set(NAMES)
    for p in pngs:
        data = p.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(data) > 30_000, f"{p.name} looks empty ({len(data)} bytes)"
    for p in svgs:
        text = _svg(p)
        assert text.lstrip().startswith("<?xml") and "</svg>" in text
        assert len(text) > 8_000, f"{p.name} looks empty"
        # fig.savefig leaves no temporary files behind
    assert sorted(x.name for x in tmp_path.iterdir()) == sorted(p.name for p in pngs)


def test_svg_names_title_version_source_and_regions(shared_build, svgs):
    version = json.loads((shared_build / "datapackage.json").read_text())["version"]
    assert version == data_version(shared_build / "processed") == "2026.08.03"
    texts = {p.stem: _svg(p) for p in svgs}
    expected_titles = {
        "cumulative_downloads_by_region": "Cumulative downloads of open models by region of origin",
        "download_share_by_region": "Monthly download share of open models by region of origin",
        "derivative_share_by_root_region": "Share of new derivative models by region of their root base model",
        "top_organizations_latest_month": "Top organizations by downloads in the latest measured month",
        "derivatives_by_relation_top_roots": "Derivatives by relation for the most derived-from base-model organizations",
        "downloads_by_size_and_region": "Downloads by model size and region of origin",
        "adoption_momentum_recent_releases": "Adoption momentum of recent releases",
        "trending_top_by_region": "Hugging Face trending leaderboard by region of origin",
        "cumulative_derivatives_top_root_orgs": "Cumulative derivatives of the 5 most derived-from root organizations",
    }
    for name, text in texts.items():
        assert expected_titles[name] in text
        assert f"Data version {version}" in text
        assert "Source: atomdata data version" in text and "not the whole Hub" in text
        assert "No data" not in text
        assert "<dc:date>" not in text  # no timestamp in the file
    for name in ("cumulative_downloads_by_region", "download_share_by_region", "derivative_share_by_root_region"):
        for region in ("United States", "China", "Europe"):
            assert region in texts[name], f"{region} missing from {name}"
    # units on the axes
    assert "Cumulative downloads (all-time counter, downloads)" in texts["cumulative_downloads_by_region"]
    assert "Share of monthly downloads (%)" in texts["download_share_by_region"]
    assert "Downloads in 2026-07 (downloads; all repos: " in texts["top_organizations_latest_month"]
    assert "Derivative models (count of repos)" in texts["derivatives_by_relation_top_roots"]
    assert "Share of the bucket&#39;s downloads (%)" in texts["downloads_by_size_and_region"] or \
        "Share of the bucket's downloads (%)" in texts["downloads_by_size_and_region"]
    for bucket in ("&lt;1B", "5-10B", "250B+"):
        assert bucket in texts["downloads_by_size_and_region"], bucket
    assert "Relative adoption score" in texts["adoption_momentum_recent_releases"]
    # the organizations and relations a reader expects
    assert "Qwen" in texts["top_organizations_latest_month"]
    for rel in ("finetune", "adapter", "quantized", "merge"):
        assert rel in texts["derivatives_by_relation_top_roots"]
    # the real series measures one month: the headline chart is a bar chart, and says why
    assert "only month measured: 2026-07" in texts["cumulative_downloads_by_region"]
    # ... and over which window, from the boundary snapshots of model_downloads_monthly
    mdm = read_inputs(shared_build / "processed")["model_downloads_monthly"]
    start, end = mdm["start_snapshot"].mode()[0], mdm["end_snapshot"].mode()[0]
    assert (start, end) == ("2026-07-02", "2026-08-01")
    for name in ("download_share_by_region", "cumulative_downloads_by_region"):
        assert f"1 month measured, 2026-07: {start} to {end}, 30 of 31 days" in texts[name], name
    # the scope of the share charts is the table's own, whatever its text
    scope = read_inputs(shared_build / "processed")["downloads_by_country"]["scope"].iloc[0]
    assert scope[:60].replace("'", "&#39;") in texts["download_share_by_region"]
    # momentum scores against oneself draw no "1x" bar
    assert not re.search(r"[> ]1x \[", texts["adoption_momentum_recent_releases"])
    assert "no peers yet" in texts["adoption_momentum_recent_releases"]


def test_region_colours_are_fixed_and_shared(svgs):
    from atomdata.publish.figures import REGION_COLORS

    assert len(set(REGION_COLORS.values())) == len(REGION_COLORS) == 5
    for name in ("cumulative_downloads_by_region", "download_share_by_region", "derivative_share_by_root_region"):
        text = _svg(next(p for p in svgs if p.stem == name)).lower()
        for region in ("us", "china"):
            assert REGION_COLORS[region].lower() in text, f"{region} colour missing from {name}"


def test_svg_and_pdf_byte_identical_on_two_runs(shared_build, svgs, tmp_path):
    again = make_figures(shared_build / "processed", tmp_path / "again", "svg")
    for a, b in zip(svgs, again):
        assert a.read_bytes() == b.read_bytes(), f"{a.name} differs between runs"
    pdfs = make_figures(shared_build / "processed", tmp_path / "pdf", "pdf")
    assert [p.name for p in pdfs] == [f"{n}.pdf" for n in NAMES]
    assert all(p.read_bytes()[:5] == b"%PDF-" for p in pdfs)
    tables = read_inputs(shared_build / "processed")
    assert render("download_share_by_region", tables, "v", "pdf") == render("download_share_by_region", tables, "v", "pdf")


def test_svg_identical_in_a_fresh_process_with_a_user_style(shared_build, svgs, tmp_path):
    """Another interpreter (other hash seed) with a hostile matplotlibrc gives the same bytes."""
    rc = tmp_path / "mplconfig"
    rc.mkdir()
    (rc / "matplotlibrc").write_text("font.size: 22\naxes.prop_cycle: cycler('color', ['k'])\nsvg.fonttype: path\n")
    env = dict(os.environ, PYTHONHASHSEED="12345", MPLCONFIGDIR=str(rc), PYTHONPATH=ATOMDATA_PARENT)
    code = ("import sys; from atomdata.publish.figures import make_figures; "
            "make_figures(sys.argv[1], sys.argv[2], 'svg')")
    subprocess.run([sys.executable, "-c", code, str(shared_build / "processed"), str(tmp_path / "out")],
                   check=True, env=env, cwd=tmp_path)
    for p in svgs:
        assert (tmp_path / "out" / p.name).read_bytes() == p.read_bytes(), p.name


def _copy_processed(src: Path, dest: Path) -> Path:
    shutil.copytree(src / "processed", dest / "processed")
    shutil.copy(src / "datapackage.json", dest / "datapackage.json")
    return dest / "processed"


def test_one_month_everywhere(shared_build, tmp_path):
    """Every table cut to one month: all the figures still draw bars with data, no empty axis."""
    proc = _copy_processed(shared_build, tmp_path)
    assert rewrite_csv(proc / "derivatives_by_country.csv", lambda r: r["month"] == "2026-01") > 0
    assert rewrite_csv(proc / "derivatives.csv", lambda r: r["created_at"].startswith("2026-01")) > 0
    paths = make_figures(proc, tmp_path / "fig", "svg")
    make_figures(proc, tmp_path / "fig", "png")
    texts = {p.stem: _svg(p) for p in paths}
    for name, text in texts.items():
        assert "No data" not in text, name
    assert "only month measured: 2026-07" in texts["cumulative_downloads_by_region"]
    assert "2026-07" in texts["download_share_by_region"]
    assert "2026-Q1" in texts["derivative_share_by_root_region"]  # 2026-01 has too few derivatives: its quarter, pale
    for p in (tmp_path / "fig").glob("*.png"):
        assert p.stat().st_size > 20_000


def test_two_months_draw_lines(shared_build, tmp_path):
    """With a second month the headline chart is a line chart over months."""
    proc = _copy_processed(shared_build, tmp_path)
    path = proc / "downloads_by_country.csv"
    lines = path.read_text().splitlines()
    extra = [ln.replace("2026-07", "2026-08", 1) for ln in lines[1:]]
    path.write_text("\n".join(lines + extra) + "\n")
    svg = _svg(make_figures(proc, tmp_path / "fig", "svg")[0])
    assert "Month (end boundary of the measurement)" in svg
    assert "only month measured" not in svg
    assert "2026-07" in svg and "2026-08" in svg


def test_empty_tables_say_no_data(early_build, tmp_path):
    """Snapshots that measure no month: download figures say so; derivative figures still draw."""
    paths = make_figures(early_build / "processed", tmp_path, "svg")
    texts = {p.stem: _svg(p) for p in paths}
    for name in ("cumulative_downloads_by_region", "download_share_by_region", "top_organizations_latest_month"):
        assert "No data" in texts[name], name
        assert "Data version 2026.07.20" in texts[name]
    for name in ("derivative_share_by_root_region", "derivatives_by_relation_top_roots"):
        assert "No data" not in texts[name], name


def test_data_version_falls_back_to_newest_snapshot(shared_build, tmp_path):
    proc = tmp_path / "processed"
    shutil.copytree(shared_build / "processed", proc)
    assert data_version(proc) == "2026.08.03"  # no datapackage.json next to it
    (tmp_path / "datapackage.json").write_text(json.dumps({"version": "2099.01.01"}))
    assert data_version(proc) == "2099.01.01"


def _cli():
    from atomdata.commands.publish import figures, release

    @click.group()
    def main():
        pass

    main.add_command(figures)
    main.add_command(release)
    return main


def test_cli_figures(shared_build, tmp_path):
    r = CliRunner().invoke(_cli(), ["figures", "--processed", str(shared_build / "processed"),
                                    "--out", str(tmp_path / "f"), "--format", "svg"])
    assert r.exit_code == 0, r.output
    assert len(r.output.strip().splitlines()) == len(NAMES) >= 9
    assert sorted(p.stem for p in (tmp_path / "f").glob("*.svg")) == sorted(NAMES)
    assert "--format [png|svg|pdf]" in CliRunner().invoke(_cli(), ["figures", "--help"]).output


def test_cli_figures_errors_are_clear(shared_build, tmp_path):
    proc = _copy_processed(shared_build, tmp_path)
    (proc / "models.csv").unlink()
    r = CliRunner().invoke(_cli(), ["figures", "--processed", str(proc), "--out", str(tmp_path / "f")])
    assert r.exit_code == 1
    assert "models" in r.output and "missing" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "f").exists()  # nothing written on failure
    r = CliRunner().invoke(_cli(), ["figures", "--format", "gif"])
    assert r.exit_code == 2


def test_importing_atomdata_and_commands_does_not_load_matplotlib():
    code = ("import sys, atomdata, atomdata.commands.publish, atomdata.publish.release; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'; "
            "assert 'frictionless' not in sys.modules, 'frictionless imported'")
    env = dict(os.environ, PYTHONPATH=ATOMDATA_PARENT)
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    assert REGION_LABELS["eu"] == "Europe"
