"""Every figure the README quotes about the shipped release is read back from the shipped tables,
so a rebuild that moves a number cannot leave the README behind (seconds; no network)."""
from __future__ import annotations

import re

import pandas as pd
import pytest

import atomdata
from conftest import REPO


@pytest.fixture(scope="module")
def readme() -> str:
    return re.sub(r"\s+", " ", (REPO / "README.md").read_text())  # sentences wrap over lines


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def test_july_headline_shares_downloads_and_coverage(readme):
    d = atomdata.load("downloads_by_country")
    assert set(d["month"]) == {"2026-07"}
    g = d.groupby("region", observed=True)[["downloads", "share"]].sum()
    china, us = g.loc["china"], g.loc["us"]
    assert f"China {_pct(china['share'])} ({china['downloads'] / 1e6:.1f} M downloads)" in readme
    assert f"US {_pct(us['share'])} ({us['downloads'] / 1e6:.1f} M)" in readme
    for region, label in (("other", "other"), ("eu", "Europe"), ("unknown", "unknown")):
        assert f"{label} {_pct(g.loc[region, 'share'])}" in readme, region
    dq = atomdata.load("data_quality")
    cover = dq.loc[(dq["kind"] == "coverage") & (dq["month"] == "2026-07"), "value"].iloc[0]
    assert f"Registry coverage: {_pct(cover)} of first-party downloads" in readme


def test_july_boundaries_and_repeated_snapshots(readme):
    m = atomdata.load("model_downloads_monthly")
    assert set(m["start_snapshot"]) == {"2026-07-02"} and set(m["end_snapshot"]) <= {"2026-08-01", "2026-08-02", "2026-08-03"}
    assert "July is measured from 2026-07-02 to 2026-08-01" in readme
    dq = atomdata.load("data_quality")
    rep = dq[dq["kind"] == "snapshot_repeated"].set_index("snapshot")["detail"]
    # two files byte for byte that of 2026-06-16; two files of their own with earlier counters
    assert sorted(rep.index) == ["2026-06-05", "2026-06-17", "2026-07-01", "2026-07-21"]
    for name, orig in (("2026-06-17", "2026-06-16"), ("2026-07-01", "2026-06-16"), ("2026-06-05", "2026-05-20"), ("2026-07-21", "2026-07-20")):
        assert f"snapshot {orig}" in rep[name], name
        assert (f"`{name}`" in readme) and (f"`{orig}`" in readme), name
    assert rep["2026-06-17"].startswith("data file identical") and rep["2026-06-05"].startswith("all-time counters of all 3,912 models")


def test_stale_counter_counts(readme):
    dq = atomdata.load("data_quality")
    dec = dq[dq["kind"] == "counter_decreased"]
    last = int((dec["snapshot"] == "2026-08-03").sum())
    rest = dec[dec["snapshot"] != "2026-08-03"]
    assert f"({last:,} `counter_decreased` rows), and {len(rest):,} more readings between " \
           f"{rest['snapshot'].min()} and {rest['snapshot'].max()}" in readme
    m = atomdata.load("model_downloads_monthly")
    flagged = int((m["flags"] == "stale_reading_skipped").sum())
    assert flagged == 0 and "(no July 2026 row:" in readme


def test_derivative_counts(readme):
    d = atomdata.load("derivatives")
    out = int((d["lineage_status"] == "outside_snapshot").sum())
    unknown = (d["root_region"] == "unknown").mean()
    assert f"{len(d):,} derivatives, of which {out:,} have chains that leave the sample" in readme
    assert f"over-represented ({100 * unknown:.0f}% of derivatives)" in readme


def test_attribution_figures(readme):
    dq = atomdata.load("data_quality")
    share = dq[(dq["kind"] == "attribution_share") & (dq["snapshot"] == "2026-08-01")]
    rule = share["detail"].str.extract(r"^attribution (\w+):")[0]
    by_rule = dict(zip(rule, share["value"]))
    cells = " | ".join(_pct(by_rule[r]) for r in ("declared", "mirror", "architecture", "name_keyword", "unknown"))
    assert f"| share of derivatives | {cells} |" in readme
    n = int(share["detail"].str.extract(r"of (\d+) derivatives")[0].iloc[0])
    assert f"{n:,} derivatives of the shared `hub-stats/2026-08-01` snapshot" in readme
    held = dq[(dq["kind"] == "attribution_held_out") & (dq["org"] == "all")].iloc[0]
    right, attributed, total = map(int, re.search(r"right for (\d+) of (\d+) attributed; \d+ of (\d+)", held["detail"]).groups())
    assert f"**{_pct(held['value'])}** of the {attributed:,} they attribute" in readme
    assert f"(coverage {_pct(attributed / total)} of {total:,})" in readme
    for rule in ("mirror", "architecture", "name_keyword"):  # held-out accuracy per rule
        r = dq[(dq["kind"] == "attribution_held_out") & (dq["org"] == rule)].iloc[0]
        n = int(re.search(r"right for \d+ of (\d+) attributed", r["detail"]).group(1))
        assert f"| `{rule}` | {n:,} | {_pct(r['value'])} |" in readme, rule


