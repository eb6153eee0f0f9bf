"""Property-based tests (hypothesis) of the share tables on generated snapshot pairs.

Each example is a random population of models (organizations of the shipped registry, some
unmapped; random pipelines; derivatives of earlier models or of models outside the snapshots)
read in two snapshots near 2026-07-01 and 2026-08-01, whose all-time counters may fall between
the two. Checked: shares in [0, 1] summing to 1 per month (downloads) and per month and relation
(derivatives); downloads never negative; July's per-model downloads equal the documented rule
exactly; totals equal the sum of the per-model table over in-scope models.
"""
from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atomdata.build import build_tables
from atomdata.ingest.dump import import_dump
from atomdata.rules.organizations import attribute, load_registry
from atomdata.rules import boundaries, lineage, publisher, stale
import reference_rules
from atomdata.steps import shares
from atomdata.rules.scope import Scope
from conftest import write_dump

#: from the shipped registry (china, us, eu, other, and RWKV with no country: unknown) plus two unmapped
ORGS = ["Qwen", "meta-llama", "mistralai", "tiiuae", "RWKV", "nobody", "Rando"]
PIPELINES = ["text-generation", "image-text-to-text", "any-to-any", "text-to-image", "feature-extraction", None]
RELATIONS = ["finetune", "adapter", "quantized", "merge"]
counter = st.one_of(st.none(), st.integers(0, 10**7))


@st.composite
def worlds(draw):
    n = draw(st.integers(1, 25))
    models = []
    for i in range(n):
        org = draw(st.sampled_from(ORGS))
        mid = f"{org}/m{i}"
        base = None
        if draw(st.booleans()):
            choices = [m["id"] for m in models] + ["ghost/outside"]
            base = draw(st.sampled_from(choices))
        a1 = draw(counter)
        fall = draw(st.sampled_from(["grow", "fall", "none"]))
        a2 = (None if fall == "none" else
              (a1 or 0) + draw(st.integers(0, 10**6)) if fall == "grow" or a1 is None else max(0, a1 - draw(st.integers(1, 10**6))))
        presence = draw(st.sampled_from(["both", "both", "first", "second"]))
        models.append({
            "id": mid, "author": org, "pipeline_tag": draw(st.sampled_from(PIPELINES)),
            "base": [base] if base else None, "relation": draw(st.sampled_from(RELATIONS)),
            "createdAt": dt.datetime(2025, 1, 1) + dt.timedelta(days=draw(st.integers(0, 540)), seconds=i),
            "a1": a1, "a2": a2, "d1": draw(counter), "d2": draw(counter), "presence": presence,
        })
    o1, o2 = draw(st.integers(-3, 3)), draw(st.integers(-3, 3))
    return models, dt.date(2026, 7, 1) + dt.timedelta(days=o1), dt.date(2026, 8, 1) + dt.timedelta(days=o2)


def _snap_rows(models, which):
    rows = []
    for m in models:
        if m["presence"] not in ("both", which):
            continue
        r = {k: m[k] for k in ("id", "author", "pipeline_tag", "relation", "createdAt")}
        r["base"] = m["base"]
        r["downloadsAllTime"] = m["a1" if which == "first" else "a2"]
        r["downloads"] = m["d1" if which == "first" else "d2"]
        rows.append(r)
    return rows


def expected_july(models) -> dict:
    """The documented rule, written independently: all-time difference when both readings exist
    and the later one did not fall; else the 30-day counter at the end boundary; else no row."""
    out = {}
    for m in models:
        in1, in2 = m["presence"] in ("both", "first"), m["presence"] in ("both", "second")
        a1, a2 = (m["a1"] if in1 else None), (m["a2"] if in2 else None)
        if a1 is not None and a2 is not None and a2 >= a1:
            out[m["id"]] = ("all_time_diff", a2 - a1)
        elif in2 and m["d2"] is not None:
            out[m["id"]] = ("rolling_30d", m["d2"])
    return out


