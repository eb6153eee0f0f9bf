"""Core pipeline on the real shared snapshots: ingest, build, validate, numbers checked by hand."""
from __future__ import annotations

import csv
import json
import sys

import pandas as pd
import pytest

from atomdata.schemas import TABLES
from atomdata.rules.scope import Scope
from conftest import FULL, REPO

LLM = {"text-generation", "image-text-to-text", "any-to-any", "audio-text-to-text", "video-text-to-text"}


def _registry():
    with open(REPO / "raw" / "organizations.csv", encoding="utf-8") as f:
        return {r["org"].lower(): r for r in csv.DictReader(f)}


def _independent_july(shared, start="2026-07-01"):
    """July 2026 downloads per region computed straight from the two dump files: every model of a
    registry organization in the five generative pipelines created after 2022-11-30 (the issue's
    independent computation of the ATOM-comparable headline)."""
    reg = _registry()
    a = pd.read_parquet(shared / f"hub-stats/{start}/models.parquet", columns=["id", "downloadsAllTime"])
    b = pd.read_parquet(shared / "hub-stats/2026-08-01/models.parquet", columns=["id", "downloadsAllTime", "pipeline_tag", "createdAt"])
    b = b[b["pipeline_tag"].isin(LLM) & (b["createdAt"] > pd.Timestamp("2022-11-30"))]
    m = b.merge(a, on="id", suffixes=("_end", "_start")).dropna(subset=["downloadsAllTime_end", "downloadsAllTime_start"])
    m["org"] = m["id"].str.split("/").str[0].str.lower()
    m = m[m["org"].isin(reg)]
    m["region"] = m["org"].map(lambda o: reg[o]["region"])
    m["d"] = m["downloadsAllTime_end"] - m["downloadsAllTime_start"]
    assert (m["d"] >= 0).all()
    return m.groupby("region")["d"].sum(), m


def test_every_table_written_and_valid(july_build):
    root, res = july_build
    for name in TABLES:
        assert (root / "processed" / f"{name}.csv").is_file(), name
        # these two snapshots carry no trendingScore: an empty trending table, with its header
        assert len(res.tables[name]) > 0 or name == "trending_by_country", name
    assert res.tables["trending_by_country"].empty


def test_july_china_and_us_downloads_match_the_dumps(july_build, data_root):
    _, res = july_build
    expected, m = _independent_july(data_root)
    dbc = res.tables["downloads_by_country"]
    july = dbc[dbc["month"] == "2026-07"].groupby("region")["downloads"].sum()
    # the policy's name rules leave out a few models (reward, intermediate checkpoints), each listed in data_quality
    dq = res.tables["data_quality"]
    rejected = set(dq.loc[dq["kind"] == "scope_name_rejected", "model_id"])
    assert rejected and rejected <= set(m["id"])
    exact = m[~m["id"].isin(rejected)].groupby("region")["d"].sum()
    for region in ("china", "us", "eu", "other"):
        assert int(july.get(region, 0)) == int(exact.get(region, 0)), region
        assert abs(int(july.get(region, 0)) - int(expected.get(region, 0))) <= 0.03 * int(expected.get(region, 0)), region
    assert july["china"] > 0 and july["us"] > 0
    # shares add to one and totals equal the per-model table
    assert abs(dbc[dbc["month"] == "2026-07"]["share"].sum() - 1) < 1e-9
    pm = res.tables["model_downloads_monthly"]
    counted = m["id"][~m["id"].isin(rejected)]
    assert int(pm[pm["model_id"].isin(counted) & (pm["month"] == "2026-07")]["downloads"].sum()) == int(july.sum())
    # a single model checked by hand: Qwen's most downloaded model in scope
    top = m[m["org"] == "qwen"].sort_values("d").iloc[-1]
    row = pm[(pm["model_id"] == top["id"]) & (pm["month"] == "2026-07")].iloc[0]
    assert row["downloads"] == top["d"] and row["method"] == "all_time_diff"
    assert row["start_snapshot"] == "2026-07-01" and row["end_snapshot"] == "2026-08-01"


