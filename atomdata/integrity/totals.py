"""Totals and attributes that tie the published tables together, recomputed from the tables alone.

Each relation names the table it checks, the tables its rows follow from and how (in words, for
the report). Where the build derives a table from other published tables, the relation runs the
build's own function on them (``transform.shares``, ``transform.claims``, ``transform.analyses``),
so the check follows the method as the code defines it; the tables the build derives from the
snapshots themselves (per-model monthly downloads, trending ranks, organization summaries, adoption
momentum) can only be checked by their keys.

Download totals are those of the models ``models.in_scope`` marks; that mark is checked against
the rules of the scope the share tables name in their ``scope`` column (a preset of the scope
policy, rebuilt from the policy file; a model list is the marked models themselves). A scope the
code cannot rebuild is itself a failure, since the mark could then not be checked.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from ..rules import scope as scope_rules
from ..steps import shares
from ..rules.scope import Scope
from .compare import ROW, compare, group_sums, with_rows


@dataclass(frozen=True)
class Relation:
    table: str                  # the table checked
    inputs: tuple[str, ...]     # the tables its rows follow from (downloads_by_country: for its scope)
    rule: str                   # what the rows must be, in words
    expected: Callable          # tables -> the rows the table must hold (key and value columns)
    key: tuple[str, ...]
    values: tuple[str, ...] = ()
    published: Callable | None = None  # tables -> the checked table's rows (or sums) to compare; default: all


class UnknownScope(Exception):
    """The share tables' scope column names a scope the code cannot rebuild."""


def _scope_text(tables) -> str | None:
    texts = sorted(set(tables["downloads_by_country"]["scope"].dropna().astype(str)))
    if len(texts) > 1:
        raise UnknownScope(f"downloads_by_country names {len(texts)} scopes ({' / '.join(map(repr, texts))}); a build counts under one")
    return texts[0] if texts else None


def counted_scope(tables) -> Scope:
    """The models ``models.in_scope`` marks, under the text of the share tables' ``scope`` column:
    what the share tables must sum, whatever rules chose them."""
    text = _scope_text(tables) or "none: no month measured"
    label, _, description = text.partition(": ")
    m = tables["models"]
    ids = m.loc[m["in_scope"].astype(bool), "model_id"].astype("string").str.lower()
    return Scope(name=label, description=description, models=tuple(sorted(ids)))


def headline_scope(tables, policy=None) -> Scope:
    """The rules ``downloads_by_country`` was counted under, from its ``scope`` column: a preset of
    the scope policy (``policy``: the file; default the project's ``raw/scope_policy.toml``, else
    the shipped one) of the version the column names, or a model list (the models ``in_scope``)."""
    text = _scope_text(tables)
    if text is None or text.startswith("models: "):
        return counted_scope(tables)
    found = re.match(r"^(?P<name>[a-z0-9][a-z0-9_-]*) \(scope policy (?P<version>\d+)\): ", text)
    path = Path(policy) if policy else scope_rules.policy_path(Path.cwd() / "raw")
    presets = scope_rules.load_policy(path) if found else {}
    preset = presets.get(found["name"]) if found else None
    if preset is None or preset.version != int(found["version"]) or preset.describe() != text:
        raise UnknownScope(f"scope {text[:80]!r}... is not a preset of {path} as it stands (another policy version, "
                           "or a project's own preset: run `atomdata validate` from that project's folder)")
    return preset


def _in_scope(t):
    m = t["models"]
    return m.assign(in_scope=headline_scope(t).mask(m).to_numpy())[["model_id", "in_scope"]]
def _declaring_a_base(t):
    m = t["models"]
    return m.loc[m["base_model_id"].notna().to_numpy(dtype=bool), ["model_id", "relation", "base_model_id", "created_at"]]


def _registry_columns(t, table: str, org: str, country: str, region: str):
    """Rows of ``table`` whose ``org`` is a registry organization, with that organization's
    country and region under the table's names (a key the registry lacks is a foreign-key failure)."""
    df = t[table]
    reg = t["organizations"][["org", "country", "region"]].rename(columns={"org": org, "country": country, "region": region})
    keep = df[org].isin(reg[org]).fillna(False).astype(bool)
    return df.loc[keep, ["model_id", org]].merge(reg, on=org, how="left")


def _registered(table: str, org: str):
    def rows(t):
        df = t[table]
        return with_rows(df)[df[org].isin(t["organizations"]["org"]).fillna(False).astype(bool).to_numpy()]
    return rows


def _month_sums(t, name: str, where=None):
    df = t[name] if where is None else t[name][where(t[name])]
    return group_sums(df, ["month", "region"], ["downloads", "n_models"])


def _period_months(t):
    p = t["downloads_by_period"]
    keep = (p["period_type"] == "month").to_numpy(dtype=bool)
    return with_rows(p)[keep].rename(columns={"period": "month"})


