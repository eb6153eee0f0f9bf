"""Figures that do not mislead (issue 20, item 6), on small synthetic tables (no shared data needed):
measured months give their window, momentum scores against oneself draw no bar, derivative
periods with too few derivatives are merged into quarters or drawn pale, and every chart says
which models it counts, read from the tables."""
from __future__ import annotations

import re

import pandas as pd
import pytest
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from _publish_fixtures import (SCOPE, derivative_counts, downloads_tables, figure_tables, momentum_row,
                               typed_table)
from atomdata.publish.analysis_figures import own_reference
from atomdata.publish.captions import Window, measured_months, month_windows, table_scope
from atomdata.publish.figures import FIGURES, MIN_DERIVATIVES, derivative_periods, render
from atomdata.publish.style import FAINT_ALPHA


def _draw(name: str, tables: dict):
    """The figure object (artists to inspect) and its text, lines joined (the frame wraps long lines)."""
    fig = FIGURES[name](tables, "2099.01.01")
    texts = [t.get_text().replace("\n", " ") for t in fig.findobj(Text)]
    return fig, " | ".join(t for t in texts if t)


def _plot_axes(fig):
    return fig.axes[0]


def _bars(ax) -> list[Rectangle]:
    return [p for p in ax.patches if isinstance(p, Rectangle) and p.get_width() > 0 and p.get_height() > 0]


# --------------------------------------------------------------------------- measured months and their windows

def test_one_measured_month_says_so_with_its_window():
    t = figure_tables()  # 2026-07 measured from 2026-07-02 to 2026-08-01
    for name in ("download_share_by_region", "cumulative_downloads_by_region"):
        _, text = _draw(name, t)
        assert "1 month measured, 2026-07: 2026-07-02 to 2026-08-01, 30 of 31 days" in text, name
    svg = render("download_share_by_region", t, "v", "svg").decode()
    assert "1 month measured, 2026-07: 2026-07-02 to 2026-08-01, 30 of 31 days" in svg
    _, text = _draw("cumulative_downloads_by_region", t)
    assert "counters as read at the end boundary, 2026-08-01" in text
    for name in ("downloads_by_size_and_region", "top_organizations_latest_month"):
        assert "2026-07 (2026-07-02 to 2026-08-01, 30 of 31 days)" in _draw(name, t)[1], name


def test_the_window_comes_from_the_table():
    t = figure_tables(**downloads_tables({"2026-02": ("2026-02-03-x", "2026-03-02")}))
    _, text = _draw("download_share_by_region", t)
    assert "1 month measured, 2026-02: 2026-02-03 to 2026-03-02, 27 of 28 days" in text
    assert "2026-07" not in text
    t = figure_tables(**downloads_tables({"2026-07": ("2026-06-30", "2026-08-02")}))
    assert "2026-06-30 to 2026-08-02, 33 days for a 31-day month" in _draw("download_share_by_region", t)[1]


def test_several_months_mark_those_measured_off_the_calendar_month():
    t = figure_tables(**downloads_tables({"2026-05": ("2026-05-01", "2026-06-01"), "2026-06": ("2026-06-02", "2026-07-01"),
                                          "2026-07": ("2026-07-01", "2026-08-01")}))
    fig, text = _draw("download_share_by_region", t)
    ticks = [lb.get_text() for lb in _plot_axes(fig).get_xticklabels()]
    assert ticks == ["2026-05", "2026-06*", "2026-07"]
    assert "3 months measured" in text and "2026-06: 2026-06-02 to 2026-07-01, 29 of 30 days" in text
    assert "2026-05: " not in text and "2026-07: " not in text
    assert "1 month measured" not in text
    fig, text = _draw("cumulative_downloads_by_region", t)
    assert [lb.get_text() for lb in _plot_axes(fig).get_xticklabels()] == ["2026-05", "2026-06*", "2026-07"]
    assert "2026-06: 2026-06-02 to 2026-07-01, 29 of 30 days" in text


def test_calendar_months_say_so_and_mark_nothing():
    t = figure_tables(**downloads_tables({"2026-05": ("2026-05-01", "2026-06-01"), "2026-06": ("2026-06-01", "2026-07-01")}))
    fig, text = _draw("download_share_by_region", t)
    assert [lb.get_text() for lb in _plot_axes(fig).get_xticklabels()] == ["2026-05", "2026-06"]
    assert "2 months measured, each from its first day to the next month's" in text and "*" not in text


