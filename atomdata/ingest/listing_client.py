"""The listing client: GET one page of ``/api/models`` at a time, on top of the shared retry layer.

Used by the live listing (``ingest.hub``) and by ancestor completion (``ingest.ancestors``).

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

The token is only ever put in the request headers: it is not written to the checkpoint, the
manifest, the log or an error message (messages are scrubbed of it in case a server echoes it).
"""
from __future__ import annotations

import json
from urllib.parse import urlsplit

import httpx2

from .client import RETRY_STATUS, HubError, RetryingClient, Unreachable
from .hub_records import BadPage


class Client(RetryingClient):
    """GET one listing page at a time through huggingface_hub's session, with our retry layer."""

    def listing_url(self, params: list[tuple[str, str]]) -> str:
        return str(httpx2.URL(f"{self.endpoint}/api/models", params=params))

    def check_url(self, url: str) -> None:
        """Follow only links back to the same endpoint (the token must not go anywhere else)."""
        parts, origin = urlsplit(url), urlsplit(self.endpoint)
        if (parts.scheme, parts.netloc) != (origin.scheme, origin.netloc) or not parts.path.endswith("/api/models"):
            raise HubError(f"{self.endpoint}: the Hub returned a next-page link to {parts.scheme}://{parts.netloc}{parts.path}, "
                           f"outside {self.endpoint}/api/models; refusing to follow it")

    def get_page(self, url: str) -> tuple[list[dict], str | None]:
        """The models of one page and the next page's URL (None at the end), retried as needed."""
        from huggingface_hub.errors import OfflineModeIsEnabled
        from huggingface_hub.utils import close_session, get_session

        self.check_url(url)
        attempt = 0
        while True:
            self.count_request()
            problem = None
            wait_for = None
            try:
                r = get_session().get(url, headers=self.headers, timeout=self.policy.timeout)
                self.reached = True
                if r.status_code not in RETRY_STATUS:
                    return self._answer(r, url)
                problem, wait_for = self.failure_of(r.status_code, r.headers)
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

    def _answer(self, r, url: str) -> tuple[list[dict], str | None]:
        """A final (not retried) answer: the Hub's refusal as a :class:`HubError`, else the page."""
        from huggingface_hub.errors import HfHubHTTPError
        from huggingface_hub.utils import hf_raise_for_status

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
