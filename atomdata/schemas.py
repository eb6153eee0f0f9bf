"""Pandera schemas: the single source of truth for every published table.

Types, allowed values, ranges, keys, titles, descriptions and units live here. The build
validates every table against them (lazily, so all failures are reported at once), the
frictionless Table Schemas in ``datapackage.json`` are generated from them, and ``atomdata.load``
types the CSVs with them.
"""
from __future__ import annotations

from functools import partial

import pandas as pd
import pandera.extensions as extensions
import pandera.pandas as pa
from pandera.typing import Series


from .vocab import (AGES, ATTRIBUTIONS, CONFIDENCE, COUNTRY_RE, EU_COUNTRIES, LINEAGE_STATUS, LINEAGES, METHODS, MONTH_RE,
                    NAMESPACE_RE, ORG_TYPES, PARAMS_SOURCES, PERIOD_RE, PERIODS, PUBLISHERS, REGIONS, RELATIONS,
                    SENSITIVITY_RULES, SIZE_BUCKETS, SIZE_UNKNOWN, SNAPSHOT_KINDS, SNAPSHOT_RE, TREE_COVERAGE,
                    TRENDING_RANKINGS)


def region_of_country(country: pd.Series) -> pd.Series:
    """Region implied by an ISO country code: US→us, CN→china, Europe (UK, CH incl.)→eu, else other."""
    c = country.astype("string")
    out = pd.Series("other", index=c.index, dtype="string")
    out = out.mask(c.isin(sorted(EU_COUNTRIES)), "eu").mask(c == "CN", "china").mask(c == "US", "us")
    return out.mask(c.isna() | (c == ""), "unknown")


@extensions.register_check_method(statistics=["by", "count"])
def shares_sum_to_one(df: pd.DataFrame, *, by: list[str], count: str) -> pd.Series:
    """Within each group of ``by``, ``share`` sums to 1 (or the group counts nothing)."""
    totals = df.groupby(by, dropna=False)[count].transform("sum")
    sums = df.groupby(by, dropna=False)["share"].transform("sum")
    return ((sums - 1.0).abs() < 1e-9) | (totals == 0)


@extensions.register_check_method(statistics=["nullable"])
def country_matches_region(df: pd.DataFrame, *, nullable: bool) -> pd.Series:
    """``region`` follows from ``country`` (``region_of_country``); with ``nullable``, an empty country passes."""
    ok = region_of_country(df["country"]) == df["region"]
    return (df["country"].isna() | ok) if nullable else ok


def config(title: str, description: str, key: list[str] | None = None, foreign_keys: list[dict] | None = None,
           shares: tuple[list[str], str, str] | None = None, country_matches_region: dict | None = None) -> type:
    """A table's pandera ``Config``: its title and description, primary key (a key of several
    columns is also checked unique), foreign keys (``datapackage.json`` declares both), and the
    registered checks it takes: ``shares`` = (columns the shares sum to 1 within, the count they
    share, those columns in words) for ``shares_sum_to_one``; ``country_matches_region``."""
    attrs = {"title": title, "description": description}
    meta = {"primary_key": key} if key else {}
    if foreign_keys:
        meta["foreign_keys"] = foreign_keys
    attrs["metadata"] = meta or None
    if key and len(key) > 1:
        attrs["unique"] = list(key)
    if shares:
        by, count, what = shares
        attrs["shares_sum_to_one"] = {"by": by, "count": count, "error": f"shares must sum to 1 within each {what}"}
    if country_matches_region:
        attrs["country_matches_region"] = country_matches_region
    return type("Config", (), attrs)


def Field(description: str, title: str | None = None, unit: str | None = None, tstype: str | None = None, **kw):
    """pandera Field with the metadata the data package needs (title, unit, Table Schema type)."""
    meta = {k: v for k, v in {"unit": unit, "tstype": tstype}.items() if v}
    return pa.Field(description=description, title=title, metadata=meta or None, **kw)


#: the repeated fields of the tables, each defined once
Month = partial(Field, description="Calendar month (YYYY-MM).", title="Month", str_matches=MONTH_RE, tstype="yearmonth")
Snapshot = partial(Field, str_matches=SNAPSHOT_RE)  # a snapshot's name: its date, then an optional suffix
Created = partial(Field, "Repo creation date (UTC).", "Created", tstype="date")
Relation = partial(Field, title="Relation", isin=RELATIONS)
SizeBucket = partial(Field, title="Size bucket", isin=SIZE_BUCKETS + [SIZE_UNKNOWN])
Share = partial(Field, title="Share", ge=0, le=1, unit="fraction")
Region = partial(Field, isin=REGIONS)
Country = partial(Field, nullable=True, str_matches=COUNTRY_RE)
Downloads = partial(Field, ge=0, unit="downloads")


class Table(pa.DataFrameModel):
    """The base of every schema (published tables and curated inputs): values coerced to their
    types, no column left unsaid."""

    class Config:
        coerce = True
        strict = True


