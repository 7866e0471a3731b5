"""OPA server engine: the same query, asked of a running OPA over its REST API.

The server is expected to hold the policies and their data already, deployed as the
bundle `guardrails policy bundle` builds (or pushed with `guardrails policy push` on
a development server). Guardrails sends only the input: one
`POST /v1/data/guardrails/policies` with `{"input": ...}` (opa_http.py sends it).

Fails closed: unreachable, too slow, a redirect, an HTTP error, a reply that is too
large or not JSON, an undefined decision (no `result`), a reply without verdicts
(every policy package defined here must answer with a `violation` array of
well-formed violations), a server whose bundle revision is not the one the local
policies build, or one lacking a policy package they define (a stale deployment
would otherwise decide by other rules) is an `EngineError` (exit 2), never a pass.
The token is read from the environment variable the user names and is never printed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from guardrails.engine.interface import VIOLATIONS_QUERY, EngineError, PolicySet, violations_from
from guardrails.engine.opa_http import OpaRefused, OpaServer, json_of

_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
_VIOLATION_RULE = re.compile(r"^violation\b", re.MULTILINE)
_REFERENCE = re.compile(r"\bdata\.([\w.]+)")
_POLICIES = VIOLATIONS_QUERY.removeprefix("data.") + "."

__all__ = ["OpaEngine", "OpaEvaluator", "OpaServer", "policy_packages", "push"]


def policy_packages(policies: PolicySet) -> frozenset[str]:
    """The packages directly under `data.guardrails.policies` that define `violation`."""
    found: set[str] = set()
    for module in policies.modules:
        match = _PACKAGE.search(module.text)
        if match and match.group(1).startswith(_POLICIES) and _VIOLATION_RULE.search(module.text):
            found.add(match.group(1).removeprefix(_POLICIES).split(".")[0])
    return frozenset(found)


def deployed_revision(server: OpaServer) -> str | None:
    """The revision of the bundle that owns `data.guardrails` on the server, if it says.

    OPA keeps each activated bundle's manifest under `data.system.bundles`. A server
    loaded over the REST API (`guardrails policy push`) has none, and one that will not
    show it (an authorization policy) is not an error here: then None, and the
    package check still applies. A server that cannot answer at all is an error.
    """
    from guardrails.engine.bundle import ROOT

    doing = "reading its bundle revision"
    reply = server.send("GET", "/v1/data/system/bundles", doing=doing)
    try:
        answer = json_of(server, reply, doing)
    except EngineError:  # not found, not allowed, not JSON: nothing to compare with
        return None
    bundles = answer.get("result") if isinstance(answer, Mapping) else None
    if not isinstance(bundles, Mapping):
        return None
    for bundle in bundles.values():
        manifest = bundle.get("manifest") if isinstance(bundle, Mapping) else None
        if not isinstance(manifest, Mapping):
            continue
        roots = manifest.get("roots", [""])
        if isinstance(roots, list) and any(r in ("", ROOT) for r in roots):
            revision = manifest.get("revision")
            return revision if isinstance(revision, str) else ""
    return None


class OpaEvaluator:
    """Queries an OPA server that already holds the guardrails bundle."""

    def __init__(
        self,
        server: OpaServer,
        packages: frozenset[str] = frozenset(),
        revision: str | None = None,
    ) -> None:
        self._server = server
        self._packages = packages
        self._revision = revision

    def _check_revision(self) -> None:
        """Refuse a server whose guardrails bundle was built from other policies or data."""
        if self._revision is None:
            return
        deployed = deployed_revision(self._server)
        if deployed is not None and deployed != self._revision:
            raise EngineError(
                f"OPA at {self._server.url} holds guardrails bundle revision "
                f"{deployed[:12] or '(none)'}, but these policies and data build "
                f"{self._revision[:12]}: its verdicts would not match their rules; deploy "
                "the bundle `guardrails policy bundle` builds (or check with the same policies)"
            )

    def query(self, path: str, input: Mapping[str, Any] | None = None) -> Any:
        """POST `input` to `/v1/data/<path>`; a missing `result` is an error, never a pass."""
        if not re.fullmatch(r"data(\.\w+)+", path):
            raise EngineError(f"the OPA engine queries documents under data, not {path!r}")
        doing = f"querying {path}"
        self._check_revision()
        # Strict: a failing built-in is an error, as on the embedded engines.
        where = "/v1/" + path.replace(".", "/") + "?strict-builtin-errors=true"
        reply = self._server.send("POST", where, {"input": dict(input or {})}, doing=doing)
        answer = json_of(self._server, reply, doing)
        if not isinstance(answer, Mapping):
            raise self._server.failure("the answer is not a JSON object", doing)
        if "result" not in answer:
            raise EngineError(
                f"OPA at {self._server.url}: {path} is undefined there "
                "(is the guardrails bundle loaded? see `guardrails policy bundle`)"
            )
        result = answer["result"]
        if path == VIOLATIONS_QUERY:
            self._check_verdicts(result, doing)
        return result

    def _check_verdicts(self, result: Any, doing: str) -> None:
        """Every policy package defined here answers, each with a `violation` array."""
        if not isinstance(result, Mapping):
            raise self._server.failure(f"{VIOLATIONS_QUERY} is not an object of packages", doing)
        missing = sorted(self._packages - set(result))
        if missing:
            raise EngineError(
                f"OPA at {self._server.url}: its bundle lacks the policy package(s) "
                f"{', '.join(missing)} defined here, so their rules would not run: "
                "deploy the bundle `guardrails policy bundle` builds from these policies"
            )
        for package in sorted(self._packages):
            document = result[package]
            verdicts = document.get("violation") if isinstance(document, Mapping) else None
            if not isinstance(verdicts, list):
                raise self._server.failure(
                    f"policy package {package!r} answered without a violation array, "
                    "so nothing says what it found (refused, never read as a pass)",
                    doing,
                )
        try:
            violations_from(result)
        except EngineError as err:
            raise self._server.failure(str(err), doing) from err


class OpaEngine:
    """Rego on an OPA server; the policy set is the server's, deployed as a bundle."""

    name = "opa"

    def __init__(self, server: OpaServer) -> None:
        self.server = server

    @classmethod
    def connect(cls, url: str, token_env: str | None = None, timeout: float = 10.0) -> OpaEngine:
        """An engine for the server at `url` (nothing is sent yet)."""
        return cls(OpaServer.parse(url, token_env, timeout))

    def prepare(self, policies: PolicySet) -> OpaEvaluator:
        """Nothing to compile locally: the server evaluates what its bundle holds.

        Rule metadata (titles, levels) still comes from the local policy set, so the
        bundle on the server must be built from the same policies: its revision must
        be the one they build (when the server reports one), and every policy package
        defined here must answer (checked on each query).
        """
        from guardrails.engine.bundle import build_bundle

        revision = build_bundle(policies).revision
        return OpaEvaluator(self.server, policy_packages(policies), revision)


