"""Lineage and monthly-download rules on small hand-made inputs, checked exactly."""
from __future__ import annotations

import datetime as dt
import os

import pandas as pd
import pytest

from atomdata.build import build, build_tables
from atomdata.errors import ValidationFailed
from atomdata.ingest.dump import import_dump
from atomdata.rules import boundaries, lineage
from conftest import write_dump


def test_lineage_chains_cycles_self_references_and_missing_bases():
    m = pd.DataFrame({
        "model_id": ["o/a", "x/b", "x/c", "x/d", "x/e", "x/f", "x/g", "x/p", "x/q", "x/r", "x/s"],
        "base_id": [None, "o/a", "x/b", "gone/z", "x/f", "x/e", "x/g", "x/q", "x/r", "x/p", "x/p"],
    })
    r = lineage.resolve(m).set_index("model_id")
    assert "o/a" not in r.index  # originals are not derivatives
    assert r.loc["x/c", "root_model_id"] == "o/a" and r.loc["x/c", "depth"] == 2
    assert r.loc["x/c", "lineage_status"] == "complete" and r.loc["x/c", "root_org"] == "o"
    assert r.loc["x/d", "root_model_id"] == "gone/z" and r.loc["x/d", "lineage_status"] == "outside_snapshot"
    assert r.loc["x/g", "lineage_status"] == "self_reference" and r.loc["x/g", "root_model_id"] == "x/g"
    for cyc in ("x/e", "x/f", "x/p", "x/q", "x/r", "x/s"):
        assert r.loc[cyc, "lineage_status"] == "cycle" and pd.isna(r.loc[cyc, "root_model_id"])
    # the root's row among the models, where it is one of them: what callers take its columns at
    row = {i: k for k, i in enumerate(m["model_id"])}
    assert r["root_row"].tolist() == [row.get(root, -1) if isinstance(root, str) else -1 for root in r["root_model_id"]]
    assert r.loc["x/c", "root_row"] == 0 and r.loc["x/d", "root_row"] == -1 and r.loc["x/g", "root_row"] == 6


def test_lineage_of_a_long_chain_is_exact():
    n = 5000
    ids = [f"o/m{i}" for i in range(n)]
    m = pd.DataFrame({"model_id": ids, "base_id": [None] + ids[:-1]})
    r = lineage.resolve(m)
    assert (r["root_model_id"] == "o/m0").all()
    assert r["depth"].tolist() == list(range(1, n))


def _readings(rows):
    df = pd.DataFrame(rows, columns=["snapshot", "model_id", "downloads_all_time", "downloads_30d"])
    df["date"] = pd.to_datetime(df["snapshot"].str.slice(0, 10))
    for c in ("downloads_all_time", "downloads_30d"):
        df[c] = df[c].astype("Int64")
    snaps = df[["snapshot", "date"]].drop_duplicates()
    return df, snaps


def test_monthly_difference_stale_counter_and_rolling_fallback():
    r, s = _readings([
        ("2026-06-30", "o/a", 100, None), ("2026-08-01", "o/a", 50, None), ("2026-08-02", "o/a", 180, None),
        ("2026-06-30", "o/b", 10, None), ("2026-08-01", "o/b", 30, None),
        ("2026-08-01", "o/c", None, 77),
    ])
    out, unmeasured = boundaries.downloads_per_period(r, s, "month", 3)
    july = out[out["period"] == "2026-07"].set_index("model_id")
    # o/a: 2026-08-01 is stale (50 < 100) and skipped; the next valid reading (2026-08-02) is used
    assert july.loc["o/a", "downloads"] == 80 and july.loc["o/a", "end_snapshot"] == "2026-08-02"
    assert july.loc["o/a", "flags"] == "stale_reading_skipped"
    assert july.loc["o/b", "downloads"] == 20 and pd.isna(july.loc["o/b", "flags"])
    assert july.loc["o/c", "downloads"] == 77 and july.loc["o/c", "method"] == "rolling_30d"
    assert (out["downloads"] >= 0).all()
    # June and August have no snapshot near both boundaries: reported, not invented
    assert set(out["period"]) == {"2026-07"}
    assert set(unmeasured["period"]) == {"2026-06", "2026-08"}