class Organizations(Table):
    org: Series[pd.StringDtype] = Field("Hugging Face namespace (user or organization name).", "Organization namespace", unique=True, str_matches=NAMESPACE_RE)
    name: Series[pd.StringDtype] = Field("Human-readable name of the organization.", "Name")
    country: Series[pd.StringDtype] = Country("ISO 3166-1 alpha-2 code of the headquarters; empty when unknown (distributed collectives).", "Country")
    region: Series[pd.StringDtype] = Region("us, china, eu (Europe incl. UK and Switzerland), other, or unknown.", "Region")
    org_type: Series[pd.StringDtype] = Field("company, academic, nonprofit, government or community.", "Organization type", isin=ORG_TYPES)
    source_url: Series[pd.StringDtype] = Field("Public page that supports the country attribution.", "Source", str_startswith="https://")
    notes: Series[pd.StringDtype] = Field("Renamed or legacy namespaces, parent organization, judgement calls.", "Notes", nullable=True)

    Config = config('Organizations',
                    'Curated registry of Hugging Face namespaces of model publishers, with country and region of origin.',
                    key=['org'],
                    country_matches_region={'nullable': False, 'error': 'region must follow from country (US→us, CN→china, Europe→eu, other codes→other, empty→unknown)'})

    @pa.dataframe_check(error="org must be unique ignoring case (the Hub treats namespaces case-insensitively)")
    def unique_ignoring_case(cls, df: pd.DataFrame) -> pd.Series:
        return ~df["org"].str.lower().duplicated(keep=False)


class Models(Table):
    model_id: Series[pd.StringDtype] = Field("Hugging Face repo id (namespace/name).", "Model id", unique=True)
    org: Series[pd.StringDtype] = Field("Namespace of the repo as written in the snapshot.", "Namespace", nullable=True)
    registry_org: Series[pd.StringDtype] = Field("The namespace as spelled in the registry; empty when the registry lacks it.", "Registry organization", nullable=True)
    country: Series[pd.StringDtype] = Country("Country of the organization from the registry; empty when not in the registry or unknown.", "Country")
    region: Series[pd.StringDtype] = Region("Region of the organization; unknown when not in the registry.", "Region")
    first_party: Series[bool] = Field("True for a model its organization published itself: any model under a registry organization's namespace (base, instruct, chat, official quantized, whatever base it declares), or a model of another namespace that declares no base. False for derivatives published by namespaces the registry does not know.", "First party")
    in_scope: Series[bool] = Field("True when the headline scope of this build (the scope column of downloads_by_country) counts the model: its downloads are in the share tables.", "In scope")
    relation: Series[pd.StringDtype] = Relation("For derivatives: relation to the first declared base.", nullable=True)
    base_model_id: Series[pd.StringDtype] = Field("For derivatives: first declared base model.", "Base model", nullable=True)
    created_at: Series[pa.DateTime] = Created(nullable=True)
    pipeline_tag: Series[pd.StringDtype] = Field("Task as reported by the Hub.", "Pipeline tag", nullable=True)
    library_name: Series[pd.StringDtype] = Field("Library as reported by the Hub.", "Library", nullable=True)
    license: Series[pd.StringDtype] = Field("License id from the repo's license: tag.", "License", nullable=True)
    params_b: Series[pd.Float64Dtype] = Field("Parameter count in billions, from safetensors metadata where present.", "Parameters", nullable=True, ge=0, unit="billion parameters")
    downloads_all_time: Series[pd.Int64Dtype] = Downloads("Highest all-time download counter read in any snapshot (stale readings are lower by definition; repeated snapshots are not readings); empty when no snapshot has the counter for it.", "All-time downloads", nullable=True)
    first_seen: Series[pd.StringDtype] = Snapshot("Name of the first snapshot containing the model.", "First seen")
    last_seen: Series[pd.StringDtype] = Snapshot("Name of the last snapshot containing the model.", "Last seen")

    Config = config('Models',
                    'Every model repo seen in any snapshot (latest record), with its organization, country and whether it is first-party or a derivative.',
                    key=['model_id'],
                    foreign_keys=[{'fields': ['registry_org'], 'reference': {'resource': 'organizations', 'fields': ['org']}}])


class ModelDownloadsMonthly(Table):
    month: Series[pd.StringDtype] = Month()
    model_id: Series[pd.StringDtype] = Field("Hugging Face repo id.", "Model id")
    downloads: Series[pd.Int64Dtype] = Downloads("Downloads in the month: all-time count at the end boundary minus at the start boundary (or the 30-day count at the end boundary, see method).", "Downloads")
    method: Series[pd.StringDtype] = Field("all_time_diff: difference of all-time counters at the month boundaries; rolling_30d: 30-day counter at the end boundary.", "Method", isin=METHODS)
    start_snapshot: Series[pd.StringDtype] = Snapshot("Snapshot used for the start boundary (empty for rolling_30d).", "Start snapshot", nullable=True)
    end_snapshot: Series[pd.StringDtype] = Snapshot("Snapshot used for the end boundary.", "End snapshot")
    all_time_end: Series[pd.Int64Dtype] = Downloads("All-time download counter at the end boundary, where published.", "All-time downloads at month end", nullable=True)
    flags: Series[pd.StringDtype] = Field("Quality flags, ';'-separated: stale_reading_skipped (the reading nearest a boundary was stale, lower than an earlier reading, and the nearest valid reading within the tolerance was used instead).", "Flags", nullable=True)

    Config = config('Monthly downloads per model',
                    'Downloads of each model in each calendar month that snapshots near both boundaries can measure. Months without such snapshots are absent, never invented.',
                    key=['month', 'model_id'],
                    foreign_keys=[{'fields': ['model_id'], 'reference': {'resource': 'models', 'fields': ['model_id']}}])


