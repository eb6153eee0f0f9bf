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

How this uses huggingface_hub
-----------------------------
``HfApi(endpoint=..., token=...)`` resolves the endpoint and the token (explicit, ``HF_TOKEN`` or
the ``hf auth login`` token), its ``build_hf_headers`` builds the request headers, requests go
through huggingface_hub's shared httpx2 session (``get_session``: honours ``set_client_factory``,
proxies and offline mode), errors are mapped by ``hf_raise_for_status`` and 429 rate-limit
headers are read with ``parse_ratelimit_headers``. The query parameters are encoded exactly as
``HfApi.list_models`` encodes them (``filter`` list, ``author``, ``sort``, ``limit``, ``expand``
list) and pages are followed through the ``Link: <...>; rel="next"`` header as
``huggingface_hub.utils._pagination`` does.

We drive the page loop ourselves instead of iterating ``list_models`` because its generator
yields one ``ModelInfo`` at a time with no page boundary or cursor (so no checkpoint and no
resume), dies on a truncated or non-JSON page (``r.json()`` is outside ``http_backoff``'s retry
loop), adds a fixed extra second to every ``Retry-After`` wait, gives no request or retry counts
and cannot be bounded by a request budget. Our retry layer (``ingest.client``, shared with
``ingest archive``) is the only one (huggingface_hub's
``http_backoff`` is not stacked under it): bounded exponential backoff on 429 (``Retry-After``
or the ``RateLimit`` header honoured), 408/5xx, connection errors, timeouts and bodies that are
cut off or are not a JSON list of models. A page is parsed and validated completely before it is
checkpointed; nothing is half-parsed into the snapshot.

Checkpoints
-----------
The run works inside the store's hidden temporary folder (``.tmp-NAME-*``) in ``.checkpoint/``:
``query.json`` (what is being listed), ``plan-K.json`` (the listings of phase K, written once),
``pages/TTTTT-PPPPP.parquet`` (one file per completed page) and ``journal.jsonl`` (one line per
completed page: listing, page, next-page URL, rows, sha256 of the page file; and one line of
counters before every request is sent and when the run stops; every line carries the run's
request, retry and rate-limit counts so far; synced about once a second). A crash loses at most
the page in flight; ``--resume`` replays the journal, verifies the page files and continues from
the next-page URL of each listing, so no model is missing or duplicated, and takes the counters
of the last line, so the manifest's ``requests`` and the ``--max-requests`` budget count every
request the snapshot cost across stops (failed attempts and ancestor lookups included). When all
listings are complete the pages are combined (duplicates across listings dropped, first listing
wins), sorted by id and written with fixed settings, so the same records give the same bytes;
the checkpoint is removed and the folder is committed with ``store.commit_snapshot`` (manifest
last, renamed into place, never overwriting).

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

The token is only ever put in the request headers: it is not written to the checkpoint, the
manifest, the log or an error message (messages are scrubbed of it in case a server echoes it).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import shutil
import time
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import AtomdataError, InputError, SnapshotError
from ..io import atomic_write_bytes, dumps_json, parquet_bytes, sha256_file
from ..version import code_version
from . import fields, store
from .client import RETRY_STATUS, HubError, RetryingClient, RetryPolicy, Stats, Unreachable, check_endpoint

#: Fields requested with ``expand[]``; ``childrenModelCount`` plans the derivative listings.
EXPAND = (
    "author", "baseModels", "childrenModelCount", "createdAt", "downloads", "downloadsAllTime",
    "lastModified", "library_name", "likes", "pipeline_tag", "safetensors", "tags", "trendingScore",
)
MODES = ("first-party", "full", "trending")
MAX_PAGE_SIZE = 1000
CHECKPOINT = ".checkpoint"
ORG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")

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


class BadPage(Exception):
    """A 200 response whose body is not a complete JSON list of models (retried)."""


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
    import pandas as pd

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


# --------------------------------------------------------------------------------------------
# HTTP with bounded retries (the retry layer is shared: ``ingest.client``)