def test_the_first_snapshots_30_day_counters_measure_the_month_that_ends_at_it():
    # 30-day counters read on 1 March and 1 April (a backfill's CSV era): February and March
    r, s = _readings([("2026-03-01", "o/a", None, 40), ("2026-04-01", "o/a", None, 55), ("2026-04-01", "o/b", None, 7)])
    out, unmeasured = boundaries.downloads_per_period(r, s, "month", 3)
    got = {(p, m): d for p, m, d in zip(out["period"], out["model_id"], out["downloads"])}
    assert got == {("2026-02", "o/a"): 40, ("2026-03", "o/a"): 55, ("2026-03", "o/b"): 7}
    assert set(out["method"]) == {"rolling_30d"} and out[out["period"] == "2026-02"]["end_snapshot"].tolist() == ["2026-03-01"]
    assert unmeasured["period"].tolist() == ["2026-04"]
    # within the tolerance after the boundary too; beyond it, the month before is not measured
    r, s = _readings([("2026-03-03", "o/a", None, 40), ("2026-04-01", "o/a", None, 55)])
    assert boundaries.downloads_per_period(r, s, "month", 3)[0]["period"].tolist() == ["2026-02", "2026-03"]
    assert boundaries.downloads_per_period(r, s, "month", 1)[0]["period"].tolist() == ["2026-03"]
    # a first snapshot without 30-day counters measures nothing before it, and reports nothing either
    r, s = _readings([("2026-07-02", "o/a", 10, None), ("2026-08-01", "o/a", 20, None)])
    out, unmeasured = boundaries.downloads_per_period(r, s, "month", 3)
    assert out["period"].tolist() == ["2026-07"] and "2026-06" not in set(unmeasured["period"])
    # weeks and quarters have no 30-day stand-in: their periods start at the first snapshot as before
    r, s = _readings([("2026-03-02", "o/a", 5, 40), ("2026-03-09", "o/a", 9, 41)])
    assert boundaries.downloads_per_period(r, s, "week", 3)[0]["period"].tolist() == ["2026-W10"]


def test_tolerance_bounds_the_boundary_snapshots():
    r, s = _readings([("2026-06-27", "o/a", 1, None), ("2026-08-01", "o/a", 9, None)])
    out, unmeasured = boundaries.downloads_per_period(r, s, "month", 3)
    assert out.empty and "2026-07-01" in " ".join(unmeasured["detail"])
    out, _ = boundaries.downloads_per_period(r, s, "month", 4)
    assert out["downloads"].tolist() == [8]


def test_model_missing_at_a_boundary_uses_the_nearest_snapshot_that_has_it():
    r, s = _readings([("2026-07-01", "o/b", 5, None), ("2026-07-02", "o/a", 10, None),
                      ("2026-07-02", "o/b", 6, None), ("2026-08-01", "o/a", 20, None), ("2026-08-01", "o/b", 9, None)])
    out, _ = boundaries.downloads_per_period(r, s, "month", 3)
    got = out.set_index("model_id")
    assert got.loc["o/a", "downloads"] == 10 and got.loc["o/a", "start_snapshot"] == "2026-07-02"
    assert got.loc["o/b", "downloads"] == 4 and got.loc["o/b", "start_snapshot"] == "2026-07-01"


def _small_store(tmp_path):
    raw = tmp_path / "raw"
    base = [
        {"id": "Qwen/Q1", "downloadsAllTime": 100, "createdAt": dt.datetime(2025, 1, 1)},
        {"id": "meta-llama/L1", "downloadsAllTime": 300},
        {"id": "someone/ft", "downloadsAllTime": 5, "base": ["Qwen/Q1"], "relation": "finetune"},
        {"id": "someone/q", "downloadsAllTime": 5, "base": ["someone/ft"], "relation": "quantized"},
        {"id": "nobody/orig", "downloadsAllTime": 50},
    ]
    later = [dict(r, downloadsAllTime=r["downloadsAllTime"] * 2) for r in base]
    import_dump(write_dump(tmp_path / "d" / "2026-07-01" / "models.parquet", base), raw)
    import_dump(write_dump(tmp_path / "d" / "2026-08-01" / "models.parquet", later), raw)
    return raw


