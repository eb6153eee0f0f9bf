"""Complete declared chains online: fetch the ancestors a listing lacks, cached by model id.

A listing (or a dump) often holds a derivative but not its base. After a live listing, every
declared base that is not in it is looked up on the Hub, one listing request per missing base
(``/api/models?author=<namespace>&search=<name>`` with the fields we need, exact id match), and
so on up the chain, until each chain reaches a model with no declared base, a model that no
longer exists (deleted or private: recorded as ``missing``), a model already seen (a cycle ends
there; ``transform.lineage`` flags it), or the request budget (``not_fetched``).

Answers are kept in a lineage cache (a JSON file keyed by model id, a record or null for a
missing model) so the next snapshot asks only about new bases. The cache is saved every
``SAVE_EVERY`` new answers and whenever completion stops (done, error, Ctrl-C), so a run
interrupted while completing (``ingest hub --resume``) asks again only what it had not got.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from ..io import atomic_write_bytes
from . import hub

FIELDS = ("author", "baseModels", "createdAt", "library_name", "pipeline_tag", "tags", "safetensors")
#: new answers between two saves of the lineage cache: a kill loses fewer, and saving the whole
#: file after every request would make completion quadratic in the size of the cache
SAVE_EVERY = 100


@dataclass
class Completion:
    """Fetched ancestor records (``hub.SCHEMA``) and the outcome of every base looked up."""
    table: pa.Table
    status: dict[str, str] = field(default_factory=dict)  # model id -> found | missing | not_fetched
    requests: int = 0

    def summary(self) -> str:
        counts = {s: sum(1 for v in self.status.values() if v == s) for s in ("found", "missing", "not_fetched")}
        return (f"ancestors: {counts['found']} found, {counts['missing']} missing (deleted or private), "
                f"{counts['not_fetched']} not fetched (budget); {self.requests} requests")


def _bases(record: dict) -> list[str]:
    bm = record.get("baseModels") or {}
    out = [m.get("id") for m in (bm.get("models") or []) if isinstance(m, dict) and m.get("id")]
    if not out:  # base_model:<relation>:<id> or base_model:<id> tags
        for t in record.get("tags") or []:
            if t.startswith("base_model:"):
                rest = t[len("base_model:"):]
                out.append(rest.split(":", 1)[1] if rest.split(":", 1)[0] in ("finetune", "adapter", "quantized", "merge") and ":" in rest else rest)
    return [b for b in dict.fromkeys(out)]


def _load_cache(path: Path | None) -> dict:
    if path is None or not Path(path).is_file():
        return {}
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}  # a damaged cache is rebuilt, never trusted


def _save_cache(path: Path | None, cache: dict) -> None:
    """Temporary file and rename: an interrupted save leaves the previous cache whole."""
    if path is not None:
        atomic_write_bytes(path, json.dumps(cache, sort_keys=True).encode())


def fetch_one(client: hub.Client, model_id: str) -> dict | None:
    """The record of one model from a listing request, or None when the Hub has no such model."""
    ns, _, name = model_id.partition("/")
    params = ([("author", ns)] if name else []) + [("search", name or ns), ("limit", "100")] + [("expand[]", f) for f in FIELDS]
    models, _ = client.get_page(client.listing_url(params))
    for m in models:
        if m.get("id") == model_id:
            return m
    return None


def complete(client: hub.Client, table: pa.Table, *, max_fetch: int = 1000, cache: Path | None = None,
             save_every: int = SAVE_EVERY) -> Completion:
    """Fetch the missing ancestors of the models in ``table`` (a listing in ``hub.SCHEMA`` or a dump).

    At most ``max_fetch`` requests; every id is asked at most once (cycles end), and answers
    come from ``cache`` when it has them. New answers are saved to ``cache`` every
    ``save_every`` requests and when this returns or raises, so an interrupted run keeps them.
    """
    ids = set(table.column("id").to_pylist())
    records = table.select([c for c in ("id", "baseModels", "tags") if c in table.column_names]).to_pylist()
    store = _load_cache(cache)
    frontier = [b for r in records for b in _bases(r) if b not in ids]
    seen = set(ids)
    fetched: list[dict] = []
    status: dict[str, str] = {}
    requests = unsaved = 0
    try:
        while frontier:
            nxt = []
            for mid in dict.fromkeys(frontier):
                if mid in seen:
                    continue
                seen.add(mid)
                if mid in store:
                    rec = store[mid]
                elif requests >= max_fetch:
                    status[mid] = "not_fetched"
                    continue
                else:
                    requests += 1
                    rec = fetch_one(client, mid)
                    store[mid] = rec
                    unsaved += 1
                    if unsaved >= save_every:
                        _save_cache(cache, store)
                        unsaved = 0
                if rec is None:
                    status[mid] = "missing"
                    continue
                status[mid] = "found"
                fetched.append(rec)
                nxt += [b for b in _bases(rec) if b not in seen]
            frontier = nxt
    finally:
        if unsaved:
            _save_cache(cache, store)
    return Completion(hub.page_table(fetched), status, requests)
