"""The model tables: ``organizations`` (the registry), ``models`` (every model's latest record,
attributed and marked in or out of the headline's scope), ``model_attributes``, ``snapshots``."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..issues import issue
from ..rules import attributes, publisher, scope as scope_rules
from ..rules.organizations import attribute
from ..settings import CURATED
from ..vocab import PARAMS_SOURCES
from .step import Built


def build_organizations(registry: pd.DataFrame) -> Built:
    return Built(registry)


def build_models(latest: pd.DataFrame, registry: pd.DataFrame, scope) -> Built:
    """One row per model: its latest record, organization, country, first-party or not
    (``rules.publisher``), highest all-time reading and whether the headline counts it."""
    att = attribute(latest["org"], registry)
    models = pd.DataFrame({
        "model_id": latest["model_id"],
        "org": latest["org"],
        "registry_org": att["registry_org"],
        "country": att["country"],
        "region": att["region"],
        "first_party": publisher.first_party(att["registry_org"], latest["base_id"]),
        "relation": latest["relation"],
        "base_model_id": latest["base_id"],
        "created_at": latest["created_at"].dt.normalize(),
        "pipeline_tag": latest["pipeline_tag"],
        "library_name": latest["library_name"],
        "license": latest["license"],
        "params_b": (latest["params"].astype("Float64") / 1e9).round(3),
        "downloads_all_time": latest["highest_all_time"].array,
        "first_seen": latest["first_seen"],
        "last_seen": latest["last_seen"],
    }).take(np.argsort(latest["id_rank"].to_numpy(), kind="stable")).reset_index(drop=True)  # in id order
    models.insert(6, "in_scope", scope.mask(models).to_numpy())
    return Built(models, [scope_rules.quality_rows(models, scope)])


def build_model_attributes(models: pd.DataFrame, families: pd.DataFrame, model_sizes: pd.DataFrame, mirrors: pd.DataFrame) -> Built:
    attrs = attributes.model_attributes(models, families, model_sizes, mirrors)
    src = attrs["params_source"].value_counts().reindex(PARAMS_SOURCES, fill_value=0)
    return Built(attrs, [issue("params_source", value=(src / max(len(attrs), 1)).astype("Float64").to_numpy(),
                               detail=[f"parameter count from {s}: {n} of {len(attrs)} models" for s, n in src.items()],
                               action="size bucket unknown where no source gives a count")])


def build_snapshots(snaps) -> Built:
    """Every snapshot the build used, from its manifest."""
    return Built(pd.DataFrame({
        "name": [s.name for s in snaps],
        "date": [pd.Timestamp(s.date) for s in snaps],
        "kind": [s.manifest.get("kind", "dump") for s in snaps],
        "source": [s.manifest.get("source", "") for s in snaps],
        "license": [s.manifest.get("license") for s in snaps],
        "rows": [s.manifest.get("rows") for s in snaps],
        "sha256": [s.sha256 for s in snaps],
        "fields": [" ".join(s.fields) for s in snaps],
    }))


def build_curated_inputs(curated) -> Built:
    """Every curated input the build read, by its content (``settings.CURATED``)."""
    return Built(pd.DataFrame({"name": [c.name for c in curated], "description": [CURATED[c.name] for c in curated],
                               "sha256": [c.sha256 for c in curated],
                               "bytes": pd.array([c.path.stat().st_size for c in curated], dtype="Int64")}))
