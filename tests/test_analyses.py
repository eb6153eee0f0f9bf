"""Analyses beyond the headline (families, sizes, ecosystem, momentum, sensitivity, periods):
each table against numbers worked out by hand from small dumps, and on the shared snapshots."""
from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
from click.testing import CliRunner

from atomdata.build import build_tables
from atomdata.ingest.dump import import_dump
from atomdata.rules.organizations import load_registry
from atomdata.schemas import TABLES
from atomdata.rules import attributes
from atomdata.settings import curated
from atomdata.steps import momentum, sensitivity, shares
from atomdata.rules import boundaries, inference
from atomdata.rules.scope import Scope, load_scope
from conftest import REPO, write_dump

NEW = ["model_attributes", "downloads_by_family", "downloads_by_size", "ecosystem_downloads_by_country",
       "adoption_momentum", "sensitivity", "downloads_by_period"]
JUNE24 = dt.datetime(2026, 6, 24)


def _rows():
    """(row, all-time on 2026-07-01, all-time on 2026-08-01). July downloads = difference."""
    return [
        ({"id": "Qwen/Qwen3-8B", "params": 8.2e9, "createdAt": JUNE24}, 100, 300),                 # china 200, 5-10B (safetensors)
        ({"id": "Qwen/Qwen3-8B-FP8", "createdAt": JUNE24}, 10, 30),                                 # china 20, official quantized, 8B from name
        ({"id": "Qwen/Tongyi-DeepResearch-30B-A3B"}, 40, 50),                                       # china 10, family other, 30B from name
        ({"id": "meta-llama/Llama-3.1-8B"}, 1000, 1400),                                            # us 400, 8B from name
        ({"id": "openai-community/gpt2", "params": 1.24e8, "createdAt": dt.datetime(2019, 11, 4)}, 5000, 5100),  # us 100, pre-ChatGPT: out
        ({"id": "google/flan-t5-base", "pipeline_tag": "text2text-generation"}, 50, 80),          # us 30, not an LLM pipeline; size override
        ({"id": "mistralai/Mixtral-8x7B-v0.1"}, 0, 10),                                            # eu 10, 8x7B = 56B
        ({"id": "nobody/orig-8x7B"}, 10, 60),                                                      # unknown org 50
        ({"id": "someone/ft", "base": ["Qwen/Qwen3-8B"], "relation": "finetune"}, 5, 25),           # derivative 20, china
        ({"id": "someone/q2", "base": ["unsloth/Qwen2.5-7B"], "relation": "quantized"}, 0, 7),     # declared: unknown; inferred: china
        ({"id": "Qwen/Qwen3-8B-AWQ", "base": ["Qwen/Qwen3-8B"], "relation": "quantized"}, 1, 4),   # Qwen's own (first-party), 3; AWQ: name rejected
    ]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("an")
    raw = tmp / "raw"
    for i, day in enumerate(("2026-07-01", "2026-08-01")):
        rows = [dict(r, downloadsAllTime=(a, b)[i]) for r, a, b in _rows()]
        import_dump(write_dump(tmp / "d" / day / "models.parquet", rows), raw)
    return build_tables(raw).tables


def test_new_tables_are_published_and_valid(small):
    for name in NEW:
        assert name in TABLES and name in small and len(small[name]) > 0, name