def check_share_tables(per_model, dbc, dvc, models_tab, derivs, scope, models):
    assert (per_model["downloads"] >= 0).all()
    assert (dbc["downloads"] >= 0).all() and (dvc["new_derivatives"] >= 0).all()
    lin = ["lineage"] if "lineage" in dvc.columns else []  # declared lineage, and with inference where built
    for t, by, count in ((dbc, ["month"], "downloads"), (dvc, lin + ["month", "relation"], "new_derivatives")):
        assert t["share"].between(0, 1).all()
        g = t.groupby(by)
        sums, totals = g["share"].sum(), g[count].sum()
        assert (((sums - 1).abs() < 1e-9) | (totals == 0)).all()
    # per-model July downloads follow the rule exactly
    exp = expected_july(models)
    july = per_model[per_model["month"] == "2026-07"].set_index("model_id")
    assert set(july.index) == set(exp)
    for mid, (method, value) in exp.items():
        assert (july.loc[mid, "method"], int(july.loc[mid, "downloads"])) == (method, value), mid
    # totals = sum of the per-model table over in-scope models, by month and region
    m = models_tab[scope.mask(models_tab)][["model_id", "country", "region"]]
    j = per_model.merge(m, on="model_id")
    want = j.groupby(["month", "region"])["downloads"].sum()
    got = dbc.groupby(["month", "region"])["downloads"].sum()
    assert want.astype("int64").to_dict() == got.astype("int64").to_dict()
    want_cum = j.groupby(["month", "region"])["all_time_end"].sum()
    assert want_cum.astype("int64").to_dict() == dbc.groupby(["month", "region"])["cumulative_downloads"].sum().astype("int64").to_dict()
    assert (dbc.groupby("month")["n_models"].sum() == j.groupby("month").size()).all()
    # derivatives: every derivative with a creation date that others built on a base counted once, by month and relation
    d = derivs[derivs["created_at"].notna() & derivs["publisher"].isin(["other_org", "community"])]
    if lin:  # the declared lineage counts every derivative of the derivatives table once
        dvc = dvc[dvc["lineage"] == "declared"]
    assert int(dvc["new_derivatives"].sum()) == len(d)
    assert (dvc.groupby(["month", "relation"])["new_derivatives"].sum().to_dict()
            == d.assign(month=d["created_at"].dt.strftime("%Y-%m")).groupby(["month", "relation"]).size().to_dict())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_share_tables_properties_on_the_transforms(world):
    """The transforms alone (fast): readings -> per-model months -> share tables."""
    models, d1, d2 = world
    registry = load_registry()
    recs = []
    for which, day in (("first", d1), ("second", d2)):
        for r in _snap_rows(models, which):
            recs.append({"snapshot": day.isoformat(), "date": pd.Timestamp(day), "model_id": r["id"],
                         "downloads_all_time": r["downloadsAllTime"], "downloads_30d": r["downloads"]})
    readings = pd.DataFrame(recs, columns=["snapshot", "date", "model_id", "downloads_all_time", "downloads_30d"])
    for c in ("downloads_all_time", "downloads_30d"):
        readings[c] = readings[c].astype("Int64")
    readings["model_id"] = readings["model_id"].astype("string")
    snaps = pd.DataFrame({"snapshot": [d1.isoformat(), d2.isoformat()], "date": [pd.Timestamp(d1), pd.Timestamp(d2)]})
    per_model, _ = boundaries.downloads_per_period(readings, snaps, "month", 3)
    per_model = per_model.rename(columns={"period": "month"})
    ids = pd.Series([m["id"] for m in models], dtype="string")
    att = attribute(ids.str.split("/").str[0], registry)
    base = pd.Series([m["base"][0] if m["base"] else None for m in models], dtype="string")
    models_tab = pd.DataFrame({
        "model_id": ids, "first_party": publisher.first_party(att["registry_org"], base), "registry_org": att["registry_org"],
        "country": att["country"], "region": att["region"], "pipeline_tag": pd.array([m["pipeline_tag"] for m in models], dtype="string"),
    })
    roots = lineage.resolve(pd.DataFrame({"model_id": ids, "base_id": base}))
    ratt = attribute(roots["root_org"], registry)
    meta = {m["id"]: m for m in models}
    derivs = pd.DataFrame({
        "model_id": roots["model_id"],
        "created_at": pd.to_datetime(roots["model_id"].map(lambda i: meta[i]["createdAt"])).dt.normalize(),
        "relation": roots["model_id"].map(lambda i: meta[i]["relation"]).astype("string"),
        "root_country": ratt["country"], "root_region": ratt["region"],
        "publisher": publisher.publisher(roots["model_id"], roots["root_org"], registry),
    })
    for scope in (Scope(), Scope(orgs="all", pipelines=None)):
        dbc = shares.downloads_by_country(per_model, models_tab, scope)
        dvc = shares.derivatives_by_country(derivs)
        check_share_tables(per_model, dbc, dvc, models_tab, derivs, scope, models)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_share_tables_properties_through_a_full_build(world):
    """The whole path on fewer examples: dumps -> store -> build (validated against the schemas)."""
    models, d1, d2 = world
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        raw = tmp / "raw"
        for which, day in (("first", d1), ("second", d2)):
            rows = _snap_rows(models, which) or [{"id": "filler/empty-snapshot", "author": "filler"}]
            import_dump(write_dump(tmp / "d" / day.isoformat() / "models.parquet", rows), raw)
        scope = Scope(orgs="all", pipelines=None)
        res = build_tables(raw, scope=scope)
    t = res.tables  # the filler model has no counters, so it never has a month row
    check_share_tables(t["model_downloads_monthly"], t["downloads_by_country"], t["derivatives_by_country"],
                       t["models"], t["derivatives"], scope, models)


