"""The retry layer shared by every command that talks to the Hub (``ingest hub``, ``ingest archive``).

Why one layer: rate limits (429) and server errors (408, 5xx) must be retried the same bounded
way everywhere (``Retry-After`` or the ``RateLimit`` header honoured, exponential backoff
otherwise, a stop when the Hub asks to wait too long), the waits must reach the progress bar,
and every request must be counted for the manifest. ``ingest hub`` drives its own page loop
(:class:`RetryingClient`, subclassed by ``listing_client.Client``); ``ingest archive`` goes through
huggingface_hub's own methods (``HfApi``, ``HfFileSystem``, ``hf_hub_download``), so the same
decisions sit under them as an httpx2 transport (:class:`RetryTransport`), installed with
huggingface_hub's public ``set_client_factory`` for the duration of a run
(:func:`hub_session`). huggingface_hub's own ``http_backoff`` stays above it and then only sees
answers that are final; a body cut off after the headers is still retried by it (range reads)
or resumed by ``hf_hub_download``.

The endpoint is always passed explicitly (:func:`default_endpoint` reads ``HF_ENDPOINT`` when a
command runs): huggingface_hub reads ``HF_ENDPOINT`` once, at import, into ``constants.ENDPOINT``.
The token is only ever put in request headers; messages are scrubbed of it.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import os
import random
import re
import time
from dataclasses import dataclass
from typing import Callable

import httpx2

from ..errors import AtomdataError, InputError
from ..version import code_version

RETRY_STATUS = (408, 429, 500, 502, 503, 504)
DEFAULT_ENDPOINT = "https://huggingface.co"


def default_endpoint() -> str:
    """``$HF_ENDPOINT`` as it is now (not as it was when huggingface_hub was imported)."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


class HubError(AtomdataError):
    """A request to the Hub failed after its retries, or a run cannot go on (resumable)."""


class Unreachable(HubError):
    """No request got an answer from the endpoint (no network, a refused port, an unknown host).
    The message says why; the command adds what became of the run's folder."""


#: an endpoint: http(s), a host name or address, an optional port and path prefix
ENDPOINT_RULE = "must be an http:// or https:// URL with a host, such as https://huggingface.co"
HOST_RE = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?)+$|^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$")


def check_endpoint(endpoint) -> str:
    """The endpoint as given, if the client can use it; an :class:`InputError` in one line naming
    it otherwise (``ftp://x``, ``notaurl``, ``http://``, ``http://256.1.1.1:1``), before anything
    is written to the store."""
    text = str(endpoint)
    try:
        url = httpx2.URL(text)
        port = url.port
    except (httpx2.InvalidURL, TypeError, ValueError) as exc:
        raise InputError("--endpoint", f"{text!r} is not a usable URL ({exc}); it {ENDPOINT_RULE}") from None
    problem = None
    if url.scheme not in ("http", "https") or not url.host:
        problem = ENDPOINT_RULE
    elif not HOST_RE.match(url.host) or (port is not None and not 1 <= port <= 65535):
        problem = f"has no valid host name and port; it {ENDPOINT_RULE}"
    elif url.userinfo or url.query or url.fragment:
        problem = "must not hold a user name, password, query or fragment (give the token with --token-env)"
    if problem:
        raise InputError("--endpoint", f"{text!r} {problem}")
    return text


@dataclass
class RetryPolicy:
    max_retries: int = 8          # per request, after the first attempt
    backoff: float = 1.0          # first wait, doubled each retry (with jitter)
    max_backoff: float = 60.0     # cap of one backoff wait
    max_retry_after: float = 900.0  # a server asking for a longer wait stops the run (resumable)
    timeout: float = 60.0         # per request (connect, read)


@dataclass
class Stats:
    requests: int = 0           # HTTP requests sent (every attempt, failed ones and retries included)
    retries: int = 0
    rate_limited: int = 0
    waited: float = 0.0
    pages: int = 0
    models: int = 0
    ancestor_requests: int = 0  # of ``requests``: ancestor lookups (``ingest.ancestors``), retries not counted
    bytes: int = 0              # response body bytes received (as sent: before any content decoding)

    def journal_fields(self) -> dict:
        """The counters a journal line carries (cumulative: the last line read is the run's total)."""
        return {"requests": self.requests, "retries": self.retries, "rate_limited": self.rate_limited,
                "waited": round(self.waited, 3), "ancestor_requests": self.ancestor_requests}

    def restore(self, line: dict) -> None:
        self.requests, self.retries = line["requests"], line["retries"]
        self.rate_limited, self.waited = line.get("rate_limited", 0), line.get("waited", 0.0)
        self.ancestor_requests = line.get("ancestor_requests", 0)


def retry_after(headers) -> float | None:
    """Seconds from ``RateLimit`` (when exhausted) or ``Retry-After`` (delay or HTTP date)."""
    from huggingface_hub.utils import parse_ratelimit_headers

    with contextlib.suppress(Exception):
        info = parse_ratelimit_headers(headers)
        if info is not None and info.remaining == 0 and info.reset_in_seconds is not None:
            return float(info.reset_in_seconds)
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    with contextlib.suppress(Exception):
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())
    return None