def test_model_attributes_family_size_and_quantized(small):
    a = small["model_attributes"].set_index("model_id")
    assert a.loc["Qwen/Qwen3-8B", "family"] == "Qwen" and a.loc["Qwen/Tongyi-DeepResearch-30B-A3B", "family"] == "other"
    assert a.loc["openai-community/gpt2", "family"] == "GPT-2" and a.loc["mistralai/Mixtral-8x7B-v0.1", "family"] == "Mistral"
    assert pd.isna(a.loc["someone/ft", "family"])  # derivatives get no family
    assert a.loc["Qwen/Qwen3-8B", ["params_b", "params_source", "size_bucket"]].tolist() == [8.2, "safetensors", "5-10B"]
    assert a.loc["Qwen/Qwen3-8B-FP8", ["params_b", "params_source"]].tolist() == [8.0, "name"]
    assert a.loc["Qwen/Tongyi-DeepResearch-30B-A3B", "params_b"] == 30.0  # total, not active
    assert a.loc["mistralai/Mixtral-8x7B-v0.1", ["params_b", "size_bucket"]].tolist() == [56.0, "50-100B"]
    assert a.loc["google/flan-t5-base", ["params_b", "params_source", "size_bucket"]].tolist() == [0.248, "override", "<1B"]
    assert a.loc["openai-community/gpt2", "size_bucket"] == "<1B"
    assert set(a.index[a["official_quantized"]]) == {"Qwen/Qwen3-8B-FP8", "Qwen/Qwen3-8B-AWQ"}


def test_params_from_name_forms():
    ids = pd.Series(["a/Qwen2.5-0.5B", "a/internlm2-1_8b", "a/gemma-3-270m", "a/Mixtral-8x22B", "a/Qwen3-30B-A3B",
                     "a/model-4bit", "a/bert-base", "a/Llama-3_3-Nemotron-Super-49B-v1", "a/x-7b-GGUF"])
    got = attributes.params_from_name(ids).tolist()
    assert got[:5] == [0.5, 1.8, 0.27, 176.0, 30.0]
    assert pd.isna(got[5]) and pd.isna(got[6]) and got[7:] == [49.0, 7.0]
    b = attributes.size_bucket(pd.Series([0.999, 1.0, 4.99, 5.0, 10.0, 50.0, 100.0, 250.0, None], dtype="Float64")).tolist()
    assert b == ["<1B", "1-5B", "1-5B", "5-10B", "10-50B", "50-100B", "100-250B", "250B+", "unknown"]


def test_size_bucket_is_that_of_the_published_params_b(tmp_path):
    """Methodology: the bucket is that of ``params_b`` as published (rounded to the million), so a
    reader can check it against the column; 999,885,952 parameters (Gemma 3 1B) read 1.0, ``1-5B``."""
    raw = tmp_path / "raw"
    rows = [{"id": "google/gemma-3-1b-it", "params": 999_885_952, "downloadsAllTime": 10},
            {"id": "google/gemma-3-270m", "params": 268_098_176, "downloadsAllTime": 10}]
    import_dump(write_dump(tmp_path / "d" / "2026-07-01" / "models.parquet", rows), raw)
    a = build_tables(raw).tables["model_attributes"].set_index("model_id")
    assert a.loc["google/gemma-3-1b-it", ["params_b", "size_bucket"]].tolist() == [1.0, "1-5B"]
    assert a.loc["google/gemma-3-270m", ["params_b", "size_bucket"]].tolist() == [0.268, "<1B"]
    # and in the shipped release, every bucket follows from the published column
    import atomdata

    shipped = atomdata.load("model_attributes")
    expect = attributes.size_bucket(shipped["params_b"].astype("Float64"))
    assert (shipped["size_bucket"].astype("string") == expect).all()


def test_downloads_by_family(small):
    f = small["downloads_by_family"].set_index("family")
    assert f.loc["Qwen", "downloads"] == 220 and f.loc["Llama", "downloads"] == 400 and "GPT-2" not in f.index  # pre-ChatGPT
    assert f.loc["Mistral", "downloads"] == 10 and f.loc["other", "downloads"] == 10
    assert f["downloads"].sum() == 640 == small["downloads_by_country"]["downloads"].sum()
    assert f.loc["Qwen", "share"] == pytest.approx(220 / 640) and f.loc["Qwen", "n_models"] == 2
    assert f["family_coverage"].astype(float).tolist() == pytest.approx([630 / 640] * len(f))
    dq = small["data_quality"]
    assert dq.loc[dq["kind"] == "family_coverage", "value"].tolist() == [pytest.approx(630 / 640)]