@st.composite
def readings_frames(draw):
    """Counter readings of a few models over a few snapshots (some dates shared, counters missing or falling)."""
    n_snaps = draw(st.integers(1, 5))
    dates = sorted(draw(st.lists(st.integers(0, 6), min_size=n_snaps, max_size=n_snaps)))
    rows = []
    for k, d in enumerate(dates):
        for m in draw(st.lists(st.sampled_from(["a/x", "b/y", "c/z", "d/w"]), unique=True, max_size=4)):
            rows.append({"snapshot": f"2026-01-{10 - k:02d}", "date": pd.Timestamp("2026-01-01") + pd.Timedelta(days=d),
                         "model_id": m, "downloads_all_time": draw(counter), "downloads_30d": draw(counter)})
    df = pd.DataFrame(rows, columns=["snapshot", "date", "model_id", "downloads_all_time", "downloads_30d"])
    return df.astype({"model_id": "string", "downloads_all_time": "Int64", "downloads_30d": "Int64"})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(readings_frames())
def test_stale_flags_on_dense_arrays_match_the_frame_rule(readings):
    """flag_stale (a running maximum over dense snapshot x model arrays) equals the pandas rule
    (cumulative maximum per model in date order), row for row, including the previous maximum."""
    got = stale.flag_stale(readings)
    want = reference_rules.flag_stale_frames(readings)
    cols = ["snapshot", "model_id", "downloads_all_time", "stale", "previous_max"]
    key = ["model_id", "date", "snapshot"]
    pd.testing.assert_frame_equal(got.sort_values(key, kind="stable")[cols].reset_index(drop=True),
                                  want.sort_values(key, kind="stable")[cols].reset_index(drop=True), check_dtype=False)


@st.composite
def monthly_readings(draw):
    """Readings over a few snapshots scattered around several month boundaries (some days shared,
    some outside every tolerance), with counters missing, falling or growing, and the snapshots
    read in any order."""
    days = draw(st.lists(st.integers(-4, 95), min_size=1, max_size=7))
    start = pd.Timestamp("2026-01-01")
    rows = []
    for k, d in enumerate(days):
        for m in draw(st.lists(st.sampled_from(["a/x", "b/y", "c/z", "d/w", "e/v"]), unique=True, max_size=5)):
            rows.append({"snapshot": f"s{k}", "date": start + pd.Timedelta(days=d), "model_id": m,
                         "downloads_all_time": draw(counter), "downloads_30d": draw(counter)})
    df = pd.DataFrame(rows, columns=["snapshot", "date", "model_id", "downloads_all_time", "downloads_30d"])
    df = df.astype({"model_id": "string", "downloads_all_time": "Int64", "downloads_30d": "Int64"})
    if draw(st.booleans()):
        df = df.sample(frac=1, random_state=draw(st.integers(0, 9))).reset_index(drop=True)
    snaps = pd.DataFrame({"snapshot": [f"s{k}" for k in range(len(days))], "date": [start + pd.Timedelta(days=d) for d in days]})
    return df, snaps