def _scope_row(shares: pd.Series, downloads: float) -> str:
    """The cells of a row of the README's table of July 2026 under four scopes."""
    cells = [_pct(shares.get(r, 0.0)) for r in ("china", "us", "eu", "other", "unknown")]
    return " | ".join(cells) + f" | {downloads / 1e6:.1f} M |"


def test_july_under_four_scopes(readme):
    """The README's table of July 2026 by scope: the headline from downloads_by_country, --scope all
    and the rules before policy 1 from the sensitivity table's other presets (the ATOM list row is
    checked by a build in test_headline)."""
    d = atomdata.load("downloads_by_country")
    assert f"| `default` (policy 1, the headline) | ATOM-comparable, see above | " \
           f"{_scope_row(d.groupby('region', observed=True)['share'].sum(), d['downloads'].sum())}" in readme
    s = atomdata.load("sensitivity")
    presets = s[s["rule"] == "scope_preset"]
    for name, label in (("all", "`--scope all`"), ("before-policy-1", "`before-policy-1` (the old definition)")):
        p = presets[presets["variant"].str.startswith(name + " (")]
        row = _scope_row(p.set_index("region")["share"], p["downloads"].sum())
        assert re.search(re.escape(f"| {label} |") + r"[^|]+\| " + re.escape(row), readme), (name, row)


def test_claims_figures(readme):
    t = atomdata.load("trending_by_country")
    top10 = t[(t["snapshot"] == "2026-05-04-trending") & (t["top_n"] == 10)].groupby("region", observed=True)["models"].sum()
    assert "the top 10 is China {china}".format(china=top10["china"]) in readme
    assert f"US {top10['us']} (OpenAI, NVIDIA, poolside), Europe {top10['eu']}, unknown {top10['unknown']}" in readme
    o = atomdata.load("organization_summary")
    q = o[(o["snapshot"] == "2026-08-01") & (o["org"] == "Qwen")].iloc[0]
    assert f"`Qwen` {q['models']} repos, {q['derivatives_direct']} direct and {q['derivatives_all']} derivatives in all" in readme
    r = atomdata.load("derivatives_by_root_org")
    a = r[r["relation"] == "all"]

    def cum(org, month):
        x = a[(a["root_org"] == org) & (a["month"] <= month)]
        return int(x["cumulative_derivatives"].iloc[-1]) if len(x) else 0

    assert f"**2025-01** ({cum('Qwen', '2025-01')} vs {cum('meta-llama', '2025-01')}; " \
           f"{cum('Qwen', '2024-12')} vs {cum('meta-llama', '2024-12')} a month earlier)" in readme
    assert f"counts {cum('Qwen', '2099-12')} for Qwen" in readme


def test_models_without_static_fields(readme):
    """The models the shared snapshots give counters but no static fields (first seen after
    2026-05-20) are outside the default scope for lack of a pipeline tag; the README says how many
    downloads that leaves out."""
    m = atomdata.load("models")
    bare = m[m["pipeline_tag"].isna() & m["created_at"].isna()]
    assert len(bare) == 16 and bare["registry_org"].notna().all() and bare["first_party"].all()
    assert (bare["first_seen"] > "2026-05-20").all()
    july = atomdata.load("model_downloads_monthly").merge(bare[["model_id", "region"]], on="model_id")
    by = july.groupby("region", observed=True)["downloads"].sum()
    total = atomdata.load("downloads_by_country")["downloads"].sum()
    assert f"{len(bare)} models first seen after 2026-05-20" in readme
    assert f"their {by.sum() / 1e6:.1f} M July downloads (US {by['us'] / 1e6:.1f} M, China {by['china'] / 1e6:.1f} M, " \
           f"Europe {by['eu'] / 1e6:.1f} M), {_pct(by.sum() / total)} of the headline's total" in readme
