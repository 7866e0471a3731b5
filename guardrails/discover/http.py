"""Fetching a vendor's JSON API when every reply may be hostile.

One `Api` per endpoint IT configured, holding one credential. It:

* sends the credential to that endpoint's origin (scheme, host and port) only: a
  paging link or a redirect elsewhere is refused, never followed;
* bounds each request in time (the whole reply, not just each read) and size;
* waits as a 429 or 503 reply's `Retry-After` asks, up to a limit, a few times;
* says what to check when the credential is refused (401, 403), and never prints a
  credential, a reply body or a reason phrase (a server could echo a token in them);
* refuses a paging chain that loops or never ends.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from guardrails.discover.interface import SourceError
from guardrails.discover.records import Page

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class Limits:
    """How much any one server may cost a discovery run."""

    timeout: float = 30.0
    """Seconds for one request, from connecting to the reply's last byte."""
    max_reply_bytes: int = 64 * 1024 * 1024
    """Largest reply body read."""
    max_pages: int = 100_000
    """Most pages followed in one listing."""
    max_retries: int = 5
    """Most retries of one request after 429/503."""
    max_wait: float = 120.0
    """Longest `Retry-After` honoured, in seconds; a longer one is an error."""


Request = tuple[str, "Mapping[str, str] | None"]
"""A URL (or path under the base URL) and its query parameters."""


@dataclass(frozen=True)
class Reply:
    """A successful JSON reply."""

    page: Page
    """The parsed body, named by the URL it came from."""
    headers: httpx.Headers
    """Its headers (paging links)."""
    links: Mapping[str, str]
    """Its `Link` header by relation (`next` -> URL)."""


Following = Callable[[Reply, str, "Mapping[str, str] | None"], "Request | None"]
"""Gives the request for the page after a reply (None after the last)."""


def next_link(reply: Reply, url: str, params: Mapping[str, str] | None) -> Request | None:
    """Paging by the `Link: <...>; rel="next"` header (Okta, RFC 8288)."""
    link = reply.links.get("next")
    return (link, None) if link else None


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of `url`, the default port made explicit."""
    parts = urlsplit(url)
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def shown(url: str) -> str:
    """`url` without its query (paging tokens make messages long and say nothing)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


