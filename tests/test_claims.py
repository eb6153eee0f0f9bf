"""The headline-claims tables, checked against counts done independently from the source files."""
from __future__ import annotations

from collections import Counter

import pandas as pd
import pyarrow.parquet as pq
import pytest

from atomdata.build import build_tables
from atomdata.ingest.dump import import_dump
from atomdata.rules.organizations import load_registry
from atomdata.steps import claims
from conftest import REPO

TRENDING = "hub-trending/2026-05-04/models.parquet"


@pytest.fixture(scope="module")
def claims_build(tmp_path_factory, data_root):
    """Two hub-stats snapshots and the trending listing (stored as 2026-05-04-trending), built."""
    raw = tmp_path_factory.mktemp("claims") / "raw"
    for d in ("2026-07-01", "2026-08-01"):
        import_dump(data_root / "hub-stats" / d / "models.parquet", raw)
    import_dump(data_root / TRENDING, raw, suffix="trending")
    return build_tables(raw)


def _registry_regions() -> dict[str, str]:
    reg = pd.read_csv(REPO / "raw" / "organizations.csv", dtype=str, keep_default_na=False)
    return {o.lower(): r for o, r in zip(reg["org"], reg["region"])}


def test_trending_top10_by_region_matches_a_hand_count(claims_build, data_root):
    df = pq.read_table(data_root / TRENDING, columns=["id", "trendingScore"]).to_pandas()
    top = df.sort_values(["trendingScore", "id"], ascending=[False, True]).head(10)
    regions = _registry_regions()
    expected = Counter(regions.get(i.split("/")[0].lower(), "unknown") for i in top["id"])
    t = claims_build.tables["trending_by_country"]
    t = t[(t["snapshot"] == "2026-05-04-trending") & (t["top_n"] == 10)]
    got = t.groupby("region", observed=True)["models"].sum()
    assert {k: int(v) for k, v in got.items()} == dict(expected)
    assert t["share"].sum() == pytest.approx(1.0)
    # top 1, 50 and 100 too; hub-stats snapshots carry no trending score, so they have no rows
    all_t = claims_build.tables["trending_by_country"]
    assert set(all_t["snapshot"]) == {"2026-05-04-trending"}
    assert set(all_t["ranking"]) == {"hub trending listing"}
    assert all_t.groupby("top_n")["models"].sum().to_dict() == {1: 1, 10: 10, 50: 50, 100: 100}
    top1 = all_t[all_t["top_n"] == 1]
    assert top1["region"].tolist() == [regions.get(top["id"].iloc[0].split("/")[0].lower(), "unknown")]


def test_unmapped_trending_orgs_are_listed_in_data_quality(claims_build, data_root):
    df = pq.read_table(data_root / TRENDING, columns=["id", "trendingScore"]).to_pandas()
    top = df.sort_values(["trendingScore", "id"], ascending=[False, True]).head(100)
    regions = _registry_regions()
    unmapped = {i.split("/")[0] for i in top["id"] if i.split("/")[0].lower() not in regions}
    dq = claims_build.tables["data_quality"]
    listed = dq[(dq["kind"] == "unmapped_org_trending") & (dq["snapshot"] == "2026-05-04-trending")]
    assert set(listed["org"]) == unmapped and listed["value"].sum() == sum(1 for i in top["id"] if i.split("/")[0] in unmapped)


def test_trending_listing_stays_out_of_models_lineage_and_downloads(claims_build, data_root):
    t = claims_build.tables
    trending_ids = set(pq.read_table(data_root / TRENDING, columns=["id"]).column("id").to_pylist())
    hub_ids = set(pq.read_table(data_root / "hub-stats/2026-08-01/models.parquet", columns=["id"]).column("id").to_pylist()) | \
        set(pq.read_table(data_root / "hub-stats/2026-07-01/models.parquet", columns=["id"]).column("id").to_pylist())
    assert not (set(t["models"]["model_id"]) & (trending_ids - hub_ids))
    m = t["model_downloads_monthly"]
    assert set(m["month"]) == {"2026-07"} and not m["end_snapshot"].str.contains("trending").any()
    assert "2026-05-04-trending" in set(t["snapshots"]["name"])
    osum = t["organization_summary"]
    assert set(osum.loc[osum["snapshot"] == "2026-05-04-trending", "tree_coverage"]) == {"sample"}


