"""Import and type one snapshot: Hub field names in, typed per-model columns out.

Reads only the columns a step needs and does the list and struct work in Arrow, so a 2.2M-row
dump is typed without a Python loop over rows.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..vocab import COUNTERS, RELATIONS, SOURCE_FIELDS, SOURCE_LEAVES
from .ids import as_series, first_rows, namespace_of, take


def _null_array(n: int, type_: pa.DataType) -> pa.Array:
    return pa.nulls(n, type=type_)


def _col(table: pa.Table, name: str, type_: pa.DataType) -> pa.Array:
    if name not in table.column_names:
        return _null_array(table.num_rows, type_)
    col = table.column(name).combine_chunks()
    if pa.types.is_null(col.type):
        return _null_array(table.num_rows, type_)
    if pa.types.is_floating(col.type) and not pa.types.is_floating(type_):
        col = pc.if_else(pc.is_nan(col), pa.scalar(None, col.type), col)  # NaN: a missing count
    return col.cast(type_) if col.type != type_ else col


def _tag_matches(tags: pa.Array, match) -> tuple[np.ndarray, np.ndarray]:
    """Every tag for which ``match`` (a boolean Arrow kernel over tags) is true: its row and its
    position in ``tags.values``, in row order. The tags are matched where they are stored (no
    flattened copy, no parent index of every tag); tags of null rows never match."""
    offsets = tags.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
    lo, hi = int(offsets[0]), int(offsets[-1])
    flat = tags.values.slice(lo, hi - lo).cast(pa.string())
    pos = pc.indices_nonzero(pc.fill_null(match(flat), False)).to_numpy().astype(np.int64) + lo
    rows = np.searchsorted(offsets, pos, side="right") - 1
    if tags.null_count:
        keep = tags.is_valid().to_numpy(zero_copy_only=False)[rows]
        rows, pos = rows[keep], pos[keep]
    return rows, pos


def _first_matching_tag(tags: pa.Array, match) -> pa.Array:
    """For each row, its first tag for which ``match`` (a boolean Arrow kernel over the flat tags)
    is true, else null; no loop over rows."""
    n = len(tags)
    if pa.types.is_null(tags.type) or n == 0:
        return _null_array(n, pa.string())
    rows, pos = _tag_matches(tags, match)
    first = np.ones(len(rows), dtype=bool)
    first[1:] = rows[1:] != rows[:-1]  # rows come in order: a row's first match starts its run
    pick = np.full(n, -1, dtype=np.int64)
    pick[rows[first]] = pos[first]
    return pc.take(tags.values.cast(pa.string()), pa.array(pick, mask=pick < 0))


def _first_tag_value(tags: pa.Array, prefix: str) -> pa.Array:
    """For each row, the text after ``prefix`` in its first tag that starts with it (else null)."""
    return pc.utf8_slice_codeunits(_first_matching_tag(tags, lambda flat: pc.starts_with(flat, prefix)), len(prefix))


def first_tag_in(tags: pa.Array, values) -> pa.Array:
    """For each row, its first tag that is one of ``values`` (else null); no loop over rows.

    Used for the model-type tag (``qwen2``, ``llama``, ...): the Hub lists it right after the
    library and format tags, before free-form tags, so the first known model type is the model's.
    """
    values = pa.array(sorted(set(values)), type=pa.string())
    if len(values) == 0:
        return _null_array(len(tags), pa.string())
    return _first_matching_tag(tags, lambda flat: pc.is_in(flat, value_set=values))


def _edge_parts(table: pa.Table) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The declared bases of a snapshot table (or a slice of one): from ``baseModels``, and from
    ``base_model:`` tags where a row has no ``baseModels``; rows (``row``) are the table's."""
    ids = _col(table, "id", pa.string())
    struct_part = tag_part = None
    has_struct = np.zeros(table.num_rows, dtype=bool)
    if "baseModels" in table.column_names and not pa.types.is_null(table.column("baseModels").type):
        bm = table.column("baseModels").combine_chunks()
        rel = pc.struct_field(bm, "relation")
        models = pc.struct_field(bm, "models")
        has_struct = pc.fill_null(pc.greater(pc.list_value_length(models), 0), False).to_numpy(zero_copy_only=False)
        flat = pc.list_flatten(models)
        parents = pc.list_parent_indices(models).to_numpy()
        if len(parents):
            base_ids = pc.struct_field(flat, "id")
            pos = np.arange(len(parents)) - np.searchsorted(parents, parents, side="left")
            struct_part = pd.DataFrame({
                "row": parents,
                "base_id": base_ids.to_pandas(types_mapper=pd.ArrowDtype).astype("string"),
                "position": pos,
                "relation": rel.take(pa.array(parents)).to_pandas().astype("string"),
            })
    if "tags" in table.column_names and not pa.types.is_null(table.column("tags").type):
        tags = table.column("tags").combine_chunks()
        rows, pos = _tag_matches(tags, lambda flat: pc.starts_with(flat, "base_model:"))
        keep = ~has_struct[rows]
        if keep.any():
            vals = pd.Series(tags.values.take(pa.array(pos[keep])).cast(pa.string()).to_pandas(), dtype="string").str.slice(len("base_model:"))
            rows = rows[keep]
            parts = vals.str.split(":", n=1, expand=True)
            if parts.shape[1] == 1:
                parts[1] = pd.NA
            with_rel = parts[1].notna() & parts[0].isin(RELATIONS)
            t = pd.DataFrame({"row": rows, "relation": parts[0].where(with_rel), "base_id": parts[1].where(with_rel, vals)})
            t["base_id"] = t["base_id"].astype("string")
            # prefer the explicit relation tags; bare tags only where a row has none
            explicit = t[with_rel.to_numpy()]
            bare = t[~with_rel.to_numpy() & ~np.isin(rows, explicit["row"].to_numpy())]
            t = pd.concat([explicit, bare.assign(relation="finetune")]).drop_duplicates(["row", "base_id"])
            t = t.sort_values("row", kind="stable")
            t["position"] = t.groupby("row").cumcount()
            tag_part = t[["row", "base_id", "position", "relation"]]
    for part in (struct_part, tag_part):
        if part is not None:
            part["model_id"] = pd.array(ids.take(pa.array(part["row"].to_numpy())), dtype="string")
    return struct_part, tag_part


