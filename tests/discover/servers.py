"""Local HTTP servers on loopback that speak each vendor's documented endpoints.

They serve the sample estate's records (examples/estate) in small pages, with each
vendor's own paging (Google `nextPageToken`, Graph `@odata.nextLink`, Okta `Link`
headers) and credential checks, so that a live discovery can be compared with the
same records read from files. Faults are switched on per test: throttling (429 with
`Retry-After`), refused credentials (401), redirects and paging links to another
host, oversized and slow replies. Microsoft's token authority speaks TLS (MSAL only
talks https), with a certificate made for the test.
"""

from __future__ import annotations

import base64
import datetime
import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

REPO = Path(__file__).resolve().parents[2]
ESTATE = REPO / "examples" / "estate"
PAGE = 2
"""Records per page: small, so that every listing takes several pages."""

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Faults:
    """What a server does wrong, and what it saw."""

    throttle: dict[str, int] = field(default_factory=dict)
    """Path -> how many times to answer 429 before serving it."""
    retry_after: str = "1"
    """The `Retry-After` value of a 429."""
    redirect: str | None = None
    """Answer every API request with a 302 to this URL."""
    foreign_next: str | None = None
    """Make the first paging link point at this other origin."""
    huge: bool = False
    """Answer with a body larger than any limit."""
    slow: float = 0.0
    """Seconds to trickle each reply over."""
    requests: list[tuple[str, str]] = field(default_factory=list)
    """(method, path with query) of every request received."""
    authorizations: list[str] = field(default_factory=list)
    """The Authorization header of every API request (checked, never printed)."""


