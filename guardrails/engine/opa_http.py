"""Talking to an OPA server over HTTP: where it is, and one request that cannot hang.

Every reply is treated as hostile. One request (with its retries) has one deadline
for everything: connecting, sending, the headers and each byte of the body; a
watchdog shuts the socket when it passes, so a server that drips one byte a second
cannot hold a check. Redirects are never followed (the input would go to a host
nobody named, and its verdict would be taken). A reply larger than a cap set from
the request's size is cut off. Every failure is an `EngineError` of one line that
never holds the token.

Built on the standard library's `http.client`: a general client (requests, and the
opa-python-client built on it) reads a body with a timeout per read, follows
redirects and reads any size, so none of the three could be enforced through it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from guardrails.engine.interface import EngineError

# A reply may be this large, plus 16 bytes per byte sent: the verdicts on a catalog are
# a fraction of its size, so a reply beyond that is a broken or hostile server.
MAX_REPLY = 64 * 2**20
REPLY_PER_BYTE_SENT = 16
_RETRIED = frozenset({500, 502, 504})
_CHUNK = 65536


class OpaRefused(EngineError):
    """OPA answered with an HTTP error status (its message is in the text)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class _Deadline(Exception):
    """The request's deadline passed."""


class _TooLarge(Exception):
    """The reply grew beyond the cap."""


@dataclass(frozen=True)
class OpaReply:
    """What the server answered: a status and a body no larger than the cap."""

    status: int
    """HTTP status code."""
    body: bytes
    """The body, as received."""


