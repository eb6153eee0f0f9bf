"""Analyses beyond the headline: families, sizes, ecosystem downloads, adoption momentum,
sensitivity of the shares, and download tables for another period (week, quarter).

Every table is a group-by over the typed tables the build already has (``models``, the per-model
monthly downloads, ``derivatives`` and the counter readings); string work is done in Arrow
(``pyarrow.compute`` regexes, RE2) or on categorical codes, and the only Python loops run over
curated rows (families), the seven ages and the handful of sensitivity rules, never over models.

- ``model_attributes``: per model, its family (first-party models: the first row of
  ``raw/families.csv`` whose organization is the model's and whose pattern matches the repo name,
  else ``other``), its parameter count (safetensors, else the curated ``raw/model_sizes.csv``,
  else parsed from the name), size bucket and whether it is an official quantized variant.
- ``downloads_by_family``, ``downloads_by_size``: monthly downloads of the in-scope models
  (the headline scope) by family, and by size bucket and region.
- ``ecosystem_downloads_by_country``: first-party downloads next to the downloads of derivative
  repos attributed to the region of their root base model, once by declared lineage
  (``root_region``) and once with inference (``attributed_region``).
- ``adoption_momentum``: all-time downloads 7 to 365 days after creation, scored against the
  10th-best model of the same size bucket at the same age.
- ``sensitivity``: the latest month's regional shares under alternative counting rules.
- ``downloads_by_period``: downloads by country per week, month or quarter (``--period``).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pyarrow
import pyarrow.compute as pc
from pandera.typing import Series

from ..errors import ValidationFailed
from ..vocab import REGIONS
from ..settings import release_dir
from ..rules import monthly
from . import shares
from ..rules.ids import _arrow as _arrow_strings
from ..rules.ids import isin, lookup, positions, take
from ..rules.records import RELATIONS
from ..rules.scope import Scope
from .shares import LINEAGE_COLUMNS

FAMILY_OTHER = "other"
SIZE_BUCKETS = ["<1B", "1-5B", "5-10B", "10-50B", "50-100B", "100-250B", "250B+"]
SIZE_UNKNOWN = "unknown"
SIZE_EDGES = [0.0, 1.0, 5.0, 10.0, 50.0, 100.0, 250.0, np.inf]
PARAMS_SOURCES = ["safetensors", "override", "name", "unknown"]
AGES = (7, 14, 30, 60, 90, 180, 365)
PEER_RANK = 10
#: registry organizations whose name starts so are Hugging Face's own namespaces (sensitivity: counted as Europe)
HUGGING_FACE_NAME = r"Hugging Face\b"

#: sizes in the repo name (RE2): ``8x7B`` (experts x size), else the first ``7B``, ``0.5B``, ``1_8b``, ``270M``
#: standing alone between separators (``30B-A3B`` gives 30: total parameters come first)
MOE_NAME_RE = r"(?:^|[^A-Za-z0-9.])(?P<n>\d+)[xX](?P<v>\d+(?:[._]\d+)?)(?P<u>[BbMm])(?:$|[^A-Za-z0-9])"
SIZE_NAME_RE = r"(?:^|[^A-Za-z0-9.])(?P<v>\d+(?:[._]\d+)?)(?P<u>[BbMm])(?:$|[^A-Za-z0-9])"
#: quantized or low-precision formats in a repo name (BF16/FP16 are full precision and do not count)
QUANT_NAME_RE = (r"(?i)[-_.](gguf|ggml|awq|gptq|exl2|hqq|mlx|int4|int8|fp8|fp4|nvfp4|mxfp4|bnb|w4a16|w8a8|w4a8|w8a16|"
                 r"[48]-?bits?|qat|q[2-8](_k)?(_[sml0-9])?|iq[1-4]_?[a-z]*)([-_.]|$)")


# --------------------------------------------------------------------------- curated inputs

def _re2_ok(pattern: str) -> bool:
    try:
        pc.match_substring_regex(pyarrow.array(["x"]), pattern, ignore_case=True)
        return True
    except (pyarrow.ArrowInvalid, pyarrow.ArrowNotImplementedError):
        return False


class Families(pa.DataFrameModel):
    family: Series[pd.StringDtype] = pa.Field(description="Family name (Qwen, Llama, Gemma, ...).")
    org: Series[pd.StringDtype] = pa.Field(str_matches=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                                           description="Registry organization (exact spelling) whose first-party models the row assigns.")
    pattern: Series[pd.StringDtype] = pa.Field(description="Case-insensitive RE2 regular expression searched in the repo name (after the namespace).")
    notes: Series[pd.StringDtype] = pa.Field(nullable=True, description="What the family covers; link to raw/architectures.csv.")

    class Config:
        coerce = True
        strict = True

    @pa.dataframe_check(error="pattern must be a valid RE2 regular expression (no look-arounds)")
    def pattern_compiles(cls, df: pd.DataFrame) -> pd.Series:
        return df["pattern"].map(_re2_ok).astype(bool)

    @pa.dataframe_check(error="(family, org, pattern) must be unique")
    def unique_rows(cls, df: pd.DataFrame) -> pd.Series:
        return ~df.duplicated(["family", "org", "pattern"], keep=False)


class ModelSizes(pa.DataFrameModel):
    model_id: Series[pd.StringDtype] = pa.Field(unique=True, str_matches=r"^[^/]+/[^/]+$", description="Hugging Face repo id.")
    params_b: Series[float] = pa.Field(gt=0, description="Total parameters in billions (all experts of a mixture of experts).")
    source_url: Series[pd.StringDtype] = pa.Field(str_startswith="https://", description="Model card or paper that states the count.")
    notes: Series[pd.StringDtype] = pa.Field(nullable=True, description="Why the override is needed.")

    class Config:
        coerce = True
        strict = True


def families_path() -> Path:
    return release_dir() / "raw" / "families.csv"


def model_sizes_path() -> Path:
    return release_dir() / "raw" / "model_sizes.csv"


def load_families(path=None, registry: pd.DataFrame | None = None) -> pd.DataFrame:
    """The curated families (``raw/families.csv``), validated, in file order; with ``registry``,
    every org must be a registry organization."""
    from ..rules.inference import _load

    path = Path(path) if path else families_path()
    fam = _load(path, Families, "families registry").reset_index(drop=True)
    if registry is not None:
        missing = sorted(set(fam["org"]) - set(registry["org"]))
        if missing:
            raise ValidationFailed(f"{path}: org not in the registry: {', '.join(missing)}")
    return fam


def load_model_sizes(path=None) -> pd.DataFrame:
    """The curated parameter counts (``raw/model_sizes.csv``), validated."""
    from ..rules.inference import _load

    return _load(Path(path) if path else model_sizes_path(), ModelSizes, "model size overrides").reset_index(drop=True)


# --------------------------------------------------------------------------- per-model attributes

def repo_names(ids: pd.Series) -> pyarrow.Array:
    """The repo name after the namespace (``Qwen/Qwen3-8B`` → ``Qwen3-8B``), in Arrow."""
    return pc.replace_substring_regex(_arrow_strings(ids), pattern=r"^[^/]*/", replacement="", max_replacements=1)


def assign_families(models: pd.DataFrame, families: pd.DataFrame, names: pyarrow.Array | None = None) -> pd.Series:
    """Family of each first-party model (first matching curated row of its organization, else
    ``other``); null for derivatives. ``names``: the models' ``repo_names``, if at hand."""
    n = len(models)
    names = repo_names(models["model_id"]) if names is None else names
    enc = pc.dictionary_encode(pc.utf8_lower(_arrow_strings(models["registry_org"])))
    codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False)
    cat_index = {c: i for i, c in enumerate(enc.dictionary.to_pylist())}
    out = np.full(n, None, dtype=object)
    fp = models["first_party"].to_numpy(dtype=bool)
    for fam, org, pat in zip(families["family"], families["org"], families["pattern"]):  # curated rows, not models
        code = cat_index.get(org.lower())
        if code is None:
            continue
        idx = np.flatnonzero((codes == code) & fp & pd.isna(out))
        if not len(idx):
            continue
        hit = pc.fill_null(pc.match_substring_regex(names.take(pyarrow.array(idx)), pat, ignore_case=True), False)
        out[idx[hit.to_numpy(zero_copy_only=False)]] = fam
    out[fp & pd.isna(out)] = FAMILY_OTHER
    return pd.Series(out, index=models.index, dtype="string")