class Vendor(ThreadingHTTPServer):
    """A vendor API on a free loopback port; `route(method, path, query, headers, body)`."""

    daemon_threads = True

    def __init__(
        self, route: Callable[..., Answer], faults: Faults, tls: ssl.SSLContext | None = None
    ):
        self.route, self.faults = route, faults
        super().__init__(("127.0.0.1", 0), _Handler)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`."""
        host, port = self.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: Vendor

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, method: str) -> None:
        faults = self.server.faults
        faults.requests.append((method, self.path))
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, headers, payload = self.server.route(method, parts.path, query, self.headers, body)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if faults.huge and status == 200:
            payload = b'{"value": [' + b'"x",' * (9 * 1024 * 1024) + b'"x"]}'
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        try:
            if faults.slow and status == 200:
                step = max(1, len(payload) // 20)
                for start in range(0, len(payload), step):
                    self.wfile.write(payload[start : start + step])
                    self.wfile.flush()
                    time.sleep(faults.slow / 20)
            else:
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on a slow or huge reply, as it should


def reply(value: Any, status: int = 200, **headers: str) -> Answer:
    """A JSON answer."""
    return status, {"Content-Type": "application/json", **headers}, json.dumps(value).encode()


def api_faults(
    faults: Faults, path: str, authorization: str | None, expected: str
) -> Answer | None:
    """The answer a fault (or a refused credential) gives instead of the data, if any."""
    faults.authorizations.append(authorization or "")
    if authorization != expected:
        return reply({"error": {"code": 401, "message": "Request had invalid credentials."}}, 401)
    if faults.throttle.get(path, 0) > 0:
        faults.throttle[path] -= 1
        return reply({"error": "rate limited"}, 429, **{"Retry-After": faults.retry_after})
    if faults.redirect:
        return 302, {"Location": faults.redirect}, b""
    return None


def paged(items: list[Any], start: int) -> tuple[list[Any], int | None]:
    """(one page from `start`, where the next starts or None)."""
    end = start + PAGE
    return items[start:end], (end if end < len(items) else None)


def load(path: str) -> Any:
    """A file of the sample estate."""
    return json.loads((ESTATE / path).read_text())


# --- Google Workspace ---------------------------------------------------------------


def google(faults: Faults, access_token: str) -> Callable[..., Answer]:
    """Admin SDK Directory (users, tokens) and Reports (token activity), plus the OAuth
    token endpoint a service-account key's `token_uri` names."""
    replies = load("google/directory-tokens.json")
    users = replies[0]["users"]
    tokens: dict[str, list[Any]] = {}
    for listing in replies[1:]:
        for item in listing["items"]:
            tokens.setdefault(item["userKey"], []).append(item)
    activity = load("google/token-activity.json")["items"]
    by_email = {u["primaryEmail"]: u["id"] for u in users}

    def route(method: str, path: str, query: dict[str, str], headers: Any, body: bytes) -> Answer:
        if path == "/token" and method == "POST":
            form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
            if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
                return reply({"error": "unsupported_grant_type"}, 400)
            claims = json.loads(_b64(form["assertion"].split(".")[1]))
            if claims.get("sub") != "admin@example.com":
                return reply({"error": "unauthorized_client"}, 401)
            return reply({"access_token": access_token, "expires_in": 3600, "token_type": "Bearer"})
        refused = api_faults(faults, path, headers.get("Authorization"), f"Bearer {access_token}")
        if refused:
            return refused
        start = int(query.get("pageToken", "0"))
        if path == "/admin/directory/v1/users":
            if query.get("customer") != "my_customer":
                return reply({"error": "customer"}, 400)
            page, following = paged(users, start)
            value = {"kind": "admin#directory#users", "users": page}
        elif path.startswith("/admin/directory/v1/users/") and path.endswith("/tokens"):
            key = path.split("/")[5]
            value = {
                "kind": "admin#directory#tokenList",
                "items": tokens.get(by_email.get(key, key), []),
            }
            following = None
        elif path == "/admin/reports/v1/activity/users/all/applications/token":
            page, following = paged(activity, start)
            value = {"kind": "admin#reports#activities", "items": page}
        else:
            return reply({"error": "not found"}, 404)
        if following is not None:
            value["nextPageToken"] = str(following)
        return reply(value)

    return route


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- Microsoft Graph and its token authority ------------------------------------------


def graph(faults: Faults, access_token: str, base: Callable[[], str]) -> Callable[..., Answer]:
    """Graph v1.0 collections with `@odata.nextLink` paging."""
    principals, grants, assigned, users = load("entra/graph-replies.json")
    by_resource: dict[str, list[Any]] = {}
    for item in assigned["value"]:
        by_resource.setdefault(item["resourceId"], []).append(item)
    collections = {
        "/v1.0/servicePrincipals": principals["value"],
        "/v1.0/oauth2PermissionGrants": grants["value"],
        "/v1.0/users": users["value"],
    }

    def route(method: str, path: str, query: dict[str, str], headers: Any, body: bytes) -> Answer:
        refused = api_faults(faults, path, headers.get("Authorization"), f"Bearer {access_token}")
        if refused:
            return refused
        if path in collections:
            items = collections[path]
        elif path.startswith("/v1.0/servicePrincipals/") and path.endswith("/appRoleAssignedTo"):
            items = by_resource.get(path.split("/")[3], [])
        else:
            return reply({"error": {"code": "Request_ResourceNotFound"}}, 404)
        start = int(query.get("$skiptoken", "0"))
        page, following = paged(items, start)
        value: dict[str, Any] = {
            "@odata.context": f"{base()}/v1.0/$metadata#{path.split('/')[-1]}",
            "value": page,
        }
        if following is not None:
            origin = faults.foreign_next or base()
            value["@odata.nextLink"] = (
                f"{origin}{path}?{urlencode({**query, '$skiptoken': following})}"
            )
        return reply(value)

    return route


def authority(
    tenant: str, client_id: str, secret: str, access_token: str, base: Callable[[], str]
) -> Callable[..., Answer]:
    """The OpenID configuration and token endpoint MSAL's client-credentials flow uses."""

    def route(method: str, path: str, query: dict[str, str], headers: Any, body: bytes) -> Answer:
        if path == f"/{tenant}/v2.0/.well-known/openid-configuration":
            return reply(
                {
                    "issuer": f"{base()}/{tenant}/v2.0",
                    "authorization_endpoint": f"{base()}/{tenant}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{base()}/{tenant}/oauth2/v2.0/token",
                }
            )
        if path == f"/{tenant}/oauth2/v2.0/token" and method == "POST":
            form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
            if (form.get("client_id"), form.get("client_secret")) != (client_id, secret):
                return reply({"error": "invalid_client", "error_description": "AADSTS7000215"}, 401)
            if form.get("grant_type") != "client_credentials":
                return reply({"error": "unsupported_grant_type"}, 400)
            return reply({"access_token": access_token, "expires_in": 3599, "token_type": "Bearer"})
        return reply({"error": "not found"}, 404)

    return route


def tls_context(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 with a self-signed certificate, and the
    certificate's file (for the client to trust)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "authority.pem", folder / "authority.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file


# --- Okta -----------------------------------------------------------------------------


def okta(faults: Faults, api_token: str, base: Callable[[], str]) -> Callable[..., Answer]:
    """`/api/v1/apps` and `/api/v1/apps/{id}/users`, paged by `Link: <...>; rel="next"`."""
    apps = load("okta/apps.json")
    users: dict[str, list[Any]] = {}
    for user in load("okta/app-users.json"):
        app_id = user["_links"]["app"]["href"].rsplit("/", 1)[1]
        users.setdefault(app_id, []).append(user)

    def route(method: str, path: str, query: dict[str, str], headers: Any, body: bytes) -> Answer:
        refused = api_faults(faults, path, headers.get("Authorization"), f"SSWS {api_token}")
        if refused:
            return refused
        if path == "/api/v1/apps":
            items = apps
        elif path.startswith("/api/v1/apps/") and path.endswith("/users"):
            items = users.get(path.split("/")[4], [])
        else:
            return reply({"errorCode": "E0000007", "errorSummary": "Not found"}, 404)
        start = int(query.get("after", "0"))
        page, following = paged(items, start)
        links = {}
        if following is not None:
            origin = faults.foreign_next or base()
            links["Link"] = (
                f'<{origin}{path}?{urlencode({**query, "after": following})}>; rel="next"'
            )
        return reply(page, 200, **links)

    return route


def started(
    route: Callable[..., Answer], faults: Faults, tls: ssl.SSLContext | None = None
) -> Iterator[Vendor]:
    """A running `Vendor` for a fixture (stopped afterwards)."""
    server = Vendor(route, faults, tls)
    try:
        yield server
    finally:
        server.stop()
