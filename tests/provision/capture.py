"""A capture server on loopback: records every request that reaches it.

It stands for a server of an attacker's choosing. Tests point manifests, state files
or redirects at it and then assert that no token (nor any request at all, where none
may come) reached it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Captured:
    """What reached the server."""

    requests: list[str] = field(default_factory=list)
    """Each request as text: request line, headers, body."""
    redirect_to: str = ""
    """When set, every request is answered 307 to this URL."""
    echo: bool = False
    """When set, every request is answered 500 with its own headers in the body (a
    hostile server echoing the Authorization header back)."""
    answer: object = None
    """When set, every request is answered 200 with this JSON (a hostile or broken
    server's ListResponse)."""

    @property
    def text(self) -> str:
        """Everything received, to search for secrets."""
        return "\n".join(self.requests)


@contextmanager
def capture_server() -> Iterator[tuple[str, Captured]]:
    """(base URL, what it received) of a server running on 127.0.0.1 for the block."""
    captured = Captured()

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode(errors="replace") if length else ""
            captured.requests.append(f"{self.requestline}\n{self.headers}\n{body}")
            if captured.redirect_to:
                self.send_response(307)
                self.send_header("Location", captured.redirect_to + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if captured.echo:
                detail = " ".join(f"{k}: {v}" for k, v in self.headers.items())
                error = {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                    "status": "500",
                    "detail": detail,
                }
                payload = json.dumps(error).encode()
                self.send_response(500)
            else:
                payload = json.dumps(captured.answer if captured.answer is not None else {})
                payload = payload.encode()
                self.send_response(200)
            self.send_header("Content-Type", "application/scim+json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", captured
    finally:
        server.shutdown()
        server.server_close()