class Client(RetryingClient):
    """GET one listing page at a time through huggingface_hub's session, with our retry layer."""

    def __init__(self, endpoint: str, token: str | None, policy: RetryPolicy | None = None, stats: Stats | None = None,
                 max_requests: int | None = None, sleep: Callable[[float], None] = time.sleep,
                 on_wait: Callable[[str, float], None] | None = None, on_request: Callable[[], None] | None = None):
        super().__init__(endpoint, token, policy, stats, max_requests, sleep, on_wait, on_request)
        origin = urlsplit(self.endpoint)
        self._origin = (origin.scheme, origin.netloc)

    def listing_url(self, params: list[tuple[str, str]]) -> str:
        import httpx2

        return str(httpx2.URL(f"{self.endpoint}/api/models", params=params))

    def check_url(self, url: str) -> None:
        """Follow only links back to the same endpoint (the token must not go anywhere else)."""
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != self._origin or not parts.path.endswith("/api/models"):
            raise HubError(f"{self.endpoint}: the Hub returned a next-page link to {parts.scheme}://{parts.netloc}{parts.path}, "
                           f"outside {self.endpoint}/api/models; refusing to follow it")

    def get_page(self, url: str) -> tuple[list[dict], str | None]:
        """The models of one page and the next page's URL (None at the end), retried as needed."""
        import httpx2
        from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled
        from huggingface_hub.utils import close_session, get_session, hf_raise_for_status

        self.check_url(url)
        attempt = 0
        while True:
            self.count_request()
            problem = None
            wait_for = None
            try:
                r = get_session().get(url, headers=self.headers, timeout=self.policy.timeout)
                self.reached = True
                if r.status_code in RETRY_STATUS:
                    problem, wait_for = self.failure_of(r.status_code, r.headers)
                else:
                    try:
                        hf_raise_for_status(r)
                    except HfHubHTTPError as exc:
                        hint = " (check the token: --token-env NAME or `hf auth login`)" if r.status_code in (401, 403) else ""
                        raise HubError(self.scrub(f"{url}: the Hub refused the listing{hint}: {exc}")) from None
                    models = self._parse(r)
                    nxt = r.links.get("next", {}).get("url")
                    if nxt is not None:
                        self.check_url(nxt)
                    return models, nxt
            except (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError, httpx2.DecodingError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
                if isinstance(exc, httpx2.ConnectError):
                    close_session()
            except BadPage as exc:
                problem = f"bad page: {exc}"
            except (httpx2.TransportError, httpx2.InvalidURL) as exc:  # not passing faults: a proxy, a protocol
                raise (HubError if self.reached else Unreachable)(self.scrub(f"{self.endpoint}: {type(exc).__name__}: {exc}")) from None
            except OfflineModeIsEnabled:
                raise HubError(f"{self.endpoint}: huggingface_hub is in offline mode (HF_HUB_OFFLINE is set); "
                               f"unset it to list the Hub") from None
            attempt += 1
            self.after_failure(attempt, problem, wait_for, url)

    @staticmethod
    def _parse(r) -> list[dict]:
        body = r.content
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadPage(f"{len(body)} bytes that are not JSON ({exc})") from None
        if not isinstance(data, list):
            raise BadPage(f"JSON {type(data).__name__}, not a list of models")
        for i, item in enumerate(data):
            if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
                raise BadPage(f"item {i} has no model id")
        return data


# --------------------------------------------------------------------------------------------
# JSON records -> Arrow


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


# --------------------------------------------------------------------------------------------
# checkpoint


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class Listing:
    """One listing (author, base-model filter, whole Hub or trending) and its progress."""

    index: int
    kind: str               # author | base | all | trending
    value: str | None
    phase: int
    url: str                # first page
    next: str | None = None
    pages: int = 0
    rows: int = 0
    done: bool = False
    files: list = field(default_factory=list)

    def plan_entry(self) -> dict:
        return {"index": self.index, "kind": self.kind, "value": self.value, "phase": self.phase, "url": self.url}


class Checkpoint:
    """The ``.checkpoint`` folder inside a snapshot's temporary folder."""

    def __init__(self, tmp: Path):
        self.tmp = Path(tmp)
        self.dir = self.tmp / CHECKPOINT
        self.pages = self.dir / "pages"
        self.journal = self.dir / "journal.jsonl"
        self._lock = None
        self._synced = 0.0

    # -- finding and locking
    @staticmethod
    def find(raw: Path, name: str) -> list[Path]:
        raw = Path(raw)
        if not raw.is_dir():
            return []
        prefix = f".tmp-{name}-"
        # the random tail of mkdtemp has no "-": `.tmp-2026-11-30-trending-x1` is not a 2026-11-30 run
        return sorted(p for p in raw.glob(prefix + "*")
                      if "-" not in p.name[len(prefix):] and (p / CHECKPOINT / "query.json").is_file())

    def lock(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        fh = open(self.dir / "lock", "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise HubError(f"{self.tmp}: another `atomdata ingest hub` is working on this checkpoint") from None
        self._lock = fh

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # -- query and plans
    def write_query(self, info: dict) -> None:
        self.pages.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.dir / "query.json", dumps_json(info).encode())

    def read_query(self) -> dict:
        try:
            return json.loads((self.dir / "query.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise HubError(f"{self.dir}: unreadable checkpoint ({exc}); delete {self.tmp} and start again") from None

    def plan_path(self, phase: int) -> Path:
        return self.dir / f"plan-{phase}.json"

    def write_plan(self, phase: int, listings: list[Listing]) -> None:
        atomic_write_bytes(self.plan_path(phase), dumps_json([x.plan_entry() for x in listings]).encode())

    def read_plans(self) -> list[Listing]:
        out: list[Listing] = []
        phase = 0
        while self.plan_path(phase).is_file():
            for e in json.loads(self.plan_path(phase).read_text(encoding="utf-8")):
                out.append(Listing(e["index"], e["kind"], e["value"], e["phase"], e["url"]))
            phase += 1
        return out

    # -- pages
    def page_file(self, listing: Listing, page: int) -> Path:
        return self.pages / f"{listing.index:05d}-{page:05d}.parquet"

    def commit_page(self, listing: Listing, table: pa.Table, nxt: str | None, stats: Stats) -> None:
        """Write the page file, then append its journal line (the commit point).

        No fsync per page: a process crash (kill, Ctrl-C) loses nothing the kernel has, and after
        a power loss :meth:`replay` verifies every page against its sha256 and lists again from
        the first page that did not survive. The journal is synced about once a second.
        """
        rel = None
        digest = None
        if table.num_rows:
            path = self.page_file(listing, listing.pages)
            data = parquet_bytes(table)
            part = path.with_suffix(".part")
            part.write_bytes(data)
            os.replace(part, path)
            rel = path.name
            digest = hashlib.sha256(data).hexdigest()
        line = {"listing": listing.index, "page": listing.pages, "next": nxt, "rows": table.num_rows, "file": rel,
                "sha256": digest, **stats.journal_fields()}
        self._append(line)
        listing.pages += 1
        listing.rows += table.num_rows
        listing.next = nxt
        listing.done = nxt is None
        if rel:
            listing.files.append(rel)

    def note_requests(self, stats: Stats) -> None:
        """Append a counters-only line (no page): called before every request is sent and when a
        run stops, so a resumed run counts the requests that completed no page too (failed
        attempts, ancestor lookups) in the manifest and against ``--max-requests``."""
        self._append(stats.journal_fields())

    def _append(self, line: dict) -> None:
        with open(self.journal, "a", encoding="utf-8") as f:
            f.write(json.dumps(line, sort_keys=True) + "\n")
            f.flush()
            if time.monotonic() - self._synced >= 1.0:
                os.fsync(f.fileno())
                self._synced = time.monotonic()

    def replay(self, listings: list[Listing], stats: Stats) -> None:
        """Apply the journal to the planned listings.

        The journal is append-only, so it is read up to its first unreadable line (the one being
        written when the run stopped). A listing whose page file is missing or does not match its
        sha256 resumes from that page; its later lines are dropped. Every line carries the run's
        counters so far (page lines and counters-only lines), so ``stats`` ends with the last
        line's; when lines are dropped, a counters-only line keeps those counters.
        """
        if not self.journal.is_file():
            return
        by_index = {x.index: x for x in listings}
        broken: set[int] = set()
        kept: list[str] = []
        with open(self.journal, encoding="utf-8", errors="replace") as f:
            lines = f.read().split("\n")
        complete = len(lines)
        for n, raw_line in enumerate(lines):
            if not raw_line.strip():
                continue
            try:
                e = json.loads(raw_line)
                if "listing" not in e:  # counters only
                    stats.restore(e)
                    kept.append(raw_line)
                    continue
                key = (e["listing"], e["page"], e["next"], e["rows"], e["file"], e["sha256"], e["requests"], e["retries"])
            except (ValueError, KeyError, TypeError):
                complete = n
                break
            stats.restore(e)
            x = by_index.get(key[0])
            if x is None or x.index in broken:
                continue
            if e["page"] != x.pages:
                raise HubError(f"{self.journal}: line {n + 1} does not follow the plan; delete {self.tmp} and start again")
            if e["file"]:
                path = self.pages / e["file"]
                if not path.is_file() or sha256_file(path) != e["sha256"]:
                    broken.add(x.index)
                    continue
                x.files.append(e["file"])
            x.pages += 1
            x.rows += e["rows"]
            x.next = e["next"]
            x.done = e["next"] is None
            stats.pages += 1
            stats.models += e["rows"]
            kept.append(raw_line)
        if broken or complete < len(lines):
            kept.append(json.dumps(stats.journal_fields(), sort_keys=True))
            atomic_write_bytes(self.journal, "".join(line + "\n" for line in kept).encode())

    def read_pages(self, listings: list[Listing], columns=None) -> list[pa.Table]:
        return [pq.read_table(self.pages / f, columns=columns) for x in listings for f in x.files]

    def remove(self) -> None:
        self.unlock()
        shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# the run


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
    store.parse_date(date)
    name = store.snapshot_name(date, suffix)
    query.endpoint = check_endpoint(query.endpoint)
    raw = Path(raw)
    store_existed = raw.is_dir()
    existing = store.find(raw, name)
    if existing is not None:
        raise SnapshotError(f"{existing.path}: a snapshot named {name} already exists and snapshots are never overwritten; "
                            f"use another --date (or --suffix) for a new listing")

    stats = Stats()
    client = Client(query.endpoint, token, policy, stats, max_requests=max_requests, on_wait=progress.wait)
    query.endpoint = client.endpoint
    wanted = query.as_dict()

    found = Checkpoint.find(raw, name)
    if len(found) > 1:
        raise HubError(f"{raw}: several interrupted runs for {name}: {', '.join(p.name for p in found)}; delete all but one")
    resumed = False
    if found and not resume:
        raise HubError(f"{found[0]}: an interrupted run for {name} is waiting there; re-run with --resume to continue it "
                       f"or delete that folder to start again")
    if found:
        ckpt = Checkpoint(found[0])
        ckpt.lock()
        info = ckpt.read_query()
        if info.get("query") != wanted:
            ckpt.unlock()
            diff = sorted(k for k in wanted if info.get("query", {}).get(k) != wanted[k])
            raise HubError(f"{found[0]}: the interrupted run listed something else (differs in: {', '.join(diff)}); "
                           f"resume with the same options or delete that folder")
        started_at = info["started_at"]
        listings = ckpt.read_plans()
        ckpt.replay(listings, stats)
        resumed = True
    else:
        tmp = store.new_snapshot_dir(raw, name)
        ckpt = Checkpoint(tmp)
        ckpt.lock()
        started_at = _now()
        ckpt.write_query({"name": name, "date": date, "started_at": started_at, "query": wanted})
        listings = _initial_listings(client, query)
        ckpt.write_plan(0, listings)
    client.on_request = lambda: ckpt.note_requests(stats)

    try:
        while True:
            progress.listings(len(listings))
            for x in listings:
                while not x.done:
                    url = x.url if x.pages == 0 else x.next
                    items, nxt = client.get_page(url)
                    if x.kind == "trending":
                        keep = query.trending - x.rows
                        if len(items) >= keep:
                            items, nxt = items[:keep], None
                    try:
                        table = page_table(items)
                    except BadPage as exc:
                        raise HubError(client.scrub(f"{url}: {exc}")) from None
                    ckpt.commit_page(x, table, nxt, stats)
                    stats.pages += 1
                    stats.models += table.num_rows
                    progress.page(x, table.num_rows, stats)
                    if page_hook is not None:
                        page_hook(x, x.pages)
                progress.listing_done(x, stats)
            phase = max(x.phase for x in listings)
            if query.mode != "first-party" or phase >= query.depth:
                break
            new = _next_phase(ckpt, client, query, listings, phase)
            if not new:
                break
            ckpt.write_plan(phase + 1, new)
            listings = listings + new

        table = combine(ckpt.read_pages(listings))
        finished_at = _now()
        if table.num_rows == 0:
            raise HubError(f"{client.endpoint}: the listing returned no models ({len(listings)} listings, "
                           f"{stats.requests} requests); nothing to snapshot. Check --orgs, --endpoint and the token; "
                           f"delete {ckpt.tmp} before trying again")
        anc = None
        if ancestors:
            anc, extra = _complete_ancestors(client, table, ancestors, max_requests,
                                             ancestor_cache or Path(raw) / ".cache" / "lineage-cache.json")
            table = combine([table, extra])
            finished_at = _now()
        if store.find(raw, name) is not None:
            raise SnapshotError(f"{raw / name}: a snapshot named {name} appeared while listing; it is never overwritten")
        atomic_write_bytes(ckpt.tmp / store.DATA_FILE, parquet_bytes(table))
    except BaseException as exc:
        with contextlib.suppress(Exception):  # the counters of the last attempt (retries, waits)
            ckpt.note_requests(stats)
        ckpt.unlock()
        if isinstance(exc, Unreachable):
            raise _unreachable(exc, ckpt, raw, fresh=not resumed and stats.pages == 0, store_existed=store_existed) from None
        raise

    fp_mask, deriv_mask = _masks(table, query.orgs)
    n_fp = int(pc.sum(fp_mask).as_py() or 0)
    n_deriv = int(pc.sum(deriv_mask).as_py() or 0)
    authors = set(pc.utf8_lower(pc.filter(table.column("author"), fp_mask)).to_pylist()) if n_fp else set()
    from huggingface_hub import __version__ as hfh_version

    base_filters = [f"base_model:{x.value}" for x in listings if x.kind == "base"]
    query_rec = {
        "mode": query.mode,
        "orgs": list(query.orgs),
        "depth": query.depth if query.mode == "first-party" else None,
        "filters": base_filters,
        "sort": "trendingScore" if query.mode == "trending" else None,
        "top_n": query.trending if query.mode == "trending" else None,
        "expand": list(query.expand),
        "page_size": query.page_size,
    }
    manifest = {
        "name": name,
        "date": date,
        "kind": "hub",
        "mode": query.mode,
        "source": f"Hugging Face Hub API {client.endpoint}/api/models",
        "license": license,
        "retrieved_at": finished_at,
        "rows": table.num_rows,
        "data_file": store.DATA_FILE,
        "fields": sorted(table.column_names),
        "atomdata_version": code_version(),
        "query": query_rec,
        "huggingface_hub_version": hfh_version,
        "endpoint": client.endpoint,
        "authenticated": client.authenticated,
        "started_at": started_at,
        "finished_at": finished_at,
        "resumed": resumed,
        "listings": len(listings),
        "pages": stats.pages,
        "requests": stats.requests,
        "retries": stats.retries,
        "rate_limited": stats.rate_limited,
        "counts": {"first_party": n_fp, "derivatives": n_deriv, "orgs_listed": len(query.orgs), "orgs_with_models": len(authors)},
    }
    if anc is not None:
        manifest["ancestors"] = anc
    ckpt.remove()
    snap = store.commit_snapshot(ckpt.tmp, raw, name, manifest)
    return Result(snap, table.num_rows, n_fp, n_deriv, len(query.orgs), len(authors), len(listings), stats,
                  time.monotonic() - t0, resumed, anc)


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


#: API fields that change over time: left empty in ancestor rows (a cached answer may be old)
_COUNTERS = ("downloads", "downloadsAllTime", "likes", "trendingScore", "childrenModelCount", "lastModified")


def _complete_ancestors(client: Client, table: pa.Table, budget: int, max_requests: int | None,
                        cache: Path) -> tuple[dict, pa.Table]:
    """Fetch the missing ancestors of ``table`` (``ingest.ancestors``) within ``budget`` requests
    (and what is left of ``max_requests``). Returns the manifest block and the rows to add.

    After a resume, ``client.stats`` holds what the stopped run spent (journal): its lookups count
    against ``budget`` and in the block's ``requests``; the answers it got come from the cache."""
    from . import ancestors as ancestry

    spent = client.stats.ancestor_requests
    left = max(0, budget - spent)
    if max_requests is not None:
        left = max(0, min(left, max_requests - client.stats.requests))
    budget = spent + left
    done = ancestry.complete(client, table, max_fetch=left, cache=cache)
    rows = done.table.to_pylist()
    for r in rows:
        r.update(dict.fromkeys(_COUNTERS))
    extra = pa.Table.from_pylist(rows, schema=SCHEMA) if rows else SCHEMA.empty_table()
    ids = {s: sorted(m for m, v in done.status.items() if v == s) for s in ("found", "missing", "not_fetched")}
    block = {"max_requests": budget, "requests": client.stats.ancestor_requests, "looked_up": len(done.status),
             "found": len(ids["found"]), "missing": len(ids["missing"]), "not_fetched": len(ids["not_fetched"]),
             "found_ids": ids["found"], "missing_ids": ids["missing"], "not_fetched_ids": ids["not_fetched"],
             "fields": list(ancestry.FIELDS)}
    return block, extra


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