def test_month_windows_take_the_boundaries_of_most_downloads():
    mdm = typed_table("model_downloads_monthly", [
        {"month": "2026-07", "model_id": "a/x", "downloads": 900, "method": "all_time_diff", "start_snapshot": "2026-07-02",
         "end_snapshot": "2026-08-01"},
        {"month": "2026-07", "model_id": "a/y", "downloads": 100, "method": "all_time_diff", "start_snapshot": "2026-07-01",
         "end_snapshot": "2026-08-03"},
        {"month": "2026-06", "model_id": "a/x", "downloads": 50, "method": "rolling_30d", "start_snapshot": "",
         "end_snapshot": "2026-07-01"}])
    w = month_windows(mdm)
    assert w["2026-07"] == Window("2026-07", pd.Timestamp("2026-07-02").date(), pd.Timestamp("2026-08-01").date(), False, 0.9)
    assert w["2026-07"].span() == "2026-07-02 to 2026-08-01, 30 of 31 days; other boundaries for 10% of the downloads"
    assert w["2026-06"].rolling and w["2026-06"].days == 30 and w["2026-06"].is_calendar
    assert "30-day counters read on 2026-07-01" in w["2026-06"].span()
    assert month_windows(mdm.iloc[:0]) == {}
    ticks, note = measured_months(["2026-06", "2026-07"], w)
    assert ticks == {"2026-07": "2026-07*"} and "2026-06: " not in note


# --------------------------------------------------------------------------- momentum against oneself

def _momentum_tables():
    return figure_tables(adoption_momentum=typed_table("adoption_momentum", [
        # 10-50B at 90 days: three peers, the weakest (Qwen/C) is the reference of all three
        momentum_row("meta-llama/A", "10-50B", 90, 3000, 3, 1000, "2026-03-01"),
        momentum_row("Qwen/B", "10-50B", 90, 2000, 3, 1000, "2026-03-02"),
        momentum_row("Qwen/C", "10-50B", 90, 1000, 3, 1000, "2026-03-03"),
        # <1B at 180 days: alone, its own reference
        momentum_row("meta-llama/D", "<1B", 180, 5000, 1, 5000, "2026-01-10")]))


def test_momentum_draws_no_bar_for_a_score_against_oneself():
    t = _momentum_tables()
    fig, text = _draw("adoption_momentum_recent_releases", t)
    ax = _plot_axes(fig)
    labels = [lb.get_text() for lb in ax.get_yticklabels()]
    bars = _bars(ax)
    assert sorted(round(b.get_width(), 3) for b in bars) == [2.0, 3.0]  # A (3x) and B (2x) only
    drawn = {labels[round(b.get_y() + b.get_height() / 2)].split(" [")[0] for b in bars}
    assert drawn == {"A", "B"}
    assert "no peers yet: the only <1B model measured at 180 d" in text
    assert "no score: its own reference, the weakest of 3 peers" in text
    assert not re.search(r"(^| )1x \[", text) and "2 without a bar: scored against themselves" in text
    svg = render("adoption_momentum_recent_releases", t, "v", "svg").decode()
    assert "no peers yet" in svg and not re.search(r"[> ]1x \[", svg)


def test_own_reference_follows_the_builds_ranking():
    am = typed_table("adoption_momentum", [
        momentum_row("a/top", "250B+", 30, 900, 3, 100), momentum_row("a/mid", "250B+", 30, 100, 3, 100),
        momentum_row("a/low", "250B+", 30, 100, 3, 100),  # level with a/mid, which ranks after it by id: the reference
        momentum_row("a/one", "<1B", 30, 7, 1, 7),
        momentum_row("a/cut", "1-5B", 30, 50, 4, 50)])  # its peers are not in the table: level with the reference
    own = dict(zip(am["model_id"], own_reference(am)))
    assert own == {"a/top": False, "a/low": False, "a/mid": True, "a/one": True, "a/cut": True}
    assert own_reference(am.iloc[:0]).empty


