"""Sensitivity: the latest month's regional shares under the headline rules and with one rule of
the headline's preset changed at a time, so that the headline comes with its range; and under
the scope policy's other presets."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ..rules.ids import isin, lookup, positions, take
from ..rules.scope import Scope
from ..vocab import HUGGING_FACE_NAME, REGIONS
from . import shares
from .breakdowns import derivative_pipeline_ok
from .shares import LINEAGE_COLUMNS
from .step import Built

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
    pipe_ok = pd.Series(derivative_pipeline_ok(mi, scope).to_numpy(), index=mi.index)
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


def build_sensitivity(model_downloads_monthly, models, derivatives, model_attributes, scope, registry, presets) -> Built:
    return Built(sensitivity(model_downloads_monthly.last(), models, derivatives, model_attributes, scope, registry, presets))
