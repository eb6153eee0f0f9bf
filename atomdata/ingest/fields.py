"""The Hub's rules for the fields of a model record, checked on a whole snapshot at once (Arrow).

A dump (``ingest dump``) and every page of a live listing (``ingest hub``) are refused when a
record breaks them: such a record cannot come from the Hub, so the file or the answer is corrupt,
and storing it would put a namespace like ``..`` or a 50 MB pipeline tag into every table.

Repo ids follow huggingface_hub's ``validate_repo_id`` (the Hub's own rules as the client
states them): ``NAME`` or ``NAMESPACE/NAME``, each part 1 to 96 characters of ``A-Z a-z 0-9 - _
.``, beginning and ending with a letter, a digit or ``_``, with no ``--`` or ``..`` and not ending
in ``.git``. The same holds for the declared bases (``baseModels`` and ``base_model:`` tags),
and the ``author`` is a namespace. Free text has a ceiling far above anything the Hub holds
(:data:`MAX_CHARS`; the longest pipeline tag in the shared snapshots has 30 characters, the
longest tag 118).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

PART = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?"
REPO_ID_RE = rf"^(?:{PART}/)?{PART}$"
NAMESPACE_RE = rf"^{PART}$"
REPO_ID_RULE = ("a Hub repo id is NAME or NAMESPACE/NAME, each part 1 to 96 characters of A-Z, a-z, 0-9, '-', '_' "
                "and '.', beginning and ending with a letter, a digit or '_', with no '--' or '..' and not ending "
                "in '.git' (huggingface_hub's validate_repo_id)")
#: longest text a field may hold, in characters (``tags``: each tag)
MAX_CHARS = {"pipeline_tag": 100, "library_name": 100, "tags": 1000}
#: the relation part of a ``base_model:<relation>:<id>`` tag
BASE_TAG_RE = r"^base_model:(?:(?:finetune|adapter|quantized|merge):)?"
SHOW = 200  # characters of a value shown in an example (a whole valid id fits)


@dataclass(frozen=True)
class Problem:
    column: str
    message: str          # what is wrong, with the rule
    examples: list[str]   # "row 3: id='../../x'" (rows counted from 0, as in the file)


def _strings(arr) -> pa.Array:
    """One Arrow text array (string or large_string, as given) from a column or a list of str."""
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    return arr if isinstance(arr, pa.Array) else pa.array(arr, pa.large_string())


def not_repo_ids(arr) -> np.ndarray:
    """True where a (non-null) value breaks :data:`REPO_ID_RULE`."""
    s = _strings(arr)
    ok = pc.and_(pc.match_substring_regex(s, REPO_ID_RE),
                 pc.invert(pc.or_(pc.or_(pc.match_substring(s, "--"), pc.match_substring(s, "..")), pc.ends_with(s, ".git"))))
    return np.asarray(pc.invert(pc.fill_null(ok, True)).to_numpy(zero_copy_only=False), dtype=bool)


def _show(v) -> str:
    if v is None:
        return "empty"
    return repr(v) if len(v) <= SHOW else f"{v[:SHOW]!r}... ({len(v):,} characters)"


def _per_row(n: int, lists: pa.Array, bad_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of a list column holding a bad value, and the first bad value's position in the flat values."""
    parents = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)
    at = np.flatnonzero(bad_values)
    rows, first = np.unique(parents[at], return_index=True)
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    pick = np.full(n, -1, dtype=np.int64)
    pick[rows] = at[first]
    return mask, pick


def _problem(table: pa.Table, column: str, mask: np.ndarray, values: pa.Array, what: str) -> Problem:
    ids = table.column("id")
    rows = np.flatnonzero(mask)[:3]
    ex = [f"row {i}: id={_show(ids[int(i)].as_py())}" + ("" if column == "id" else f" {column}={_show(values[int(i)].as_py())}")
          for i in rows]
    return Problem(column, f"{int(mask.sum())} row(s) {what}", ex)