# --------------------------------------------------------------------------- derivative periods with too few

def test_derivative_months_with_too_few_are_merged_into_quarters_or_pale():
    assert MIN_DERIVATIVES == 30
    dvc = derivative_counts({"2025-01": {"us": 60, "china": 40}, "2025-02": {"us": 35},
                             "2025-04": {"china": 5}, "2025-05": {"us": 20, "china": 20},  # Q2: one quarter, 45 in all
                             "2025-08": {"us": 4, "eu": 1}})  # Q3: 5 in all, pale
    period, order, faint = derivative_periods(dvc)
    assert order == ["2025-01", "2025-02", "2025-Q2", "2025-Q3"] and faint == {"2025-Q3"}
    assert period["2025-04"] == period["2025-05"] == "2025-Q2"
    fig, text = _draw("derivative_share_by_root_region", figure_tables(derivatives_by_country=dvc))
    ax = _plot_axes(fig)
    assert [lb.get_text() for lb in ax.get_xticklabels()] == order
    alpha = {}
    for b in _bars(ax):
        alpha.setdefault(round(b.get_x() + b.get_width() / 2), set()).add(b.get_facecolor()[3])
    assert alpha == {0: {1.0}, 1: {1.0}, 2: {1.0}, 3: {FAINT_ALPHA}}  # the month of 5 is pale, the merged quarter is not
    assert f"fewer than {MIN_DERIVATIVES} new derivatives is one bar" in text and "pale bars" in text
    assert "80%" not in text  # no percentage printed inside the pale bar (4 of 5)


def test_a_lone_small_month_is_drawn_pale():
    dvc = derivative_counts({"2026-04": {"us": 5}})
    fig, _ = _draw("derivative_share_by_root_region", figure_tables(derivatives_by_country=dvc))
    ax = _plot_axes(fig)
    assert [lb.get_text() for lb in ax.get_xticklabels()] == ["2026-Q2"]
    assert {b.get_facecolor()[3] for b in _bars(ax)} == {FAINT_ALPHA}


# --------------------------------------------------------------------------- scopes

def test_every_chart_says_which_models_it_counts():
    size_scope = "another preset (scope policy 2): sizes"
    t = figure_tables(downloads_by_size=typed_table("downloads_by_size", [
        {"month": "2026-07", "size_bucket": "1-5B", "region": "us", "downloads": 10, "share": 1.0, "bucket_share": 1.0,
         "n_models": 1, "scope": size_scope}]))
    texts = {name: _draw(name, t)[1] for name in FIGURES}
    for name, text in texts.items():
        assert "Scope: " in text, name
        assert "Data version 2099.01.01" in text and "Source: atomdata data version" in text, name
    for name in ("cumulative_downloads_by_region", "download_share_by_region", "adoption_momentum_recent_releases"):
        assert SCOPE in texts[name], name
    assert size_scope in texts["downloads_by_size_and_region"] and SCOPE not in texts["downloads_by_size_and_region"]
    for name in ("derivative_share_by_root_region", "derivatives_by_relation_top_roots", "cumulative_derivatives_top_root_orgs"):
        assert "derivative repos others built on a base" in texts[name], name
    top = texts["top_organizations_latest_month"]
    assert "every repo measured in the month, of any namespace and pipeline" in top and SCOPE in top
    assert "all repos: 1k; the download-share charts' scope: 1k" in top
    assert "any organization and pipeline" in texts["trending_top_by_region"]


def test_scope_text_is_read_not_written():
    t = figure_tables(**downloads_tables({"2026-07": ("2026-07-02", "2026-08-01")}, scope="preset X (scope policy 9): y"))
    for name in ("download_share_by_region", "top_organizations_latest_month", "adoption_momentum_recent_releases"):
        text = _draw(name, t)[1]
        assert "preset X (scope policy 9): y" in text and SCOPE not in text, name
    assert table_scope(t["downloads_by_country"].iloc[:0], "fallback") == "fallback"


@pytest.mark.parametrize("fmt", ["svg", "pdf"])
def test_synthetic_figures_are_deterministic(fmt):
    t = _momentum_tables()
    for name in FIGURES:
        assert render(name, t, "v", fmt) == render(name, t, "v", fmt), name
