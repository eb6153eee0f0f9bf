"""Live Hub ingestion: list models from the Hugging Face Hub API into one dated snapshot.

Three modes, one snapshot each (``models.parquet`` in the hub-stats layout, Hub field names):

``first-party``
    every public model of every registry organization (``author=ORG``), then the models whose
    declared base is one of those (``filter=base_model:ID``, all relations), optionally repeated
    ``depth`` levels down the model tree. Only models the Hub reports as having children
    (``childrenModelCount > 0``, or unknown) get a derivative listing, which bounds the requests.
``full``
    the whole Hub in one cursor-paginated listing (about 2,200 pages of 1,000).
``trending``
    the current top N by the Hub's trending score (``sort=trendingScore``).

The run, step by step
---------------------
:func:`ingest` checks the query, opens the checkpoint (new, or resumed with ``--resume``: the
journal of ``ingest.checkpoint``), plans the listings of phase 0, fetches their pages through the
listing client (``ingest.listing_client``, on the shared retry layer of ``ingest.client``), each
page checkpointed as it comes, plans the next phase from the models found, and so on. When all
listings are complete the pages are combined (duplicates across listings dropped, first listing
wins), sorted by id and written with fixed settings, so the same records give the same bytes;
the checkpoint is removed and the folder is committed with ``store.commit_snapshot`` (manifest
last, renamed into place, never overwriting). A run that stops keeps its checkpoint for
``--resume``, except a new run that never reached the Hub: it leaves nothing behind.

Ancestors
---------
With ``ancestors=N`` (``--ancestors N``), once the listings are complete and before the snapshot
is committed, the declared bases that the listing lacks are looked up with at most N requests
(``ingest.ancestors.complete``: one request per missing base, up each chain until a model with no
declared base, a deleted or private model, a cycle or the budget). The ancestors found are added
to the same snapshot as rows with their lineage fields only (id, author, bases, tags, creation
date, pipeline, library, safetensors; counters such as downloads and likes stay empty, since a
cached answer may be older than the snapshot), so ``atomdata build`` follows complete chains.
The manifest's ``ancestors`` block records the budget, the requests made and the ids found,
missing (deleted or private) and not fetched (budget); its requests and budget include the lookups
made before a stop (journal). Answers are cached by model id in
``<store>/.cache/lineage-cache.json`` (git-ignored), so the next snapshot asks only about new bases;
the cache is saved as completion goes and when it stops, so ``--resume`` after a stop during
completion does not ask for the ancestors already fetched, and each save adds to the file as it
is on disk, so two runs in one store do not drop each other's answers.

The token is only ever put in the request headers (``ingest.listing_client``).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import re
import shutil
import time
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import AtomdataError, InputError, SnapshotError
from ..io import atomic_write_bytes, parquet_bytes
from . import store
from .ancestors import complete_snapshot
from .checkpoint import Checkpoint, Listing
from .client import HubError, RetryPolicy, Stats, Unreachable, check_endpoint
from .hub_records import BadPage, combine, page_table
from .listing_client import Client

#: Fields requested with ``expand[]``; ``childrenModelCount`` plans the derivative listings.
EXPAND = (
    "author", "baseModels", "childrenModelCount", "createdAt", "downloads", "downloadsAllTime",
    "lastModified", "library_name", "likes", "pipeline_tag", "safetensors", "tags", "trendingScore",
)
MODES = ("first-party", "full", "trending")
MAX_PAGE_SIZE = 1000
ORG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")


def _check_expand() -> None:
    """Every field we expand must be one huggingface_hub knows the Hub accepts."""
    try:
        from huggingface_hub.hf_api import ExpandModelProperty_T

        known = set(typing.get_args(ExpandModelProperty_T))
    except Exception:  # pragma: no cover - older/newer layouts: the server will tell us
        return
    unknown = sorted(set(EXPAND) - known)
    if unknown:  # pragma: no cover
        raise AtomdataError(f"huggingface_hub does not list these expand fields for models: {', '.join(unknown)}")


# --------------------------------------------------------------------------------------------
# query


@dataclass
class Query:
    """What a run lists. Stored in the checkpoint; ``--resume`` must ask for the same."""

    mode: str = "first-party"
    orgs: list[str] = field(default_factory=list)
    depth: int = 1
    trending: int | None = None
    page_size: int = MAX_PAGE_SIZE
    endpoint: str = "https://huggingface.co"
    expand: list[str] = field(default_factory=lambda: list(EXPAND))

    def as_dict(self) -> dict:
        return {"mode": self.mode, "orgs": list(self.orgs), "depth": self.depth, "trending": self.trending,
                "page_size": self.page_size, "endpoint": self.endpoint, "expand": list(self.expand)}


def read_orgs_file(path: Path) -> list[str]:
    """Organizations from a CSV file with an ``org`` column (other columns ignored)."""
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype="string", keep_default_na=False, na_values=[""])
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(path, f"unreadable organizations file: {exc}") from None
    if "org" not in df.columns:
        raise InputError(path, f"required column is missing (columns present: {', '.join(df.columns) or 'none'})", column="org")
    return check_orgs(df["org"].tolist(), path)


def check_orgs(orgs, where="--orgs") -> list[str]:
    orgs = [o.strip() if isinstance(o, str) else o for o in orgs]
    bad = [f"row {i}: {o!r}" for i, o in enumerate(orgs) if not isinstance(o, str) or not ORG_RE.fullmatch(o)]
    if bad:
        raise InputError(where, f"{len(bad)} values are not Hub namespaces", column="org", examples=bad)
    seen: dict[str, str] = {}
    dups = []
    for o in orgs:
        if o.lower() in seen:
            dups.append(o)
        seen.setdefault(o.lower(), o)
    if dups:
        raise InputError(where, f"{len(dups)} organizations are listed twice (case-insensitively)", column="org", examples=dups)
    if not orgs:
        raise InputError(where, "no organizations to list", column="org")
    return sorted(orgs, key=str.lower)


def check_query(query: Query, ancestors: int) -> None:
    """Refuse what cannot be listed before anything is written; ``query.orgs`` comes back checked
    and sorted (first-party) or empty (the other modes list no organizations)."""
    if query.mode not in MODES:
        raise InputError("--mode", f"'{query.mode}' is not one of {', '.join(MODES)}")
    if not 1 <= query.page_size <= MAX_PAGE_SIZE:
        raise InputError("--page-size", f"must be between 1 and {MAX_PAGE_SIZE}")
    if query.mode == "trending" and (query.trending is None or query.trending < 1):
        raise InputError("--trending", "must be a positive number of models")
    if query.mode == "first-party":
        query.orgs = check_orgs(query.orgs)
    else:
        query.orgs = []
    if query.depth < 0:
        raise InputError("--depth", "must be 0 or more")
    if ancestors < 0 or (ancestors and query.mode == "trending"):
        raise InputError("--ancestors", "must be 0 or more, and is not for --trending listings (a top N, not a model tree)")


# --------------------------------------------------------------------------------------------
# the run


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class Result:
    snapshot: store.Snapshot
    rows: int
    first_party: int
    derivatives: int
    orgs: int
    orgs_with_models: int
    listings: int
    stats: Stats
    seconds: float
    resumed: bool
    ancestors: dict | None = None  # the manifest's ancestors block, when --ancestors was given

    def summary(self) -> str:
        s = self.stats
        mode = self.snapshot.manifest.get("mode")
        parts = [f"{self.snapshot.name}: {self.rows} models ({mode})"]
        if mode == "first-party":
            parts.append(f"{self.first_party} first-party from {self.orgs_with_models} of {self.orgs} orgs")
        parts.append(f"{self.derivatives} derivatives")
        if self.ancestors:
            a = self.ancestors
            parts.append(f"{a['found']} ancestors added ({a['missing']} missing, {a['not_fetched']} not fetched, "
                         f"{a['requests']} requests)")
        parts += [f"{s.requests} requests", f"{s.retries} retries",
                  f"{s.rate_limited} rate-limited", f"{self.seconds:.1f} s"]
        return ", ".join(parts) + f" -> {self.snapshot.path}"


class Progress:
    """Callbacks for a progress display (no-ops by default)."""

    def listings(self, total: int) -> None: ...
    def page(self, listing: Listing, rows: int, stats: Stats) -> None: ...
    def listing_done(self, listing: Listing, stats: Stats) -> None: ...
    def wait(self, why: str, seconds: float) -> None: ...


@dataclass
class Run:
    """One run of :func:`ingest` once its checkpoint is open: what the steps share."""

    raw: Path
    name: str
    query: Query
    client: Client
    ckpt: Checkpoint
    listings: list[Listing]     # every listing planned so far, all phases
    started_at: str
    resumed: bool
    progress: Progress
    page_hook: Callable[[Listing, int], None] | None = None

    @property
    def stats(self) -> Stats:
        return self.client.stats


# -- plan


def _base_params(query: Query) -> list[tuple[str, str]]:
    return [("limit", str(query.page_size))] + [("expand", f) for f in query.expand]


def _initial_listings(client: Client, query: Query) -> list[Listing]:
    base = _base_params(query)
    if query.mode == "first-party":
        return [Listing(i, "author", org, 0, client.listing_url([("author", org)] + base)) for i, org in enumerate(query.orgs)]
    if query.mode == "full":
        return [Listing(0, "all", None, 0, client.listing_url(base))]
    limit = min(query.page_size, query.trending)
    params = [("sort", "trendingScore"), ("limit", str(limit))] + [("expand", f) for f in query.expand]
    return [Listing(0, "trending", str(query.trending), 0, client.listing_url(params))]


def _next_phase(ckpt: Checkpoint, client: Client, query: Query, listings: list[Listing], phase: int) -> list[Listing]:
    """Derivative listings for phase ``phase + 1``: models found in ``phase`` that have children."""
    done_bases = {x.value for x in listings if x.kind == "base"}
    tables = ckpt.read_pages([x for x in listings if x.phase == phase], columns=["id", "childrenModelCount"])
    if not tables:
        return []
    t = pa.concat_tables(tables)
    kids = t.column("childrenModelCount")
    has_kids = pc.fill_null(pc.greater(kids, 0), True)  # unknown: ask
    ids = pc.unique(pc.filter(t.column("id"), has_kids)).to_pylist()
    ids = sorted(i for i in ids if i not in done_bases)
    start = max((x.index for x in listings), default=-1) + 1
    base = _base_params(query)
    return [Listing(start + k, "base", i, phase + 1, client.listing_url([("filter", f"base_model:{i}")] + base))
            for k, i in enumerate(ids)]


# -- open the checkpoint: a new run, or the interrupted one (--resume)


def _open(raw: Path, name: str, date: str, query: Query, client: Client, resume: bool,
          progress: Progress, page_hook) -> Run:
    """The run's checkpoint, locked: the interrupted run's (``resume``) or a new one in a new
    temporary folder, with the listings of phase 0 planned."""
    wanted = query.as_dict()
    found = Checkpoint.find(raw, name)
    if len(found) > 1:
        raise HubError(f"{raw}: several interrupted runs for {name}: {', '.join(p.name for p in found)}; delete all but one")
    if found and not resume:
        raise HubError(f"{found[0]}: an interrupted run for {name} is waiting there; re-run with --resume to continue it "
                       f"or delete that folder to start again")
    if found:
        ckpt, listings, started_at = _resume(found[0], wanted, client.stats)
    else:
        ckpt = Checkpoint(store.new_snapshot_dir(raw, name))
        ckpt.lock()
        started_at = _now()
        ckpt.write_query({"name": name, "date": date, "started_at": started_at, "query": wanted})
        listings = _initial_listings(client, query)
        ckpt.write_plan(0, listings)
    return Run(raw, name, query, client, ckpt, listings, started_at, bool(found), progress, page_hook)


def _resume(path: Path, wanted: dict, stats: Stats) -> tuple[Checkpoint, list[Listing], str]:
    """Lock the interrupted run's checkpoint, check it listed the same, and replay its journal."""
    ckpt = Checkpoint(path)
    ckpt.lock()
    info = ckpt.read_query()
    if info.get("query") != wanted:
        ckpt.unlock()
        diff = sorted(k for k in wanted if info.get("query", {}).get(k) != wanted[k])
        raise HubError(f"{path}: the interrupted run listed something else (differs in: {', '.join(diff)}); "
                       f"resume with the same options or delete that folder")
    listings = ckpt.read_plans()
    ckpt.replay(listings, stats)
    return ckpt, listings, info["started_at"]


