"""TEST DOUBLE for an OPA server — not OPA. Used only by the tests.

The OPA binary cannot be installed on these machines, so the OPA engine and
`guardrails policy push` are tested against this small HTTP server. It implements
the documented OPA REST endpoints the client uses, with OPA's status codes and
JSON shapes, and evaluates Rego with the embedded regorus engine:

* `GET /health`                     200 `{}`
* `GET /v1/policies`                200 `{"result": [{"id", "raw"}, ...]}`
* `PUT /v1/policies/<id>`           200 `{}`; 400 `invalid_parameter` if it does not compile
* `DELETE /v1/policies/<id>`        200 `{}`; 404 `resource_not_found`
* `GET /v1/data/system/bundles`     200 `{"result": {name: {"manifest": ...}}}` (empty
  when nothing was loaded as a bundle)
* `PUT /v1/data/<path>`             204
* either write under the roots of a loaded bundle: 400 `invalid_parameter`, "path … is
  owned by bundle …", as OPA refuses it
* `POST /v1/data/<path>`            200 `{"result": value}`, or `{}` when undefined;
  with `?strict-builtin-errors=true` a failing built-in is 500 `internal_error`;
  without it the rule that called it quietly does not fire, as in OPA (the fail-open
  the engine must ask OPA to avoid)
* a bundle (`load_bundle`) read the way OPA reads one: `.manifest` roots, every
  `data.json` at its directory's path, every `.rego` file.

It can be told to misbehave: answer with a given status, stall longer than the
client's timeout, or return an undefined decision. With `token` set it demands
`Authorization: Bearer <token>` (401 otherwise), like OPA's token authentication.
What it does not prove (needs a real OPA): that OPA itself compiles the policies
(Rego v1 with `import rego.v1`), accepts the bundle, and gives the same verdicts.
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

import regorus

_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)


@dataclass
class Behaviour:
    """How the double misbehaves (all off by default)."""

    status: int | None = None
    """Answer every /v1 request with this status and an OPA-style error body."""
    delay: float = 0.0
    """Seconds to stall before answering."""
    undefined: bool = False
    """Answer data queries with `{}` (undefined), as OPA does for a missing document."""
    not_json: bool = False
    """Answer data queries 200 with an HTML page, as a misconfigured proxy might."""


@dataclass
class Request:
    """One request the double received."""

    method: str
    path: str
    authorization: str | None


@dataclass
class OpaDouble:
    """State of the fake server: policies by id, base data, what it was asked."""

    token: str | None = None
    policies: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    behaviour: Behaviour = field(default_factory=Behaviour)
    requests: list[Request] = field(default_factory=list)
    revision: str | None = None
    bundles: dict[str, Any] = field(default_factory=dict)
    url: str = ""

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
        _compile(policies, data)  # as OPA, refuse a bundle that does not compile
        self.policies, self.data = policies, data
        self.revision = manifest.get("revision")
        # OPA keeps each activated bundle's manifest under data.system.bundles.<name>.
        self.bundles = {"guardrails-bundle": {"manifest": manifest}}

    def evaluate(self, path: list[str], input: Any, strict: bool = True) -> tuple[bool, Any]:
        """(defined, value) of data.<path> for `input`.

        Not strict (OPA's default): a package whose evaluation hits a failing built-in
        contributes an empty `violation` set, as the rule simply does not fire in OPA.
        """
        try:
            return self._evaluate(path, input)
        except RuntimeError:
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
            except RuntimeError:
                defined, document = True, {"violation": []}
            if defined:
                value[package] = document
        return bool(value), value

    def _evaluate(self, path: list[str], input: Any) -> tuple[bool, Any]:
        engine = _compile(self.policies, self.data)
        if input is not None:
            engine.set_input_json(json.dumps(input))
        query = "data" + "".join(f"[{json.dumps(p)}]" for p in path)
        rows = json.loads(engine.eval_query_as_json(query)).get("result") or []
        if not rows:
            return False, None
        return True, rows[0]["expressions"][0]["value"]


def _set(tree: dict[str, Any], keys: list[str], value: Any) -> None:
    if not keys:
        tree.clear()
        tree.update(value)
        return
    for key in keys[:-1]:
        tree = tree.setdefault(key, {})
    tree[keys[-1]] = value


def _compile(policies: dict[str, str], data: dict[str, Any]) -> Any:
    engine = regorus.Engine()
    for policy_id, text in sorted(policies.items()):
        engine.add_policy(policy_id, text)
    engine.add_data_json(json.dumps(data))
    return engine


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
                policy_id = "/".join(parts)
                candidate = {**double.policies, policy_id: body.decode()}
                try:
                    _compile(candidate, double.data)
                except RuntimeError as err:
                    self._error(
                        400,
                        "invalid_parameter",
                        "error(s) occurred while compiling module(s)",
                        errors=[{"code": "rego_parse_error", "message": str(err)[:300]}],
                    )
                    return
                double.policies = candidate
                self._reply(200, {})
            elif where == "/v1/data":
                _set(double.data, parts, json.loads(body or b"null"))
                self._reply(204)
            else:
                self._error(404, "resource_not_found", f"{self.path} not found")

        def do_DELETE(self) -> None:
            if not self._admit():
                return
            where, parts = self._route()
            policy_id = "/".join(parts)
            if where == "/v1/policies" and policy_id in double.policies:
                del double.policies[policy_id]
                self._reply(200, {})
            else:
                self._error(404, "resource_not_found", f"storage_not_found_error: {policy_id}")

        def do_POST(self) -> None:
            if not self._admit():
                return
            where, parts = self._route()
            body = json.loads(self._body() or b"{}")
            if where != "/v1/data":
                self._error(404, "resource_not_found", f"{self.path} not found")
                return
            if double.behaviour.undefined:
                self._reply(200, {})
                return
            if double.behaviour.not_json:
                page = b"<html><body>502 Bad Gateway</body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)
                return
            strict = parse_qs(self.path.partition("?")[2]).get("strict-builtin-errors")
            try:
                defined, value = double.evaluate(parts, body.get("input"), strict == ["true"])
            except RuntimeError as err:
                self._error(500, "internal_error", str(err)[:300])
                return
            self._reply(200, {"result": value} if defined else {})

    return Handler


class _QuietServer(ThreadingHTTPServer):
    """A client that gave up (a timeout test) is expected: no traceback on stderr."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@contextmanager
def running(token: str | None = None) -> Iterator[OpaDouble]:
    """Run the double on 127.0.0.1 (a free port) in a thread; `.url` says where."""
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