def test_small_build_numbers(tmp_path):
    res = build_tables(_small_store(tmp_path))
    dbc = res.tables["downloads_by_country"].set_index("region")
    assert dbc.loc["china", "downloads"] == 100 and dbc.loc["us", "downloads"] == 300
    assert dbc.loc["china", "share"] == pytest.approx(0.25) and dbc.loc["us", "cumulative_downloads"] == 600
    d = res.tables["derivatives"].set_index("model_id")
    assert d.loc["someone/q", "root_model_id"] == "Qwen/Q1" and d.loc["someone/q", "root_region"] == "china"
    assert d.loc["someone/q", "depth"] == 2
    dq = res.tables["data_quality"]
    assert "nobody" in set(dq[dq["kind"] == "unmapped_org"]["org"])
    cov = dq[dq["kind"] == "coverage"]["value"].iloc[0]
    assert cov == pytest.approx(400 / 450)  # July downloads: Qwen 100 + Meta 300 of 450


def test_failed_build_leaves_previous_outputs_intact(tmp_path):
    raw = _small_store(tmp_path)
    out = tmp_path / "processed"
    build(raw, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad_registry = tmp_path / "orgs.csv"
    bad_registry.write_text("org,name,country,region,org_type,source_url,notes\n"
                            "Qwen,Alibaba,US,china,company,https://example.org,\n"
                            "qwen,dup,CN,china,company,http://example.org,\n")
    with pytest.raises(ValidationFailed) as err:
        build(raw, out, registry_file=bad_registry)
    msg = str(err.value)
    assert "orgs.csv" in msg and "region must follow from country" in msg and "unique ignoring case" in msg and "source_url" in msg and "unique" in msg
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".processed")]


def test_build_is_deterministic(tmp_path):
    raw = _small_store(tmp_path)
    build(raw, tmp_path / "a")
    build(raw, tmp_path / "b")
    for p in (tmp_path / "a").iterdir():
        assert p.read_bytes() == (tmp_path / "b" / p.name).read_bytes()


def test_tampered_snapshot_stops_the_build(tmp_path):
    raw = _small_store(tmp_path)
    data = raw / "2026-08-01" / "models.parquet"
    os.chmod(data, 0o644)
    data.write_bytes(data.read_bytes() + b"\0")
    from atomdata.errors import SnapshotError

    with pytest.raises(SnapshotError, match="does not match manifest"):
        build_tables(raw)


def test_stale_flag_marks_substituted_boundaries_only():
    r, s = _readings([
        # o/a: the reading nearest the start (07-01) is stale; 07-02 stands in -> flagged
        ("2026-06-20", "o/a", 50, None), ("2026-07-01", "o/a", 40, None), ("2026-07-02", "o/a", 55, None),
        ("2026-08-01", "o/a", 70, None),
        # o/b: a stale reading mid-month is never a boundary -> not flagged
        ("2026-07-01", "o/b", 10, None), ("2026-07-15", "o/b", 5, None), ("2026-08-01", "o/b", 30, None),
    ])
    out, _ = boundaries.downloads_per_period(r, s, "month", 3)
    july = out[out["period"] == "2026-07"].set_index("model_id")
    assert july.loc["o/a", "start_snapshot"] == "2026-07-02" and july.loc["o/a", "downloads"] == 15
    assert july.loc["o/a", "flags"] == "stale_reading_skipped"
    assert july.loc["o/b", "downloads"] == 20 and pd.isna(july.loc["o/b", "flags"])