# -- run the listings, phase by phase, each page checkpointed


def _list_all(run: Run) -> None:
    """Complete every planned listing; in first-party mode, plan and list the next phase (the
    derivatives of the models found) until ``depth`` or until no model has children."""
    query = run.query
    while True:
        run.progress.listings(len(run.listings))
        for x in run.listings:
            _list_pages(run, x)
            run.progress.listing_done(x, run.stats)
        phase = max(x.phase for x in run.listings)
        if query.mode != "first-party" or phase >= query.depth:
            return
        new = _next_phase(run.ckpt, run.client, query, run.listings, phase)
        if not new:
            return
        run.ckpt.write_plan(phase + 1, new)
        run.listings = run.listings + new


def _list_pages(run: Run, x: Listing) -> None:
    """The pages of one listing that the journal does not hold yet; each is parsed completely
    (a record the Hub cannot hold ends the run) before it is committed to the journal."""
    client, stats = run.client, run.stats
    while not x.done:
        url = x.url if x.pages == 0 else x.next
        items, nxt = client.get_page(url)
        if x.kind == "trending":
            keep = run.query.trending - x.rows
            if len(items) >= keep:
                items, nxt = items[:keep], None
        try:
            table = page_table(items)
        except BadPage as exc:
            raise HubError(client.scrub(f"{url}: {exc}")) from None
        run.ckpt.commit_page(x, table, nxt, stats)
        stats.pages += 1
        stats.models += table.num_rows
        run.progress.page(x, table.num_rows, stats)
        if run.page_hook is not None:
            run.page_hook(x, x.pages)


