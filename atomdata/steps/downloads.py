"""The download tables: ``model_downloads_monthly`` (per model and month, ``rules.boundaries``),
``downloads_by_country`` (the headline) and ``downloads_by_period`` (weeks, months or quarters)."""
from __future__ import annotations

from dataclasses import replace

import pandas as pd

from ..issues import issue
from ..rules import boundaries
from . import shares
from .step import Built


def build_model_downloads_monthly(readings: pd.DataFrame, snaptab: pd.DataFrame, tolerance_days: int) -> Built:
    """Downloads per model per calendar month, and the months no boundary readings measure."""
    per_model, unmeasured = boundaries.downloads_per_period(readings, snaptab, "month", tolerance_days)
    # the 30-day counters serve the monthly table's rolling_30d rows only (weeks and quarters never
    # use them): dropped from the shared readings, a column of models x snapshots
    del readings["downloads_30d"]
    return Built(per_model.rename(columns={"period": "month"}),
                 [boundaries.unmeasured_issues(unmeasured, "month"), boundaries.off_boundary_issues(snaptab, "month", tolerance_days)])


def _coverage(per_model: pd.DataFrame, models: pd.DataFrame, scope) -> list[pd.DataFrame]:
    """``coverage`` (per month, the share of the downloads of the models the scope would count if
    every namespace were in the registry that come from registry organizations) and ``unmapped_org``
    (the others, with their downloads)."""
    reach = scope.mask(models) if scope.models is not None else replace(scope, orgs="all").mask(models)
    pm = shares.inner_join(per_model[["month", "model_id", "downloads"]], models[["model_id", "org", "registry_org"]], where=reach)
    if pm.empty:
        return []
    dl = pm["downloads"].astype("int64")
    g = pd.DataFrame({"all": dl, "mapped": dl.where(pm["registry_org"].notna().to_numpy(), 0)}).groupby(pm["month"]).sum()
    cover = g["mapped"] / g["all"].clip(lower=1)
    um = pm[pm["registry_org"].isna()].groupby("org")["downloads"].sum().sort_values(ascending=False)
    return [issue("coverage", month=cover.index, value=cover.astype("Float64").to_numpy(),
                  detail="share of the downloads of the models the scope counts (every namespace taken as mapped) "
                         "whose organization is in the registry",
                  action="unmapped organizations are outside presets limited to registry organizations (default) and "
                         "listed as unmapped_org"),
            issue("unmapped_org", org=um.index.astype("string"), value=um.astype("Float64").to_numpy(),
                  detail="organization not in the registry; value = downloads over all measured months of its models the scope would count",
                  action="region unknown; outside presets limited to registry organizations (default)")]


def build_downloads_by_country(model_downloads_monthly: pd.DataFrame, models: pd.DataFrame, scope) -> Built:
    return Built(shares.downloads_by_country(model_downloads_monthly, models, scope), _coverage(model_downloads_monthly, models, scope))


def build_downloads_by_period(readings, snaptab, models, scope, period, tolerance_days, downloads_by_country) -> Built:
    """Downloads by country per ``period``; for months, the rows of ``downloads_by_country``."""
    found = []
    if period == "month":
        g = downloads_by_country.rename(columns={"month": "period"})
    else:
        pm, unmeasured = boundaries.downloads_per_period(readings, snaptab, period, tolerance_days)
        g = shares.downloads_by_country(pm.rename(columns={"period": "month"}), models, scope).rename(columns={"month": "period"})
        found.append(boundaries.unmeasured_issues(unmeasured, period))
    g.insert(0, "period_type", period)
    return Built(g, found)