def test_qwen_direct_derivatives_equal_a_count_from_base_models(claims_build, data_root):
    df = pq.read_table(data_root / "hub-stats/2026-08-01/models.parquet", columns=["id", "baseModels"]).to_pylist()
    n = 0
    for row in df:
        bm = row["baseModels"]
        if not bm or not bm["models"]:
            continue
        base_ns = bm["models"][0]["id"].split("/")[0].lower()
        if base_ns == "qwen" and row["id"].split("/")[0].lower() != "qwen":
            n += 1
    o = claims_build.tables["organization_summary"]
    q = o[(o["snapshot"] == "2026-08-01") & (o["org"] == "Qwen")].iloc[0]
    assert n > 100 and q["derivatives_direct"] == n
    assert q["derivatives_all"] >= q["derivatives_direct"]
    assert q["tree_coverage"] == "sample"  # a dump is a sample: its counts are not the Hub's totals
    ids = [r["id"] for r in df]
    assert q["models"] == sum(1 for i in ids if i.split("/")[0].lower() == "qwen")


def test_derivatives_by_root_org_cumulative_is_the_running_sum(claims_build):
    d = claims_build.tables["derivatives_by_root_org"]
    for _, g in d.sort_values("month").groupby(["root_org", "relation"], observed=True):
        cum = g["cumulative_derivatives"].to_numpy()
        assert (cum[1:] >= cum[:-1]).all()
        assert (cum == g["new_derivatives"].cumsum().to_numpy()).all()
    # 'all' sums the relations, and the totals are the derivatives with a root and a creation date
    per_rel = d[d["relation"] != "all"].groupby(["root_org", "month"])["new_derivatives"].sum()
    alls = d[d["relation"] == "all"].set_index(["root_org", "month"])["new_derivatives"]
    assert per_rel.sort_index().equals(alls.sort_index())
    der = claims_build.tables["derivatives"]
    others = der["publisher"].isin(["other_org", "community"])  # an organization's own releases are not counted
    assert alls.sum() == (der["root_org"].notna() & der["created_at"].notna() & others).sum()


def test_trending_ties_are_broken_by_id_and_short_listings_skip_large_tops():
    recs = pd.DataFrame({"snapshot": "s", "model_id": ["b/x", "a/y", "Qwen/z"], "org": ["b", "a", "Qwen"],
                         "trending_score": pd.array([5.0, 5.0, 1.0], dtype="Float64")})
    info = pd.DataFrame({"snapshot": ["s"], "date": [pd.Timestamp("2026-01-01")], "has_trending": [True]})
    out, dq = claims.trending_by_country(recs, info, load_registry())
    assert out["top_n"].tolist() == [1]  # fewer than 10 scored models: no top 10
    assert out["region"].tolist() == ["unknown"] and set(dq["org"]) == {"a", "b"}
    # all-zero scores: no ranking at all
    out, _ = claims.trending_by_country(recs.assign(trending_score=pd.array([0.0] * 3, dtype="Float64")), info, load_registry())
    assert out.empty


def test_listing_kind():
    assert claims.listing_kind({"kind": "dump"}, "2026-05-04-trending") == "trending"
    assert claims.listing_kind({"kind": "hub", "mode": "trending"}, "2026-05-04") == "trending"
    assert claims.listing_kind({"kind": "hub", "mode": "full"}, "2026-05-04") == "full"
    assert claims.listing_kind({"kind": "hub", "mode": "first-party"}, "2026-05-04") == "sample"
    assert claims.listing_kind({"kind": "dump"}, "2026-05-04") == "sample"