class CountryDownloads(Table):
    """The columns of a country's downloads in a period (``downloads_by_country``, ``downloads_by_period``)."""

    country: Series[pd.StringDtype] = Country("ISO 3166-1 alpha-2 country of the publishing organization; empty when unknown.", "Country")
    region: Series[pd.StringDtype] = Region("Region of the publishing organization.", "Region")
    downloads: Series[pd.Int64Dtype] = Downloads("Downloads in the month (or period) of in-scope models of this country.", "Downloads")
    share: Series[pd.Float64Dtype] = Share("Share of the month's (or period's) in-scope downloads (0 to 1).")
    cumulative_downloads: Series[pd.Int64Dtype] = Downloads("Sum of all-time download counters at the month's (or period's) end boundary, for the in-scope models measured.", "Cumulative downloads", nullable=True)
    n_models: Series[pd.Int64Dtype] = Field("Number of in-scope models measured in the month (or period).", "Models", ge=0)
    scope: Series[pd.StringDtype] = Field("Which models count: the scope preset and policy version, or the model list (see methodology, 'Scope').", "Scope")


class MonthKey(Table):
    month: Series[pd.StringDtype] = Month()


class DownloadsByCountry(CountryDownloads, MonthKey):
    Config = config('Downloads by country',
                    'Monthly downloads and download share of open models by country of the publishing organization.',
                    key=['month', 'country', 'region'],
                    shares=(['month'], 'downloads', 'month'),
                    country_matches_region={'nullable': True, 'error': 'country must be consistent with region'})


class Derivatives(Table):
    model_id: Series[pd.StringDtype] = Field("Derivative repo id.", "Model id", unique=True)
    created_at: Series[pa.DateTime] = Created(nullable=True)
    relation: Series[pd.StringDtype] = Relation("Relation to the first declared base: finetune, adapter, quantized or merge.")
    base_model_id: Series[pd.StringDtype] = Field("First declared base model.", "Base model")
    n_bases: Series[pd.Int64Dtype] = Field("Number of declared bases (more than one for merges).", "Bases", ge=1)
    root_model_id: Series[pd.StringDtype] = Field("Furthest ancestor reached by following first bases; empty for cycles.", "Root model", nullable=True)
    root_org: Series[pd.StringDtype] = Field("Namespace of the root model.", "Root organization", nullable=True)
    root_country: Series[pd.StringDtype] = Country("Country of the root organization (registry); empty when unknown.", "Root country")
    root_region: Series[pd.StringDtype] = Region("Region of the root organization; unknown when not in the registry.", "Root region")
    publisher: Series[pd.StringDtype] = Field("Who published the derivative, relative to the organization of its root: same_org (the root's registry organization itself: its own instruct, chat or quantized release, first-party in models), other_org (another registry organization, first-party for it), community (a namespace the registry does not know). Derivative shares count other_org and community.", "Publisher", isin=PUBLISHERS)
    depth: Series[pd.Int64Dtype] = Field("Number of declared base links followed to reach the root.", "Depth", ge=0, nullable=True)
    lineage_status: Series[pd.StringDtype] = Field("complete: root declares no base; outside_snapshot: the chain leaves the snapshots at root_model_id; cycle; self_reference.", "Lineage status", isin=LINEAGE_STATUS)
    attribution: Series[pd.StringDtype] = Field("Rule that attributed the derivative to an organization (methodology, 'Attribution beyond the declared chain'): declared (the declared root is a registry organization), mirror (root is a re-upload whose name matches an original), architecture (model-type tag), name_keyword (family keyword in the root's name), unknown.", "Attribution", isin=ATTRIBUTIONS)
    confidence: Series[pd.StringDtype] = Field("high (declared; mirror name match), medium (mirror keyword; architecture), low (name keyword), none (unknown).", "Confidence", isin=CONFIDENCE)
    attributed_org: Series[pd.StringDtype] = Field("Registry organization the derivative is attributed to, with inference; empty when unknown.", "Attributed organization", nullable=True)
    attributed_country: Series[pd.StringDtype] = Country("Country of the attributed organization; empty when unknown.", "Attributed country")
    attributed_region: Series[pd.StringDtype] = Region("Region of the attributed organization (equal to root_region when attribution is declared); unknown when nothing applies.", "Attributed region")
    attribution_evidence: Series[pd.StringDtype] = Field("What the rule saw: the declared root, the original a mirror's name matched, the model-type tag, or the keyword found.", "Attribution evidence", nullable=True)

    Config = config('Derivatives',
                    'One row per derivative model (fine-tune, adapter, quantization, merge) with its declared base, resolved root base model, and attribution with inference where the declared chain does not reach a registry organization.',
                    key=['model_id'],
                    foreign_keys=[{'fields': ['model_id'], 'reference': {'resource': 'models', 'fields': ['model_id']}}, {'fields': ['attributed_org'], 'reference': {'resource': 'organizations', 'fields': ['org']}}])

    @pa.dataframe_check(error="attributed_org is empty exactly when attribution is unknown; declared attribution keeps root_region")
    def attribution_consistent(cls, df: pd.DataFrame) -> pd.Series:
        unknown = df["attribution"] == "unknown"
        ok = unknown == df["attributed_org"].isna()
        return ok & ((df["attribution"] != "declared") | (df["attributed_region"] == df["root_region"]))


