"""Every vocabulary and default of the method, defined once.

The schemas, the rules and the publish layer read them from here, so a value allowed in a table is
the value the code writes, and a default the CLI shows is the default the build uses.
"""
from __future__ import annotations

# --------------------------------------------------------------------------- regions and organizations
REGIONS = ["us", "china", "eu", "other", "unknown"]
#: ISO 3166-1 alpha-2 codes counted as Europe (the UK, Switzerland and Norway included; Russia is ``other``)
EU_COUNTRIES = frozenset({
    "AD", "AL", "AT", "BA", "BE", "BG", "BY", "CH", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FO", "FR", "GB",
    "GI", "GR", "HR", "HU", "IE", "IS", "IT", "LI", "LT", "LU", "LV", "MC", "MD", "ME", "MK", "MT", "NL", "NO",
    "PL", "PT", "RO", "RS", "SE", "SI", "SK", "SM", "UA", "VA", "XK",
})
ORG_TYPES = ["company", "academic", "nonprofit", "government", "community"]
MIRROR_KINDS = ["re-upload", "quantizer", "converter"]

# --------------------------------------------------------------------------- lineage and attribution
RELATIONS = ["finetune", "adapter", "quantized", "merge"]
LINEAGE_STATUS = ["complete", "outside_snapshot", "cycle", "self_reference"]
ATTRIBUTIONS = ["declared", "mirror", "architecture", "name_keyword", "unknown"]
CONFIDENCE = ["high", "medium", "low", "none"]
LINEAGES = ["declared", "with_inference"]
#: who published a derivative, relative to the organization of its root
PUBLISHERS = ["same_org", "other_org", "community"]
#: the derivatives that derivative shares count: what others build on a base (methodology, "Who published a model")
COUNTED_PUBLISHERS = ("other_org", "community")

# --------------------------------------------------------------------------- downloads
METHODS = ["all_time_diff", "rolling_30d"]
PERIODS = ("week", "month", "quarter")
#: days a snapshot may be from a period boundary to stand for it (``atomdata build --tolerance``)
TOLERANCE_DAYS = 3
MAX_TOLERANCE_DAYS = 15
STALE_FLAG = "stale_reading_skipped"
#: a snapshot whose all-time counters all equal the latest earlier readings of at least this many
#: models repeats them (a re-published or lagging listing): its counters are not readings of its date
MIN_REPEATED_COUNTERS = 100
SIZE_BUCKETS = ["<1B", "1-5B", "5-10B", "10-50B", "50-100B", "100-250B", "250B+"]
SIZE_UNKNOWN = "unknown"
SIZE_EDGES = [0.0, 1.0, 5.0, 10.0, 50.0, 100.0, 250.0, float("inf")]
PARAMS_SOURCES = ["safetensors", "override", "name", "unknown"]
FAMILY_OTHER = "other"
#: ages (days after creation) of the adoption-momentum table, and the rank of its reference peer
AGES = (7, 14, 30, 60, 90, 180, 365)
PEER_RANK = 10
TRENDING_TOP_N = (1, 10, 50, 100)
SENSITIVITY_RULES = ["headline", "pipelines", "conditional_pipelines", "unknown_orgs", "pre_chatgpt", "first_party_definition",
                     "official_quantized", "hugging_face_europe", "ecosystem", "scope_preset"]
#: registry organizations whose name starts so are Hugging Face's own namespaces (sensitivity: counted as Europe)
HUGGING_FACE_NAME = r"Hugging Face\b"

# --------------------------------------------------------------------------- snapshots
SNAPSHOT_KINDS = ["dump", "hub", "archive"]
TREE_COVERAGE = ["full listing", "sample"]
TRENDING_RANKINGS = ["hub trending listing", "within sample"]
#: the Hub fields atomdata reads from a snapshot (a dump or archive file may hold many more)
SOURCE_FIELDS = (
    "id", "author", "createdAt", "downloads", "downloadsAllTime", "likes", "trendingScore",
    "tags", "pipeline_tag", "library_name", "baseModels", "safetensors",
)
#: of these nested fields, only the leaves so named are typed (a base's internal ``_id`` and the
#: per-dtype parameter counts are never used: reading them cost a third of the decoding)
SOURCE_LEAVES = {"baseModels": ("relation", "id"), "safetensors": ("total",)}
#: Hub counter field -> typed column name
COUNTERS = {"downloads": "downloads_30d", "downloadsAllTime": "downloads_all_time", "likes": "likes"}

# --------------------------------------------------------------------------- patterns
MONTH_RE = r"^\d{4}-(0[1-9]|1[0-2])$"
PERIOD_RE = r"^\d{4}-((0[1-9]|1[0-2])|W(0[1-9]|[1-4]\d|5[0-3])|Q[1-4])$"
COUNTRY_RE = r"^[A-Z]{2}$"
SNAPSHOT_RE = r"^\d{4}-\d{2}-\d{2}(-[a-z0-9-]+)?$"  # a snapshot folder name: date, optional suffix
NAMESPACE_RE = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"

# --------------------------------------------------------------------------- publishing
TITLE = "atomdata: who builds the open AI models the world uses"
AUTHOR = "atomdata contributors"
DISTRIBUTION = "atomdata-hub"
#: where the package (and with it the shipped release) is published
URL = "https://pypi.org/project/atomdata-hub/"
CODE_LICENSE = "Apache-2.0"
DATA_LICENSE = "CC-BY-4.0"
DATA_LICENSE_TITLE = "Creative Commons Attribution 4.0"
DATA_LICENSE_URL = "https://creativecommons.org/licenses/by/4.0/"
