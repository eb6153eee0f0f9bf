"""A fake Hugging Face Hub serving ``/api/models`` on 127.0.0.1, with fault injection.

Subclasses serve other routes by overriding ``serve`` (``fakearchive.FakeArchive``: a dataset
repo's history); GET, HEAD and POST all reach it, a request body is read first (``h.body``).

Serves real model records (read at test time from ``../shared/data``, else from the committed
subset ``tests/fixtures/data``) the way the
Hub API does: a JSON list per page, ``Link: <...>; rel="next"`` pagination with an opaque
``cursor``, and the ``author``, ``filter`` (repeatable, all must match a tag), ``search``,
``sort``/``direction``, ``limit`` and ``expand``/``expand[]`` parameters. ``childrenModelCount``
is computed from the records' ``base_model:`` tags.

Faults (per request number, either scheduled or drawn with a seeded RNG):

``429``       status 429 with ``Retry-After`` (seconds, default 0)
``ratelimit`` status 429 with the IETF ``RateLimit: "api";r=0;t=0`` header instead
``500``       a burst of ``burst`` consecutive 500 responses
``drop``      the connection is closed without a response
``truncate``  status 200, body cut in half (``Content-Length`` matches the cut body)
``short``     status 200, ``Content-Length`` of the full body but only half sent, then closed
``slow``      the response comes after ``slow`` seconds (longer than the client's timeout)
``html``      status 200 with an HTML error page
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import random
import socket
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pyarrow.parquet as pq

from testdata import DATA, SHARED  # noqa: F401  (SHARED: the full series, which may be absent)

# the full shared series when it is there, else the committed fixtures (see testdata.py)
HUB_STATS = DATA / "hub-stats" / "2026-08-01" / "models.parquet"
TRENDING = DATA / "hub-trending" / "2026-05-04" / "models.parquet"

DEFAULT_FIELDS = ("likes", "trendingScore", "private", "downloads", "tags", "pipeline_tag", "library_name", "createdAt")
FAULTS = ("429", "ratelimit", "500", "drop", "truncate", "short", "slow", "html")


def _iso(value):
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _object_id(model_id: str) -> str:
    return hashlib.sha1(model_id.encode()).hexdigest()[:24]


def _api_record(row: dict) -> dict:
    """A parquet row in the shape the Hub API returns (null fields left out)."""
    out = {"_id": _object_id(row["id"]), "id": row["id"], "modelId": row["id"], "private": False}
    for k, v in row.items():
        if v is None or k in ("id",):
            continue
        if isinstance(v, dt.datetime):
            v = _iso(v)
        elif k == "safetensors":
            params = {d: int(n) for d, n in (v.get("parameters") or {}).items() if n is not None}
            v = {"parameters": params, "total": int(v["total"]) if v.get("total") is not None else None}
        out[k] = v
    return out


def load_records(stats_path: Path = HUB_STATS, trending_path: Path = TRENDING) -> list[dict]:
    """The real records the fake Hub holds: a hub-stats snapshot plus a trending listing.

    Models in both keep the hub-stats row and take ``trendingScore`` from the trending listing;
    every other model has ``trendingScore`` 0, as on the Hub.
    """
    stats = pq.read_table(stats_path).to_pylist()
    trend = pq.read_table(trending_path).to_pylist()
    score = {r["id"]: r["trendingScore"] for r in trend}
    have = {r["id"] for r in stats}
    rows = [dict(r, trendingScore=score.get(r["id"], 0.0)) for r in stats]
    rows += [r for r in trend if r["id"] not in have]
    recs = [_api_record(r) for r in rows]
    children: dict[str, int] = defaultdict(int)
    for r in recs:
        for t in r.get("tags") or []:
            if t.startswith("base_model:") and t.count(":") == 1:
                children[t[len("base_model:"):]] += 1
    for r in recs:
        r["childrenModelCount"] = children.get(r["id"], 0)
    return sorted(recs, key=lambda r: r["id"])


def scaled(records: list[dict], copies: int) -> list[dict]:
    """``copies`` copies of the records with distinct ids (benchmarks only)."""
    out = []
    for c in range(copies):
        for r in records:
            rid = r["id"] if c == 0 else f"{r['id']}-copy{c}"
            out.append(dict(r, id=rid, modelId=rid, _id=_object_id(rid)))
    return sorted(out, key=lambda r: r["id"])


class FakeHub:
    """``with FakeHub(records) as hub: HfApi(endpoint=hub.url)``."""

    def __init__(self, records: list[dict], *, faults: dict[int, str] | None = None, fault_rate: float = 0.0,
                 fault_kinds=FAULTS, seed: int = 0, retry_after: int = 0, burst: int = 2, slow: float = 1.0,
                 max_page: int = 1000, hook=None):
        self.records = records
        self.by_author: dict[str, list[int]] = defaultdict(list)
        self.by_tag: dict[str, list[int]] = defaultdict(list)
        for i, r in enumerate(records):
            self.by_author[(r.get("author") or r["id"].split("/")[0]).lower()].append(i)
            for t in r.get("tags") or []:
                self.by_tag[t].append(i)
        self.faults = dict(faults or {})
        self.fault_rate = fault_rate
        self.fault_kinds = tuple(fault_kinds)
        self.rng = random.Random(seed)
        self.retry_after = retry_after
        self.burst = burst
        self.slow = slow
        self.max_page = max_page
        self.hook = hook
        self.lock = threading.Lock()
        self.requests = 0
        self.faulted: list[tuple[int, str]] = []
        self.auth_headers: list[str | None] = []
        self.paths: list[str] = []
        self._burst_left = 0
        self.server_seconds = 0.0  # time spent building answers (benchmarks subtract it)
        self.server = None
        self.url = None

    # -- lifecycle
    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    def start(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                # headers and body go out in two writes: without this, Nagle + delayed ACK add 40 ms
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *a):
                pass

            def do_GET(self):
                hub._handle(self)

            do_HEAD = do_POST = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        host, port = self.server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, client_address: None
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    # -- what the Hub holds
    def select(self, params: list[tuple[str, str]]) -> list[dict]:
        """Every record matching the query, in listing order (no pagination)."""
        q = defaultdict(list)
        for k, v in params:
            q[k.removesuffix("[]")].append(v)
        idx = None
        if q.get("author"):
            idx = set(self.by_author.get(q["author"][0].lower(), []))
        for f in q.get("filter", []):
            hit = set(self.by_tag.get(f, []))
            idx = hit if idx is None else idx & hit
        rows = [self.records[i] for i in sorted(idx)] if idx is not None else list(self.records)
        if q.get("search"):
            s = q["search"][0].lower()
            rows = [r for r in rows if s in r["id"].lower()]
        if q.get("sort"):
            key = q["sort"][0]
            asc = q.get("direction", ["-1"])[0] == "1"
            present = [r for r in rows if r.get(key) is not None]
            missing = [r for r in rows if r.get(key) is None]
            present.sort(key=lambda r: r["id"])
            present.sort(key=lambda r: r[key], reverse=not asc)
            rows = present + missing
        return rows

    def fields(self, record: dict, expand: list[str]) -> dict:
        keep = expand or DEFAULT_FIELDS
        out = {"_id": record["_id"], "id": record["id"]}
        if not expand:
            out["modelId"] = record["id"]
        for k in keep:
            if k in record:
                out[k] = record[k]
        return out

    # -- serving
    def _fault(self, n: int) -> str | None:
        with self.lock:
            if n in self.faults:
                kind = self.faults[n]
            elif self._burst_left > 0:
                self._burst_left -= 1
                return "500"
            elif self.fault_rate and self.rng.random() < self.fault_rate:
                kind = self.rng.choice(self.fault_kinds)
            else:
                return None
            if kind == "500":
                self._burst_left = self.burst - 1
            self.faulted.append((n, kind))
            return kind

    def _handle(self, h: BaseHTTPRequestHandler):
        t0 = time.perf_counter()
        try:
            self._answer(h)
        finally:
            with self.lock:
                self.server_seconds += time.perf_counter() - t0

    def _answer(self, h: BaseHTTPRequestHandler):
        with self.lock:
            self.requests += 1
            n = self.requests
            self.auth_headers.append(h.headers.get("authorization"))
            self.paths.append(h.path)
        if self.hook is not None:
            self.hook(n)
        length = int(h.headers.get("Content-Length") or 0)
        h.body = h.rfile.read(length) if length else b""  # read even when a fault answers: the connection is reused
        parts = urlsplit(h.path)
        self.serve(h, parts, n)

    def transport_fault(self, h, fault: str | None) -> bool:
        """Answer with a fault that needs no body of the API's (dropped connection, 429, 500,
        HTML page, slow answer); True when the request is answered."""
        if fault == "drop":
            h.close_connection = True
            with _quiet():
                h.connection.shutdown(socket.SHUT_RDWR)
            return True
        if fault in ("429", "ratelimit"):
            headers = {"Retry-After": str(self.retry_after)} if fault == "429" else {"RateLimit": '"api";r=0;t=0', "RateLimit-Policy": '"fixed window";"api";q=500;w=300'}
            self._send(h, 429, b'{"error":"rate limited"}', headers)
            return True
        if fault == "500":
            self._send(h, 500, b'{"error":"Internal Error"}')
            return True
        if fault == "html":
            self._send(h, 200, b"<html><body>502 Bad Gateway</body></html>", ctype="text/html")
            return True
        if fault == "slow":
            time.sleep(self.slow)
        return False

    def serve(self, h: BaseHTTPRequestHandler, parts, n: int):
        """Request ``n``: ``/api/models``, a page of the listing (subclasses serve other routes)."""
        if parts.path != "/api/models":
            return self._send(h, 404, json.dumps({"error": "Not Found"}).encode())
        params = parse_qsl(parts.query, keep_blank_values=True)
        fault = self._fault(n)
        if self.transport_fault(h, fault):
            return
        expand = [v for k, v in params if k in ("expand", "expand[]")]
        limit = min(int(dict(params).get("limit", self.max_page)), self.max_page)
        cursor = dict(params).get("cursor")
        start = json.loads(base64.urlsafe_b64decode(cursor.encode()))["offset"] if cursor else 0
        rows = self.select(params)
        page = [self.fields(r, expand) for r in rows[start:start + limit]]
        body = json.dumps(page).encode()
        headers = {}
        if start + limit < len(rows):
            nxt = base64.urlsafe_b64encode(json.dumps({"offset": start + limit}).encode()).decode()
            query = urlencode([(k, v) for k, v in params if k != "cursor"] + [("cursor", nxt)])
            headers["Link"] = f'<{self.url}/api/models?{query}>; rel="next"'
        if fault == "truncate":
            body = body[: len(body) // 2]
        if fault == "short":
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body)))
            for k, v in headers.items():
                h.send_header(k, v)
            h.end_headers()
            with _quiet():
                h.wfile.write(body[: len(body) // 2])
                h.wfile.flush()
                h.connection.shutdown(socket.SHUT_RDWR)
            h.close_connection = True
            return
        self._send(h, 200, body, headers)

    @staticmethod
    def _send(h, status, body, headers=None, ctype="application/json"):
        with _quiet():
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            h.end_headers()
            if h.command != "HEAD":  # a HEAD answer has the headers of a GET, never its body
                h.wfile.write(body)


class _quiet:
    """Ignore the client having gone away (timeouts, killed processes)."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        return exc_type is not None and issubclass(exc_type, OSError)