def test_long_tables_are_validated_in_slices_with_the_same_verdict():
    """A per-model table longer than a slice is validated a slice at a time (text as categoricals,
    uniqueness over the whole table): every failure is still reported, with its row."""
    from atomdata.errors import ValidationFailed
    from atomdata.validate import validate_table

    n = 10
    text = lambda vals, cats=None: pd.Categorical(vals, categories=pd.Index(cats or sorted({v for v in vals if v}), dtype="string"))
    df = pd.DataFrame({"month": text(["2024-01"] * 5 + ["2024-02"] * 5), "model_id": text([f"o/m{i % 5}" for i in range(n)]),
                       "downloads": pd.array(range(n), dtype="Int64"), "method": text(["all_time_diff"] * n),
                       "start_snapshot": text(["2024-01-01"] * n), "end_snapshot": text(["2024-02-01"] * n),
                       "all_time_end": pd.array(range(n), dtype="Int64"), "flags": text([None] * n, ["stale_reading_skipped"])})
    assert validate_table("model_downloads_monthly", df, slice_rows=3) is df  # valid: kept as it is (categoricals)
    bad = df.copy()
    bad.loc[1, "downloads"] = -5
    bad.loc[6, "model_id"] = "o/m4"  # (2024-02, o/m4) twice (rows 6 and 9), in two slices
    bad["month"] = bad["month"].cat.add_categories(["2024-1"])
    bad.loc[8, "month"] = "2024-1"
    whole, sliced = [], []
    for rows, out in ((None, whole), (3, sliced)):
        with pytest.raises(ValidationFailed) as exc:
            validate_table("model_downloads_monthly", bad, slice_rows=rows)
        out.append(str(exc.value))
    for msg in whole + sliced:
        assert "row 1: '-5'" in msg and "row 8: '2024-1'" in msg and "row 6" in msg and "row 9" in msg
    assert "unique ['month', 'model_id']' failed for 2 row(s)" in sliced[0]
    # text valid (checked on its distinct values), a number not: still named with its row
    neg = df.copy()
    neg.loc[4, "all_time_end"] = -1
    with pytest.raises(ValidationFailed, match=r"column all_time_end: check greater_than_or_equal_to\(0\) failed for 1 row\(s\); e.g. row 4: '-1'"):
        validate_table("model_downloads_monthly", neg, slice_rows=3)
    # a text value that fails only in a string (not categorical) column is found as well
    txt = df.assign(end_snapshot=df["end_snapshot"].astype("string"))
    txt.loc[7, "end_snapshot"] = "Feb"
    with pytest.raises(ValidationFailed, match="row 7: 'Feb'"):
        validate_table("model_downloads_monthly", txt, slice_rows=3)


def test_categories_found_valid_once_still_let_a_bad_value_fail():
    """A categorical text column whose categories all pass is settled on them (once per categories
    object: the months of the monthly table share one); a bad category decides only when in use."""
    from atomdata.errors import ValidationFailed
    from atomdata.validate import _VALID_CATEGORIES, validate_table

    cat = lambda vals, cats: pd.Categorical(vals, categories=pd.Index(cats, dtype="string"))  # noqa: E731
    months = pd.Index(["2024-01", "2024-02", "2024-1"], dtype="string")  # the last would fail the month pattern
    df = pd.DataFrame({"month": cat(["2024-01", "2024-02"], months), "model_id": cat(["o/a", "o/a"], ["o/a"]),
                       "downloads": pd.array([1, 2], dtype="Int64"), "method": cat(["all_time_diff"] * 2, ["all_time_diff"]),
                       "start_snapshot": cat(["2024-01-01"] * 2, ["2024-01-01"]), "end_snapshot": cat(["2024-02-01"] * 2, ["2024-02-01"]),
                       "all_time_end": pd.array([1, 2], dtype="Int64"), "flags": cat([None, None], ["stale_reading_skipped"])})
    assert validate_table("model_downloads_monthly", df, slice_rows=1) is df  # the bad category is not in use
    assert _VALID_CATEGORIES[("model_downloads_monthly", "model_id")]() is df["model_id"].dtype.categories
    month = _VALID_CATEGORIES.get(("model_downloads_monthly", "month"))
    assert month is None or month() is not df["month"].dtype.categories  # not all valid
    used = df.assign(month=cat(["2024-01", "2024-1"], months))
    with pytest.raises(ValidationFailed, match="row 1: '2024-1'"):
        validate_table("model_downloads_monthly", used, slice_rows=1)
    # a missing id among categories found valid is still a missing id
    gap = df.assign(model_id=pd.Categorical.from_codes([0, -1], dtype=df["model_id"].dtype))
    with pytest.raises(ValidationFailed, match="model_id"):
        validate_table("model_downloads_monthly", gap, slice_rows=1)


