"""Figures of the headline-claims tables: trending leaderboard by region, cumulative derivatives of
the largest root organizations. They render in PNG and SVG, deterministically, from the built tables."""
from __future__ import annotations

import shutil

from _publish_fixtures import rewrite_csv, shared_build  # noqa: F401  (fixtures)
from atomdata.publish.figures import FIGURES, REGION_COLORS, make_figures, read_inputs, render  # first: it loads claims_figures
from atomdata.publish.claims_figures import FIGURES as CLAIMS_FIGURES  # noqa: I001

TITLES = {
    "trending_top_by_region": "Hugging Face trending leaderboard by region of origin",
    "cumulative_derivatives_top_root_orgs": "Cumulative derivatives of the 5 most derived-from root organizations",
}


def test_claims_figures_are_registered():
    assert set(TITLES) == set(CLAIMS_FIGURES)
    assert list(FIGURES)[-len(CLAIMS_FIGURES):] == list(CLAIMS_FIGURES)  # `atomdata figures` writes them


def test_claims_figures_render_png_and_deterministic_svg(shared_build):
    tables = read_inputs(shared_build / "processed")
    for name, title in TITLES.items():
        png = render(name, tables, "2026.08.03", "png")
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 30_000, name
        svg = render(name, tables, "2026.08.03", "svg")
        assert svg == render(name, tables, "2026.08.03", "svg"), f"{name} svg differs between runs"
        text = svg.decode("utf-8")
        assert title in text and "Data version 2026.08.03" in text and "not the whole Hub" in text
        assert "No data" not in text and "<dc:date>" not in text
        for region in ("United States", "China"):
            assert region in text, f"{region} missing from {name}"
            assert REGION_COLORS["us" if region == "United States" else "china"].lower() in text.lower()


def test_trending_figure_matches_the_table(shared_build):
    tables = read_inputs(shared_build / "processed")
    tbc = tables["trending_by_country"]
    latest = tbc.sort_values(["date", "snapshot"]).iloc[-1]["snapshot"]  # hub-stats only: a within-sample ranking
    text = render("trending_top_by_region", tables, "v", "svg").decode()
    assert f"Snapshot {latest}" in text
    assert "not the Hub&#39;s leaderboard" in text or "not the Hub's leaderboard" in text
    for n in (10, 50, 100):
        assert f"Top {n}" in text
    t10 = tbc[(tbc["snapshot"] == latest) & (tbc["top_n"] == 10)].groupby("region")["models"].sum()
    china = int(t10.get("china", 0))
    assert china > 0 and f"{china / 10:.0%}" in text


def test_derivatives_figure_names_the_largest_registry_roots(shared_build):
    tables = read_inputs(shared_build / "processed")
    a = tables["derivatives_by_root_org"]
    a = a[(a["relation"] == "all") & (a["region"] != "unknown")]
    top = a.groupby("root_org")["cumulative_derivatives"].max().sort_values(ascending=False).head(5)
    text = render("cumulative_derivatives_top_root_orgs", tables, "v", "svg").decode()
    for org in top.index:
        assert f"{org} (" in text, org
    assert "Qwen" in text and "meta-llama" in text
    assert "Month the derivative repo was created" in text and "Cumulative derivatives (count of repos)" in text


def test_claims_figures_degrade_to_one_month_and_no_data(shared_build, tmp_path):
    proc = tmp_path / "processed"
    shutil.copytree(shared_build / "processed", proc)
    shutil.copy(shared_build / "datapackage.json", tmp_path / "datapackage.json")
    assert rewrite_csv(proc / "derivatives_by_root_org.csv", lambda r: r["month"] == "2025-01") > 0
    assert rewrite_csv(proc / "trending_by_country.csv", lambda r: False) == 0
    paths = {p.stem: p for p in make_figures(proc, tmp_path / "fig", "svg")}
    one = paths["cumulative_derivatives_top_root_orgs"].read_text()
    assert "only month with derivatives: 2025-01" in one and "No data" not in one
    empty = paths["trending_top_by_region"].read_text()
    assert "No data" in empty and TITLES["trending_top_by_region"] in empty
    make_figures(proc, tmp_path / "fig", "png")
    assert (tmp_path / "fig" / "cumulative_derivatives_top_root_orgs.png").stat().st_size > 20_000
