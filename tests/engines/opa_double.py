"""An OPA server for the tests: OPA's REST API over real OPA's Go engine.

No OPA binary runs on these machines, but real OPA (v1.20.2) does, in-process, through
the `opa-golib-python-bindings` wheel (guardrails/engine/opa_lib.py). This small HTTP
server puts OPA's REST API in front of it, as `opa run --server` does, with OPA's
status codes and JSON shapes (read off v1/server/server.go):

* `GET /health`                     200 `{}`
* `GET /v1/policies`                200 `{"result": [{"id", "raw"}, ...]}`
* `PUT /v1/policies/<id>`           200 `{}` when the whole module set, with this
  module, compiles (as OPA compiles it on every PUT); else 400
  `{"code": "invalid_parameter", "message": "error(s) occurred while compiling
  module(s)", "errors": [{"code", "message", "location": {"file", "row"}}]}`.
  The same bytes again: 200 without compiling, as OPA.
* `DELETE /v1/policies/<id>`        200 `{}`; 400 `invalid_operation` (same message and
  errors) when the modules left would not compile (a module still calls a function of
  the one deleted); 404 `resource_not_found`
* `GET /v1/data/system/bundles`     200 `{"result": {name: {"manifest": ...}}}` (empty
  when nothing was loaded as a bundle)
* `PUT /v1/data/<path>`             204
* either write under the roots of a loaded bundle: 400 `invalid_parameter`, "path … is
  owned by bundle …", as OPA refuses it
* `POST /v1/data/<path>`            200 `{"result": value}`, or `{}` when undefined;
  with `?strict-builtin-errors=true` a failing built-in is 500 `internal_error`
* a bundle (`load_bundle`) read the way OPA reads one: `.manifest` roots, every
  `data.json` at its directory's path, every `.rego` file; refused unless it compiles.

Not OPA itself, so said plainly: the HTTP layer is this file's; error locations carry
no column (the Go library's messages give file and row only); and without
`strict-builtin-errors` (OPA's default) the bindings cannot be lenient, so a package
whose evaluation hits a failing built-in answers an empty `violation` set, as the
rule simply does not fire in OPA. It can also be told to misbehave, as a hostile or
broken server would: answer with a given status, stall, drip its answer byte by
byte, redirect, send a huge or a given body, or an HTML page. With `token` set it
demands `Authorization: Bearer <token>` (401 otherwise), like OPA's token
authentication.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from opa_bindings import OpaEngine, OpaError, OpaUndefinedError

_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
# How the Go library words each error: "<file>:<row>: <code>: <message>".
_ERROR = re.compile(r"(?P<file>[^\s:]+):(?P<row>\d+): (?P<code>rego_[a-z_]+): (?P<message>[^\n]*)")
COMPILE_ERROR = "error(s) occurred while compiling module(s)"


class CompileError(Exception):
    """The modules do not compile together; `errors` in OPA's REST shape."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors


def _compile(policies: dict[str, str], data: dict[str, Any]) -> OpaEngine:
    """A real OPA engine holding `policies` and `data`, compiled as one set."""
    engine = OpaEngine()
    try:
        for policy_id, text in sorted(policies.items()):
            engine.add_policy(policy_id, text)
        engine.add_data(data)
        engine.eval_query("true")  # compiles every module, as OPA does on each PUT
    except OpaError as err:
        engine.close()
        found = [
            {
                "code": m["code"],
                "message": m["message"].strip(),
                "location": {"file": m["file"], "row": int(m["row"])},
            }
            for m in _ERROR.finditer(err.message)
        ]
        raise CompileError(found or [{"code": err.code, "message": err.message}]) from None
    return engine


@dataclass
class Behaviour:
    """How the double misbehaves (all off by default)."""

    status: int | None = None
    """Answer every /v1 request with this status and an OPA-style error body."""
    delay: float = 0.0
    """Seconds to stall before answering."""
    drip: float = 0.0
    """Send data answers one byte every this many seconds (a slow-loris server)."""
    undefined: bool = False
    """Answer data queries with `{}` (undefined), as OPA does for a missing document."""
    not_json: bool = False
    """Answer data queries 200 with an HTML page, as a misconfigured proxy might."""
    body: Any = None
    """Answer data queries 200 with this JSON value instead of the real answer."""
    redirect: str | None = None
    """Answer data queries 307 to this URL."""
    huge: int = 0
    """Answer data queries with a valid answer padded to this many bytes."""


@dataclass
class Request:
    """One request the double received."""

    method: str
    path: str
    authorization: str | None


