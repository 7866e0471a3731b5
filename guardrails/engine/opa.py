"""OPA server engine: the same query, asked of a running OPA through opa-python-client.

The server is expected to hold the policies and their data already, deployed as the
bundle `guardrails policy bundle` builds (or pushed with `guardrails policy push` on
a development server). Guardrails sends only the input: one
`POST /v1/data/guardrails/policies` with `{"input": ...}`.

Fails closed: unreachable, timed out, an HTTP error, a reply that is not JSON, an
undefined decision (no `result`), a server whose bundle revision is not the one the
local policies build, or one lacking a policy package they define (a stale
deployment would otherwise decide by other rules) is an `EngineError` (exit 2),
never a pass. The token is read from the environment
variable the user names and is never printed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from guardrails.engine.interface import VIOLATIONS_QUERY, EngineError, PolicySet

_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
_POLICIES = VIOLATIONS_QUERY.removeprefix("data.") + "."


def policy_packages(policies: PolicySet) -> frozenset[str]:
    """The packages directly under `data.guardrails.policies` the policy set defines."""
    found: set[str] = set()
    for module in policies.modules:
        match = _PACKAGE.search(module.text)
        if match and match.group(1).startswith(_POLICIES):
            found.add(match.group(1).removeprefix(_POLICIES).split(".")[0])
    return frozenset(found)


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
    """Seconds to wait for each request."""
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
        try:
            port = parts.port or (443 if parts.scheme == "https" else 8181)
        except ValueError:
            raise EngineError(f"--opa-url {url!r}: the port is not a number") from None
        token = None
        if token_env:
            token = os.environ.get(token_env)
            if not token:
                raise EngineError(f"--opa-token-env {token_env}: that variable is not set")
        shown = f"{parts.scheme}://{parts.hostname}:{port}"
        return cls(shown, parts.hostname, port, parts.scheme == "https", token, timeout, retries)

    def client(self) -> Any:
        """An `opa_client.OpaClient` for this server."""
        try:
            from opa_client import OpaClient
        except ImportError:
            raise EngineError(
                "the OPA engine needs opa-python-client: pip install 'saas-guardrails[opa]'"
            ) from None
        return OpaClient(
            host=self.host,
            port=self.port,
            ssl=self.tls,
            token=self.token,
            retries=self.retries,
            timeout=self.timeout,
        )


def _loopback(host: str) -> bool:
    """True for localhost and loopback addresses, where plain http never leaves the machine."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def describe_failure(server: OpaServer, doing: str, err: Exception) -> EngineError:
    """One line saying what went wrong talking to OPA (never the token)."""
    import requests

    where = f"OPA at {server.url}"
    if isinstance(err, requests.exceptions.Timeout) or _timed_out_after_retries(err):
        return EngineError(f"{where}: no answer within {server.timeout:g}s while {doing}")
    if isinstance(err, requests.exceptions.SSLError):
        return EngineError(f"{where}: TLS handshake failed while {doing}")
    if isinstance(err, requests.exceptions.ConnectionError):
        return EngineError(f"{where} is unreachable while {doing} (is the server running?)")
    if isinstance(err, requests.exceptions.HTTPError) and err.response is not None:
        # OPA's messages can quote Rego over several lines: keep the report to one.
        problem = " ".join(_http_problem(err.response).split())
        return EngineError(f"{where}: {doing} failed: {problem}")
    if isinstance(err, ValueError):  # the body was not JSON
        return EngineError(f"{where}: {doing}: the answer is not JSON")
    message = getattr(err, "message", None) or str(err)
    code = getattr(err, "expression", None)
    details = getattr(err, "errors", None)
    text = f"{code}: {message}" if code else str(message)
    if isinstance(details, list) and details:
        text += " (" + "; ".join(_error_item(item) for item in details[:5]) + ")"
    return EngineError(f"{where}: {doing} failed: {' '.join(text.split())}")


def _timed_out_after_retries(err: Exception) -> bool:
    """A read timeout on a retried request: requests reports it as a ConnectionError."""
    from urllib3.exceptions import ReadTimeoutError

    reason = getattr(err.args[0], "reason", None) if err.args else None
    return isinstance(reason, ReadTimeoutError)


def _error_item(item: Any) -> str:
    """`file:line:col: message` from one entry of OPA's `errors` list."""
    if not isinstance(item, Mapping):
        return str(item)
    where = item.get("location") or {}
    prefix = ""
    if isinstance(where, Mapping) and where.get("file"):
        prefix = f"{where.get('file')}:{where.get('row', '?')}:{where.get('col', '?')}: "
    return f"{prefix}{item.get('message', item)}"


