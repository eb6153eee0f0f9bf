"""The Hub API's model records as Arrow: the column layout of a live snapshot and one page's table.

Shared by the listing (``ingest.hub``), the listing client (``ingest.listing_client``, which
refuses a body that is not a list of records) and ancestor completion (``ingest.ancestors``),
so the three agree on what a record the Hub can hold is and on the bytes it becomes.
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from . import fields

BASE_MODELS_TYPE = pa.struct([
    ("relation", pa.string()),
    ("models", pa.list_(pa.struct([("_id", pa.string()), ("id", pa.string())]))),
])
SAFETENSORS_TYPE = pa.struct([("parameters", pa.map_(pa.string(), pa.int64())), ("total", pa.float64())])
#: Column layout of ``models.parquet`` (hub-stats layout, Hub field names), in file order.
SCHEMA = pa.schema([
    ("id", pa.string()),
    ("author", pa.string()),
    ("createdAt", pa.timestamp("us")),
    ("lastModified", pa.timestamp("us")),
    ("downloads", pa.int64()),
    ("downloadsAllTime", pa.int64()),
    ("likes", pa.int64()),
    ("trendingScore", pa.float64()),
    ("tags", pa.list_(pa.string())),
    ("pipeline_tag", pa.string()),
    ("library_name", pa.string()),
    ("baseModels", BASE_MODELS_TYPE),
    ("safetensors", SAFETENSORS_TYPE),
    ("childrenModelCount", pa.int64()),
])
_TIMESTAMPS = ("createdAt", "lastModified")
_INTS = ("downloads", "downloadsAllTime", "likes", "childrenModelCount")
_STRINGS = ("author", "pipeline_tag", "library_name")


class BadPage(Exception):
    """A 200 response whose body is not a complete JSON list of models (retried)."""


def _iso_utc(values: list) -> pa.Array:
    arr = pa.array(values, type=pa.string())
    try:
        ts = arr.cast(pa.timestamp("us", "UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise BadPage(f"unreadable timestamp ({exc})") from None
    return ts.cast(pa.timestamp("us"))


def _params(value):
    if not isinstance(value, dict):
        return None
    return sorted((str(k), int(v)) for k, v in value.items() if v is not None)


def _safetensors(value):
    if not isinstance(value, dict):
        return None
    total = value.get("total")
    return {"parameters": _params(value.get("parameters")), "total": float(total) if total is not None else None}


def _base_models(value):
    if not isinstance(value, dict):
        return None
    models = value.get("models")
    return {"relation": value.get("relation"),
            "models": [{"_id": m.get("_id"), "id": m.get("id")} for m in models if isinstance(m, dict)] if isinstance(models, list) else None}


def page_table(items: list[dict]) -> pa.Table:
    """One page of API records as a table in :data:`SCHEMA` (page order kept)."""
    try:
        cols = {
            "id": pa.array([m["id"] for m in items], pa.string()),
            **{f: _iso_utc([m.get(f) for m in items]) for f in _TIMESTAMPS},
            **{f: pa.array([m.get(f) for m in items], pa.int64()) for f in _INTS},
            "trendingScore": pa.array([m.get("trendingScore") for m in items], pa.float64()),
            **{f: pa.array([m.get(f) for m in items], pa.string()) for f in _STRINGS},
            "tags": pa.array([m.get("tags") for m in items], pa.list_(pa.string())),
            "baseModels": pa.array([_base_models(m.get("baseModels")) for m in items], BASE_MODELS_TYPE),
            "safetensors": pa.array([_safetensors(m.get("safetensors")) for m in items], SAFETENSORS_TYPE),
        }
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, AttributeError) as exc:
        raise BadPage(f"a model record has an unexpected field type ({exc})") from None
    table = pa.table([cols[f.name] for f in SCHEMA], schema=SCHEMA)
    for problem in fields.problems(table):  # not a record the Hub can hold: refused, not retried
        raise BadPage(f"column '{problem.column}': {problem.message}; examples: {'; '.join(problem.examples)}")
    return table


def combine(pages: list[pa.Table]) -> pa.Table:
    """All pages as one table: first occurrence of each id kept, rows sorted by id."""
    if not pages:
        return SCHEMA.empty_table()
    t = pa.concat_tables(pages)
    t = t.append_column("__ord", pa.array(range(t.num_rows), pa.int64()))
    first = t.group_by("id", use_threads=False).aggregate([("__ord", "min")]).column("__ord_min").combine_chunks()
    t = t.filter(pc.is_in(t.column("__ord"), value_set=first)).drop_columns(["__ord"])
    return t.sort_by([("id", "ascending")]).combine_chunks()