def _as_objects(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.reset_index(drop=True).astype(object)
    return out.where(out.notna(), None)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(monthly_readings(), st.sampled_from(["month", "week", "quarter"]), st.integers(0, 4))
def test_downloads_per_period_on_arrays_match_the_frame_rule(data, period, tolerance):
    """downloads_per_period (arrays, one pass per snapshot) gives the rows of the plain pandas
    implementation of the documented rule, value for value, and the same unmeasured periods."""
    readings, snaps = data
    want, want_un = reference_rules.downloads_per_period_frames(readings, snaps, period, tolerance)
    cols = ["period", "model_id", "downloads", "method", "start_snapshot", "end_snapshot", "all_time_end", "flags"]
    # as they come, and flagged by flag_stale first (as the build passes them: the flags are reused)
    for given_readings in (readings, stale.flag_stale(readings)):
        got, got_un = boundaries.downloads_per_period(given_readings, snaps, period, tolerance)
        pd.testing.assert_frame_equal(_as_objects(got[cols]), _as_objects(want[cols]))
        pd.testing.assert_frame_equal(_as_objects(got_un), _as_objects(want_un))


# --------------------------------------------------------------------------- organization summary

NAMESPACES = ["Qwen", "qwen", "QWEN", "meta-llama", "nobody", "Nobody", None]  # None: a legacy id without a slash


@st.composite
def record_frames(draw):
    """Records of one or two snapshots: namespaces differing only in case, legacy ids with or
    without an author, bases inside the snapshot (chains, cycles, self-references) or outside."""
    rows = []
    for snap in draw(st.sampled_from([["s1"], ["s1", "s2"]])):
        n = draw(st.integers(0, 12))
        ids = []
        for i in range(n):
            ns = draw(st.sampled_from(NAMESPACES))
            ids.append((f"{ns}/m{i}" if ns else f"legacy{i}", ns if ns else draw(st.sampled_from([None, "nobody", "Qwen"]))))
        for mid, org in ids:
            base = draw(st.one_of(st.none(), st.sampled_from([m for m, _ in ids] + ["ghost/x", "QWEN/outside", "gpt2"])))
            rows.append({"snapshot": snap, "model_id": mid, "org": org, "base_id": base,
                         "downloads_30d": draw(counter), "downloads_all_time": draw(counter), "likes": draw(counter)})
    types = {"snapshot": "string", "model_id": "string", "org": "string", "base_id": "string",
             "downloads_30d": "Int64", "downloads_all_time": "Int64", "likes": "Int64"}
    return pd.DataFrame(rows, columns=list(types)).astype(types)


def _summary_by_hand(recs: pd.DataFrame, registry: pd.DataFrame) -> dict:
    """``organization_summary`` as its docstring states it, one row at a time."""
    spelling = {o.lower(): o for o in registry["org"]}

    def key(ns):
        return None if ns is None else spelling.get(ns.lower(), ns)

    def ns_of(mid):
        return mid.split("/", 1)[0] if "/" in mid else None

    def other(k, of):
        return k is not None and (of is None or k.lower() != of.lower())

    out = {}

    def cell(snap, k):
        return out.setdefault((snap, k), {"models": 0, "downloads_30d": [], "downloads_all_time": [], "likes": [],
                                          "derivatives_direct": 0, "derivatives_all": 0})

    for snap, g in recs.groupby("snapshot", sort=False):
        rows = [{c: (None if pd.isna(v) else v) for c, v in r.items()} for r in g.to_dict("records")]
        base_of = {r["model_id"]: r["base_id"] for r in rows}
        for r in rows:
            own = key(r["org"])
            if own is not None:
                c = cell(snap, own)
                c["models"] += 1
                for f in ("downloads_30d", "downloads_all_time", "likes"):
                    if r[f] is not None:
                        c[f].append(int(r[f]))
            if r["base_id"] is None:
                continue
            bk = key(ns_of(r["base_id"]))
            if other(bk, own):
                cell(snap, bk)["derivatives_direct"] += 1
            # the root: first bases followed within the snapshot; a self-reference ends there; a loop has none
            node, seen, root = r["model_id"], set(), None
            while True:
                if node in seen:
                    break  # a cycle: no root
                seen.add(node)
                parent = base_of.get(node)
                if parent is None or parent == node:
                    root = node
                    break
                if parent not in base_of:
                    root = parent  # the chain leaves the snapshot
                    break
                node = parent
            rk = key(ns_of(root)) if root is not None else None
            if other(rk, key(ns_of(r["model_id"]))):
                cell(snap, rk)["derivatives_all"] += 1
    return {k: [v["models"]] + [sum(v[f]) if v[f] else None for f in ("downloads_30d", "downloads_all_time", "likes")]
            + [v["derivatives_direct"], v["derivatives_all"]] for k, v in out.items()}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record_frames())
def test_organization_summary_matches_its_definition_row_by_row(recs):
    from atomdata.steps import claims

    registry = load_registry()
    info = pd.DataFrame({"snapshot": ["s1", "s2"], "date": pd.to_datetime(["2026-07-01", "2026-08-01"]),
                         "tree_coverage": ["sample", "sample"]})
    got = claims.organization_summary(recs, info, registry)
    cols = ["models", "downloads_30d", "downloads_all_time", "likes", "derivatives_direct", "derivatives_all"]
    table = {(r["snapshot"], r["org"]): [None if pd.isna(r[c]) else int(r[c]) for c in cols] for r in got.to_dict("records")}
    assert table == _summary_by_hand(recs, registry)