def _number(v: pyarrow.Array) -> np.ndarray:
    return pc.cast(pc.replace_substring(v, "_", "."), pyarrow.float64()).to_numpy(zero_copy_only=False)


def params_from_name(ids: pd.Series, names: pyarrow.Array | None = None) -> pd.Series:
    """Parameters in billions parsed from the repo name (``8x7B`` → 56, ``30B-A3B`` → 30,
    ``0.5B`` → 0.5, ``1_8b`` → 1.8, ``270m`` → 0.27); NaN where the name carries none.
    ``names``: the ids' ``repo_names``, if at hand."""
    names = repo_names(ids) if names is None else names
    out = np.full(len(names), np.nan)
    for pattern in (SIZE_NAME_RE, MOE_NAME_RE):  # the expert form overrides the plain one
        m = pc.extract_regex(names, pattern)
        ok = pc.fill_null(pc.is_valid(m), False).to_numpy(zero_copy_only=False)
        if not ok.any():
            continue
        v = _number(pc.struct_field(m, "v"))
        unit = pc.utf8_lower(pc.struct_field(m, "u")).to_numpy(zero_copy_only=False)
        val = np.where(unit == "m", v / 1000.0, v)
        if pattern is MOE_NAME_RE:
            val = val * pc.cast(pc.struct_field(m, "n"), pyarrow.float64()).to_numpy(zero_copy_only=False)
        out = np.where(ok, val, out)
    return pd.Series(out, index=ids.index, dtype="Float64")