def test_downloads_by_size(small):
    s = small["downloads_by_size"].set_index(["size_bucket", "region"])
    assert s.loc[("5-10B", "china"), "downloads"] == 220 and s.loc[("5-10B", "us"), "downloads"] == 400
    assert s.loc[("5-10B", "china"), "share"] == pytest.approx(220 / 620)
    assert s.loc[("5-10B", "us"), "bucket_share"] == pytest.approx(620 / 640)
    assert ("<1B", "us") not in s.index and s.loc[("50-100B", "eu"), "downloads"] == 10  # gpt2: pre-ChatGPT
    assert s.loc[("10-50B", "china"), "downloads"] == 10 and s["downloads"].sum() == 640


def test_ecosystem_downloads_by_country(small):
    e = small["ecosystem_downloads_by_country"].set_index(["lineage", "region"])
    inf = e.loc[("with_inference", "china")]
    # Qwen/Qwen3-8B-AWQ is Qwen's own release: first-party (outside the headline by its name), never derivative downloads
    assert inf["first_party_downloads"] == 230 and inf["derivative_downloads"] == 27
    assert inf["finetune_downloads"] == 20 and inf["quantized_downloads"] == 7 and inf["total_downloads"] == 257
    assert inf["derivative_fraction"] == pytest.approx(27 / 257)
    dec = e.loc[("declared", "china")]
    assert dec["derivative_downloads"] == 20 and e.loc[("declared", "unknown"), "derivative_downloads"] == 7
    assert e.loc[("declared", "us"), "first_party_downloads"] == 400 and e.loc[("declared", "us"), "derivative_downloads"] == 0
    for lin in ("declared", "with_inference"):
        assert e.loc[lin, "total_downloads"].sum() == 667
        assert e.loc[lin, "share"].sum() == pytest.approx(1.0)


def test_adoption_momentum_small(small):
    m = small["adoption_momentum"].set_index(["model_id", "age_days"])
    # created 2026-06-24: 7 days later is the 2026-07-01 snapshot; no snapshot near 14, 30, 60 ... days
    assert set(m.index) == {("Qwen/Qwen3-8B", 7), ("Qwen/Qwen3-8B-FP8", 7)}
    q = m.loc[("Qwen/Qwen3-8B", 7)]
    assert q["cumulative_downloads"] == 100 and q["snapshot"] == "2026-07-01"
    assert q["n_peers"] == 2 and q["reference_rank"] == 2 and q["reference_downloads"] == 10 and q["relative_score"] == pytest.approx(10.0)


def test_adoption_momentum_scores_against_the_tenth_best():
    n = 12
    ids = [f"o/m{i:02d}" for i in range(n)]
    models = pd.DataFrame({"model_id": ids, "org": "o", "registry_org": "o", "country": "US", "region": "us", "first_party": True,
                           "relation": None, "pipeline_tag": "text-generation",
                           "created_at": pd.Timestamp("2026-01-01") + pd.to_timedelta(range(n), unit="D")})
    attrs = pd.DataFrame({"model_id": ids, "size_bucket": "5-10B"})
    # each model read exactly 30 days after its creation (one reading per model), plus a stale one ignored
    readings = pd.DataFrame({"snapshot": [f"s{i}" for i in range(n)], "model_id": ids,
                             "date": models["created_at"] + pd.Timedelta(days=30),
                             "downloads_all_time": pd.array([(i + 1) * 100 for i in range(n)], dtype="Int64"),
                             "downloads_30d": pd.array([None] * n, dtype="Int64")})
    out = momentum.adoption_momentum(readings, models, attrs, Scope(), tolerance_days=3).set_index("model_id")
    assert (out["age_days"] == 30).all() and (out["n_peers"] == 12).all() and (out["reference_rank"] == 10).all()
    # ranked by downloads: 1200, 1100, ..., the 10th best is 300
    assert (out["reference_downloads"] == 300).all()
    assert out.loc["o/m11", "relative_score"] == pytest.approx(4.0) and out.loc["o/m00", "relative_score"] == pytest.approx(1 / 3)