def _edges(struct_parts: list, tag_parts: list) -> pd.DataFrame:
    """The edges of a snapshot from its parts (``_edge_parts``, rows of the whole snapshot): those
    of ``baseModels`` first, then those of tags, each in row order."""
    frames = [f for f in struct_parts + tag_parts if f is not None]
    if not frames:
        return pd.DataFrame({"model_id": pd.Series([], dtype="string"), "base_id": pd.Series([], dtype="string"),
                             "position": pd.Series([], dtype="int32"), "relation": pd.Series([], dtype="string"),
                             "record_row": pd.Series([], dtype="int32")})
    edges = pd.concat(frames, ignore_index=True)
    edges["relation"] = edges["relation"].astype("string").fillna("finetune")
    edges["position"] = edges["position"].astype("int32")
    edges["record_row"] = edges["row"].astype("int32")
    edges = edges[edges["base_id"].notna() & (edges["base_id"] != "")]
    return edges[["model_id", "base_id", "position", "relation", "record_row"]].reset_index(drop=True)


def base_edges(table: pa.Table) -> pd.DataFrame:
    """Declared bases: one row per (model, base) with ``position``, ``relation`` and ``record_row``
    (the model's row in the snapshot, so its records need no lookup by id).

    From ``baseModels`` where present, else from ``base_model:<relation>:<id>`` tags (and bare
    ``base_model:<id>`` tags, whose relation the Hub would infer; we record ``finetune``).
    """
    struct_part, tag_part = _edge_parts(table)
    return _edges([struct_part], [tag_part])


def namespaces(table: pa.Table) -> pa.Array:
    """Each model's namespace (the ``org`` of its record): the text before the first slash of its
    id; the author field where the id has none."""
    org = namespace_of(_col(table, "id", pa.string()))
    return pc.coalesce(org, _col(table, "author", pa.string())) if "author" in table.column_names else org