def size_bucket(params_b: pd.Series) -> pd.Series:
    """``<1B``, ``1-5B``, ..., ``250B+`` (lower bound inclusive); ``unknown`` without a count."""
    b = pd.cut(params_b.astype("float64"), SIZE_EDGES, right=False, labels=SIZE_BUCKETS)
    return pd.Series(b.astype("string"), index=params_b.index, dtype="string").fillna(SIZE_UNKNOWN)


def official_quantized(models: pd.DataFrame, mirrors: pd.DataFrame, names: pyarrow.Array | None = None) -> pd.Series:
    """Quantized variants published by a registry organization itself (not a mirror): declared
    relation ``quantized``, or a quantization format in the repo name (FP8, AWQ, GPTQ, GGUF, ...).
    ``names``: the models' ``repo_names``, if at hand."""
    names = repo_names(models["model_id"]) if names is None else names
    ns = pc.utf8_lower(_arrow_strings(models["org"]))
    is_mirror = pd.Series(pc.fill_null(pc.is_in(ns, value_set=_arrow_strings(mirrors["namespace"].str.lower())), False)
                          .to_numpy(zero_copy_only=False), index=models.index)
    named = pd.Series(pc.fill_null(pc.match_substring_regex(names, QUANT_NAME_RE), False)
                      .to_numpy(zero_copy_only=False), index=models.index)
    rel = (models["relation"].astype("string") == "quantized").fillna(False)
    return (models["registry_org"].notna() & ~is_mirror & (rel | named)).astype(bool)


def model_attributes(models: pd.DataFrame, families: pd.DataFrame, sizes: pd.DataFrame, mirrors: pd.DataFrame) -> pd.DataFrame:
    """One row per model: family, parameters (with source), size bucket, official quantized variant."""
    st = models["params_b"].astype("Float64")
    ov = lookup(models["model_id"], sizes.set_index("model_id")["params_b"]).astype("Float64")
    names = repo_names(models["model_id"])  # once: three attributes read the repo name
    nm = params_from_name(models["model_id"], names)
    params = st.fillna(ov).fillna(nm)
    source = pd.Series(np.select([st.notna().to_numpy(bool), ov.notna().to_numpy(bool), nm.notna().to_numpy(bool)],
                                 ["safetensors", "override", "name"], "unknown"), index=models.index, dtype="string")
    return pd.DataFrame({
        "model_id": models["model_id"],
        "family": assign_families(models, families, names),
        "params_b": params.round(3),
        "params_source": source,
        "size_bucket": size_bucket(params),
        "official_quantized": official_quantized(models, mirrors, names),
    }).reset_index(drop=True)


# --------------------------------------------------------------------------- monthly tables