class DerivativesByCountry(Table):
    lineage: Series[pd.StringDtype] = Field("declared: by the region of the declared root (root_region); with_inference: by the attributed region (attributed_region), see derivatives.attribution.", "Lineage", isin=LINEAGES)
    month: Series[pd.StringDtype] = Month(description="Month of creation of the derivatives (YYYY-MM).")
    country: Series[pd.StringDtype] = Country("Country of the root base model's organization; empty when unknown.", "Root country")
    region: Series[pd.StringDtype] = Region("Region of the root base model's organization.", "Root region")
    relation: Series[pd.StringDtype] = Relation("Relation of the derivative to its base.")
    new_derivatives: Series[pd.Int64Dtype] = Field("Derivatives created in the month.", "New derivatives", ge=0, unit="models")
    share: Series[pd.Float64Dtype] = Share("Share within the lineage, month and relation (0 to 1).")

    Config = config('Derivatives by country',
                    'New derivative models per month of creation, by the country of their root base model, per relation. Every derivative is counted twice, once per lineage (declared; with_inference): filter on lineage before summing.',
                    key=['lineage', 'month', 'country', 'region', 'relation'],
                    shares=(['lineage', 'month', 'relation'], 'new_derivatives', 'lineage, month and relation'))

    @pa.dataframe_check(error="each lineage must count the same derivatives per month and relation")
    def lineages_count_the_same(cls, df: pd.DataFrame) -> pd.Series:
        totals = df.groupby(["lineage", "month", "relation"])["new_derivatives"].transform("sum")
        by = totals.groupby([df["month"], df["relation"]])
        spread = by.transform("max") - by.transform("min")
        n_lineages = df.groupby(["month", "relation"])["lineage"].transform("nunique")
        return (spread == 0) & (n_lineages == df["lineage"].nunique())


class Snapshots(Table):
    name: Series[pd.StringDtype] = Snapshot("Snapshot folder name in the store (date, optional suffix).", "Snapshot", unique=True)
    date: Series[pa.DateTime] = Field("Date the snapshot describes.", "Date", tstype="date")
    kind: Series[pd.StringDtype] = Field("dump (imported file), hub (live API listing) or archive (a file of a dataset repo that archives Hub dumps, atomdata ingest archive; the manifest names repo, commit and path).", "Kind", isin=SNAPSHOT_KINDS)
    source: Series[pd.StringDtype] = Field("Where the data came from.", "Source")
    license: Series[pd.StringDtype] = Field("Licence of the source data.", "Licence", nullable=True)
    rows: Series[pd.Int64Dtype] = Field("Model records in the snapshot.", "Rows", ge=0, unit="models")
    sha256: Series[pd.StringDtype] = Field("sha256 of the snapshot's data file.", "sha256", str_matches=r"^[0-9a-f]{64}$")
    fields: Series[pd.StringDtype] = Field("Hub fields present, space-separated.", "Fields")

    Config = config('Snapshots',
                    'Every snapshot the build used, from its manifest (source, date, rows, checksum).',
                    key=['name'])


class CuratedInputs(Table):
    name: Series[pd.StringDtype] = Field("File name of the curated input in a snapshot store's folder (the organization registry, mirrors, architectures, families, model sizes, the scope policy).", "Input", unique=True)
    description: Series[pd.StringDtype] = Field("What the input holds.", "Description")
    sha256: Series[pd.StringDtype] = Field("sha256 of the file the build read: the project's own copy in its snapshot store's folder when it has one, else the copy shipped with atomdata.", "sha256", str_matches=r"^[0-9a-f]{64}$")
    bytes: Series[pd.Int64Dtype] = Field("Size of that file.", "Size", ge=0, unit="bytes")

    Config = config('Curated inputs',
                    "Every curated input the build read (the organization registry, mirrors, architectures, families, model sizes, the scope policy), with the sha256 of the file used: a project's own edits show here.",
                    key=['name'])


class DataQuality(Table):
    kind: Series[pd.StringDtype] = Field("What was found (see methodology for the list).", "Kind")
    snapshot: Series[pd.StringDtype] = Field("Snapshot where it was found, where it applies.", "Snapshot", nullable=True)
    month: Series[pd.StringDtype] = Field("Month concerned, where it applies.", "Month", nullable=True, str_matches=MONTH_RE)
    model_id: Series[pd.StringDtype] = Field("Model concerned, where it applies.", "Model id", nullable=True)
    org: Series[pd.StringDtype] = Field("Organization concerned, where it applies.", "Organization", nullable=True)
    value: Series[pd.Float64Dtype] = Field("A number that quantifies the issue (e.g. downloads concerned, a share).", "Value", nullable=True)
    detail: Series[pd.StringDtype] = Field("What exactly was seen.", "Detail")
    action: Series[pd.StringDtype] = Field("How the build treated it.", "Action taken")

    Config = config('Data quality',
                    'One row per data-quality issue found while building: counters that went backwards, unmapped organizations, broken lineage, months that cannot be measured, coverage.')