def push(server: OpaServer, policies: PolicySet) -> list[str]:
    """Load `policies` into a development OPA over its REST API; the policy ids in force.

    `PUT /v1/data/guardrails` for the data, then `PUT /v1/policies/<id>` for each
    module that is new or changed (id = its path in the bundle, e.g.
    `guardrails/security.rego`), and `DELETE` for each module under `guardrails/` the
    server holds but the policy set no longer has, so a removed rule stops applying.

    OPA compiles its whole module set on every PUT and DELETE and refuses one that
    leaves it broken, so modules go up in dependency order (the library before the
    packages that call it), and a step OPA refuses is tried again after the others:
    a changed library may only compile once a stale module that used it is gone, and
    a stale module may only go once nothing calls it. What OPA still refuses when no
    step succeeds any more is the error. Production servers should load the bundle
    instead (a server with an active bundle rejects writes under its roots).
    """
    from guardrails.engine.bundle import ROOT, module_paths

    modules = _dependency_order([(path.lstrip("/"), text) for path, text in module_paths(policies)])
    wanted = {policy_id for policy_id, _ in modules}
    held = _held_policies(server)
    data_reply = server.send(
        "PUT", f"/v1/data/{ROOT}", dict(policies.data), doing=f"writing data.{ROOT}"
    )
    if data_reply.status >= 300:
        json_of(server, data_reply, f"writing data.{ROOT}")  # raises OPA's error
    steps: list[tuple[str, str, str | None]] = [
        (f"uploading policy {policy_id}", policy_id, text)
        for policy_id, text in modules
        if held.get(policy_id) != text
    ]
    steps += [
        (f"deleting stale policy {policy_id}", policy_id, None)
        for policy_id in sorted(held)
        if policy_id.startswith(f"{ROOT}/") and policy_id not in wanted
    ]
    while steps:
        refused: list[tuple[str, str, str | None]] = []
        first: OpaRefused | None = None
        for step in steps:
            try:
                _apply(server, *step)
            except OpaRefused as err:
                if err.status != 400:
                    raise
                refused.append(step)
                first = first or err
        if len(refused) == len(steps):
            assert first is not None
            raise first
        steps = refused
    return [policy_id for policy_id, _ in modules]


def _apply(server: OpaServer, doing: str, policy_id: str, text: str | None) -> None:
    """PUT `text` as policy `policy_id`, or DELETE it when `text` is None."""
    from urllib.parse import quote

    where = f"/v1/policies/{quote(policy_id)}"
    if text is None:
        reply = server.send("DELETE", where, doing=doing)
    else:
        reply = server.send("PUT", where, text, doing=doing)
    if reply.status >= 300:
        json_of(server, reply, doing)  # raises OpaRefused with OPA's message


def _held_policies(server: OpaServer) -> dict[str, str | None]:
    """The server's policies: id -> source (None where it does not say)."""
    doing = "listing policies"
    answer = json_of(server, server.send("GET", "/v1/policies", doing=doing), doing)
    listed = answer.get("result") if isinstance(answer, Mapping) else None
    if not isinstance(listed, list):
        raise server.failure("the policy list is not the array OPA answers", doing)
    held: dict[str, str | None] = {}
    for item in listed:
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            raise server.failure("the policy list holds an entry without an id", doing)
        raw = item.get("raw")
        held[item["id"]] = raw if isinstance(raw, str) else None
    return held


def _dependency_order(modules: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """`modules` with each module after those whose packages it refers to (stable)."""
    packages = {policy_id: _package_of(text) for policy_id, text in modules}
    needs = {
        policy_id: {
            other
            for other, package in packages.items()
            if other != policy_id
            and package
            and any(ref == package or ref.startswith(package + ".") for ref in refs)
        }
        for policy_id, text in modules
        for refs in [set(_REFERENCE.findall(text))]
    }
    ordered: list[tuple[str, str]] = []
    placed: set[str] = set()
    pending = list(modules)
    while pending:
        ready = [m for m in pending if needs[m[0]] <= placed] or pending[:1]  # a cycle: as is
        for module in ready:
            ordered.append(module)
            placed.add(module[0])
        pending = [m for m in pending if m[0] not in placed]
    return ordered


def _package_of(text: str) -> str | None:
    match = _PACKAGE.search(text)
    return match.group(1) if match else None