def downloads_by_family(per_model: pd.DataFrame, models: pd.DataFrame, attrs: pd.DataFrame, scope: Scope,
                        cells: shares.Cells | None = None) -> pd.DataFrame:
    """Monthly downloads of the in-scope (first-party) models by family and region, with the share
    of the month and the month's family coverage (share of downloads assigned a named family).
    ``cells``: ``shares.Cells(per_model, models)``, if at hand."""
    cells = cells or shares.Cells(per_model, models)
    mm = cells.models
    family = lookup(mm["model_id"], attrs.set_index("model_id")["family"]).fillna(FAMILY_OTHER).array
    where = scope.mask(mm)
    keys = ["month", "family", "region"]
    g = cells.sums(pd.DataFrame({"family": family, "region": mm["region"].array}), where)
    g = g.dropna(subset=keys).rename(columns={"n_rows": "n_models"}).set_index(keys)[["downloads", "n_models"]]
    # the organizations of each group: its distinct (group, organization) cells, then one join per group
    pairs = cells.sums(pd.DataFrame({"family": family, "region": mm["region"].array, "registry_org": mm["registry_org"].array}), where)
    pairs = pairs[keys + ["registry_org"]].dropna(subset=["registry_org"]).sort_values("registry_org", kind="stable")
    orgs = pairs.groupby(keys, sort=True)["registry_org"].agg("|".join).astype("string")
    g = g.join(orgs.rename("organizations")).reset_index()
    g["organizations"] = g["organizations"].fillna("")
    g = shares.with_share(g, ["month"], "downloads")
    named = g["downloads"].where(g["family"] != FAMILY_OTHER, 0)
    tot = g.groupby("month")["downloads"].transform("sum")
    g["family_coverage"] = (named.groupby(g["month"]).transform("sum") / tot.where(tot > 0)).fillna(0.0).astype("Float64")
    g["scope"] = scope.describe()
    cols = ["month", "family", "region", "organizations", "downloads", "share", "n_models", "family_coverage", "scope"]
    return g[cols].sort_values(["month", "downloads", "family", "region"], ascending=[True, False, True, True], kind="stable").reset_index(drop=True)


def downloads_by_size(per_model: pd.DataFrame, models: pd.DataFrame, attrs: pd.DataFrame, scope: Scope,
                      cells: shares.Cells | None = None) -> pd.DataFrame:
    """Monthly downloads of the in-scope models by size bucket and region; share of the region
    within the bucket and the bucket's share of the month. ``cells`` as for ``downloads_by_family``."""
    cells = cells or shares.Cells(per_model, models)
    mm = cells.models
    bucket = lookup(mm["model_id"], attrs.set_index("model_id")["size_bucket"]).array
    g = cells.sums(pd.DataFrame({"size_bucket": bucket, "region": mm["region"].array}), scope.mask(mm))
    g = g.dropna(subset=["size_bucket", "region"]).rename(columns={"n_rows": "n_models"}).reset_index(drop=True)
    g = shares.with_share(g, ["month", "size_bucket"], "downloads")
    tot = g.groupby("month")["downloads"].transform("sum")
    g["bucket_share"] = (g.groupby(["month", "size_bucket"])["downloads"].transform("sum") / tot.where(tot > 0)).fillna(0.0).astype("Float64")
    g["scope"] = scope.describe()
    order = {b: i for i, b in enumerate(SIZE_BUCKETS + [SIZE_UNKNOWN])}
    g = g.assign(_o=g["size_bucket"].astype("string").map(order).astype("int64")).sort_values(["month", "_o", "region"], kind="stable")
    return g[["month", "size_bucket", "region", "downloads", "share", "bucket_share", "n_models", "scope"]].reset_index(drop=True)


def _derivative_pipeline_ok(models: pd.DataFrame, scope: Scope) -> pd.Series:
    """Derivatives count in a pipeline scope when their pipeline is in it or not reported
    (adapters and GGUF repos often carry none)."""
    if scope.pipelines is None:
        return pd.Series(True, index=models.index)
    tag = models["pipeline_tag"].astype("string")
    return (tag.isna() | tag.isin(scope.pipelines)).fillna(True).astype(bool)