class RetryingClient:
    """Bounded retries against one endpoint: counts requests, keeps a budget, waits or gives up."""

    #: what the messages that end a run say about going on
    resume_hint = "the checkpoint is kept: re-run with --resume"

    def __init__(self, endpoint: str, token: str | None, policy: RetryPolicy | None = None, stats: Stats | None = None,
                 max_requests: int | None = None, sleep: Callable[[float], None] = time.sleep,
                 on_wait: Callable[[str, float], None] | None = None, on_request: Callable[[], None] | None = None):
        from huggingface_hub import HfApi
        from huggingface_hub.utils import build_hf_headers

        self.api = HfApi(endpoint=endpoint, token=token)
        self.endpoint = self.api.endpoint.rstrip("/")
        self.token = token
        # token=None lets huggingface_hub find HF_TOKEN or the login token, as HfApi would
        self.headers = build_hf_headers(token=token, library_name="atomdata", library_version=code_version())
        self.authenticated = "authorization" in {k.lower() for k in self.headers}
        self._secret = token or self.header_token()
        self.policy = policy or RetryPolicy()
        self.stats = stats or Stats()
        self.max_requests = max_requests
        self.sleep = sleep
        self.on_wait = on_wait
        self.on_request = on_request  # called once a request is counted, just before it is sent
        self.reached = False      # has any request got an HTTP answer yet?
        self.last_problem = None  # the last failure, for the messages that end a run

    def header_token(self) -> str | None:
        for k, v in self.headers.items():
            if k.lower() == "authorization" and v.lower().startswith("bearer "):
                return v[7:]
        return None

    def scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    def wait(self, seconds: float, why: str) -> None:
        self.stats.waited += seconds
        if self.on_wait:
            self.on_wait(why, seconds)
        self.sleep(seconds)

    def count_request(self) -> None:
        """Count one attempt before it is sent; stop (resumably) when the budget is spent."""
        if self.max_requests is not None and self.stats.requests >= self.max_requests:
            last = f" (last failure: {self.last_problem})" if self.last_problem else ""
            raise HubError(self.scrub(f"request budget of {self.max_requests} reached ({self.stats.requests} requests made){last}; "
                                      f"{self.resume_hint} and a larger --max-requests"))
        self.stats.requests += 1
        if self.on_request is not None:
            self.on_request()

    def after_failure(self, attempt: int, problem: str, wait_for: float | None, url: str) -> None:
        """Attempt ``attempt`` failed with ``problem``: wait before the next one, or give up."""
        pol = self.policy
        self.last_problem = problem
        if not self.reached and problem.startswith("ConnectError") and attempt > min(1, pol.max_retries):
            # never reached the endpoint at all: no network or a wrong endpoint, not a passing fault
            raise Unreachable(self.scrub(f"cannot connect to {self.endpoint} ({problem}) after {attempt} attempts: "
                                         f"is the network up? (--endpoint or HF_ENDPOINT)"))
        if attempt > pol.max_retries:
            if not self.reached:
                raise Unreachable(self.scrub(f"{self.endpoint}: no answer after {attempt} attempts (last: {problem})"))
            raise HubError(self.scrub(f"{url}: gave up after {attempt} attempts (last: {problem}); {self.resume_hint}"))
        self.stats.retries += 1
        if wait_for is not None:
            if wait_for > pol.max_retry_after:
                raise HubError(f"{self.endpoint}: rate-limited, the Hub asks to wait {wait_for:.0f} s "
                               f"(more than {pol.max_retry_after:.0f} s); {self.resume_hint.replace('re-run', 're-run later')}")
        else:
            wait_for = min(pol.max_backoff, pol.backoff * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
        self.wait(wait_for, problem)

    def failure_of(self, status: int, headers) -> tuple[str, float | None]:
        """The problem and the wait a retryable status asks for (429 counted as rate-limited)."""
        if status == 429:
            self.stats.rate_limited += 1
        return f"HTTP {status}", (retry_after(headers) if status in (429, 503) else None)


# --------------------------------------------------------------------------------------------
# the same decisions under huggingface_hub's own calls


class _CountedStream(httpx2.SyncByteStream):
    """A response body that adds the bytes it yields to ``stats.bytes``."""

    def __init__(self, stream, stats: Stats):
        self.stream, self.stats = stream, stats

    def __iter__(self):
        for chunk in self.stream:
            self.stats.bytes += len(chunk)
            yield chunk

    def close(self) -> None:
        self.stream.close()


class RetryTransport(httpx2.BaseTransport):
    """An httpx2 transport that retries 429/408/5xx answers and connection failures of every
    request with a :class:`RetryingClient`'s policy, and counts requests and body bytes."""

    def __init__(self, client: RetryingClient, inner: httpx2.BaseTransport | None = None):
        self.client = client
        self.inner = inner or httpx2.HTTPTransport(trust_env=True)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        attempt = 0
        while True:
            self.client.count_request()
            try:
                response = self.inner.handle_request(request)
            except (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError) as exc:
                problem, wait_for = f"{type(exc).__name__}: {exc}", None
            else:
                self.client.reached = True
                if response.status_code not in RETRY_STATUS:
                    return httpx2.Response(response.status_code, headers=response.headers, request=request,
                                           stream=_CountedStream(response.stream, self.client.stats),
                                           extensions=response.extensions)
                response.read()
                response.close()
                problem, wait_for = self.client.failure_of(response.status_code, response.headers)
            attempt += 1
            self.client.after_failure(attempt, problem, wait_for, f"{request.method} {request.url}")

    def close(self) -> None:
        self.inner.close()


@contextlib.contextmanager
def hub_session(client: RetryingClient):
    """huggingface_hub's shared session goes through :class:`RetryTransport` inside the block.

    The session's other settings (event hooks that block offline mode and tag requests,
    redirects, timeouts) are taken from the session in place; on exit the same settings come
    back with a plain transport."""
    from huggingface_hub.utils import get_session, set_client_factory

    template = get_session()
    settings = {"event_hooks": template.event_hooks, "follow_redirects": template.follow_redirects,
                "timeout": template.timeout}
    set_client_factory(lambda: httpx2.Client(transport=RetryTransport(client), **settings))
    try:
        yield client
    finally:
        set_client_factory(lambda: httpx2.Client(**settings))