def test_positions_never_match_missing_keys():
    from atomdata.rules import ids

    got = ids.positions(pd.Series(["b", None, "a", "x"], dtype="string"), pd.Series(["a", None, "b"], dtype="string"))
    assert got.tolist() == [2, -1, 0, -1]
    cat = pd.Series(pd.Categorical(["b", None, "a"], categories=pd.Index(["a", "b"], dtype="string")))
    assert ids.positions(cat, pd.Series(["a", "b"], dtype="string")).tolist() == [1, -1, 0]


def _cells_case(scale):
    """Models (country, region; some countries missing) and 400 per-model monthly rows, some
    downloads missing."""
    import numpy as np

    rng = np.random.default_rng(7)
    n_models, n_rows = 40, 400
    models = pd.DataFrame({"model_id": pd.array([f"o/m{i:02d}" for i in range(n_models)], dtype="string"),
                           "country": pd.array(rng.choice(["US", "CN", None], n_models), dtype="string"),
                           "region": pd.array(rng.choice(["us", "china"], n_models), dtype="string")})
    ids = pd.CategoricalDtype(pd.Index(models["model_id"]))
    downloads = pd.array(rng.integers(0, 1000, n_rows) * scale, dtype="Int64")
    downloads[::17] = pd.NA
    per_model = pd.DataFrame({"month": pd.Categorical(rng.choice(["2024-01", "2024-02", "2024-03"], n_rows)),
                              "model_id": pd.Categorical.from_codes(rng.integers(0, n_models, n_rows), dtype=ids),
                              "downloads": downloads})
    return models, per_model


def _assert_group_by(got, per_model, models, keys, where):
    """``got`` is what joining the rows to the models of ``where`` and grouping by month and ``keys`` gives."""
    joined = per_model.assign(model_id=per_model["model_id"].astype("string")).merge(models[where], on="model_id")
    want = (joined.groupby(["month", *keys], dropna=False, observed=True)
            .agg(downloads=("downloads", "sum"), n_rows=("model_id", "size")).reset_index())
    want = want.assign(month=want["month"].astype("string")).sort_values(["month", *keys], na_position="last", kind="stable")
    assert got["downloads"].tolist() == [int(v) for v in want["downloads"]]
    assert got["n_rows"].tolist() == want["n_rows"].tolist()
    cols = ["month", *keys]
    assert got[cols].astype(object).where(got[cols].notna(), None).values.tolist() == \
        want[cols].astype(object).where(want[cols].notna(), None).values.tolist()


@pytest.mark.parametrize("chunk", [7, 1 << 22])  # rows added into cells a slice at a time, or all at once
@pytest.mark.parametrize("scale", [1, 2**44])  # small sums (added in floats) and sums past 2**52 (added in integers)
def test_cells_sum_as_a_group_by_would(scale, chunk, monkeypatch):
    """shares.Cells gives the sums and row counts of the join-then-group-by it replaces, exactly,
    with missing keys as groups of their own and missing values adding nothing."""
    import numpy as np

    from atomdata.steps import shares

    monkeypatch.setattr(shares.Cells, "CHUNK", chunk)
    models, per_model = _cells_case(scale)
    where = (np.arange(len(models)) % 5 != 0)
    got = shares.Cells(per_model, models).sums(models[["country", "region"]], where)
    _assert_group_by(got, per_model, models, ["country", "region"], where)
    assert got["country"].isna().any()