def test_sensitivity_small(small):
    s = small["sensitivity"]
    assert (s["month"] == "2026-07").all()

    def get(rule, variant_part, region):
        r = s[(s["rule"] == rule) & s["variant"].str.contains(variant_part, regex=False) & (s["region"] == region)]
        assert len(r) == 1, (rule, variant_part)
        return int(r["downloads"].iloc[0]), float(r["share"].iloc[0])

    assert get("headline", "", "china") == (230, pytest.approx(230 / 640))
    assert get("pipelines", "any pipeline", "us") == (430, pytest.approx(430 / 670))  # flan-t5 in, gpt2 still pre-ChatGPT
    assert get("unknown_orgs", "kept", "unknown") == (50, pytest.approx(50 / 690))
    assert get("pre_chatgpt", "in", "us") == (500, pytest.approx(500 / 740))
    assert get("official_quantized", "out", "china") == (210, pytest.approx(210 / 620))
    assert get("ecosystem", "declared", "china") == (250, pytest.approx(250 / 660))
    assert get("ecosystem", "inference", "china") == (257, pytest.approx(257 / 667))
    # no model of the sample declares a base and is in the headline: the older first-party rule changes nothing
    assert get("first_party_definition", "declares no base", "china") == (230, pytest.approx(230 / 640))
    assert get("conditional_pipelines", "out", "china") == (230, pytest.approx(230 / 640))
    # the policy's other presets: all (any pipeline, date and name: gpt2, flan-t5 and the AWQ in) and the rules before policy 1
    assert get("scope_preset", "all (scope policy", "china") == (233, pytest.approx(233 / 773))
    assert get("scope_preset", "before-policy-1", "us") == (500, pytest.approx(500 / 740))
    assert set(s["rule"]) == {"headline", "pipelines", "conditional_pipelines", "unknown_orgs", "pre_chatgpt",
                              "first_party_definition", "official_quantized", "hugging_face_europe", "ecosystem", "scope_preset"}
    assert get("ecosystem", "inference", "unknown") == (0, 0.0)
    # every variant carries every region, shares sum to 1
    assert (s.groupby(["rule", "variant"]).size() == 5).all()
    assert s.groupby(["rule", "variant"])["share"].sum().tolist() == pytest.approx([1.0] * 12)


def test_families_registry_is_curated_and_aligned():
    registry = load_registry()
    fam = attributes.load_families(registry=registry)
    for f in ("Qwen", "Llama", "Gemma", "DeepSeek", "Mistral", "Phi", "gpt-oss", "Nemotron", "OLMo", "GLM", "Kimi",
              "MiniMax", "InternLM", "Yi", "Falcon", "EXAONE", "Granite", "SmolLM"):
        assert f in set(fam["family"]), f
    # every organization that the inference keywords of raw/architectures.csv name has a family
    arch = inference.load_architectures()
    kw_orgs = set(arch.loc[arch["kind"] == "keyword", "org"])
    assert kw_orgs <= set(fam["org"]), kw_orgs - set(fam["org"])
    sizes = attributes.load_model_sizes()
    assert sizes["model_id"].is_unique and (sizes["params_b"] > 0).all()