def _from_monthly(t):
    return shares.downloads_by_country(t["model_downloads_monthly"], t["models"], counted_scope(t))


def _ecosystem(t):
    from ..steps.breakdowns import ecosystem_downloads_by_country

    return ecosystem_downloads_by_country(t["model_downloads_monthly"], t["models"], t["derivatives"], headline_scope(t))


def _by_root_org(t):
    from ..steps.claims import derivatives_by_root_org

    return derivatives_by_root_org(t["derivatives"], t["organizations"])


DBC_VALUES = ("downloads", "share", "cumulative_downloads", "n_models", "scope")
RELATIONS = (
    Relation("derivatives", ("models",), "one row per model that models lists with a declared base, with the same relation, base and creation date",
             _declaring_a_base, ("model_id",), ("relation", "base_model_id", "created_at")),
    Relation("model_attributes", ("models",), "one row per model of models", lambda t: t["models"][["model_id"]], ("model_id",)),
    Relation("models", ("organizations",), "country and region of the models of registry organizations as organizations gives them",
             lambda t: _registry_columns(t, "models", "registry_org", "country", "region"), ("model_id",), ("country", "region"),
             _registered("models", "registry_org")),
    Relation("derivatives", ("organizations",), "attributed_country and attributed_region as organizations gives them for attributed_org",
             lambda t: _registry_columns(t, "derivatives", "attributed_org", "attributed_country", "attributed_region"),
             ("model_id",), ("attributed_country", "attributed_region"), _registered("derivatives", "attributed_org")),
    Relation("derivatives_by_country", ("derivatives",), "the derivatives counted by lineage, month of creation, root country and relation",
             lambda t: shares.derivatives_by_country(t["derivatives"]),
             ("lineage", "month", "country", "region", "relation"), ("new_derivatives", "share")),
    Relation("derivatives_by_root_org", ("derivatives", "organizations"), "the derivatives counted by month of creation, root organization and relation",
             _by_root_org, ("month", "root_org", "relation"), ("country", "region", "new_derivatives", "cumulative_derivatives")),
    Relation("models", ("downloads_by_country",), "in_scope is the mask of the scope downloads_by_country names (its preset's rules)",
             _in_scope, ("model_id",), ("in_scope",)),
    Relation("downloads_by_country", ("model_downloads_monthly", "models"),
             "model_downloads_monthly of the models in_scope summed by month, country and region",
             _from_monthly, ("month", "country", "region"), DBC_VALUES),
    Relation("ecosystem_downloads_by_country", ("model_downloads_monthly", "models", "derivatives", "downloads_by_country"),
             "model_downloads_monthly of the in-scope first-party models and of the derivatives summed by lineage, month and country",
             _ecosystem, ("lineage", "month", "country", "region"),
             ("first_party_downloads", "derivative_downloads", "finetune_downloads", "adapter_downloads", "quantized_downloads",
              "merge_downloads", "total_downloads", "derivative_fraction", "share", "scope")),
    Relation("downloads_by_period", ("downloads_by_country",), "its month periods are the rows of downloads_by_country",
             lambda t: t["downloads_by_country"], ("month", "country", "region"), DBC_VALUES, _period_months),
    Relation("downloads_by_family", ("downloads_by_country",), "downloads and n_models summed by month and region are those of downloads_by_country",
             lambda t: _month_sums(t, "downloads_by_country"), ("month", "region"), ("downloads", "n_models"),
             lambda t: _month_sums(t, "downloads_by_family")),
    Relation("downloads_by_size", ("downloads_by_country",), "downloads and n_models summed by month and region are those of downloads_by_country",
             lambda t: _month_sums(t, "downloads_by_country"), ("month", "region"), ("downloads", "n_models"),
             lambda t: _month_sums(t, "downloads_by_size")),
    Relation("sensitivity", ("downloads_by_country",), "the headline rule's downloads and n_models by region are those of downloads_by_country",
             lambda t: _month_sums(t, "downloads_by_country", lambda d: d["month"].isin(t["sensitivity"]["month"])),
             ("month", "region"), ("downloads", "n_models"),
             lambda t: _month_sums(t, "sensitivity", lambda d: d["headline"].astype(bool) & (d["n_models"] > 0))),
)


def check(relation: Relation, tables: dict[str, pd.DataFrame], row) -> list[str]:
    """Report lines of one relation (``row`` names rows of the checked table)."""
    try:
        expected = relation.expected(tables)
    except UnknownScope as exc:
        return [f"  check '{relation.rule}': cannot be checked: {exc}"]
    published = relation.published(tables) if relation.published else with_rows(tables[relation.table])
    return compare(published, expected, list(relation.key), list(relation.values), relation.rule, row)


__all__ = ["RELATIONS", "ROW", "Relation", "UnknownScope", "check", "headline_scope"]