@dataclass(frozen=True)
class OpaServer:
    """Where the OPA server is and how to reach it."""

    url: str
    """Base URL, e.g. `http://localhost:8181` (shown in messages; never holds the token)."""
    host: str
    """Host name or address."""
    port: int
    """TCP port."""
    tls: bool
    """Whether to use https."""
    token: str | None
    """Bearer token, or None."""
    timeout: float
    """Seconds one request may take in all, retries included."""
    retries: int = 2
    """How often to retry a refused connection or a 500/502/504 answer."""

    @classmethod
    def parse(
        cls, url: str, token_env: str | None = None, timeout: float = 10.0, retries: int = 2
    ) -> OpaServer:
        """Check `url` and read the token from the variable `token_env`."""
        parts = urlsplit(url)
        if parts.username or parts.password:
            # Never echo a URL that carries credentials.
            raise EngineError(
                "--opa-url: the URL holds credentials (not shown); give only scheme, host and "
                "port, and pass a bearer token with --opa-token-env"
            )
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise EngineError(f"--opa-url {url!r}: expected http(s)://HOST[:PORT]")
        if parts.path not in {"", "/"} or parts.query:
            raise EngineError(
                f"--opa-url {url!r}: give only scheme, host and port (OPA's API is at /v1); "
                "pass credentials with --opa-token-env"
            )
        if token_env and parts.scheme == "http" and not _loopback(parts.hostname):
            raise EngineError(
                f"--opa-url {url!r}: a token is only sent over https:// (or to this machine's "
                "loopback address); use https"
            )
        if not timeout > 0:
            raise EngineError(f"--opa-timeout {timeout:g}: give a number of seconds above 0")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 8181)
        except ValueError as cause:
            raise EngineError(f"--opa-url {url!r}: the port is not a number") from cause
        token = None
        if token_env:
            token = os.environ.get(token_env)
            if not token:
                raise EngineError(f"--opa-token-env {token_env}: that variable is not set")
        shown = f"{parts.scheme}://{parts.hostname}:{port}"
        return cls(shown, parts.hostname, port, parts.scheme == "https", token, timeout, retries)

    def send(self, method: str, path: str, payload: Any = None, *, doing: str) -> OpaReply:
        """One request to `path` (under /v1); its reply, whatever the status.

        `payload` is sent as JSON, or as it is when it is text (a Rego module). Raises
        `EngineError` when there is no whole reply in time, when the reply is a
        redirect or too large, or when the server cannot be reached.
        """
        headers = {"Accept": "application/json"}
        body: bytes | None = None
        if isinstance(payload, str):
            body = payload.encode()
            headers["Content-Type"] = "text/plain"
        elif payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        limit = MAX_REPLY + REPLY_PER_BYTE_SENT * len(body or b"")
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        deadline = time.monotonic() + self.timeout
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                reply = self._attempt(method, path, body, headers, deadline, limit)
            except _Deadline as cause:
                raise self.failure(
                    f"no answer within {self.timeout:g}s (a large catalog may need a longer "
                    "--opa-timeout)",
                    doing,
                ) from cause
            except _TooLarge as cause:
                raise self.failure(
                    f"the answer is larger than {limit // 2**20} MiB (refused)", doing
                ) from cause
            except ConnectionRefusedError as cause:
                if last:
                    raise EngineError(
                        f"OPA at {self.url} is unreachable while {doing} (is the server running?)"
                    ) from cause
            except OSError as err:
                raise self.failure(_os_problem(err), doing) from err
            else:
                if reply.status not in _RETRIED or last:
                    break
            time.sleep(min(0.2 * 2**attempt, max(0.0, deadline - time.monotonic())))
        if 300 <= reply.status < 400:
            raise self.failure(
                f"it answered with a redirect (HTTP {reply.status}), which is never followed: "
                "give --opa-url the OPA server's own address",
                doing,
            )
        return reply

    def failure(self, problem: str, doing: str) -> EngineError:
        """`OPA at URL: <doing>: <problem>` on one line."""
        return EngineError(f"OPA at {self.url}: {doing}: {' '.join(problem.split())}")

    def _attempt(
        self,
        method: str,
        path: str,
        body: bytes | None,
        headers: Mapping[str, str],
        deadline: float,
        limit: int,
    ) -> OpaReply:
        import http.client
        import socket
        import ssl
        import threading

        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Deadline
        connection: http.client.HTTPConnection
        if self.tls:
            context = ssl.create_default_context()
            connection = http.client.HTTPSConnection(
                self.host, self.port, timeout=remaining, context=context
            )
        else:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=remaining)

        # The socket, kept: http.client lets go of it once a reply that ends with the
        # connection is under way, and the watchdog must still reach it then.
        held: list[socket.socket] = []

        def cut_off() -> None:
            # Wakes a read blocked on a server that sends a byte now and then.
            for sock in [connection.sock, *held]:
                if sock is not None:
                    with contextlib.suppress(OSError):
                        socket.socket.shutdown(sock, socket.SHUT_RDWR)

        watchdog = threading.Timer(remaining, cut_off)
        watchdog.daemon = True
        watchdog.start()
        try:
            connection.connect()
            held.append(connection.sock)
            connection.request(method, path, body=body, headers=dict(headers))
            response = connection.getresponse()
            declared = response.getheader("Content-Length")
            if declared and declared.strip().isdigit() and int(declared) > limit:
                raise _TooLarge
            received: list[bytes] = []
            size = 0
            while chunk := response.read1(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise _TooLarge
                received.append(chunk)
            if time.monotonic() >= deadline:
                raise _Deadline  # the watchdog ended the reply
            if response.length:  # fewer bytes than Content-Length said
                raise OSError("the answer was cut short")
            return OpaReply(response.status, b"".join(received))
        except (OSError, http.client.HTTPException) as err:
            if time.monotonic() >= deadline:
                raise _Deadline from err
            if isinstance(err, ConnectionRefusedError | ssl.SSLError):
                raise
            if isinstance(err, http.client.HTTPException | ConnectionError):
                raise OSError("the answer was cut short or is not HTTP") from err
            raise
        finally:
            watchdog.cancel()
            connection.close()


def _os_problem(err: OSError) -> str:
    """What went wrong on the wire, in a few words."""
    import ssl

    if isinstance(err, ssl.SSLError):
        return "TLS handshake failed"
    if isinstance(err, TimeoutError):
        return "the connection timed out"
    if err.strerror:
        return f"connection failed ({err.strerror.lower()})"
    return str(err)


def _loopback(host: str) -> bool:
    """True for localhost and loopback addresses, where plain http never leaves the machine."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def json_of(server: OpaServer, reply: OpaReply, doing: str) -> Any:
    """The reply's JSON body; an HTTP error status is `OpaRefused` with OPA's message."""
    if reply.status >= 400:
        raise OpaRefused(
            f"OPA at {server.url}: {doing} failed: {_http_problem(reply)}", reply.status
        )
    try:
        return json.loads(reply.body)
    except (ValueError, RecursionError) as cause:
        raise server.failure("the answer is not JSON", doing) from cause


def _http_problem(reply: OpaReply) -> str:
    """`HTTP 400 invalid_parameter: message (file:row:col: error; ...)` on one line."""
    status = f"HTTP {reply.status}"
    try:
        body = json.loads(reply.body)
    except (ValueError, RecursionError):
        return status
    if not isinstance(body, Mapping):
        return status
    text = f"{status} {_text(body.get('code'))}: {_text(body.get('message'))}".strip()
    details = body.get("errors")
    if isinstance(details, list) and details:
        text += " (" + "; ".join(_error_item(item) for item in details[:5]) + ")"
    # OPA's messages can quote Rego over several lines, and the server is not trusted
    # to keep it short: one line, at most 600 characters.
    text = " ".join(text.split())
    return text if len(text) <= 600 else text[:597] + "..."


def _error_item(item: Any) -> str:
    """`file:row:col: message` from one entry of OPA's `errors` list."""
    if not isinstance(item, Mapping):
        return _text(item)
    where = item.get("location")
    prefix = ""
    if isinstance(where, Mapping) and where.get("file"):
        row, col = _text(where.get("row", "?")), _text(where.get("col", "?"))
        prefix = f"{_text(where.get('file'))}:{row}:{col}: "
    return f"{prefix}{_text(item.get('message', ''))}"


def _text(value: Any) -> str:
    """A value from a reply, as short text (whatever type the server sent)."""
    text = value if isinstance(value, str) else json.dumps(value)
    return text[:300]