def test_a_bad_curated_file_is_named_with_its_column_and_line(tmp_path):
    """A hand-edited curated file fails with the file, the column, the check and the line (every
    failure at once), never a traceback."""
    from atomdata.errors import ValidationFailed

    src = curated("model_sizes.csv").path.read_text(encoding="utf-8").splitlines()
    header = src[0].split(",")
    bad = src[:3]
    cells = bad[2].split(",")
    cells[header.index("params_b")] = "-7"
    bad[2] = ",".join(cells)
    bad.append(bad[1])  # a repeated model id
    path = tmp_path / "model_sizes.csv"
    path.write_text("\n".join(bad) + "\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as err:
        attributes.load_model_sizes(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: model size overrides is invalid")
    assert "column params_b: check greater_than(0) failed for 1 row(s); e.g. line 3: '-7.0'" in msg
    assert "column model_id: check field_uniqueness failed for 2 row(s); e.g. line 2:" in msg and "line 4:" in msg


def test_pyproject_ships_the_curated_files():
    text = (REPO / "pyproject.toml").read_text()
    for f in ("families.csv", "model_sizes.csv"):
        assert f'"raw/{f}" = "atomdata/_release/raw/{f}"' in text


# --------------------------------------------------------------------------- periods

def test_cli_build_period_week(tmp_path):
    from atomdata.cli import main

    raw = tmp_path / "raw"
    for day, at in (("2026-07-06", 10), ("2026-07-13", 25), ("2026-07-20", 45)):
        import_dump(write_dump(tmp_path / "d" / day / "models.parquet", [{"id": "Qwen/Qwen3-8B", "downloadsAllTime": at},
                                                                           {"id": "meta-llama/Llama-3.1-8B", "downloadsAllTime": at * 3},
                                                                           {"id": "x/ft", "downloadsAllTime": 1, "base": ["Qwen/Qwen3-8B"]}]), raw)
    r = CliRunner().invoke(main, ["build", "--raw", str(raw), "--out", str(tmp_path / "p"), "--period", "week", "--no-datapackage"])
    assert r.exit_code == 0, r.output
    t = pd.read_csv(tmp_path / "p" / "downloads_by_period.csv")
    assert set(t["period_type"]) == {"week"} and sorted(set(t["period"])) == ["2026-W28", "2026-W29"]
    got = t.set_index(["period", "region"])["downloads"]
    assert got[("2026-W28", "china")] == 15 and got[("2026-W29", "china")] == 20 and got[("2026-W29", "us")] == 60
    assert pd.read_csv(tmp_path / "p" / "downloads_by_country.csv").empty  # no month measurable; month tables stay monthly
    assert "--period [week|month|quarter]" in CliRunner().invoke(main, ["build", "--help"]).output


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory, data_root):
    raw = tmp_path_factory.mktemp("shared") / "raw"
    for dump in sorted((data_root / "hub-stats").glob("*/models.parquet")):
        import_dump(dump, raw)
    return raw


def test_weeks_on_the_july_daily_snapshots_sum_consistently(shared_store):
    res = build_tables(shared_store, period="week")
    t = res.tables["downloads_by_period"]
    assert set(t["period_type"]) == {"week"}
    weeks = sorted(set(t["period"]))
    assert {"2026-W27", "2026-W28", "2026-W29", "2026-W30", "2026-W31"} <= set(weeks)
    assert all(re.fullmatch(r"2026-W\d\d", w) for w in weeks)
    # the monthly tables are unchanged by --period
    monthly_default = build_tables(shared_store).tables
    for name in ("downloads_by_country", "model_downloads_monthly", "sensitivity"):
        pd.testing.assert_frame_equal(res.tables[name], monthly_default[name])
    # per model, weeks chain: each week's end reading is the next week's start reading, so the
    # weekly downloads add up to the difference of the counters at the outer boundaries
    snaps = res.tables["snapshots"]
    # a repeated snapshot (its file, or every counter, is an earlier snapshot's) is not a reading
    dq = res.tables["data_quality"]
    repeated = set(dq.loc[dq["kind"] == "snapshot_repeated", "snapshot"])
    assert repeated == {"2026-06-05", "2026-06-17", "2026-07-01", "2026-07-21"}
    snaps = snaps[~snaps["name"].isin(repeated)]
    readings = []
    for name, date in zip(snaps["name"], snaps["date"]):
        r = pd.read_parquet(shared_store / name / "models.parquet", columns=["id", "downloadsAllTime"])
        readings.append(pd.DataFrame({"snapshot": name, "date": date, "model_id": r["id"].astype("string"),
                                      "downloads_all_time": r["downloadsAllTime"].astype("Int64"),
                                      "downloads_30d": pd.array([None] * len(r), dtype="Int64")}))
    readings = pd.concat(readings, ignore_index=True)
    per, _ = boundaries.downloads_per_period(readings, snaps.rename(columns={"name": "snapshot"})[["snapshot", "date"]], "week", 3)
    w = per[per["period"].isin(["2026-W28", "2026-W29", "2026-W30"])].sort_values(["model_id", "period"])
    full = w.groupby("model_id").filter(lambda g: len(g) == 3)
    assert len(full) > 3000
    chained = full.groupby("model_id").apply(
        lambda g: list(g["end_snapshot"].iloc[:-1]) == list(g["start_snapshot"].iloc[1:]), include_groups=False)
    assert chained.all()
    first_start = full.groupby("model_id")["all_time_end"].first() - full.groupby("model_id")["downloads"].first()
    total = full.groupby("model_id")["downloads"].sum()
    assert (total == full.groupby("model_id")["all_time_end"].last() - first_start).all()
    assert (per["downloads"] >= 0).all()
    # the table is the in-scope per-model weekly downloads summed by country
    in_scope = res.tables["models"][load_scope().mask(res.tables["models"])]["model_id"]
    expect = per[per["model_id"].isin(in_scope)].groupby("period")["downloads"].sum()
    assert t.groupby("period")["downloads"].sum().to_dict() == expect.to_dict()
    # weeks inside July add up to no more than July (July is measured from 07-02 to 08-01: the
    # shared 07-01 file repeats 06-16, see test_core)
    july = res.tables["downloads_by_country"]["downloads"].sum()
    assert 0 < t[t["period"].isin(["2026-W28", "2026-W29", "2026-W30"])]["downloads"].sum() < july


def test_sensitivity_on_the_shared_snapshots(july_build):
    _, res = july_build
    s = res.tables["sensitivity"]
    dbc = res.tables["downloads_by_country"].groupby("region")["share"].sum()
    assert set(s["rule"]) == {"headline", "pipelines", "conditional_pipelines", "unknown_orgs", "pre_chatgpt", "first_party_definition",
                              "official_quantized", "hugging_face_europe", "ecosystem", "scope_preset"}
    head = s[s["headline"]].set_index("region")["share"]
    for region in ("china", "us"):
        assert head[region] == pytest.approx(dbc[region])
        # July 2026: China and US under every rule
        per_rule = s[s["region"] == region].set_index("variant")["share"]
        assert len(per_rule) == 12 and per_rule.between(0.25, 0.75).all(), per_rule
    us = s[s["region"] == "us"].set_index("rule")
    # taking models created before ChatGPT (OPT, GPT-2, ...) back in raises the US share; so does the older
    # first-party rule (an organization's instruct releases out: Qwen's weigh more than Meta's)
    assert us.loc["pre_chatgpt", "share"] > head["us"] and us.loc["first_party_definition", "share"] > head["us"]
    # Hugging Face counted as Europe moves share from the US to Europe only
    eu = s[(s["region"] == "eu")].set_index("rule")["share"]
    assert us.loc["hugging_face_europe", "share"] < head["us"] and eu["hugging_face_europe"] > eu["headline"]
    # the range quoted with the headline changes one rule at a time: the other presets answer other questions
    lo, hi = sensitivity.sensitivity_range(s, "china")
    assert lo == s[(s["region"] == "china") & (s["rule"] != "scope_preset")]["share"].min()


def test_readme_quotes_the_shipped_sensitivity_range():
    import atomdata

    s = atomdata.load("sensitivity")
    readme = (REPO / "README.md").read_text()
    for region, label in (("china", "China"), ("us", "US")):
        lo, hi = sensitivity.sensitivity_range(s, region)
        assert f"{label} {lo:.1%} to {hi:.1%}" in readme, (label, lo, hi)
