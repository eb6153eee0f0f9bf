"""Per-model attributes: family, parameter count and size bucket, official quantized variant.

- *Family*: for first-party models, the first row of the curated ``families.csv`` whose
  organization is the model's and whose pattern matches the repo name, else ``other``.
- *Parameters*: safetensors metadata, else the curated ``model_sizes.csv``, else parsed from the
  repo name (``8x7B``, ``30B-A3B``, ``0.5B``, ``270M``); the size bucket is that of the count.
- *Official quantized variant*: a registry organization's own quantized release (not a mirror).

String work in Arrow (RE2 regexes); loops only over curated rows, never over models.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pyarrow
import pyarrow.compute as pc
from pandera.typing import Series

from ..errors import ValidationFailed
from ..settings import curated
from ..validate import read_curated
from ..vocab import FAMILY_OTHER, NAMESPACE_RE, SIZE_BUCKETS, SIZE_EDGES, SIZE_UNKNOWN
from ..schemas import Table
from .ids import as_arrow, lookup, re2_error

#: sizes in the repo name (RE2): ``8x7B`` (experts x size), else the first ``7B``, ``0.5B``, ``1_8b``, ``270M``
#: standing alone between separators (``30B-A3B`` gives 30: total parameters come first)
MOE_NAME_RE = r"(?:^|[^A-Za-z0-9.])(?P<n>\d+)[xX](?P<v>\d+(?:[._]\d+)?)(?P<u>[BbMm])(?:$|[^A-Za-z0-9])"
SIZE_NAME_RE = r"(?:^|[^A-Za-z0-9.])(?P<v>\d+(?:[._]\d+)?)(?P<u>[BbMm])(?:$|[^A-Za-z0-9])"
#: quantized or low-precision formats in a repo name (BF16/FP16 are full precision and do not count)
QUANT_NAME_RE = (r"(?i)[-_.](gguf|ggml|awq|gptq|exl2|hqq|mlx|int4|int8|fp8|fp4|nvfp4|mxfp4|bnb|w4a16|w8a8|w4a8|w8a16|"
                 r"[48]-?bits?|qat|q[2-8](_k)?(_[sml0-9])?|iq[1-4]_?[a-z]*)([-_.]|$)")


class Families(Table):
    family: Series[pd.StringDtype] = pa.Field(description="Family name (Qwen, Llama, Gemma, ...).")
    org: Series[pd.StringDtype] = pa.Field(str_matches=NAMESPACE_RE,
                                           description="Registry organization (exact spelling) whose first-party models the row assigns.")
    pattern: Series[pd.StringDtype] = pa.Field(description="Case-insensitive RE2 regular expression searched in the repo name (after the namespace).")
    notes: Series[pd.StringDtype] = pa.Field(nullable=True, description="What the family covers; link to raw/architectures.csv.")

    @pa.dataframe_check(error="pattern must be a valid RE2 regular expression (no look-arounds)")
    def pattern_compiles(cls, df: pd.DataFrame) -> pd.Series:
        return df["pattern"].map(lambda p: re2_error(p, ignore_case=True) is None).astype(bool)

    @pa.dataframe_check(error="(family, org, pattern) must be unique")
    def unique_rows(cls, df: pd.DataFrame) -> pd.Series:
        return ~df.duplicated(["family", "org", "pattern"], keep=False)


class ModelSizes(Table):
    model_id: Series[pd.StringDtype] = pa.Field(unique=True, str_matches=r"^[^/]+/[^/]+$", description="Hugging Face repo id.")
    params_b: Series[float] = pa.Field(gt=0, description="Total parameters in billions (all experts of a mixture of experts).")
    source_url: Series[pd.StringDtype] = pa.Field(str_startswith="https://", description="Model card or paper that states the count.")
    notes: Series[pd.StringDtype] = pa.Field(nullable=True, description="Why the override is needed.")


def load_families(path=None, registry: pd.DataFrame | None = None) -> pd.DataFrame:
    """The curated families (``families.csv``: the project's, else the shipped one), validated, in
    file order; with ``registry``, every org must be a registry organization."""
    path = Path(path) if path else curated("families.csv").path
    fam = read_curated(path, Families, "families registry").reset_index(drop=True)
    if registry is not None:
        missing = sorted(set(fam["org"]) - set(registry["org"]))
        if missing:
            raise ValidationFailed(f"{path}: org not in the registry: {', '.join(missing)}")
    return fam


def load_model_sizes(path=None) -> pd.DataFrame:
    """The curated parameter counts (``model_sizes.csv``: the project's, else the shipped one), validated."""
    return read_curated(Path(path) if path else curated("model_sizes.csv").path, ModelSizes, "model size overrides").reset_index(drop=True)


def repo_names(ids: pd.Series) -> pyarrow.Array:
    """The repo name after the namespace (``Qwen/Qwen3-8B`` → ``Qwen3-8B``), in Arrow."""
    return pc.replace_substring_regex(as_arrow(ids), pattern=r"^[^/]*/", replacement="", max_replacements=1)


def assign_families(models: pd.DataFrame, families: pd.DataFrame, names: pyarrow.Array | None = None) -> pd.Series:
    """Family of each first-party model (first matching curated row of its organization, else
    ``other``); null for derivatives. ``names``: the models' ``repo_names``, if at hand."""
    n = len(models)
    names = repo_names(models["model_id"]) if names is None else names
    enc = pc.dictionary_encode(pc.utf8_lower(as_arrow(models["registry_org"])))
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
    ns = pc.utf8_lower(as_arrow(models["org"]))
    is_mirror = pd.Series(pc.fill_null(pc.is_in(ns, value_set=as_arrow(mirrors["namespace"].str.lower())), False)
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