@pytest.mark.parametrize("scale", [1, 2**44])
def test_cells_sum_several_groupings_in_one_pass_as_each_alone(scale, monkeypatch):
    """``Cells.sums_of`` adds the rows once into cells of models alike in every grouping and sums
    those per grouping: each grouping's rows are those of its own group-by, whatever the masks
    (overlapping, disjoint, none); where the groupings' combinations are too many to number
    (``MAX_CLASSES``), it passes over the rows once per grouping, with the same result."""
    import numpy as np

    from atomdata.steps import shares

    monkeypatch.setattr(shares.Cells, "CHUNK", 7)
    models, per_model = _cells_case(scale)
    n = np.arange(len(models))
    groupings = [(["country", "region"], n % 5 != 0), (["region"], n % 2 == 0), (["country"], None),
                 (["model_id"], n % 3 == 0), (["region"], np.zeros(len(models), dtype=bool))]
    cells = shares.Cells(per_model, models)
    together = cells.sums_of([(models[keys], where) for keys, where in groupings])
    for got, (keys, where) in zip(together, groupings):
        _assert_group_by(got, per_model, models, keys, np.ones(len(models), dtype=bool) if where is None else where)
    passes = []
    monkeypatch.setattr(shares.Cells, "_add", lambda self, *a, real=shares.Cells._add: passes.append(1) or real(self, *a))
    monkeypatch.setattr(shares.Cells, "MAX_CLASSES", 100)
    wide = [(models[["model_id"]], None)] * 2  # 41 x 41 combinations: more than it numbers
    for got, alone in zip(cells.sums_of(wide), [cells.sums(*g) for g in wide]):
        pd.testing.assert_frame_equal(got, alone)
    assert len(passes) == 4  # two passes for the two groupings, then one for each alone


def test_inner_join_refuses_a_column_both_frames_hold():
    """A column on both sides would be silently overwritten by the table's; it is an error instead."""
    from atomdata.steps import shares

    per_model = pd.DataFrame({"model_id": pd.array(["a/x", "b/y"], dtype="string"), "org": ["per-model", "per-model"]})
    table = pd.DataFrame({"model_id": pd.array(["a/x", "b/y"], dtype="string"), "org": ["a", "b"], "region": ["us", "china"]})
    with pytest.raises(ValueError, match="both frames hold column.s. org"):
        shares.inner_join(per_model, table)
    got = shares.inner_join(per_model.drop(columns="org"), table)
    assert got["org"].astype(str).tolist() == ["a", "b"] and got["region"].astype(str).tolist() == ["us", "china"]


def test_month_labels_and_uniqueness_on_codes():
    from atomdata.rules.periods import month_of
    from atomdata.validate import _surely_unique

    dates = pd.Series(pd.to_datetime(["2024-01-31", None, "2023-12-01", "2024-01-01"]))
    assert month_of(dates).tolist() == ["2024-01", pd.NA, "2023-12", "2024-01"]
    cat = lambda v: pd.Categorical(v)
    assert _surely_unique(pd.DataFrame({"a": cat(["x", "x", None]), "b": cat(["p", "q", "p"])}), ["a", "b"])
    assert not _surely_unique(pd.DataFrame({"a": cat(["x", None, None]), "b": cat(["p", "q", "q"])}), ["a", "b"])  # (None, q) twice
    assert not _surely_unique(pd.DataFrame({"a": ["x", "y"]}), ["a"])  # text: left to pandas


def test_counter_decrease_is_written_as_whole_downloads_when_a_snapshot_lacks_counters(tmp_path):
    """Counters keep their integer type through the build even when a snapshot has none for some
    models (a float column would print 500.0)."""
    raw = tmp_path / "raw"
    rows = {"2026-06-01": {"o/a": None, "o/b": 10}, "2026-07-01": {"o/a": 820, "o/b": 20},
            "2026-08-01": {"o/a": 500, "o/b": 30}, "2026-09-01": {"o/a": 900, "o/b": 40}}
    for date, counts in rows.items():
        import_dump(write_dump(tmp_path / "d" / date / "models.parquet",
                               [{"id": i, "downloadsAllTime": c} for i, c in counts.items()]), raw)
    dq = build_tables(raw).tables["data_quality"]
    dec = dq[dq["kind"] == "counter_decreased"]
    assert dec["detail"].tolist() == ["all-time downloads 500 below an earlier reading of 820"]