@dataclass
class OpaDouble:
    """State of the server: policies by id, base data, what it was asked."""

    token: str | None = None
    policies: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    behaviour: Behaviour = field(default_factory=Behaviour)
    requests: list[Request] = field(default_factory=list)
    revision: str | None = None
    bundles: dict[str, Any] = field(default_factory=dict)
    url: str = ""
    _engine: OpaEngine | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def load_bundle(self, packed: bytes) -> None:
        """Activate a bundle tarball, as OPA does on start-up with --bundle."""
        policies: dict[str, str] = {}
        data: dict[str, Any] = {}
        manifest: dict[str, Any] = {}
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(packed))) as tar:
            for member in tar.getmembers():
                if not member.isfile():
                    continue
                extracted = tar.extractfile(member)
                assert extracted is not None
                content = extracted.read()
                name = "/" + member.name.lstrip("/")
                if name == "/.manifest":
                    manifest = json.loads(content)
                elif name.endswith("/data.json"):
                    keys = [k for k in name.split("/")[1:-1] if k]
                    _set(data, keys, json.loads(content))
                elif name.endswith(".rego"):
                    policies[name.lstrip("/")] = content.decode()
        roots = manifest.get("roots", [""])
        for key in data:
            if not any(r == "" or r == key or r.startswith(key + "/") for r in roots):
                raise ValueError(f"bundle data {key!r} is outside the roots {roots}")
        engine = _compile(policies, data)  # as OPA, refuse a bundle that does not compile
        with self._lock:
            self._replace(engine)
            self.policies, self.data = policies, data
        self.revision = manifest.get("revision")
        # OPA keeps each activated bundle's manifest under data.system.bundles.<name>.
        self.bundles = {"guardrails-bundle": {"manifest": manifest}}

    def _replace(self, engine: OpaEngine | None) -> None:
        if self._engine is not None:
            self._engine.close()
        self._engine = engine

    def put_policy(self, policy_id: str, text: str) -> None:
        """Add or replace a module; `CompileError` (nothing changed) if the set breaks."""
        with self._lock:
            if self.policies.get(policy_id) == text:
                return
            candidate = {**self.policies, policy_id: text}
            self._replace(_compile(candidate, self.data))
            self.policies = candidate

    def delete_policy(self, policy_id: str) -> None:
        """Remove a module; `CompileError` (nothing changed) if the rest would not compile."""
        with self._lock:
            rest = {k: v for k, v in self.policies.items() if k != policy_id}
            self._replace(_compile(rest, self.data))
            self.policies = rest

    def put_data(self, keys: list[str], value: Any) -> None:
        """Write `value` at `keys` in the data tree."""
        with self._lock:
            _set(self.data, keys, value)
            self._replace(None)  # compiled again, with the new data, on the next query

    def evaluate(self, path: list[str], input: Any, strict: bool = True) -> tuple[bool, Any]:
        """(defined, value) of data.<path> for `input`, from real OPA.

        Not strict (OPA's default): a package whose evaluation hits a failing built-in
        contributes an empty `violation` set, as the rule simply does not fire in OPA.
        """
        try:
            return self._evaluate(path, input)
        except OpaError:
            if strict:
                raise
        prefix = ".".join(path) + "."
        packages = sorted(
            {
                match.group(1).removeprefix(prefix).split(".")[0]
                for text in self.policies.values()
                if (match := _PACKAGE.search(text)) and match.group(1).startswith(prefix)
            }
        )
        value: dict[str, Any] = {}
        for package in packages:
            try:
                defined, document = self._evaluate([*path, package], input)
            except OpaError:
                defined, document = True, {"violation": []}
            if defined:
                value[package] = document
        return bool(value), value

    def _evaluate(self, path: list[str], input: Any) -> tuple[bool, Any]:
        with self._lock:
            if self._engine is None:
                self._engine = _compile(self.policies, self.data)
            engine = self._engine
        try:
            return True, engine.eval_document(".".join(path), input)
        except OpaUndefinedError:
            return False, None


def _set(tree: dict[str, Any], keys: list[str], value: Any) -> None:
    if not keys:
        tree.clear()
        tree.update(value)
        return
    for key in keys[:-1]:
        tree = tree.setdefault(key, {})
    tree[keys[-1]] = value