def _lists(table: pa.Table, name: str):
    col = table.column(name)
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    return col if pa.types.is_list(col.type) or pa.types.is_large_list(col.type) else None


def _base_ids(table: pa.Table):
    """``(column, lists, flat values, bad)`` for the declared bases: ``baseModels`` ids, and the
    ``base_model:`` tags (only those are parsed: most tags are not); ``bad`` marks the flat
    values whose id breaks :data:`REPO_ID_RULE`."""
    out = []
    if "baseModels" in table.column_names and pa.types.is_struct(table.column("baseModels").type):
        bm = table.column("baseModels").combine_chunks()
        if "models" in [f.name for f in bm.type]:
            models = pc.struct_field(bm, "models")
            if (pa.types.is_list(models.type) and pa.types.is_struct(models.type.value_type)
                    and "id" in [f.name for f in models.type.value_type]):
                flat = pc.struct_field(pc.list_flatten(models), "id")
                out.append(("baseModels", models, flat, not_repo_ids(flat)))
    tags = _lists(table, "tags") if "tags" in table.column_names else None
    if tags is not None and len(tags):
        flat = _strings(pc.list_flatten(tags))
        is_base = pc.fill_null(pc.starts_with(flat, "base_model:"), False)
        at = np.flatnonzero(is_base.to_numpy(zero_copy_only=False))
        bad = np.zeros(len(flat), dtype=bool)
        bad[at] = not_repo_ids(pc.replace_substring_regex(pc.filter(flat, is_base), BASE_TAG_RE, ""))
        out.append(("tags", tags, flat, bad))
    return out


def problems(table: pa.Table) -> list[Problem]:
    """Every rule a snapshot's records break (ids, author, declared bases, text sizes)."""
    n = table.num_rows
    found = []
    ids = table.column("id")
    bad = not_repo_ids(ids)
    if bad.any():
        found.append(_problem(table, "id", bad, ids, f"have an id that is not a Hub repo id: {REPO_ID_RULE}"))
    author = table.column("author") if "author" in table.column_names else None
    if author is not None and (pa.types.is_string(author.type) or pa.types.is_large_string(author.type)):
        a = _strings(author)
        bad = ~np.asarray(pc.fill_null(pc.match_substring_regex(a, NAMESPACE_RE), True).to_numpy(zero_copy_only=False), dtype=bool)
        if bad.any():
            found.append(_problem(table, "author", bad, a, "have an author that is not a Hub namespace (a repo id's NAMESPACE part)"))
    for column, lists, flat, bad_values in _base_ids(table):
        mask, pick = _per_row(n, lists, bad_values)
        if mask.any():
            shown = pc.take(flat, pa.array(pick, mask=pick < 0))
            found.append(_problem(table, column, mask, shown, f"declare a base model whose id is not a Hub repo id: {REPO_ID_RULE}"))
    found += _text_sizes(table)
    return found


def _text_sizes(table: pa.Table) -> list[Problem]:
    found = []
    for name, limit in MAX_CHARS.items():
        if name not in table.column_names:
            continue
        col = table.column(name)
        lists = _lists(table, name)
        if lists is not None and len(lists):
            flat = _strings(pc.list_flatten(lists))
            mask, pick = _per_row(table.num_rows, lists, _too_long(flat, limit))
            values = pc.take(flat, pa.array(pick, mask=pick < 0))
        elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            values = _strings(col)
            mask = _too_long(values, limit)
        else:
            continue
        if mask.any():
            what = "a tag" if lists is not None else f"a {name}"
            found.append(_problem(table, name, mask, values, f"have {what} longer than {limit:,} characters, "
                                  "far beyond anything the Hub holds"))
    return found


def _too_long(values: pa.Array, limit: int) -> np.ndarray:
    return np.asarray(pc.fill_null(pc.greater(pc.utf8_length(values), limit), False).to_numpy(zero_copy_only=False), dtype=bool)