def test_a_self_referencing_model_is_its_own_root(tmp_path):
    """Methodology (lineage): a model naming itself as its base still declares one: it is its own
    root (depth 0, self_reference) and a chain through it ends there with the same status. Under a
    registry organization's namespace it is that organization's own release (first-party, publisher
    same_org); under another namespace it is a derivative, outside downloads_by_country."""
    raw = tmp_path / "raw"
    for day, (a, b, c, e) in (("2026-07-01", (100, 10, 1, 5)), ("2026-08-01", (400, 30, 2, 9))):
        rows = [{"id": "tiiuae/Falcon3-3B-Instruct", "base": ["tiiuae/Falcon3-3B-Instruct"], "downloadsAllTime": a},
                {"id": "someone/ft", "base": ["tiiuae/Falcon3-3B-Instruct"], "downloadsAllTime": b},
                {"id": "tiiuae/Falcon3-7B-Base", "downloadsAllTime": c},
                {"id": "fan/loop", "base": ["fan/loop"], "downloadsAllTime": e}]
        import_dump(write_dump(tmp_path / "d" / day / "models.parquet", rows), raw)
    t = build_tables(raw).tables
    fp = t["models"].set_index("model_id")["first_party"]
    assert fp["tiiuae/Falcon3-3B-Instruct"] and fp["tiiuae/Falcon3-7B-Base"] and not fp["fan/loop"] and not fp["someone/ft"]
    d = t["derivatives"].set_index("model_id")
    assert d.loc["tiiuae/Falcon3-3B-Instruct", ["root_model_id", "depth", "lineage_status", "root_region", "publisher"]].tolist() == \
        ["tiiuae/Falcon3-3B-Instruct", 0, "self_reference", "other", "same_org"]
    assert d.loc["someone/ft", ["root_model_id", "depth", "lineage_status", "publisher"]].tolist() == \
        ["tiiuae/Falcon3-3B-Instruct", 1, "self_reference", "community"]
    assert d.loc["fan/loop", ["root_model_id", "depth", "lineage_status", "publisher"]].tolist() == \
        ["fan/loop", 0, "self_reference", "community"]
    dbc = t["downloads_by_country"]
    assert dbc["downloads"].sum() == 300 + 1 and dbc["n_models"].sum() == 2  # tiiuae's two releases
    eco = t["ecosystem_downloads_by_country"]
    eco = eco[(eco["lineage"] == "declared") & (eco["region"] == "other")].iloc[0]
    assert (eco["first_party_downloads"], eco["derivative_downloads"]) == (301, 20)


def test_a_snapshot_whose_file_repeats_an_earlier_one_is_not_a_reading_of_its_date(tmp_path):
    """A data file byte for byte an earlier snapshot's (same sha256) holds that snapshot's counters:
    it is never a month boundary (the shared 2026-07-01 file is the 2026-06-16 file, so July would
    be measured from mid-June); the nearest real reading stands in and data_quality says why."""
    import shutil

    raw = tmp_path / "raw"
    d = tmp_path / "d"
    for day, at in (("2026-06-20", 100), ("2026-07-02", 150), ("2026-08-01", 300)):
        write_dump(d / day / "models.parquet", [{"id": "Qwen/Qwen3-8B", "downloadsAllTime": at}])
    (d / "2026-07-01").mkdir()
    shutil.copy(d / "2026-06-20" / "models.parquet", d / "2026-07-01" / "models.parquet")  # re-published, not re-read
    for day in ("2026-06-20", "2026-07-01", "2026-07-02", "2026-08-01"):
        import_dump(d / day / "models.parquet", raw)
    t = build_tables(raw).tables
    july = t["model_downloads_monthly"].set_index("model_id").loc["Qwen/Qwen3-8B"]
    assert (july["start_snapshot"], july["end_snapshot"], july["downloads"]) == ("2026-07-02", "2026-08-01", 150)
    dq = t["data_quality"]
    rep = dq[dq["kind"] == "snapshot_repeated"]
    assert rep["snapshot"].tolist() == ["2026-07-01"] and rep["value"].tolist() == [11]
    assert "snapshot 2026-06-20" in rep["detail"].iloc[0]
    assert "2026-07-01" not in set(dq.loc[dq["kind"] == "snapshot_off_boundary", "snapshot"])
    # presence is unchanged: the model is in every snapshot, so nothing is missing
    assert not (dq["kind"] == "model_missing").any()