def _handler(double: OpaDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: Any = None) -> None:
            raw = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _error(self, status: int, code: str, message: str, **extra: Any) -> None:
            self._reply(status, {"code": code, "message": message, **extra})

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _admit(self) -> bool:
            """Record the request; apply auth and the misbehaviour; False = answered."""
            double.requests.append(
                Request(self.command, self.path, self.headers.get("Authorization"))
            )
            if double.behaviour.delay:
                time.sleep(double.behaviour.delay)
            if double.token and self.headers.get("Authorization") != f"Bearer {double.token}":
                self._body()
                self._error(401, "unauthorized", "missing or invalid bearer token")
                return False
            if double.behaviour.status and self.path.startswith("/v1/"):
                self._body()
                self._error(double.behaviour.status, "internal_error", "told to fail")
                return False
            return True

        def _route(self) -> tuple[str, list[str]]:
            path = self.path.split("?", 1)[0]
            for prefix in ("/v1/policies", "/v1/data"):
                if path == prefix or path.startswith(prefix + "/"):
                    rest = path[len(prefix) :].strip("/")
                    return prefix, [p for p in rest.split("/") if p]
            return path, []

        def do_GET(self) -> None:
            if not self._admit():
                return
            where, parts = self._route()
            if where == "/health":
                self._reply(200, {})
            elif where == "/v1/policies" and not parts:
                listed = [{"id": i, "raw": t} for i, t in sorted(double.policies.items())]
                self._reply(200, {"result": listed})
            elif where == "/v1/data" and parts == ["system", "bundles"]:
                self._reply(200, {"result": double.bundles})
            else:
                self._error(404, "resource_not_found", f"{self.path} not found")

        def _owned(self, parts: list[str]) -> bool:
            """Answer 400 as OPA does for a write under an activated bundle's roots."""
            for name, bundle in double.bundles.items():
                for root in bundle["manifest"].get("roots", [""]):
                    keys = [k for k in root.split("/") if k]
                    if parts[: len(keys)] == keys:
                        owned = f"path {'/'.join(parts)} is owned by bundle {name!r}"
                        self._error(400, "invalid_parameter", owned)
                        return True
            return False

        def do_PUT(self) -> None:
            if not self._admit():
                return
            where, parts = self._route()
            body = self._body()
            if where == "/v1/data" and self._owned(parts):
                return
            package = _PACKAGE.search(body.decode(errors="replace"))
            if where == "/v1/policies" and package and self._owned(package.group(1).split(".")):
                return
            if where == "/v1/policies" and parts:
                try:
                    double.put_policy("/".join(parts), body.decode())
                except CompileError as err:
                    self._error(400, "invalid_parameter", COMPILE_ERROR, errors=err.errors)
                    return
                self._reply(200, {})
            elif where == "/v1/data":
                double.put_data(parts, json.loads(body or b"null"))
                self._reply(204)
            else:
                self._error(404, "resource_not_found", f"{self.path} not found")

        def do_DELETE(self) -> None:
            if not self._admit():
                return
            where, parts = self._route()
            policy_id = "/".join(parts)
            if where != "/v1/policies" or policy_id not in double.policies:
                self._error(
                    404, "resource_not_found", f'storage_not_found_error: policy id "{policy_id}"'
                )
                return
            try:
                double.delete_policy(policy_id)
            except CompileError as err:
                self._error(400, "invalid_operation", COMPILE_ERROR, errors=err.errors)
                return
            self._reply(200, {})

        def _misbehave(self) -> bool:
            """Answer a data query as a broken or hostile server would; False = not told to."""
            told = double.behaviour
            if told.undefined:
                self._reply(200, {})
            elif told.body is not None:
                self._reply(200, told.body)
            elif told.redirect:
                self.send_response(307)
                self.send_header("Location", told.redirect)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif told.not_json:
                page = b"<html><body>502 Bad Gateway</body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)
            elif told.huge:
                self._send_huge(told.huge)
            else:
                return False
            return True

        def _send_huge(self, size: int) -> None:
            """A valid answer padded with spaces to `size` bytes, sent without a length."""
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            chunk = b" " * 65536
            try:
                self.wfile.write(b'{"result": {}')
                for _ in range(size // len(chunk)):
                    self.wfile.write(chunk)
                self.wfile.write(b"}")
            except OSError:
                pass  # the client hung up, as it should
            self.close_connection = True

        def _send(self, status: int, body: Any) -> None:
            if not double.behaviour.drip:
                self._reply(status, body)
                return
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            try:
                for byte in raw:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(double.behaviour.drip)
            except OSError:
                pass  # the client hung up, as it should

        def do_POST(self) -> None:
            if not self._admit():
                return
            where, parts = self._route()
            body = json.loads(self._body() or b"{}")
            if where != "/v1/data":
                self._error(404, "resource_not_found", f"{self.path} not found")
                return
            if self._misbehave():
                return
            strict = parse_qs(self.path.partition("?")[2]).get("strict-builtin-errors")
            try:
                defined, value = double.evaluate(parts, body.get("input"), strict == ["true"])
            except OpaError as err:
                self._error(500, "internal_error", err.message[:300])
                return
            self._send(200, {"result": value} if defined else {})

    return Handler


class _QuietServer(ThreadingHTTPServer):
    """A client that gave up (a timeout test) is expected: no traceback on stderr."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@contextmanager
def running(token: str | None = None) -> Iterator[OpaDouble]:
    """Run the server on 127.0.0.1 (a free port) in a thread; `.url` says where."""
    double = OpaDouble(token=token)
    server = _QuietServer(("127.0.0.1", 0), _handler(double))
    server.daemon_threads = True
    double.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield double
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        double._replace(None)