def test_months_without_boundary_snapshots_are_not_invented(july_build):
    _, res = july_build
    assert set(res.tables["model_downloads_monthly"]["month"]) == {"2026-07"}
    dq = res.tables["data_quality"]
    row = dq[dq["kind"] == "period_not_measured"]
    assert list(row["month"]) == ["2026-08"]
    assert "2026-09-01" in row["detail"].iloc[0]


def test_derivatives_and_lineage_on_real_snapshot(july_build, data_root):
    _, res = july_build
    d = res.tables["derivatives"]
    b = pd.read_parquet(data_root / "hub-stats/2026-08-01/models.parquet", columns=["id", "baseModels"])
    assert len(d) == int(b["baseModels"].notna().sum())
    if FULL:
        assert len(d) == 2513  # the README's count for the shared 2026-08-01 snapshot
    first = b.dropna(subset=["baseModels"]).set_index("id")["baseModels"].map(lambda x: x["models"][0]["id"])
    assert (d.set_index("model_id")["base_model_id"] == first.reindex(d["model_id"]).to_numpy()).all()
    assert set(d["relation"]) <= {"finetune", "adapter", "quantized", "merge"}
    # a complete chain ends at a model that declares no base
    complete = d[d["lineage_status"] == "complete"]
    assert not complete["root_model_id"].isin(d["model_id"]).any()
    dvc = res.tables["derivatives_by_country"]
    sums = dvc.groupby(["lineage", "month", "relation"])["share"].sum()
    assert ((sums - 1).abs() < 1e-9).all()
    # derivative shares count what others built on a base: an organization's own releases on its own base are out
    others = d["publisher"].isin(["other_org", "community"])
    assert 0 < others.sum() < len(d)
    for lineage in ("declared", "with_inference"):
        assert dvc.loc[dvc["lineage"] == lineage, "new_derivatives"].sum() == (d["created_at"].notna() & others).sum()


def test_snapshots_table_and_manifests(july_build, data_root):
    root, res = july_build
    prov = pd.read_csv(data_root / "provenance.csv").set_index("path")
    snaps = res.tables["snapshots"].set_index("name")
    for d in ("2026-07-01", "2026-08-01"):
        manifest = json.loads((root / "raw" / d / "manifest.json").read_text())
        assert manifest["sha256"] == prov.loc[f"hub-stats/{d}/models.parquet", "sha256"] == snaps.loc[d, "sha256"]
        assert manifest["rows"] == prov.loc[f"hub-stats/{d}/models.parquet", "rows"]
        assert "downloadsAllTime" in manifest["fields"]


def test_validate_command_accepts_build_and_rejects_tampering(july_build, tmp_path):
    from click.testing import CliRunner

    from atomdata.cli import main

    root, _ = july_build
    ok = CliRunner().invoke(main, ["validate", "--processed", str(root / "processed")])
    assert ok.exit_code == 0, ok.output
    bad = tmp_path / "processed"
    bad.mkdir()
    for p in (root / "processed").glob("*.csv"):
        (bad / p.name).write_bytes(p.read_bytes())
    df = pd.read_csv(bad / "downloads_by_country.csv", dtype=str, keep_default_na=False)
    df.loc[0, "share"] = "1.5"
    df.loc[0, "region"] = "mars"
    df.to_csv(bad / "downloads_by_country.csv", index=False)
    res = CliRunner().invoke(main, ["validate", "--processed", str(bad)])
    assert res.exit_code == 1
    assert "downloads_by_country" in res.output and "share" in res.output and "region" in res.output
    assert "mars" in res.output and "less_than_or_equal_to" in res.output


@pytest.mark.parametrize("args", [[], ["ingest"], ["ingest", "dump"], ["build"], ["validate"]])
def test_help_everywhere(args):
    from click.testing import CliRunner

    from atomdata.cli import main

    res = CliRunner().invoke(main, args + ["--help"])
    assert res.exit_code == 0 and "Usage:" in res.output