class TrendingByCountry(Table):
    date: Series[pa.DateTime] = Field("Date of the snapshot.", "Date", tstype="date")
    snapshot: Series[pd.StringDtype] = Field("Snapshot the ranking comes from (one with the Hub's trendingScore).", "Snapshot")
    ranking: Series[pd.StringDtype] = Field("'hub trending listing': the snapshot is the Hub's own top-N trending list, so this is the Hub's leaderboard; 'within sample': the snapshot's models ranked by their trending score, which misses trending models the sample lacks.", "Ranking", isin=TRENDING_RANKINGS)
    top_n: Series[pd.Int64Dtype] = Field("Size of the leaderboard: the top 1, 10, 50 or 100 models by trending score (ties broken by model id).", "Top N", ge=1, unit="models")
    country: Series[pd.StringDtype] = Country("ISO 3166-1 alpha-2 country of the publishing organization; empty when unknown or not in the registry.", "Country")
    region: Series[pd.StringDtype] = Region("Region of the publishing organization; unknown when the registry lacks it.", "Region")
    models: Series[pd.Int64Dtype] = Field("Models of this country among the top N (all pipelines).", "Models", ge=1, unit="models")
    share: Series[pd.Float64Dtype] = Share("models / top_n (0 to 1).")

    Config = config('Trending leaderboard by country',
                    "Composition by country of the top 1, 10, 50 and 100 models by the Hub's trending score, for every snapshot that carries the score. All pipelines count; a snapshot is a sample of the Hub only at the top of the list.",
                    key=['snapshot', 'top_n', 'country', 'region'],
                    foreign_keys=[{'fields': ['snapshot'], 'reference': {'resource': 'snapshots', 'fields': ['name']}}],
                    shares=(['snapshot', 'top_n'], 'models', 'snapshot and top_n'),
                    country_matches_region={'nullable': True, 'error': 'country must be consistent with region'})

    @pa.dataframe_check(error="models must sum to top_n within each snapshot and top_n")
    def models_sum_to_top_n(cls, df: pd.DataFrame) -> pd.Series:
        return df.groupby(["snapshot", "top_n"])["models"].transform("sum") == df["top_n"]


class OrganizationSummary(Table):
    date: Series[pa.DateTime] = Field("Date of the snapshot.", "Date", tstype="date")
    snapshot: Series[pd.StringDtype] = Field("Snapshot the counts come from.", "Snapshot")
    org: Series[pd.StringDtype] = Field("Organization: the namespace as spelled in the registry, or as written on the Hub when the registry lacks it. Each namespace is its own row (Meta's meta-llama, facebook and codellama are separate, as are Alibaba's Qwen, Alibaba-NLP, Wan-AI, ...).", "Organization")
    country: Series[pd.StringDtype] = Country("Country of the organization (registry); empty when unknown.", "Country")
    region: Series[pd.StringDtype] = Region("Region of the organization; unknown when not in the registry.", "Region")
    models: Series[pd.Int64Dtype] = Field("Repos published under the namespace in the snapshot (originals and the organization's own fine-tunes such as Instruct models).", "Models", ge=0, unit="models")
    downloads_30d: Series[pd.Int64Dtype] = Downloads("Sum of the 30-day download counters of those repos; empty when the snapshot lacks the field or the organization has no repos in it.", "Downloads (30 days)", nullable=True)
    downloads_all_time: Series[pd.Int64Dtype] = Downloads("Sum of the all-time download counters of those repos; empty when the snapshot lacks the field or the organization has no repos in it.", "Downloads (all time)", nullable=True)
    likes: Series[pd.Int64Dtype] = Field("Sum of the likes of those repos; empty when the snapshot lacks the field or the organization has no repos in it.", "Likes", nullable=True, ge=0, unit="likes")
    derivatives_direct: Series[pd.Int64Dtype] = Field("Repos of other namespaces in the snapshot whose first declared base is a repo of this organization.", "Direct derivatives", ge=0, unit="models")
    derivatives_all: Series[pd.Int64Dtype] = Field("Repos of other namespaces in the snapshot whose root base (first bases followed within the snapshot) is a repo of this organization.", "All derivatives", ge=0, unit="models")
    tree_coverage: Series[pd.StringDtype] = Field("'full listing' when the snapshot lists the whole Hub, so the derivative counts are complete; 'sample' otherwise (dumps, first-party and trending listings): the counts are lower bounds for this sample, not the Hub's totals.", "Tree coverage", isin=TREE_COVERAGE)

    Config = config('Organization summary',
                    "One row per snapshot and organization with repos in the snapshot or derivatives that lead to it: repos published, their download and like counters, and derivatives declaring them as base (direct) or root (all). Derivative counts are complete only where tree_coverage is 'full listing'.",
                    key=['snapshot', 'org'],
                    foreign_keys=[{'fields': ['snapshot'], 'reference': {'resource': 'snapshots', 'fields': ['name']}}],
                    country_matches_region={'nullable': True, 'error': 'country must be consistent with region'})