def test_organization_summary_edge_cases_by_hand():
    """Namespaces differing only in case are one organization (registry spelling), a legacy id
    without a slash belongs to its author but is no other organization's derivative by namespace,
    a cycle has no root, a base outside the snapshot is the root, derivatives within the
    organization do not count, and a sum over no published counter is missing."""
    rows = [  # model_id, org, base_id, downloads_30d, downloads_all_time, likes
        ("Qwen/Qwen3-8B", "Qwen", None, 10, 100, 1),
        ("qwen/tiny", "qwen", None, None, None, 2),
        ("Qwen/Qwen3-8B-FP8", "Qwen", "Qwen/Qwen3-8B", 5, 50, 0),   # same organization: not a derivative of it
        ("alice/ft", "alice", "Qwen/Qwen3-8B", 1, 1, 0),            # direct and root: Qwen
        ("bob/ft2", "bob", "alice/ft", 2, 2, 0),                     # direct: alice; root: Qwen
        ("QWEN/ft3", "QWEN", "alice/ft", 3, 3, 0),                   # root Qwen is its own organization
        ("gpt2-ft", "openai-community", "bob/ft2", 4, 4, 0),         # no namespace: counts for the author's models only
        ("carol/a", "carol", "carol/b", None, None, None),           # a cycle within one organization
        ("carol/b", "carol", "carol/a", None, None, None),
        ("dave/x", "dave", "carol/a", None, None, None),             # leads into the cycle: direct carol, no root
        ("erin/y", "erin", "meta-llama/Llama-3-8B", 7, 70, 0),       # base outside the snapshot: it is the root
    ]
    recs = pd.DataFrame(rows, columns=["model_id", "org", "base_id", "downloads_30d", "downloads_all_time", "likes"])
    recs = recs.astype({"model_id": "string", "org": "string", "base_id": "string", "downloads_30d": "Int64",
                        "downloads_all_time": "Int64", "likes": "Int64"}).assign(snapshot="s")
    info = pd.DataFrame({"snapshot": ["s"], "date": [pd.Timestamp("2026-01-01")], "tree_coverage": ["sample"]})
    o = claims.organization_summary(recs, info, load_registry()).set_index("org")
    cols = ["models", "downloads_30d", "downloads_all_time", "likes", "derivatives_direct", "derivatives_all"]
    got = {org: [None if pd.isna(v) else int(v) for v in o.loc[org, cols]] for org in o.index}
    assert got == {
        "Qwen": [4, 18, 153, 3, 1, 3],          # alice/ft direct; alice/ft, bob/ft2, gpt2-ft by root
        "alice": [1, 1, 1, 0, 2, 0],            # bob/ft2 and QWEN/ft3 declare it
        "bob": [1, 2, 2, 0, 1, 0],              # gpt2-ft declares it
        "openai-community": [1, 4, 4, 0, 0, 0],
        "carol": [2, None, None, None, 1, 0],   # dave/x declares carol/a; the cycle has no root
        "dave": [1, None, None, None, 0, 0],
        "erin": [1, 7, 70, 0, 0, 0],
        "meta-llama": [0, None, None, None, 1, 1],
    }
    assert o.loc["Qwen", "region"] == "china" and o.loc["erin", "region"] == "unknown"


def test_organization_summary_of_legacy_ids_only():
    """A snapshot of ids without a namespace and without an author: no organization, no rows (an
    empty table, not an error)."""
    recs = pd.DataFrame({"snapshot": "s", "model_id": pd.array(["gpt2", "distilgpt2"], dtype="string"),
                         "org": pd.array([None, None], dtype="string"), "base_id": pd.array([None, "gpt2"], dtype="string"),
                         "downloads_30d": pd.array([1, 2], dtype="Int64"), "downloads_all_time": pd.array([1, 2], dtype="Int64"),
                         "likes": pd.array([0, 0], dtype="Int64")})
    info = pd.DataFrame({"snapshot": ["s"], "date": [pd.Timestamp("2026-01-01")], "tree_coverage": ["sample"]})
    out = claims.organization_summary(recs, info, load_registry())
    assert out.empty and list(out.columns)[:3] == ["date", "snapshot", "org"]


def test_organization_summary_parts_come_in_table_order_and_a_bad_part_is_named(tmp_path):
    """The build keeps organization_summary a snapshot at a time in files (``SnapshotParts``),
    ordered by date and snapshot whatever order the pass met them in, each part validated: a
    failure names its snapshot."""
    from atomdata.errors import ValidationFailed
    from atomdata.steps.claims_cache import PartFile

    recs = pd.DataFrame({"model_id": ["Qwen/a", "alice/b"], "org": ["Qwen", "alice"], "base_id": [None, "Qwen/a"],
                         "downloads_30d": [5, 1], "downloads_all_time": [50, 1], "likes": [1, 0]})
    recs = recs.astype({"model_id": "string", "org": "string", "base_id": "string", "downloads_30d": "Int64",
                        "downloads_all_time": "Int64", "likes": "Int64"})
    info = pd.DataFrame({"snapshot": ["2026-02-01", "2026-01-01"], "date": pd.to_datetime(["2026-02-01", "2026-01-01"]),
                         "tree_coverage": ["sample", "sample"]})
    reg = load_registry()
    parts = [(s, PartFile.write(claims.organization_summary(recs.assign(snapshot=s), info, reg), tmp_path / f"{s}.parquet"))
             for s in ("2026-02-01", "2026-01-01")]  # the pass met February first
    table = claims.build_organization_summary(parts, None, info, reg).frame
    whole = table.to_frame()
    assert whole["snapshot"].tolist() == ["2026-01-01"] * 2 + ["2026-02-01"] * 2 and len(table) == 4
    pd.testing.assert_frame_equal(whole, claims.organization_summary(
        pd.concat([recs.assign(snapshot=s) for s in ("2026-02-01", "2026-01-01")]), info, reg))
    bad = claims.organization_summary(recs.assign(snapshot="2026-01-01"), info, reg).assign(models=pd.array([-1, 1], dtype="Int64"))
    parts[1] = ("2026-01-01", PartFile.write(bad, tmp_path / "bad.parquet"))
    with pytest.raises(ValidationFailed, match=r"organization_summary' \(snapshot 2026-01-01\)(.|\n)*models"):
        claims.build_organization_summary(parts, None, info, reg)