def test_a_bad_registry_is_named_with_every_failure_and_its_line(tmp_path):
    """A hand-edited registry fails with the file, each failed check and the lines, all at once."""
    from atomdata.errors import ValidationFailed
    from atomdata.rules.organizations import load_registry

    lines = (REPO / "raw" / "organizations.csv").read_text(encoding="utf-8").splitlines()
    header = next(csv.reader([lines[0]]))
    rows = [next(csv.reader([line])) for line in lines[1:4]]
    rows[1][header.index("region")] = "atlantis"
    rows.append(list(rows[0]))  # the first organization again
    path = tmp_path / "organizations.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([header] + rows)
    with pytest.raises(ValidationFailed) as err:
        load_registry(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: organization registry is invalid")
    assert "column region: check isin" in msg and "line 3: 'atlantis'" in msg
    assert "line 2:" in msg and "line 5:" in msg  # the repeated organization, both rows


def test_the_shared_july_first_snapshot_repeats_june_16_and_is_not_a_boundary(tmp_path, data_root):
    """The shared 2026-07-01 (and 2026-06-17) file is byte for byte the 2026-06-16 file: its counters
    are those of 2026-06-16, so July is measured from 2026-07-02 (1 day off), never from mid-June."""
    from atomdata.build import build_tables
    from atomdata.ingest.dump import import_dump

    raw = tmp_path / "raw"
    for d in ("2026-06-16", "2026-07-01", "2026-07-02", "2026-08-01"):
        import_dump(data_root / "hub-stats" / d / "models.parquet", raw)
    t = build_tables(raw).tables
    dq = t["data_quality"]
    rep = dq[dq["kind"] == "snapshot_repeated"]
    assert rep["snapshot"].tolist() == ["2026-07-01"] and rep["value"].tolist() == [15]
    july = t["model_downloads_monthly"]
    at = {d: pd.read_parquet(data_root / "hub-stats" / d / "models.parquet", columns=["id", "downloadsAllTime"])
          .set_index("id")["downloadsAllTime"] for d in ("2026-06-16", "2026-07-02", "2026-08-01")}
    # every model read on 2026-07-02 and 2026-08-01 has a July row starting on 2026-07-02, but for a
    # 2026-07-02 reading below the model's 2026-06-16 one: stale, never a boundary (one such model)
    both = at["2026-07-02"].dropna().index.intersection(at["2026-08-01"].dropna().index)
    stale = (at["2026-07-02"].reindex(both) < at["2026-06-16"].reindex(both)).fillna(False).to_numpy(bool)
    assert stale.sum() == 1 and len(both) > 2000
    assert set(july["start_snapshot"].astype(str)) == {"2026-07-02"} and set(july["model_id"].astype(str)) == set(both[~stale])
    # July of Qwen/Qwen3-8B straight from the dumps: 2026-08-01 minus 2026-07-02
    row = july.set_index("model_id").loc["Qwen/Qwen3-8B"]
    assert row["downloads"] == at["2026-08-01"]["Qwen/Qwen3-8B"] - at["2026-07-02"]["Qwen/Qwen3-8B"]


def test_a_snapshot_without_lineage_fields_does_not_erase_what_earlier_ones_declare(tmp_path):
    """The newest snapshot of a store may be a listing with fewer fields (ids and counters only,
    as the shared llm-catalog files). A field it lacks says nothing about a model: its base,
    pipeline, licence, creation date and size come from its latest snapshot that has the field,
    and data_quality says so (snapshot_lacks_fields). Read at face value, every derivative became
    first-party and no model had a pipeline."""
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    from atomdata.build import build_tables
    from atomdata.ingest.dump import import_dump
    from atomdata.steps import shares
    from conftest import write_dump

    rows = [
        {"id": "Qwen/Qwen3-8B", "downloadsAllTime": 100, "tags": ["license:apache-2.0"], "params": 8e9},
        {"id": "fan/qwen-ft", "downloadsAllTime": 10, "base": ["Qwen/Qwen3-8B"], "relation": "finetune",
         "pipeline_tag": "text-generation", "createdAt": dt.datetime(2026, 6, 20)},
        {"id": "fan/gone", "downloadsAllTime": 5, "base": ["Qwen/Qwen3-8B"], "relation": "quantized"},
    ]
    import_dump(write_dump(tmp_path / "d" / "2026-07-01" / "models.parquet", rows), tmp_path / "raw")
    thin = tmp_path / "d" / "2026-08-01" / "models.parquet"
    thin.parent.mkdir(parents=True)
    pq.write_table(pa.table({"id": ["Qwen/Qwen3-8B", "fan/qwen-ft", "new/only-here"],
                             "downloadsAllTime": pa.array([150, 30, 7], pa.int64())}), thin)
    import_dump(thin, tmp_path / "raw")
    t = build_tables(tmp_path / "raw", scope=Scope(orgs="all", pipelines=None)).tables
    m = t["models"].set_index("model_id")
    assert not m.loc["fan/qwen-ft", "first_party"] and m.loc["fan/qwen-ft", "base_model_id"] == "Qwen/Qwen3-8B"
    assert m.loc["fan/qwen-ft", "pipeline_tag"] == "text-generation"
    assert str(m.loc["fan/qwen-ft", "created_at"].date()) == "2026-06-20"
    assert m.loc["Qwen/Qwen3-8B", "license"] == "apache-2.0" and m.loc["Qwen/Qwen3-8B", "params_b"] == 8.0
    assert m.loc["Qwen/Qwen3-8B", "last_seen"] == "2026-08-01"
    # a model only the thin snapshot lists has none of them
    assert pd.isna(m.loc["new/only-here", "pipeline_tag"]) and m.loc["new/only-here", "first_party"]
    d = t["derivatives"].set_index("model_id")
    assert set(d.index) == {"fan/qwen-ft", "fan/gone"} and d.loc["fan/qwen-ft", "root_model_id"] == "Qwen/Qwen3-8B"
    # July's downloads: the first-party base and the fine-tune, each counted by its own kind
    july = t["model_downloads_monthly"].set_index("model_id")
    assert int(july.loc["fan/qwen-ft", "downloads"]) == 20
    gaps = t["data_quality"][t["data_quality"]["kind"] == "snapshot_lacks_fields"]
    assert set(gaps["snapshot"]) == {"2026-08-01"}
    # createdAt, pipeline_tag, library_name, tags, safetensors, and the lineage fields: one row each
    assert len(gaps) == 6 and (gaps["value"] == 3).all()
    lineage_row = gaps[gaps["detail"].str.startswith("no baseModels or tags")]
    assert "2 take relation, base_id, n_bases" in lineage_row["detail"].iloc[0]


def test_a_snapshot_whose_counters_repeat_earlier_readings_is_not_a_reading_of_its_date(tmp_path):
    """A listing re-published with the counters of an earlier day in a new file (the shared
    2026-06-05 file carries the 2026-05-20 counters; 2026-07-21 lags 2026-07-20) is not caught by
    its sha256. When every all-time counter it shares with earlier readings (at least 100 models)
    equals the model's latest earlier reading, it is a repeat: listed as snapshot_repeated, and the
    month boundary falls to the nearest real reading. Taken at face value, June would be 0 here."""
    from atomdata.build import build_tables
    from atomdata.ingest.dump import import_dump
    from atomdata.steps import shares
    from conftest import write_dump

    n = 120
    counters = {"2026-06-01": 1000, "2026-07-01": 1000, "2026-07-02": 2000, "2026-08-01": 3000}
    for day, base in counters.items():
        rows = [{"id": f"Qwen/m{i}", "downloadsAllTime": base + i, "likes": 7 if day == "2026-07-01" else 3}
                for i in range(n)]
        import_dump(write_dump(tmp_path / "d" / day / "models.parquet", rows), tmp_path / "raw")
    t = build_tables(tmp_path / "raw", scope=Scope(orgs="all", pipelines=None)).tables
    pm = t["model_downloads_monthly"]
    june, july = pm[pm["month"] == "2026-06"], pm[pm["month"] == "2026-07"]
    assert len(june) == len(july) == n
    assert (june["downloads"] == 1000).all() and set(june["end_snapshot"]) == {"2026-07-02"}
    assert (july["downloads"] == 1000).all() and set(july["start_snapshot"]) == {"2026-07-02"}
    rep = t["data_quality"][t["data_quality"]["kind"] == "snapshot_repeated"]
    assert rep["snapshot"].tolist() == ["2026-07-01"] and rep["value"].tolist() == [30.0]
    assert "all 120 models" in rep["detail"].iloc[0] and "snapshot 2026-06-01" in rep["detail"].iloc[0]


def test_a_second_listing_of_the_same_day_is_not_a_repeat_of_that_day(tmp_path):
    """Two listings of one date (a second source stored with --suffix) that agree on the models they
    share are two readings of that date, not a repeat of earlier counters: the second one's own
    models keep their readings (they lost their July downloads, and data_quality said the listing
    was 'read by 2026-07-01, not on 2026-07-01', value 0)."""
    from atomdata.build import build_tables
    from atomdata.ingest.dump import import_dump
    from atomdata.steps import shares
    from conftest import write_dump

    sample = [{"id": f"Qwen/m{i}", "downloadsAllTime": 1000 + i} for i in range(120)]
    extra = [{"id": f"meta-llama/x{j}", "downloadsAllTime": 500 + j} for j in range(30)]
    raw = tmp_path / "raw"
    import_dump(write_dump(tmp_path / "a" / "2026-07-01" / "models.parquet", sample), raw)
    import_dump(write_dump(tmp_path / "b" / "2026-07-01" / "models.parquet", sample + extra), raw, suffix="extra")
    later = [{**r, "downloadsAllTime": r["downloadsAllTime"] + 1000} for r in sample + extra]
    import_dump(write_dump(tmp_path / "a" / "2026-08-01" / "models.parquet", later), raw)
    t = build_tables(raw, scope=Scope(orgs="all", pipelines=None)).tables
    july = t["model_downloads_monthly"]
    assert len(july) == 150 and (july["downloads"] == 1000).all()
    extra_rows = july[july["model_id"].astype(str).str.startswith("meta-llama/")]
    assert len(extra_rows) == 30 and set(extra_rows["start_snapshot"].astype(str)) == {"2026-07-01-extra"}
    assert not (t["data_quality"]["kind"] == "snapshot_repeated").any()


def test_a_repeat_names_the_snapshot_whose_counters_it_repeats(tmp_path):
    """The snapshot_repeated row names the snapshot that took the repeated readings and counts the
    days from it, not the last snapshot read before (here a second source, 2026-06-01-x, that
    shares no model with it: the row said 4 days after 2026-06-01-x instead of 16 after 2026-05-20)."""
    from atomdata.build import build_tables
    from atomdata.ingest.dump import import_dump
    from atomdata.steps import shares
    from conftest import write_dump

    sample = [{"id": f"Qwen/m{i}", "downloadsAllTime": 1000 + i} for i in range(120)]
    raw = tmp_path / "raw"
    import_dump(write_dump(tmp_path / "a" / "2026-05-20" / "models.parquet", sample), raw)
    import_dump(write_dump(tmp_path / "b" / "2026-06-01" / "models.parquet",
                           [{"id": f"meta-llama/x{j}", "downloadsAllTime": 5 + j} for j in range(5)]), raw, suffix="x")
    import_dump(write_dump(tmp_path / "a" / "2026-06-05" / "models.parquet",
                           [{**r, "likes": 9} for r in sample]), raw)  # a new file, the counters of 2026-05-20
    t = build_tables(raw, scope=Scope(orgs="all", pipelines=None)).tables
    rep = t["data_quality"][t["data_quality"]["kind"] == "snapshot_repeated"]
    assert rep["snapshot"].tolist() == ["2026-06-05"] and rep["value"].tolist() == [16.0]
    assert "last taken by snapshot 2026-05-20" in rep["detail"].iloc[0]


def test_a_copy_of_a_repeated_file_repeats_the_counters_of_the_original_reading(tmp_path):
    """A file byte for byte that of a snapshot which itself repeats earlier counters holds those
    earlier counters: its snapshot_repeated row names the snapshot that read them and counts the
    days from it (it said 'read by 2026-06-05', value 5, for counters read on 2026-05-20)."""
    import shutil

    from atomdata.build import build_tables
    from atomdata.ingest.dump import import_dump
    from atomdata.steps import shares
    from conftest import write_dump

    sample = [{"id": f"Qwen/m{i}", "downloadsAllTime": 1000 + i} for i in range(120)]
    raw, d = tmp_path / "raw", tmp_path / "d"
    write_dump(d / "2026-05-20" / "models.parquet", sample)
    write_dump(d / "2026-06-05" / "models.parquet", [{**r, "likes": 9} for r in sample])  # a new file, old counters
    (d / "2026-06-10").mkdir()
    shutil.copy(d / "2026-06-05" / "models.parquet", d / "2026-06-10" / "models.parquet")
    for day in ("2026-05-20", "2026-06-05", "2026-06-10"):
        import_dump(d / day / "models.parquet", raw)
    t = build_tables(raw, scope=Scope(orgs="all", pipelines=None)).tables
    rep = t["data_quality"][t["data_quality"]["kind"] == "snapshot_repeated"].set_index("snapshot")
    assert rep["value"].to_dict() == {"2026-06-05": 16.0, "2026-06-10": 21.0}
    assert "to that of snapshot 2026-06-05: its counters were read by 2026-05-20" in rep.loc["2026-06-10", "detail"]


def test_a_snapshot_typed_a_slice_at_a_time_is_typed_as_a_whole(data_root):
    """Typing reads a snapshot a slice of rows at a time (the tag lists and structs of a Hub-sized
    file are never held whole): the records and edges are those of the whole file, row numbers
    included, whatever the slice size (777 rows: slices end mid-way through models' edges)."""
    from atomdata.rules import records
    from atomdata.steps.cache import default_typing

    path = data_root / "hub-stats" / "2026-08-01" / "models.parquet"
    whole = records.load_snapshot(path, default_typing().model_types, batch_rows=10**9)
    sliced = records.load_snapshot(path, default_typing().model_types, batch_rows=777)
    assert len(whole[0]) > 3 * 777 and len(whole[1]) > 0
    for a, b in zip(whole, sliced):
        pd.testing.assert_frame_equal(a, b)
    edges = sliced[1]
    assert (whole[0]["model_id"].to_numpy()[edges["record_row"].to_numpy()] == edges["model_id"].to_numpy()).all()


def test_the_tables_on_the_monthly_table_a_month_at_a_time_are_those_of_the_whole_frame(tmp_path):
    """The tables computed from the per-model monthly table add its months into cells a month at a
    time from the workspace (``shares.MonthCells``), and the tables kept in parts are written a
    part at a time: the same tables as from the whole frame, and the same bytes as the whole
    frame written at once."""
    from atomdata.build import build
    from atomdata.io import to_csv_bytes
    from atomdata.ingest.dump import import_dump
    from atomdata.rules.scope import load_policy
    from atomdata.steps import breakdowns, shares

    sys.path.insert(0, str(REPO / "benchmarks"))
    history = pytest.importorskip("history")  # the benchmark's Hub-shaped series (real rows as templates)
    raw = tmp_path / "raw"
    for p in history.generate(tmp_path / "series", 3000, 6, "2026-08-01"):
        import_dump(p, raw)
    res = build(raw, tmp_path / "out")
    t = res.tables
    monthly, orgs = t.stored("model_downloads_monthly"), t.stored("organization_summary")
    assert len(monthly.labels) >= 3 and len(orgs.parts) == 6
    whole = t["model_downloads_monthly"]
    assert isinstance(shares.cells_of(monthly, t["models"]), shares.MonthCells)
    scope = next(s for s in load_policy().values() if s.describe() == t["downloads_by_country"]["scope"].iloc[0])
    models, attrs = t["models"], t["model_attributes"]
    from_whole = {"downloads_by_country": shares.downloads_by_country(whole, models, scope),
                  "downloads_by_family": breakdowns.downloads_by_family(whole, models, attrs, scope),
                  "downloads_by_size": breakdowns.downloads_by_size(whole, models, attrs, scope),
                  "ecosystem_downloads_by_country": breakdowns.ecosystem_downloads_by_country(whole, models, t["derivatives"], scope)}
    for name, table in from_whole.items():
        assert len(table) and to_csv_bytes(table) == (tmp_path / "out" / f"{name}.csv").read_bytes(), name
    for name in ("model_downloads_monthly", "organization_summary"):
        assert (tmp_path / "out" / f"{name}.csv").read_bytes() == to_csv_bytes(t[name]), name


def test_typing_reads_the_nested_leaves_it_types_and_gives_what_whole_columns_give(data_root, tmp_path, monkeypatch):
    """Of ``baseModels`` and ``safetensors`` typing reads only the leaves it uses (a base's id and
    relation, the parameter total: the rest was a third of the decoding); the records and edges are
    those of whole columns. A nested field without those leaves (a column of nulls) is read whole."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from atomdata.rules import records
    from atomdata.steps.cache import default_typing
    from atomdata.vocab import SOURCE_FIELDS

    types = default_typing().model_types
    path = data_root / "hub-stats" / "2026-08-01" / "models.parquet"
    paths = records._source_paths(pq.ParquetFile(path), list(SOURCE_FIELDS))
    assert {"baseModels.relation", "baseModels.models.list.element.id", "safetensors.total"} <= set(paths)
    assert not [p for p in paths if p.endswith("._id") or ".parameters." in p]
    slim = records.load_snapshot(path, types)
    odd = tmp_path / "odd.parquet"  # nested fields of nulls only (no leaves): read whole, typed as before
    t = pq.read_table(path)
    for name in ("baseModels", "safetensors"):
        t = t.set_column(t.schema.get_field_index(name), name, pa.nulls(len(t)))
    pq.write_table(t, odd)
    assert {"baseModels", "safetensors"} <= set(records._source_paths(pq.ParquetFile(odd), list(SOURCE_FIELDS)))
    odd_slim = records.load_snapshot(odd, types)
    assert odd_slim[0]["params"].isna().all() and odd_slim[0]["model_id"].equals(slim[0]["model_id"])
    monkeypatch.setattr(records, "SOURCE_LEAVES", {})
    for mine, whole in zip(slim + odd_slim, records.load_snapshot(path, types) + records.load_snapshot(odd, types)):
        pd.testing.assert_frame_equal(mine, whole)


def test_first_matching_tag_skips_null_rows_and_follows_slices():
    """A row's first matching tag comes from its own tags only: a null row whose range in the
    stored values is not empty matches nothing, and a sliced array keeps its rows' ranges."""
    import pyarrow as pa

    from atomdata.rules import records

    values = pa.array(["license:a", "b", "license:c", "d", "license:e", "license:f", "g"])
    tags = pa.ListArray.from_arrays(pa.array([0, 2, 4, 6, 6, 7], pa.int32()), values,
                                    mask=pa.array([False, True, False, False, False]))
    assert records._first_tag_value(tags, "license:").to_pylist() == ["a", None, "e", None, None]
    assert records._first_tag_value(tags.slice(2), "license:").to_pylist() == ["e", None, None]
    assert records.first_tag_in(tags, ["g", "b"]).to_pylist() == ["b", None, None, None, "g"]