# -- the snapshot's data: the pages combined, the ancestors added


def _write_data(run: Run, ancestors: int, max_requests: int | None, cache: Path) -> tuple[pa.Table, dict | None, str]:
    """Combine the pages, add the missing ancestors (``ancestors`` requests at most, 0: none) and
    write the data file into the temporary folder. Returns the table, the manifest's ancestors
    block (None without ``ancestors``) and the time the data was complete."""
    table = combine(run.ckpt.read_pages(run.listings))
    finished_at = _now()
    if table.num_rows == 0:
        raise HubError(f"{run.client.endpoint}: the listing returned no models ({len(run.listings)} listings, "
                       f"{run.stats.requests} requests); nothing to snapshot. Check --orgs, --endpoint and the token; "
                       f"delete {run.ckpt.tmp} before trying again")
    anc = None
    if ancestors:
        anc, extra = complete_snapshot(run.client, table, ancestors, max_requests, cache)
        table = combine([table, extra])
        finished_at = _now()
    if store.find(run.raw, run.name) is not None:
        raise SnapshotError(f"{run.raw / run.name}: a snapshot named {run.name} appeared while listing; it is never overwritten")
    atomic_write_bytes(run.ckpt.tmp / store.DATA_FILE, parquet_bytes(table))
    return table, anc, finished_at