def ecosystem_downloads_by_country(per_model: pd.DataFrame, models: pd.DataFrame, derivs: pd.DataFrame,
                                   scope: Scope, cells: shares.Cells | None = None) -> pd.DataFrame:
    """Per month, lineage and country: first-party downloads (the headline scope) next to the
    downloads of derivative repos attributed to the country of their root base model. ``cells``
    as for ``downloads_by_family``."""
    cells = cells or shares.Cells(per_model, models)
    models = cells.models
    keys = ["month", "country", "region"]
    fpg = cells.sums(models[["country", "region"]], scope.mask(models)).set_index(keys)["downloads"].rename("first_party_downloads")
    # the derivatives' columns on the rows of ``models``
    d_at = positions(models["model_id"], derivs["model_id"])
    keep = (~models["first_party"].astype(bool) & _derivative_pipeline_ok(models, scope)).to_numpy() & (d_at >= 0)
    parts = []
    for lin, (ccol, rcol) in LINEAGE_COLUMNS.items():
        dmod = pd.DataFrame({"country": take(derivs[ccol], d_at).array, "region": take(derivs[rcol], d_at).array,
                             "relation": take(derivs["relation"], d_at).array})
        rel = (cells.sums(dmod, keep).set_index(keys + ["relation"])["downloads"]
               .unstack("relation", fill_value=0).reindex(columns=list(RELATIONS), fill_value=0))
        rel.columns = [f"{c}_downloads" for c in rel.columns]
        g = pd.concat([fpg, rel], axis=1).fillna(0).reset_index()
        g.insert(0, "lineage", lin)
        parts.append(g)
    g = pd.concat(parts, ignore_index=True)
    relcols = [f"{r}_downloads" for r in RELATIONS]
    for c in ["first_party_downloads"] + relcols:
        g[c] = g[c].astype("Int64")
    g["derivative_downloads"] = g[relcols].sum(axis=1).astype("Int64")
    g["total_downloads"] = (g["first_party_downloads"] + g["derivative_downloads"]).astype("Int64")
    g["derivative_fraction"] = (g["derivative_downloads"] / g["total_downloads"].where(g["total_downloads"] > 0)).astype("Float64")
    g = shares.with_share(g, ["lineage", "month"], "total_downloads")
    g["scope"] = scope.describe() + "; derivatives of every organization whose pipeline is in scope or not reported"
    cols = ["lineage", "month", "country", "region", "first_party_downloads", "derivative_downloads"] + relcols + \
           ["total_downloads", "derivative_fraction", "share", "scope"]
    return g[cols].sort_values(["lineage", "month", "region", "country"], na_position="last", kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- adoption momentum

def adoption_momentum(readings: pd.DataFrame, models: pd.DataFrame, attrs: pd.DataFrame, scope: Scope,
                      tolerance_days: int = 3, ages=AGES, peer_rank: int = PEER_RANK) -> pd.DataFrame:
    """All-time downloads of each in-scope model ``age`` days after creation (the non-stale reading
    nearest creation + age, within the tolerance; ties: the earlier snapshot), and the score
    against the ``peer_rank``-th best model of the same size bucket at the same age."""
    # the in-scope models with a creation date, as a mask over the rows of ``models`` (readings coded
    # over the same ids match them by position)
    models = models.reset_index(drop=True)
    mm = models[["model_id", "registry_org", "region", "created_at"]].assign(
        size_bucket=lookup(models["model_id"], attrs.set_index("model_id")["size_bucket"]).array)
    keep = (scope.mask(models) & models["created_at"].notna()).to_numpy(dtype=bool)
    cols = ["model_id", "org", "region", "created_at", "size_bucket", "age_days", "snapshot", "cumulative_downloads",
            "n_peers", "reference_rank", "reference_downloads", "relative_score"]
    at = positions(readings["model_id"], mm["model_id"])
    ok = (at >= 0) & keep[np.maximum(at, 0)] if len(keep) else np.zeros(len(at), dtype=bool)
    r = monthly.flag_stale(readings[ok])
    r = r[~r["stale"] & r["downloads_all_time"].notna()][["model_id", "snapshot", "date", "downloads_all_time"]]
    if r.empty or not keep.any():
        return pd.DataFrame({c: [] for c in cols})
    first, last = r["date"].min(), r["date"].max()
    keep = keep & ((mm["created_at"] + pd.Timedelta(days=max(ages) + tolerance_days) >= first) & (mm["created_at"] <= last)).fillna(False).to_numpy(dtype=bool)
    j = shares.inner_join(r, mm, where=keep)
    age = (j["date"] - j["created_at"]).dt.days.to_numpy()
    rows, at_age = [], []
    for a in ages:  # seven ages, not models
        k = np.flatnonzero(np.abs(age - a) <= tolerance_days)
        rows.append(k)
        at_age.append(np.full(len(k), a, dtype=np.int64))
    rows, at_age = np.concatenate(rows), np.concatenate(at_age)
    if not len(rows):
        return pd.DataFrame({c: [] for c in cols})
    # one row per (reading, age) it is near: rows taken once (no concatenation of categorical frames)
    off = age[rows] - at_age
    p = j.iloc[rows].reset_index(drop=True).assign(age_days=at_age, _dist=np.abs(off), _off=off)
    p = p.sort_values(["model_id", "age_days", "_dist", "_off", "snapshot"], kind="stable").drop_duplicates(["model_id", "age_days"])
    p = p.rename(columns={"downloads_all_time": "cumulative_downloads", "registry_org": "org"})
    p = p.sort_values(["size_bucket", "age_days", "cumulative_downloads", "model_id"], ascending=[True, True, False, True], kind="stable")
    grp = p.groupby(["size_bucket", "age_days"], sort=False)
    p["n_peers"] = grp["model_id"].transform("size").astype("Int64")
    p["_rank"] = grp.cumcount() + 1
    p["reference_rank"] = np.minimum(p["n_peers"].to_numpy(dtype=int), peer_rank)
    ref = p[p["_rank"] == p["reference_rank"]].set_index(["size_bucket", "age_days"])["cumulative_downloads"]
    key = pd.MultiIndex.from_frame(p[["size_bucket", "age_days"]])
    p["reference_downloads"] = ref.reindex(key).to_numpy()
    refd = p["reference_downloads"].astype("Float64")
    p["relative_score"] = (p["cumulative_downloads"].astype("Float64") / refd.where(refd > 0)).round(6)
    p["reference_rank"] = p["reference_rank"].astype("Int64")
    p["reference_downloads"] = p["reference_downloads"].astype("Int64")
    p["cumulative_downloads"] = p["cumulative_downloads"].astype("Int64")
    p["age_days"] = p["age_days"].astype("Int64")
    return p[cols].sort_values(["model_id", "age_days"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- sensitivity

def _region_codes(region: pd.Series) -> np.ndarray:
    """Position of each region in ``REGIONS`` (-1 for none)."""
    return positions(region, pd.Series(list(REGIONS), dtype="string"))


def _region_totals(downloads: pd.Series, at: np.ndarray, keep: pd.Series, region: np.ndarray) -> pd.DataFrame:
    """Downloads and models per region of the per-model rows whose model (row ``at`` of ``keep``
    and of ``region``, region codes from ``_region_codes``; -1 for none) is kept; integer codes,
    no string keys."""
    regions = list(REGIONS)
    ok = at >= 0
    k = np.zeros(len(at), dtype=bool)
    k[ok] = keep.fillna(False).to_numpy(dtype=bool)[at[ok]]
    code = region[np.where(ok, at, 0)]
    k &= code >= 0
    g = pd.DataFrame({"code": code[k], "downloads": downloads.to_numpy()[k]}).groupby("code")["downloads"].agg(["sum", "size"])
    g = g.reindex(range(len(regions)), fill_value=0)
    g.index = pd.Index(regions)
    return g.rename(columns={"sum": "downloads", "size": "n_models"})


def _policy_variants(scope: Scope, mi: pd.DataFrame) -> list[tuple[str, str, pd.Series]]:
    """(rule, variant, mask) for each rule of a policy preset changed on its own."""
    out = []
    if scope.pipelines is not None:
        out.append(("pipelines", "any pipeline", replace(scope, pipelines=None, conditional=()).mask(mi)))
    if scope.conditional:
        primary = tuple(p for p in scope.pipelines if p not in scope.conditional)
        out.append(("conditional_pipelines", f"conditional pipelines out ({', '.join(scope.conditional)})",
                    replace(scope, pipelines=primary or None, conditional=()).mask(mi)))
    if scope.orgs == "registry":
        out.append(("unknown_orgs", "unknown organizations kept (region unknown)", replace(scope, orgs="all").mask(mi)))
    if scope.created_after is not None:
        out.append(("pre_chatgpt", f"models created on or before {scope.created_after.isoformat()} in",
                    replace(scope, created_after=None).mask(mi)))
    if scope.first_party == "published":
        out.append(("first_party_definition", "first-party = declares no base model (the rule before scope policy 1: "
                    "an organization's instruct and chat releases out)", replace(scope, first_party="no_base").mask(mi)))
    return out


def sensitivity(per_model: pd.DataFrame, models: pd.DataFrame, derivs: pd.DataFrame, attrs: pd.DataFrame,
                scope: Scope, registry: pd.DataFrame, presets: dict[str, Scope] | None = None) -> pd.DataFrame:
    """The latest month's regional shares under the headline rules and under alternative rules,
    each changing one rule of the headline scope, and under the policy's other presets."""
    cols = ["month", "rule", "variant", "headline", "region", "downloads", "share", "n_models"]
    if per_model.empty:
        return pd.DataFrame({c: [] for c in cols})
    month = per_model["month"].max()
    pm = per_model[per_model["month"] == month][["model_id", "downloads"]]
    # every column aligned with the rows of ``models``, looked up by position (no index over ids)
    mi = models.reset_index(drop=True)
    region = _region_codes(mi["region"])
    base = scope.mask(mi)
    oq = lookup(mi["model_id"], attrs.set_index("model_id")["official_quantized"]).fillna(False).astype(bool)
    hf = isin(mi["registry_org"], registry.loc[registry["name"].str.match(HUGGING_FACE_NAME), "org"])
    variants = [("headline", "headline rules (the scope of downloads_by_country)", base, region)]
    variants += [(rule, variant, mask, region) for rule, variant, mask in (_policy_variants(scope, mi) if scope.models is None else [])]
    variants += [
        ("official_quantized", "official quantized variants out", base & ~oq, region),
        ("hugging_face_europe", "Hugging Face's namespaces counted as Europe (its SmolLM and research teams sit in "
         "Paris; the registry places the company in the US, its headquarters)", base,
         np.where(hf, REGIONS.index("eu"), region)),
    ]
    deriv = ~mi["first_party"].astype(bool)
    pipe_ok = pd.Series(_derivative_pipeline_ok(mi, scope).to_numpy(), index=mi.index)
    d_at = positions(mi["model_id"], derivs["model_id"])
    for lin, (_, rcol) in LINEAGE_COLUMNS.items():
        dreg = take(derivs[rcol], d_at)
        keep_d = deriv & pipe_ok & dreg.notna() & ((dreg != "unknown") if scope.orgs == "registry" else True)
        variants.append(("ecosystem", f"including derivative downloads ({'declared root region' if lin == 'declared' else 'attributed region, with inference'})",
                         base | keep_d, np.where(deriv.to_numpy(dtype=bool), _region_codes(dreg), region)))
    variants += [("scope_preset", other.describe(), other.mask(mi), region)
                 for name, other in (presets or {}).items() if other.label() != scope.label()]
    parts = []
    at = positions(pm["model_id"], mi["model_id"])
    for rule, variant, keep, reg in variants:  # a handful of rules, not models
        g = _region_totals(pm["downloads"], at, pd.Series(np.asarray(keep, dtype=bool)), reg).reset_index(names="region")
        g.insert(0, "variant", variant)
        g.insert(0, "rule", rule)
        g["headline"] = rule == "headline"
        parts.append(g)
    out = pd.concat(parts, ignore_index=True)
    out["downloads"] = out["downloads"].astype("Int64")
    out["n_models"] = out["n_models"].astype("Int64")
    out = shares.with_share(out, ["rule", "variant"], "downloads")
    out.insert(0, "month", month)
    return out[cols].reset_index(drop=True)


def sensitivity_range(sens: pd.DataFrame, region: str) -> tuple[float, float]:
    """Lowest and highest share of ``region`` over the rules of the sensitivity table that change one
    counting rule of the headline (the policy's other presets answer other questions: left out)."""
    s = sens.loc[(sens["region"] == region) & (sens["rule"] != "scope_preset"), "share"].astype(float)
    return float(s.min()), float(s.max())


# --------------------------------------------------------------------------- periods

def downloads_by_period(readings: pd.DataFrame, snaptab: pd.DataFrame, models: pd.DataFrame, scope: Scope,
                        period: str = "month", tolerance_days: int = 3, by_country: pd.DataFrame | None = None):
    """Downloads by country per ``period`` (week, month or quarter) for the in-scope models, and the
    periods that cannot be measured. For ``month``, ``by_country`` (the ``downloads_by_country``
    table of the same models and scope) is reused when given."""
    if period == "month" and by_country is not None:
        g, unmeasured = by_country.rename(columns={"month": "period"}), pd.DataFrame(columns=["period", "detail"])
    else:
        pm, unmeasured = monthly.downloads_per_period(readings, snaptab, period, tolerance_days)
        g = shares.downloads_by_country(pm.rename(columns={"period": "month"}), models, scope).rename(columns={"month": "period"})
    g.insert(0, "period_type", period)
    return g, unmeasured


# --------------------------------------------------------------------------- data quality

def quality_rows(family_table: pd.DataFrame, attrs: pd.DataFrame, period: str, unmeasured: pd.DataFrame) -> pd.DataFrame:
    """``data_quality`` rows: family coverage per month, parameter-count sources, and the periods of
    ``--period`` (week, quarter) that cannot be measured."""
    parts = []
    if not family_table.empty:
        cov = family_table.drop_duplicates("month")[["month", "family_coverage"]]
        parts.append(pd.DataFrame({
            "kind": "family_coverage", "snapshot": None, "month": cov["month"], "model_id": None, "org": None,
            "value": cov["family_coverage"].astype("Float64"),
            "detail": "share of the month's in-scope downloads from models assigned a named family (raw/families.csv)",
            "action": "the rest is family 'other' in downloads_by_family"}))
    src = attrs["params_source"].value_counts().reindex(PARAMS_SOURCES, fill_value=0)
    parts.append(pd.DataFrame({
        "kind": "params_source", "snapshot": None, "month": None, "model_id": None, "org": None,
        "value": (src / max(len(attrs), 1)).astype("Float64").to_numpy(),
        "detail": [f"parameter count from {s}: {n} of {len(attrs)} models" for s, n in src.items()],
        "action": "size bucket unknown where no source gives a count"}))
    if period != "month" and not unmeasured.empty:
        parts.append(pd.DataFrame({
            "kind": "period_not_measured", "snapshot": None, "month": None, "model_id": None, "org": None, "value": None,
            "detail": period + " " + unmeasured["period"].astype(str) + ": " + unmeasured["detail"].astype(str),
            "action": "no downloads reported for it in downloads_by_period; nothing invented"}))
    return pd.concat(parts, ignore_index=True)


def build_analyses(per_model: pd.DataFrame, models: pd.DataFrame, derivs: pd.DataFrame, readings: pd.DataFrame,
                   snaptab: pd.DataFrame, registry: pd.DataFrame, scope: Scope, tolerance_days: int = 3,
                   period: str = "month", by_country: pd.DataFrame | None = None, presets: dict[str, Scope] | None = None) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Every analysis table and its ``data_quality`` rows. ``by_country``: the build's
    ``downloads_by_country`` (reused for ``--period month``)."""
    from ..rules.inference import load_mirrors

    attrs = model_attributes(models, load_families(registry=registry), load_model_sizes(), load_mirrors())
    cells = shares.Cells(per_model, models)  # once for the family, size and ecosystem sums
    fam = downloads_by_family(per_model, models, attrs, scope, cells)
    dbp, unmeasured = downloads_by_period(readings, snaptab, models, scope, period, tolerance_days, by_country)
    tables = {
        "model_attributes": attrs,
        "downloads_by_family": fam,
        "downloads_by_size": downloads_by_size(per_model, models, attrs, scope, cells),
        "ecosystem_downloads_by_country": ecosystem_downloads_by_country(per_model, models, derivs, scope, cells),
        "adoption_momentum": adoption_momentum(readings, models, attrs, scope, tolerance_days),
        "sensitivity": sensitivity(per_model, models, derivs, attrs, scope, registry, presets),
        "downloads_by_period": dbp,
    }
    return tables, quality_rows(fam, attrs, period, unmeasured)
