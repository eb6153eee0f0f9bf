"""Monthly downloads of the headline's models broken down: by family, by size bucket, and next to
the downloads of the derivatives built on them (``ecosystem_downloads_by_country``).

Every table sums the per-model monthly rows into (month, group) cells on integer codes
(``shares.Cells``; a table's groupings in one pass, ``Cells.sums_of``), a month of the monthly
table at a time (``shares.MonthCells``).
"""
from __future__ import annotations

import pandas as pd

from ..issues import issue
from ..rules.ids import lookup, positions, take
from ..rules.scope import Scope
from ..vocab import FAMILY_OTHER, RELATIONS, SIZE_BUCKETS, SIZE_UNKNOWN
from . import shares
from .shares import LINEAGE_COLUMNS
from .step import Built

def downloads_by_family(per_model, models: pd.DataFrame, attrs: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    """Monthly downloads of the in-scope (first-party) models by family and region, with the share
    of the month and the month's family coverage (share of downloads assigned a named family).
    ``per_model``: the per-model monthly rows (a frame, or the table kept a month at a time)."""
    cells = shares.cells_of(per_model, models)
    mm = cells.models
    family = lookup(mm["model_id"], attrs.set_index("model_id")["family"]).fillna(FAMILY_OTHER).array
    where = scope.mask(mm)
    keys = ["month", "family", "region"]
    # by group, and (for the organizations of each group) by group and organization: one pass over the rows
    g, pairs = cells.sums_of([(pd.DataFrame({"family": family, "region": mm["region"].array}), where),
                              (pd.DataFrame({"family": family, "region": mm["region"].array, "registry_org": mm["registry_org"].array}), where)])
    g = g.dropna(subset=keys).rename(columns={"n_rows": "n_models"}).set_index(keys)[["downloads", "n_models"]]
    # the organizations of each group: its distinct (group, organization) cells, then one join per group
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


def downloads_by_size(per_model, models: pd.DataFrame, attrs: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    """Monthly downloads of the in-scope models by size bucket and region; share of the region
    within the bucket and the bucket's share of the month (``per_model`` as for ``downloads_by_family``)."""
    cells = shares.cells_of(per_model, models)
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


def derivative_pipeline_ok(models: pd.DataFrame, scope: Scope) -> pd.Series:
    """Derivatives count in a pipeline scope when their pipeline is in it or not reported
    (adapters and GGUF repos often carry none)."""
    if scope.pipelines is None:
        return pd.Series(True, index=models.index)
    tag = models["pipeline_tag"].astype("string")
    return (tag.isna() | tag.isin(scope.pipelines)).fillna(True).astype(bool)


def ecosystem_downloads_by_country(per_model, models: pd.DataFrame, derivs: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    """Per month, lineage and country: first-party downloads (the headline scope) next to the
    downloads of derivative repos attributed to the country of their root base model
    (``per_model`` as for ``downloads_by_family``)."""
    cells = shares.cells_of(per_model, models)
    models = cells.models
    keys = ["month", "country", "region"]
    # the derivatives' columns on the rows of ``models``
    d_at = positions(models["model_id"], derivs["model_id"])
    keep = (~models["first_party"].astype(bool) & derivative_pipeline_ok(models, scope)).to_numpy() & (d_at >= 0)
    by_lineage = {lin: pd.DataFrame({"country": take(derivs[ccol], d_at).array, "region": take(derivs[rcol], d_at).array,
                                     "relation": take(derivs["relation"], d_at).array})
                  for lin, (ccol, rcol) in LINEAGE_COLUMNS.items()}
    # first-party downloads by country, and the derivatives' by each lineage's country and relation: one pass
    fpg, *rels = cells.sums_of([(models[["country", "region"]], scope.mask(models)), *((d, keep) for d in by_lineage.values())])
    fpg = fpg.set_index(keys)["downloads"].rename("first_party_downloads")
    parts = []
    for lin, rel in zip(by_lineage, rels):
        rel = (rel.set_index(keys + ["relation"])["downloads"]
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


def build_downloads_by_family(model_downloads_monthly, models, model_attributes, scope) -> Built:
    fam = downloads_by_family(model_downloads_monthly, models, model_attributes, scope)
    cov = fam.drop_duplicates("month")[["month", "family_coverage"]]
    return Built(fam, [issue("family_coverage", month=cov["month"], value=cov["family_coverage"].astype("Float64"),
                             detail="share of the month's in-scope downloads from models assigned a named family (raw/families.csv)",
                             action="the rest is family 'other' in downloads_by_family")])


def build_downloads_by_size(model_downloads_monthly, models, model_attributes, scope) -> Built:
    return Built(downloads_by_size(model_downloads_monthly, models, model_attributes, scope))


def build_ecosystem(model_downloads_monthly, models, derivatives, scope) -> Built:
    return Built(ecosystem_downloads_by_country(model_downloads_monthly, models, derivatives, scope))