class DerivativesByRootOrg(Table):
    month: Series[pd.StringDtype] = Month(description="Month of creation of the derivatives (YYYY-MM).")
    root_org: Series[pd.StringDtype] = Field("Organization of the root base model (registry spelling, else the namespace as written). Meta's meta-llama, facebook and codellama are separate rows, as are Alibaba's namespaces.", "Root organization")
    country: Series[pd.StringDtype] = Country("Country of the root organization (registry); empty when unknown.", "Root country")
    region: Series[pd.StringDtype] = Region("Region of the root organization; unknown when not in the registry.", "Root region")
    relation: Series[pd.StringDtype] = Relation("Relation of the derivative to its base; 'all' sums the four relations.", isin=RELATIONS + ["all"])
    new_derivatives: Series[pd.Int64Dtype] = Field("Derivatives created in the month.", "New derivatives", ge=1, unit="models")
    cumulative_derivatives: Series[pd.Int64Dtype] = Field("Derivatives created up to the end of the month (running sum of new_derivatives over months, per root organization and relation).", "Cumulative derivatives", ge=1, unit="models")

    Config = config('Derivatives by root organization',
                    'New and cumulative derivative models per month of creation, by the organization of their root base model and relation. Rows exist only for months with new derivatives; carry the cumulative count forward to compare organizations.',
                    key=['month', 'root_org', 'relation'],
                    country_matches_region={'nullable': True, 'error': 'country must be consistent with region'})

    @pa.dataframe_check(error="cumulative_derivatives must be the running sum of new_derivatives per root_org and relation")
    def cumulative_is_running_sum(cls, df: pd.DataFrame) -> pd.Series:
        s = df.sort_values(["root_org", "relation", "month"], kind="stable")
        run = s.groupby(["root_org", "relation"])["new_derivatives"].cumsum()
        return (run == s["cumulative_derivatives"]).reindex(df.index)


class ModelAttributes(Table):
    model_id: Series[pd.StringDtype] = Field("Hugging Face repo id.", "Model id", unique=True)
    family: Series[pd.StringDtype] = Field("For first-party models: the family of the first row of raw/families.csv whose organization is the model's and whose pattern matches the repo name, else 'other'; empty for derivatives.", "Family", nullable=True)
    params_b: Series[pd.Float64Dtype] = Field("Total parameters in billions (all experts of a mixture of experts): from safetensors metadata, else the curated raw/model_sizes.csv, else parsed from the repo name (8x7B, 30B-A3B, 0.5B, 270M).", "Parameters", nullable=True, ge=0, unit="billion parameters")
    params_source: Series[pd.StringDtype] = Field("Where params_b comes from: safetensors, override (raw/model_sizes.csv), name, or unknown.", "Parameter source", isin=PARAMS_SOURCES)
    size_bucket: Series[pd.StringDtype] = SizeBucket("Size bucket of params_b (lower bound inclusive): <1B, 1-5B, 5-10B, 10-50B, 50-100B, 100-250B, 250B+; unknown without a count.")
    official_quantized: Series[bool] = Field("True for a quantized variant published by a registry organization itself (not a mirror): declared relation quantized, or a quantization format in the repo name (FP8, AWQ, GPTQ, GGUF, ...; BF16 does not count).", "Official quantized variant")

    Config = config('Model attributes',
                    'Per model: family, parameter count with its source, size bucket and whether it is an official quantized variant.',
                    key=['model_id'],
                    foreign_keys=[{'fields': ['model_id'], 'reference': {'resource': 'models', 'fields': ['model_id']}}])

    @pa.dataframe_check(error="params_source is unknown exactly when params_b is empty")
    def source_consistent(cls, df: pd.DataFrame) -> pd.Series:
        return (df["params_source"] == "unknown") == df["params_b"].isna()


class DownloadsByFamily(Table):
    month: Series[pd.StringDtype] = Month()
    family: Series[pd.StringDtype] = Field("Model family (model_attributes.family); 'other' for in-scope models no family row matches.", "Family")
    region: Series[pd.StringDtype] = Region("Region of the publishing organization.", "Region")
    organizations: Series[pd.StringDtype] = Field("Registry organizations of the models counted, '|'-separated.", "Organizations", nullable=True)
    downloads: Series[pd.Int64Dtype] = Downloads("Downloads in the month of the in-scope models of the family and region.", "Downloads")
    share: Series[pd.Float64Dtype] = Share("Share of the month's in-scope downloads (0 to 1).")
    n_models: Series[pd.Int64Dtype] = Field("In-scope models measured in the month.", "Models", ge=1, unit="models")
    family_coverage: Series[pd.Float64Dtype] = Field("Share of the month's in-scope downloads from models assigned a named family (not 'other'); the same on every row of the month.", "Family coverage", ge=0, le=1, unit="fraction")
    scope: Series[pd.StringDtype] = Field("Which models count (the headline scope of downloads_by_country).", "Scope")

    Config = config('Downloads by family',
                    'Monthly downloads of in-scope first-party models by model family (raw/families.csv) and region, with the share of downloads the families cover.',
                    key=['month', 'family', 'region'],
                    shares=(['month'], 'downloads', 'month'))