class Api:
    """A JSON API at one origin, called with one credential."""

    def __init__(
        self,
        base_url: str,
        credential: Callable[[], Mapping[str, str]],
        *,
        source: str,
        hint: str,
        limits: Limits | None = None,
    ) -> None:
        scheme, host, _ = origin(base_url)
        if scheme not in {"https", "http"} or not host:
            raise SourceError(f"{source}: {base_url!r} is not an http(s) URL")
        self.base_url = base_url.rstrip("/") + "/"
        self.credential = credential
        """Headers carrying the credential (called per request: tokens expire)."""
        self.source = source
        self.hint = hint
        """What to check when the credential is refused (names, never values)."""
        self.limits = limits or Limits()
        self._client: httpx.Client | None = None

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *_: object) -> None:
        if self._client is not None:
            self._client.close()

    @property
    def client(self) -> httpx.Client:
        """The HTTP client: redirects are never followed."""
        if self._client is None:
            import httpx

            self._client = httpx.Client(
                follow_redirects=False,
                timeout=httpx.Timeout(self.limits.timeout),
                headers={"Accept": "application/json"},
            )
        return self._client

    def url(self, path_or_url: str) -> str:
        """`path_or_url` made absolute against the base URL, refused if elsewhere."""
        url = urljoin(self.base_url, path_or_url)
        if origin(url) != origin(self.base_url):
            raise SourceError(
                f"{self.source}: refusing to send credentials to {shown(url)}: only "
                f"{shown(self.base_url)} was configured"
            )
        return url

    def get(self, path_or_url: str, params: Mapping[str, str] | None = None) -> Reply:
        """GET a JSON document, waiting out throttling."""
        import httpx

        url = self.url(path_or_url)
        for attempt in range(self.limits.max_retries + 1):
            try:
                outcome = self._once(url, params)
            except httpx.TimeoutException as cause:
                raise SourceError(
                    f"{self.source}: {shown(url)}: no complete reply within "
                    f"{self.limits.timeout:g} s"
                ) from cause
            except httpx.HTTPError as err:
                raise SourceError(
                    f"{self.source}: {shown(url)}: {type(err).__name__}: cannot reach it"
                ) from err
            if isinstance(outcome, Reply):
                return outcome
            if attempt == self.limits.max_retries:
                break
            if outcome > self.limits.max_wait:
                raise SourceError(
                    f"{self.source}: {shown(url)}: throttled, and asked to wait {outcome:g} s, "
                    f"more than the {self.limits.max_wait:g} s allowed"
                )
            time.sleep(outcome)
        raise SourceError(
            f"{self.source}: {shown(url)}: still throttled after {self.limits.max_retries} retries"
        )

    def _once(self, url: str, params: Mapping[str, str] | None) -> Reply | float:
        """One request: the reply, or how long to wait before trying again."""
        deadline = time.monotonic() + self.limits.timeout
        headers = dict(self.credential())
        with self.client.stream("GET", url, params=params, headers=headers) as response:
            status = response.status_code
            if status in (429, 503):
                return _retry_after(response.headers.get("Retry-After"))
            if 300 <= status < 400:
                target = response.headers.get("Location", "")
                raise SourceError(
                    f"{self.source}: {shown(url)}: redirected ({status}) to "
                    f"{shown(urljoin(url, target)) if target else 'nowhere'}: redirects are "
                    "not followed (the credential stays with the configured endpoint)"
                )
            if status in (401, 403):
                raise SourceError(
                    f"{self.source}: {shown(url)}: {status} {_phrase(status)}: the credential "
                    f"was refused; check {self.hint}"
                )
            if not 200 <= status < 300:
                raise SourceError(f"{self.source}: {shown(url)}: {status} {_phrase(status)}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > self.limits.max_reply_bytes:
                    raise SourceError(
                        f"{self.source}: {shown(url)}: reply larger than "
                        f"{self.limits.max_reply_bytes} bytes: refused"
                    )
                if time.monotonic() > deadline:
                    raise SourceError(
                        f"{self.source}: {shown(url)}: no complete reply within "
                        f"{self.limits.timeout:g} s"
                    )
            links = {
                str(rel): str(link["url"])
                for rel, link in response.links.items()
                if isinstance(link, Mapping) and "url" in link
            }
            reply_headers = response.headers
        try:
            value: Any = json.loads(bytes(body).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as cause:
            raise SourceError(f"{self.source}: {shown(url)}: the reply is not JSON") from cause
        return Reply(Page(shown(url), value), reply_headers, links)

    def pages(
        self,
        path_or_url: str,
        params: Mapping[str, str] | None,
        following: Following,
    ) -> Iterator[Reply]:
        """Every page of a listing: `following(reply, url, params)` gives the next
        request's (URL, params), or None after the last page."""
        seen: set[str] = set()
        request: Request | None = (path_or_url, params)
        count = 0
        while request is not None:
            url, query = request
            key = self.url(url) + "?" + json.dumps(sorted((query or {}).items()))
            if key in seen:
                raise SourceError(f"{self.source}: {shown(self.url(url))}: the paging loops")
            seen.add(key)
            count += 1
            if count > self.limits.max_pages:
                raise SourceError(
                    f"{self.source}: {shown(self.url(url))}: more than "
                    f"{self.limits.max_pages} pages: refused"
                )
            reply = self.get(url, query)
            yield reply
            request = following(reply, url, query)


def _phrase(status: int) -> str:
    """The standard reason phrase (never the server's own: it could carry anything)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"


def _retry_after(value: str | None) -> float:
    """Seconds a `Retry-After` header asks for (1 when absent or unreadable)."""
    if not value:
        return 1.0
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 1.0
    return max(0.0, when.timestamp() - time.time())
