"""The build's steps, in dependency order: each published table is one schema (``schemas.TABLES``),
one builder and one line here. A step's ``inputs`` name items of the build context
(``context.Context``), frames of earlier steps, or ``issues`` (every data_quality row reported so
far: the last step's input). The build frees each item after the last step that reads it.
"""
from __future__ import annotations

from ..issues import collect
from ..schemas import TABLES
from . import breakdowns, claims, derivatives, downloads, models, momentum, readings, sensitivity
from .step import Built, Step


def build_data_quality(issues) -> Built:
    """One row per issue found while building (``issues.issue``), typed and in a stable order."""
    return Built(collect(issues))


STEPS: tuple[Step, ...] = (
    # the pass over the snapshots, and which readings the rules may use
    Step("history", readings.build_history, ("snaps", "main", "counter_names", "snapinfo", "registry", "progress", "typing")),
    Step("snaptab", readings.build_snaptab, ("snaps", "readings", "file_repeats", "counter_repeats")),
    # models and lineage
    Step("organizations", models.build_organizations, ("registry",)),
    Step("models", models.build_models, ("latest", "registry", "scope")),
    Step("derivatives", derivatives.build_derivatives, ("latest", "edges", "registry", "mirrors", "architectures")),
    # data_quality rows of the derivatives that no table waits for (beside the tables): the longest step after
    # the pass, so first among those nothing else waits for
    Step("derivative_checks", derivatives.build_derivative_checks,
         ("derivatives", "latest", "edges", "main_codes", "ids", "registry", "mirrors", "architectures", "known_index",
          "derivative_rows")),
    Step("model_attributes", models.build_model_attributes, ("models", "families", "model_sizes", "mirrors")),
    # downloads
    Step("model_downloads_monthly", downloads.build_model_downloads_monthly, ("readings", "snaptab", "tolerance_days", "snaps", "typing", "main")),
    Step("downloads_by_country", downloads.build_downloads_by_country, ("model_downloads_monthly", "models", "scope")),
    Step("derivatives_by_country", derivatives.build_derivatives_by_country, ("derivatives",)),
    Step("trending_by_country", claims.build_trending_by_country, ("trend_parts", "no_records", "snapinfo", "registry")),
    Step("organization_summary", claims.build_organization_summary, ("org_parts", "no_records", "snapinfo", "registry")),
    Step("derivatives_by_root_org", derivatives.build_derivatives_by_root_org, ("derivatives", "registry")),
    Step("downloads_by_family", breakdowns.build_downloads_by_family,
         ("model_downloads_monthly", "models", "model_attributes", "scope")),
    Step("downloads_by_size", breakdowns.build_downloads_by_size,
         ("model_downloads_monthly", "models", "model_attributes", "scope")),
    Step("ecosystem_downloads_by_country", breakdowns.build_ecosystem,
         ("model_downloads_monthly", "models", "derivatives", "scope")),
    Step("adoption_momentum", momentum.build_adoption_momentum, ("readings", "models", "model_attributes", "scope", "tolerance_days")),
    Step("sensitivity", sensitivity.build_sensitivity,
         ("model_downloads_monthly", "models", "derivatives", "model_attributes", "scope", "registry", "presets")),
    Step("downloads_by_period", downloads.build_downloads_by_period,
         ("readings", "snaptab", "models", "scope", "period", "tolerance_days", "downloads_by_country")),
    Step("snapshots", models.build_snapshots, ("snaps",)),
    Step("curated_inputs", models.build_curated_inputs, ("curated",)),
    Step("data_quality", build_data_quality, ("issues",)),
)


def check(steps=STEPS, base=()) -> None:
    """Every published table has exactly one step; every input is a base item or made by an earlier step."""
    names = [s.name for s in steps]
    missing = sorted(set(TABLES) - set(names))
    if missing or len(set(names)) != len(names):
        raise AssertionError(f"steps: tables without a step {missing}, or a name twice: {names}")
    known = set(base) | {"issues"}
    for s in steps:
        unknown = [i for i in s.inputs if i not in known]
        if unknown:
            raise AssertionError(f"step {s.name}: inputs {unknown} are made by no earlier step")
        known.add(s.name)
        known |= ITEMS.get(s.name, set())


#: the further items each step makes (``Built.items``), for :func:`check`
ITEMS = {"history": {"latest", "edges", "readings", "main_codes", "ids", "counter_repeats", "org_parts", "trend_parts", "no_records"},
         "derivatives": {"known_index", "derivative_rows"}}