# -- stop: what a failed run leaves


def _stopped(run: Run, exc: BaseException, store_existed: bool) -> HubError | None:
    """A run failed or was interrupted by ``exc``: put its counters in the journal and unlock its
    checkpoint (kept for ``--resume``). Returns the error to raise instead of ``exc``, if any
    (:func:`_unreachable`)."""
    with contextlib.suppress(Exception):  # the counters of the last attempt (retries, waits)
        run.ckpt.note_requests(run.stats)
    run.ckpt.unlock()
    if isinstance(exc, Unreachable):
        return _unreachable(exc, run.ckpt, run.raw, fresh=not run.resumed and run.stats.pages == 0,
                            store_existed=store_existed)
    return None


def _unreachable(exc: Unreachable, ckpt: Checkpoint, raw: Path, fresh: bool, store_existed: bool) -> HubError:
    """The error that ends a run no request of which got an answer. A new run has listed nothing:
    its folder goes (it would only block the next run), and the store too if this run made it.
    A resumed run keeps the pages it had."""
    if not fresh:
        return HubError(f"{exc}; the checkpoint is kept: re-run with --resume")
    ckpt.unlock()
    shutil.rmtree(ckpt.tmp, ignore_errors=True)
    if not store_existed:
        with contextlib.suppress(OSError):
            raw.rmdir()  # only if empty
    return HubError(f"{exc}; nothing was stored")


# -- commit


def _counts(table: pa.Table, orgs: list[str]) -> dict:
    """The manifest's ``counts``: first-party rows, rows with a declared base, organizations."""
    fp_mask, deriv_mask = _masks(table, orgs)
    n_fp = int(pc.sum(fp_mask).as_py() or 0)
    authors = set(pc.utf8_lower(pc.filter(table.column("author"), fp_mask)).to_pylist()) if n_fp else set()
    return {"first_party": n_fp, "derivatives": int(pc.sum(deriv_mask).as_py() or 0),
            "orgs_listed": len(orgs), "orgs_with_models": len(authors)}