class DownloadsBySize(Table):
    month: Series[pd.StringDtype] = Month()
    size_bucket: Series[pd.StringDtype] = SizeBucket("Size bucket of the models (model_attributes.size_bucket).")
    region: Series[pd.StringDtype] = Region("Region of the publishing organization.", "Region")
    downloads: Series[pd.Int64Dtype] = Downloads("Downloads in the month of the in-scope models of the bucket and region.", "Downloads")
    share: Series[pd.Float64Dtype] = Field("Share of the region within the month and size bucket (0 to 1).", "Share in bucket", ge=0, le=1, unit="fraction")
    bucket_share: Series[pd.Float64Dtype] = Field("Share of the bucket (all regions) in the month's in-scope downloads (0 to 1).", "Bucket share", ge=0, le=1, unit="fraction")
    n_models: Series[pd.Int64Dtype] = Field("In-scope models measured in the month.", "Models", ge=1, unit="models")
    scope: Series[pd.StringDtype] = Field("Which models count (the headline scope of downloads_by_country).", "Scope")

    Config = config('Downloads by size',
                    'Monthly downloads of in-scope first-party models by parameter-count bucket and region.',
                    key=['month', 'size_bucket', 'region'],
                    shares=(['month', 'size_bucket'], 'downloads', 'month and size bucket'))


class EcosystemDownloadsByCountry(Table):
    lineage: Series[pd.StringDtype] = Field("How derivatives are attributed: declared (region of the declared root, derivatives.root_region) or with_inference (derivatives.attributed_region).", "Lineage", isin=LINEAGES)
    month: Series[pd.StringDtype] = Month()
    country: Series[pd.StringDtype] = Country("Country of the publishing organization (first-party) or of the root base model's organization (derivatives); empty when unknown.", "Country")
    region: Series[pd.StringDtype] = Region("Region of the publishing or root organization.", "Region")
    first_party_downloads: Series[pd.Int64Dtype] = Downloads("Downloads in the month of in-scope first-party models (as in downloads_by_country).", "First-party downloads")
    derivative_downloads: Series[pd.Int64Dtype] = Downloads("Downloads in the month of derivative repos attributed to this country (sum of the four relations).", "Derivative downloads")
    finetune_downloads: Series[pd.Int64Dtype] = Downloads("Of which fine-tunes.", "Fine-tune downloads")
    adapter_downloads: Series[pd.Int64Dtype] = Downloads("Of which adapters.", "Adapter downloads")
    quantized_downloads: Series[pd.Int64Dtype] = Downloads("Of which quantizations.", "Quantization downloads")
    merge_downloads: Series[pd.Int64Dtype] = Downloads("Of which merges.", "Merge downloads")
    total_downloads: Series[pd.Int64Dtype] = Downloads("first_party_downloads + derivative_downloads.", "Total downloads")
    derivative_fraction: Series[pd.Float64Dtype] = Field("derivative_downloads / total_downloads (0 to 1); empty when total is 0.", "Derivative fraction", nullable=True, ge=0, le=1, unit="fraction")
    share: Series[pd.Float64Dtype] = Share("Share of total_downloads within the lineage and month (0 to 1).")
    scope: Series[pd.StringDtype] = Field("Which models count.", "Scope")

    Config = config('Ecosystem downloads by country',
                    'Monthly downloads of first-party models next to downloads of derivative repos (fine-tunes, adapters, quantizations, merges) attributed to the country of their root base model, by declared lineage and with inference.',
                    key=['lineage', 'month', 'country', 'region'],
                    shares=(['lineage', 'month'], 'total_downloads', 'lineage and month'),
                    country_matches_region={'nullable': True, 'error': 'country must be consistent with region'})

    @pa.dataframe_check(error="derivative_downloads must be the sum of the relations and total the sum of first-party and derivative downloads")
    def sums(cls, df: pd.DataFrame) -> pd.Series:
        rel = df[["finetune_downloads", "adapter_downloads", "quantized_downloads", "merge_downloads"]].sum(axis=1)
        return (rel == df["derivative_downloads"]) & (df["first_party_downloads"] + df["derivative_downloads"] == df["total_downloads"])


class AdoptionMomentum(Table):
    model_id: Series[pd.StringDtype] = Field("Hugging Face repo id of an in-scope first-party model.", "Model id")
    org: Series[pd.StringDtype] = Field("Registry organization; empty when the scope includes unmapped organizations.", "Organization", nullable=True)
    region: Series[pd.StringDtype] = Region("Region of the publishing organization.", "Region")
    created_at: Series[pa.DateTime] = Created()
    size_bucket: Series[pd.StringDtype] = SizeBucket("Size bucket (model_attributes.size_bucket).")
    age_days: Series[pd.Int64Dtype] = Field("Days after creation: 7, 14, 30, 60, 90, 180 or 365.", "Age", isin=list(AGES), unit="days")
    snapshot: Series[pd.StringDtype] = Field("Snapshot whose all-time counter is used: the non-stale reading nearest creation + age, within the build tolerance (ties: the earlier).", "Snapshot")
    cumulative_downloads: Series[pd.Int64Dtype] = Downloads("All-time downloads at that snapshot.", "Cumulative downloads")
    n_peers: Series[pd.Int64Dtype] = Field("In-scope models of the same size bucket measured at the same age (this model included).", "Peers", ge=1, unit="models")
    reference_rank: Series[pd.Int64Dtype] = Field("Rank of the reference peer: 10, or n_peers when fewer than 10 peers.", "Reference rank", ge=1, le=10)
    reference_downloads: Series[pd.Int64Dtype] = Downloads("Cumulative downloads of the reference peer (the 10th best of the bucket at that age).", "Reference downloads")
    relative_score: Series[pd.Float64Dtype] = Field("cumulative_downloads / reference_downloads; above 1: ahead of the 10th-best peer. Empty when the reference has 0 downloads.", "Relative adoption score", nullable=True, ge=0, unit="ratio")

    Config = config('Adoption momentum',
                    'All-time downloads of each in-scope first-party model 7, 14, 30, 60, 90, 180 and 365 days after creation, where snapshots allow, and its score relative to the 10th-best model of the same size bucket at the same age.',
                    key=['model_id', 'age_days'],
                    foreign_keys=[{'fields': ['model_id'], 'reference': {'resource': 'models', 'fields': ['model_id']}}])

    @pa.dataframe_check(error="reference_rank must be min(10, n_peers)")
    def reference_rank_rule(cls, df: pd.DataFrame) -> pd.Series:
        return df["reference_rank"] == df["n_peers"].clip(upper=10)


