"""Complete declared chains online: fetch the ancestors a listing lacks, cached by model id.

A listing (or a dump) often holds a derivative but not its base. After a live listing, every
declared base that is not in it is looked up on the Hub, one listing request per missing base
(``/api/models?author=<namespace>&search=<name>`` with the fields we need, exact id match), and
so on up the chain, until each chain reaches a model with no declared base, a model that no
longer exists (deleted or private: recorded as ``missing``), a model already seen (a cycle ends
there; ``rules.lineage`` flags it), or the request budget (``not_fetched``).

Answers are kept in a lineage cache (a JSON file keyed by model id, a record or null for a
missing model) so the next snapshot asks only about new bases. The cache is saved every
``SAVE_EVERY`` new answers and whenever completion stops (done, error, Ctrl-C), so a run
interrupted while completing (``ingest hub --resume``) asks again only what it had not got.
A save adds this run's answers to the file as it is on disk, so two runs completing at the
same time with one cache (one store) keep each other's answers.

Every lookup sent is also counted in the client's ``Stats.ancestor_requests``, which the
``ingest hub`` journal keeps, so a resumed run knows what the stopped one spent.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from ..io import atomic_write_bytes
from .client import HubError
from .hub_records import SCHEMA, BadPage, page_table
from .listing_client import Client

FIELDS = ("author", "baseModels", "createdAt", "library_name", "pipeline_tag", "tags", "safetensors")
#: new answers between two saves of the lineage cache: a kill loses fewer, and saving the whole
#: file after every request would make completion quadratic in the size of the cache
SAVE_EVERY = 100


@dataclass
class Completion:
    """Fetched ancestor records (``hub_records.SCHEMA``) and the outcome of every base looked up."""
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
        cache = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}  # a damaged cache is rebuilt, never trusted
    return cache if isinstance(cache, dict) else {}  # valid JSON of another shape is damage too


def _save_cache(path: Path | None, answers: dict) -> None:
    """Add ``answers`` (this run's) to the cache as it is on disk now, then write it whole.

    Temporary file and rename: an interrupted save leaves the previous cache whole. Re-reading
    the file keeps what another run completing with the same cache saved since we read it.
    Without a lock a window remains between the re-read and the rename: another run's save that
    lands in it is overwritten. That costs at most a re-fetch, never a wrong answer: every entry
    is the Hub's answer for its id, and each run adds all its answers again at every save, so
    only the answers of a run whose last save fell into the other run's window can be lost.
    """
    if path is None:
        return
    merged = _load_cache(path)
    merged.update(answers)
    try:
        atomic_write_bytes(path, json.dumps(merged, sort_keys=True).encode())
    except OSError as exc:
        raise HubError(f"{path}: cannot save the lineage cache ({exc})") from None


def fetch_one(client: Client, model_id: str) -> dict | None:
    """The record of one model from a listing request, or None when the Hub has no such model."""
    ns, _, name = model_id.partition("/")
    params = ([("author", ns)] if name else []) + [("search", name or ns), ("limit", "100")] + [("expand[]", f) for f in FIELDS]
    models, _ = client.get_page(client.listing_url(params))
    for m in models:
        if m.get("id") == model_id:
            return m
    return None


def complete(client: Client, table: pa.Table, *, max_fetch: int = 1000, cache: Path | None = None,
             save_every: int = SAVE_EVERY) -> Completion:
    """Fetch the missing ancestors of the models in ``table`` (a listing in ``hub_records.SCHEMA`` or a dump).

    At most ``max_fetch`` requests; every id is asked at most once (cycles end), and answers
    come from ``cache`` when it has them. New answers are saved to ``cache`` every
    ``save_every`` requests and when this returns or raises, so an interrupted run keeps them.
    Each request is also counted in ``client.stats.ancestor_requests`` before it is sent.
    A cache that cannot be saved is an error (``HubError``), except while another error is
    stopping completion: that error is raised, and the unsaved answers are asked again next time.
    """
    ids = set(table.column("id").to_pylist())
    records = table.select([c for c in ("id", "baseModels", "tags") if c in table.column_names]).to_pylist()
    store = _load_cache(cache)
    new: dict = {}  # this run's answers: every save adds them all to the file on disk
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
                    client.stats.ancestor_requests += 1
                    rec = fetch_one(client, mid)
                    store[mid] = new[mid] = rec
                    unsaved += 1
                    if unsaved >= save_every:
                        unsaved = 0
                        _save_cache(cache, new)
                if rec is None:
                    status[mid] = "missing"
                    continue
                status[mid] = "found"
                fetched.append(rec)
                nxt += [b for b in _bases(rec) if b not in seen]
            frontier = nxt
    except BaseException:
        if unsaved:
            try:
                _save_cache(cache, new)
            except Exception:
                pass  # the error that stopped completion is the one to report
        raise
    if unsaved:
        _save_cache(cache, new)
    try:
        table = page_table(fetched)
    except BadPage as exc:  # an ancestor's record the Hub cannot hold (ingest.fields)
        raise HubError(client.scrub(f"{client.endpoint}: ancestors fetched: {exc}")) from None
    return Completion(table, status, requests)


#: API fields that change over time: left empty in ancestor rows (a cached answer may be old)
COUNTERS = ("downloads", "downloadsAllTime", "likes", "trendingScore", "childrenModelCount", "lastModified")


def complete_snapshot(client: Client, table: pa.Table, budget: int, max_requests: int | None,
                      cache: Path) -> tuple[dict, pa.Table]:
    """Fetch the missing ancestors of ``table`` (:func:`complete`) within ``budget`` requests
    (and what is left of ``max_requests``). Returns the manifest block and the rows to add
    (in :data:`hub_records.SCHEMA`, with their lineage fields only: :data:`COUNTERS` stay empty).

    After a resume, ``client.stats`` holds what the stopped run spent (journal): its lookups count
    against ``budget`` and in the block's ``requests``; the answers it got come from the cache."""
    spent = client.stats.ancestor_requests
    left = max(0, budget - spent)
    if max_requests is not None:
        left = max(0, min(left, max_requests - client.stats.requests))
    budget = spent + left
    done = complete(client, table, max_fetch=left, cache=cache)
    rows = done.table.to_pylist()
    for r in rows:
        r.update(dict.fromkeys(COUNTERS))
    extra = pa.Table.from_pylist(rows, schema=SCHEMA) if rows else SCHEMA.empty_table()
    ids = {s: sorted(m for m, v in done.status.items() if v == s) for s in ("found", "missing", "not_fetched")}
    block = {"max_requests": budget, "requests": client.stats.ancestor_requests, "looked_up": len(done.status),
             "found": len(ids["found"]), "missing": len(ids["missing"]), "not_fetched": len(ids["not_fetched"]),
             "found_ids": ids["found"], "missing_ids": ids["missing"], "not_fetched_ids": ids["not_fetched"],
             "fields": list(FIELDS)}
    return block, extra