def _masks(table: pa.Table, orgs: list[str]) -> tuple[pa.Array, pa.Array]:
    """First-party rows (author in ``orgs``) and rows with a declared base."""
    author = pc.utf8_lower(pc.fill_null(table.column("author"), ""))
    fp = pc.is_in(author, value_set=pa.array([o.lower() for o in orgs], pa.string()))
    bm = table.column("baseModels")
    has_struct = pc.fill_null(pc.greater(pc.list_value_length(pc.struct_field(bm, "models")), 0), False)
    tags = table.column("tags").combine_chunks() if table.num_rows else pa.array([], pa.list_(pa.string()))
    if len(tags):
        flat = pc.list_flatten(tags)
        parents = pc.list_parent_indices(tags)
        hit = pc.filter(parents, pc.fill_null(pc.starts_with(flat, "base_model:"), False))
        has_tag = pc.is_in(pa.array(range(table.num_rows), pa.int64()), value_set=pc.cast(hit, pa.int64()))
    else:
        has_tag = pa.array([], pa.bool_())
    return fp, pc.or_(has_struct, has_tag)


def _manifest(run: Run, date: str, table: pa.Table, finished_at: str, counts: dict, license: str | None) -> dict:
    from huggingface_hub import __version__ as hfh_version

    query, client, stats = run.query, run.client, run.stats
    query_rec = {
        "mode": query.mode,
        "orgs": list(query.orgs),
        "depth": query.depth if query.mode == "first-party" else None,
        "filters": [f"base_model:{x.value}" for x in run.listings if x.kind == "base"],
        "sort": "trendingScore" if query.mode == "trending" else None,
        "top_n": query.trending if query.mode == "trending" else None,
        "expand": list(query.expand),
        "page_size": query.page_size,
    }
    return {
        **store.manifest(run.name, date, "hub", f"Hugging Face Hub API {client.endpoint}/api/models", license,
                         finished_at, table),
        "mode": query.mode,
        "query": query_rec,
        "huggingface_hub_version": hfh_version,
        "endpoint": client.endpoint,
        "authenticated": client.authenticated,
        "started_at": run.started_at,
        "finished_at": finished_at,
        "resumed": run.resumed,
        "listings": len(run.listings),
        "pages": stats.pages,
        "requests": stats.requests,
        "retries": stats.retries,
        "rate_limited": stats.rate_limited,
        "counts": counts,
    }


def ingest(raw: Path, date: str, query: Query, *, token: str | None = None, suffix: str | None = None,
           resume: bool = False, policy: RetryPolicy | None = None, max_requests: int | None = None,
           license: str | None = None, progress: Progress | None = None,
           page_hook: Callable[[Listing, int], None] | None = None, ancestors: int = 0,
           ancestor_cache: Path | None = None) -> Result:
    """List the Hub as ``query`` says and commit one snapshot (see the module docstring).

    ``ancestors``: at most this many requests for the declared bases the listing lacks (0: none);
    ``ancestor_cache``: their lineage cache (default ``<raw>/.cache/lineage-cache.json``)."""
    t0 = time.monotonic()
    _check_expand()
    progress = progress or Progress()
    check_query(query, ancestors)
    store.parse_date(date)
    name = store.snapshot_name(date, suffix)
    query.endpoint = check_endpoint(query.endpoint)
    raw = Path(raw)
    store_existed = raw.is_dir()
    existing = store.find(raw, name)
    if existing is not None:
        raise SnapshotError(f"{existing.path}: a snapshot named {name} already exists and snapshots are never overwritten; "
                            f"use another --date (or --suffix) for a new listing")

    client = Client(query.endpoint, token, policy, Stats(), max_requests=max_requests, on_wait=progress.wait)
    query.endpoint = client.endpoint
    run = _open(raw, name, date, query, client, resume, progress, page_hook)
    client.on_request = lambda: run.ckpt.note_requests(run.stats)
    try:
        _list_all(run)
        table, anc, finished_at = _write_data(run, ancestors, max_requests,
                                              ancestor_cache or raw / ".cache" / "lineage-cache.json")
    except BaseException as exc:
        replacement = _stopped(run, exc, store_existed)
        if replacement is not None:
            raise replacement from None
        raise

    counts = _counts(table, query.orgs)
    manifest = _manifest(run, date, table, finished_at, counts, license)
    if anc is not None:
        manifest["ancestors"] = anc
    run.ckpt.remove()
    snap = store.commit_snapshot(run.ckpt.tmp, raw, name, manifest)
    return Result(snap, table.num_rows, counts["first_party"], counts["derivatives"], len(query.orgs),
                  counts["orgs_with_models"], len(run.listings), run.stats, time.monotonic() - t0, run.resumed, anc)