def records(table: pa.Table) -> pd.DataFrame:
    """Typed per-model frame from a snapshot table (Hub field names → atomdata columns)."""
    n = table.num_rows
    ids = _col(table, "id", pa.string())
    out = pd.DataFrame({"model_id": as_series(ids, None), "org": as_series(namespaces(table), None)})
    created = _col(table, "createdAt", pa.timestamp("us"))
    out["created_at"] = pd.Series(created.to_pandas(), dtype="datetime64[us]")
    for src, dst in COUNTERS.items():
        out[dst] = pd.Series(_col(table, src, pa.int64()).to_pandas(), dtype="Int64")
    out["trending_score"] = pd.Series(_col(table, "trendingScore", pa.float64()).to_pandas(), dtype="Float64")
    for c in ("pipeline_tag", "library_name"):
        out[c] = as_series(_col(table, c, pa.string()), None)
    tags = table.column("tags").combine_chunks() if "tags" in table.column_names else _null_array(n, pa.list_(pa.string()))
    out["license"] = as_series(_first_tag_value(tags, "license:"), None)
    if "safetensors" in table.column_names and not pa.types.is_null(table.column("safetensors").type):
        st = table.column("safetensors").combine_chunks()
        total = pc.struct_field(st, "total").cast(pa.float64())
        out["params"] = pd.Series(pc.round(total).cast(pa.int64()).to_pandas(), dtype="Int64")
    else:
        out["params"] = pd.Series([pd.NA] * n, dtype="Int64")
    return out


def _source_paths(f: pq.ParquetFile, fields: list[str]) -> list[str]:
    """The Parquet column paths to read for ``fields``: a nested field of ``SOURCE_LEAVES`` as its
    named leaves only (``baseModels.models.list.element.id``), where the file has all of them;
    otherwise, and for every other field, the whole column."""
    leaves = [f.schema.column(i).path for i in range(len(f.schema))]
    paths = []
    for name in fields:
        keep = SOURCE_LEAVES.get(name, ())
        picked = [p for p in leaves if p.split(".", 1)[0] == name and "." in p and p.rsplit(".", 1)[1] in keep]
        paths.extend(picked if keep and {p.rsplit(".", 1)[1] for p in picked} == set(keep) else [name])
    return paths


#: rows typed at a time: a snapshot's source columns (tag lists, structs) are held a slice at a time
BATCH_ROWS = 1 << 18


def load_snapshot(path, model_types, columns=None, batch_rows: int = BATCH_ROWS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-model records and declared base edges of one snapshot data file, typed ``batch_rows``
    rows at a time (only the typed records are held whole, not the source's tags and structs).

    Besides the ``records`` columns, ``model_type`` is the model's first tag among ``model_types``
    (the model types of the curated ``architectures.csv``), null when it has none.
    """
    f = pq.ParquetFile(path)
    wanted = [c for c in (columns or SOURCE_FIELDS) if c in f.schema_arrow.names]
    parts, struct_parts, tag_parts, start = [], [], [], 0
    # one thread: Arrow's threads decoding a slice of a few columns cost more than they save
    # (measured: 1.9 s against 2.9 s for 2.1 M rows alone, 8% of the typing with two workers)
    batches = f.iter_batches(batch_size=batch_rows, columns=_source_paths(f, wanted), use_threads=False)
    tables = (pa.Table.from_batches([b]) for b in batches)
    for table in (tables if f.metadata.num_rows else [f.schema_arrow.empty_table().select(wanted)]):
        recs = records(table)
        tags = table.column("tags").combine_chunks() if "tags" in table.column_names else _null_array(table.num_rows, pa.list_(pa.string()))
        recs["model_type"] = as_series(first_tag_in(tags, model_types), None)
        for acc, part in zip((struct_parts, tag_parts), _edge_parts(table)):
            if part is not None:
                part["row"] += start
                acc.append(part)
        parts.append(recs)
        start += table.num_rows
    recs = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    edges = _edges(struct_parts, tag_parts)
    # the first declared base of each model, and how many it declares (ids are unique in a snapshot)
    row = edges["record_row"].to_numpy().astype(np.int64)
    at0 = np.flatnonzero((edges["position"].to_numpy() == 0) & (row >= 0))
    first = first_rows(row[at0], len(recs), at0)  # the first such edge where a model has several
    recs["relation"] = take(edges["relation"], first, recs.index)
    recs["base_id"] = take(edges["base_id"], first, recs.index)
    recs["n_bases"] = np.bincount(row[row >= 0], minlength=len(recs)).astype("int32")
    return recs, edges
