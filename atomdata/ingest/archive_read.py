"""Read what the build needs of one archived dump, without downloading the rest.

A Parquet file is opened through ``HfFileSystem`` (HTTP range requests, no read-ahead cache)
and pyarrow reads its footer and then only the column chunks of the fields the build uses
(``vocab.SOURCE_FIELDS``): a Hub-sized file is mostly card text, file lists and
configs that atomdata never reads. A CSV file (the archive's early history) has no such layout
and is downloaded whole with ``hf_hub_download``, checked against the archive's sha256 and parsed.

Periods differ in what they hold; a field a file lacks is simply absent from the stored file
(no all-time counter before 2025, no ``baseModels`` early on). The stored table is "conformed"
just enough for the build's readers: timestamps as naive UTC, CSV list cells (``tags``) as lists.
Nested fields written as text in a CSV file are not parsed and are left out (the manifest says so).
"""
from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..errors import InputError
from ..vocab import SOURCE_FIELDS
from .archive_history import Observation

TIMESTAMPS = ("createdAt",)
NESTED = ("baseModels", "safetensors")


def read_parquet(fs, obs: Observation) -> tuple[pa.Table, list[str]]:
    """The needed columns of a remote Parquet file and the names of all its columns."""
    url = f"datasets/{obs.repo}@{obs.commit}/{obs.path}"
    try:
        with fs.open(url, "rb", cache_type="none") as f:
            pf = pq.ParquetFile(f)
            names = pf.schema_arrow.names
            if "id" not in names:
                raise InputError(obs.where, f"required column is missing (columns present: {', '.join(names) or 'none'})",
                                 column="id")
            return pf.read(columns=[c for c in SOURCE_FIELDS if c in names]), names
    except (pa.ArrowException, OSError, ValueError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise InputError(obs.where, "the archive does not serve this file at this commit") from None
        raise InputError(obs.where, f"not a readable Parquet file ({type(exc).__name__}: {exc})") from None


def read_csv(obs: Observation, endpoint: str, token) -> tuple[pa.Table, list[str]]:
    """A remote CSV file downloaded whole (checked against the archive's sha256), parsed."""
    from huggingface_hub import hf_hub_download

    with tempfile.TemporaryDirectory(prefix="atomdata-archive-") as tmp:
        path = Path(hf_hub_download(obs.repo, obs.path, repo_type="dataset", revision=obs.commit, endpoint=endpoint,
                                    token=token, local_dir=tmp))
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != obs.sha256:
            raise InputError(obs.where, f"downloaded bytes have sha256 {digest}, the archive says {obs.sha256}")
        try:
            table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
        except (pa.ArrowException, UnicodeDecodeError) as exc:
            raise InputError(obs.where, f"not a readable CSV file ({exc})") from None
    names = table.column_names
    if "id" not in names:
        raise InputError(obs.where, f"required column is missing (columns present: {', '.join(names) or 'none'})", column="id")
    return table.select([c for c in SOURCE_FIELDS if c in names]), names


def _list_cells(col: pa.ChunkedArray) -> pa.Array:
    """``['a', 'b']`` or ``["a","b"]`` text cells as lists of strings, without a loop over rows."""
    text = pc.utf8_trim_whitespace(col.combine_chunks().cast(pa.string()))
    inner = pc.replace_substring_regex(text, r"^\[|\]$", "")
    parts = pc.split_pattern_regex(inner, r"""['"]\s*,\s*['"]""")
    flat = pc.replace_substring_regex(pc.list_flatten(parts), r"""^\s*['"]|['"]\s*$""", "")
    keep = pc.not_equal(flat, "")
    rows = pc.filter(pc.list_parent_indices(parts), keep).to_numpy()
    offsets = np.searchsorted(rows, np.arange(len(text) + 1)).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pc.filter(flat, keep), mask=pc.is_null(text))


def conform(table: pa.Table, where: str) -> tuple[pa.Table, dict[str, str]]:
    """Types the build reads alike in every period; returns the table and the fields left out (why)."""
    dropped = {}
    for name in table.column_names:
        col = table.column(name)
        if name in TIMESTAMPS and (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            try:
                col = pc.cast(col, pa.timestamp("us", "UTC"))
            except pa.ArrowInvalid as exc:
                raise InputError(where, f"unreadable timestamps ({exc})", column=name) from None
        if name in TIMESTAMPS and pa.types.is_timestamp(col.type) and col.type.tz is not None:
            col = pc.cast(pc.cast(col, pa.timestamp("us", "UTC")), pa.timestamp("us"))  # naive UTC, as the Hub layout
        if name == "tags" and (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            col = _list_cells(col)
        if name in NESTED and not pa.types.is_struct(col.type) and not pa.types.is_null(col.type):
            dropped[name] = f"{col.type} cells, not the Hub's structure: not parsed, left out"
            table = table.drop_columns([name])
            continue
        table = table.set_column(table.column_names.index(name), name, col)
    return table, dropped