class Sensitivity(Table):
    month: Series[pd.StringDtype] = Month(description="The latest measured month (YYYY-MM).")
    rule: Series[pd.StringDtype] = Field("Rule changed from the headline: " + ", ".join(SENSITIVITY_RULES) + " (see methodology, 'Sensitivity').", "Rule", isin=SENSITIVITY_RULES)
    variant: Series[pd.StringDtype] = Field("The alternative counting rule, in words.", "Variant")
    headline: Series[bool] = Field("True for the headline rule (the scope of downloads_by_country).", "Headline")
    region: Series[pd.StringDtype] = Region("Region of origin.", "Region")
    downloads: Series[pd.Int64Dtype] = Downloads("Downloads in the month counted under the variant.", "Downloads")
    share: Series[pd.Float64Dtype] = Share("Share of the region under the variant (0 to 1).")
    n_models: Series[pd.Int64Dtype] = Field("Models counted.", "Models", ge=0, unit="models")

    Config = config('Sensitivity of the regional shares',
                    "The latest month's download shares by region recomputed under alternative counting rules, one rule changed at a time, so that the headline comes with its range.",
                    key=['rule', 'variant', 'region'],
                    shares=(['rule', 'variant'], 'downloads', 'variant'))


class PeriodKey(Table):
    period_type: Series[pd.StringDtype] = Field("week (ISO, Monday to Monday), month or quarter: the --period of the build.", "Period type", isin=list(PERIODS))
    period: Series[pd.StringDtype] = Field("Period label: YYYY-Www (ISO week), YYYY-MM or YYYY-Qn.", "Period", str_matches=PERIOD_RE)


class DownloadsByPeriod(CountryDownloads, PeriodKey):
    Config = config('Downloads by country per period',
                    'Downloads and download share by country per week, month or quarter (atomdata build --period; the shipped release uses month). Periods without snapshots near both boundaries are absent, never invented.',
                    key=['period_type', 'period', 'country', 'region'],
                    shares=(['period_type', 'period'], 'downloads', 'period'))


#: table name -> schema, in publishing order
TABLES: dict[str, type[pa.DataFrameModel]] = {
    "organizations": Organizations,
    "models": Models,
    "model_downloads_monthly": ModelDownloadsMonthly,
    "downloads_by_country": DownloadsByCountry,
    "derivatives": Derivatives,
    "derivatives_by_country": DerivativesByCountry,
    "trending_by_country": TrendingByCountry,
    "organization_summary": OrganizationSummary,
    "derivatives_by_root_org": DerivativesByRootOrg,
    "model_attributes": ModelAttributes,
    "downloads_by_family": DownloadsByFamily,
    "downloads_by_size": DownloadsBySize,
    "ecosystem_downloads_by_country": EcosystemDownloadsByCountry,
    "adoption_momentum": AdoptionMomentum,
    "sensitivity": Sensitivity,
    "downloads_by_period": DownloadsByPeriod,
    "snapshots": Snapshots,
    "curated_inputs": CuratedInputs,
    "data_quality": DataQuality,
}


# --------------------------------------------------------------------------- what the schemas declare

def schema_of(name: str):
    """The pandera model of the published table ``name``."""
    if name not in TABLES:
        raise KeyError(f"unknown table {name!r}; atomdata.tables() lists {', '.join(TABLES)}")
    return TABLES[name]


def column_kind(col) -> str:
    meta = col.metadata or {}
    if meta.get("tstype") in ("date", "datetime"):
        return "date"
    dt = str(col.dtype).lower()
    if "int" in dt:
        return "integer"
    if "float" in dt:
        return "number"
    if "bool" in dt:
        return "boolean"
    if "datetime" in dt:
        return "date"
    return "string"


def column_facts(col) -> dict:
    """What a pandera column declares, as ``datapackage.json`` and ``df.attrs`` state it: Table
    Schema ``type`` (``yearmonth`` for months), ``title``, ``description`` and ``unit`` (None when none)."""
    meta = col.metadata or {}
    return {"type": meta.get("tstype") or column_kind(col), "title": col.title,
            "description": col.description, "unit": meta.get("unit")}


def table_facts(name: str) -> dict:
    """A table's title, description, keys and columns, from its pandera schema (what ``load``
    puts in ``df.attrs``)."""
    model = schema_of(name)
    meta = getattr(model.Config, "metadata", None) or {}
    return {"table": name, "title": model.Config.title, "description": model.Config.description,
            "primary_key": list(meta.get("primary_key", [])), "foreign_keys": list(meta.get("foreign_keys", [])),
            "columns": {c: column_facts(col) for c, col in model.to_schema().columns.items()}}