def _http_problem(response: Any) -> str:
    """`HTTP 500 internal_error: message` from an OPA error response."""
    status = f"HTTP {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        return status
    if not isinstance(body, Mapping):
        return status
    text = f"{status} {body.get('code', '')}: {body.get('message', '')}".strip()
    details = body.get("errors")
    if isinstance(details, list) and details:
        text += " (" + "; ".join(_error_item(item) for item in details[:5]) + ")"
    return text


def deployed_revision(client: Any) -> str | None:
    """The revision of the bundle that owns `data.guardrails` on the server, if it says.

    OPA keeps each activated bundle's manifest under `data.system.bundles`. A server
    loaded over the REST API (`guardrails policy push`) has none, and one that will not
    show it (an authorization policy) is not an error here: then None, and the
    package check still applies.
    """
    import requests

    from guardrails.engine.bundle import ROOT

    try:
        answer = client.get_data("system/bundles")
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout):
        raise  # the server itself is in trouble: reported as such by the caller
    except Exception:  # not found, not allowed, not JSON: nothing to compare with
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

    def _check_revision(self, client: Any) -> None:
        """Refuse a server whose guardrails bundle was built from other policies or data."""
        if self._revision is None:
            return
        try:
            deployed = deployed_revision(client)
        except Exception as err:
            raise describe_failure(self._server, "reading its bundle revision", err) from None
        if deployed is not None and deployed != self._revision:
            raise EngineError(
                f"OPA at {self._server.url} holds guardrails bundle revision "
                f"{deployed[:12] or '(none)'}, but these policies and data build "
                f"{self._revision[:12]}: its verdicts would not match their rules; deploy "
                "the bundle `guardrails policy bundle` builds (or check with the same policies)"
            )

    def query(self, path: str, input: Mapping[str, Any] | None = None) -> Any:
        """POST `input` to `/v1/data/<path>`; a missing `result` is an error, never a pass."""
        if not path.startswith("data."):
            raise EngineError(f"the OPA engine queries documents under data, not {path!r}")
        package = path.removeprefix("data.")
        doing = f"querying {path}"
        with self._server.client() as client:
            self._check_revision(client)
            try:
                # Strict: a failing built-in is an error, as on the embedded engines.
                answer = client.query_rule(
                    dict(input or {}), package, query_params={"strict-builtin-errors": "true"}
                )
            except Exception as err:
                raise describe_failure(self._server, doing, err) from None
        if not isinstance(answer, Mapping):
            raise EngineError(f"OPA at {self._server.url}: {doing}: the answer is not an object")
        if "result" not in answer:
            raise EngineError(
                f"OPA at {self._server.url}: {path} is undefined there "
                "(is the guardrails bundle loaded? see `guardrails policy bundle`)"
            )
        result = answer["result"]
        if path == VIOLATIONS_QUERY and isinstance(result, Mapping):
            missing = sorted(self._packages - set(result))
            if missing:
                raise EngineError(
                    f"OPA at {self._server.url}: its bundle lacks the policy package(s) "
                    f"{', '.join(missing)} defined here, so their rules would not run: "
                    "deploy the bundle `guardrails policy bundle` builds from these policies"
                )
        return result


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
    """Load `policies` into a development OPA over its REST API; the policy ids pushed.

    `PUT /v1/policies/<id>` for each module (id = its path in the bundle, e.g.
    `guardrails/security.rego`) and `PUT /v1/data/guardrails` for the data. Modules
    under `guardrails/` that the server holds but the policy set no longer has are
    deleted first, so a removed rule stops applying. Production servers should load the
    bundle instead (a server with an active bundle rejects writes under its roots).
    """
    from guardrails.engine.bundle import ROOT, module_paths

    modules = [(path.lstrip("/"), text) for path, text in module_paths(policies)]
    wanted = {policy_id for policy_id, _ in modules}
    pushed: list[str] = []
    with server.client() as client:
        step = "listing policies"
        try:
            held = client.get_policies_list()
            for policy_id in held:
                if policy_id.startswith(f"{ROOT}/") and policy_id not in wanted:
                    step = f"deleting stale policy {policy_id}"
                    client.delete_policy(policy_id)
            step = f"writing data.{ROOT}"
            client.update_or_create_data(dict(policies.data), ROOT)
            for policy_id, text in modules:
                step = f"uploading policy {policy_id}"
                client.update_policy_from_string(text, policy_id, rego_compat=False)
                pushed.append(policy_id)
        except Exception as err:
            raise describe_failure(server, step, err) from None
    return pushed
