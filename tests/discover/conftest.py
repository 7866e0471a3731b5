"""Fixtures for discovery: the sample estate, and live vendor servers on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, NOW, Run, guardrails
from tests.discover import servers
from tests.discover.servers import Faults, Vendor

ESTATE = EXAMPLES / "estate"
SOURCES = {
    "google": ESTATE / "google",
    "entra": ESTATE / "entra",
    "okta": ESTATE / "okta",
    "identity-center": ESTATE / "identity-center",
    "expenses": ESTATE / "expenses",
}
GOOGLE_TOKEN = "ya29.test-access-token-3f9c1e7a"
GRAPH_TOKEN = "eyJ0eXAiOiJKV1Qi.graph-test-token.5b2d"
AZURE_SECRET = "azure-client-secret-9d8e7f6a"
OKTA_TOKEN = "00okta-test-api-token-41c8e2"
SECRETS = (GOOGLE_TOKEN, GRAPH_TOKEN, AZURE_SECRET, OKTA_TOKEN, "BEGIN PRIVATE KEY")


def discover(*args: str | Path, catalog: Path = EXAMPLES) -> Run:
    """`guardrails discover -C catalog --now NOW ARGS`."""
    return guardrails("discover", "-C", catalog, "--now", NOW, *args)


def estate_args(*names: str) -> list[str]:
    """`--from NAME=PATH` for each source of the sample estate (all when none named)."""
    return [f"--from={name}={SOURCES[name]}" for name in names or SOURCES]


def settings(catalog: Path, discover: dict[str, object]) -> None:
    """Write `guardrails.yaml` with this `discover:` block (JSON is YAML)."""
    (catalog / "guardrails.yaml").write_text(json.dumps({"discover": discover}))


@dataclass
class Live:
    """A vendor server and what it saw."""

    server: Vendor
    faults: Faults

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
def google_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    """Google's Directory and Reports APIs, and a service-account key whose `token_uri`
    is that server: google-auth signs a real JWT and exchanges it there."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    faults = Faults()
    for server in servers.started(servers.google(faults, GOOGLE_TOKEN), faults):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        account = {
            "type": "service_account",
            "project_id": "guardrails-test",
            "private_key_id": "0123456789abcdef",
            "private_key": pem,
            "client_email": "discover@guardrails-test.iam.gserviceaccount.com",
            "client_id": "100000000000000000042",
            "token_uri": f"{server.url}/token",
        }
        key_file = tmp_path / "service-account.json"
        key_file.write_text(json.dumps(account))
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
        yield Live(server, faults)


@pytest.fixture
def graph_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Live, Live]]:
    """Microsoft Graph (http) and its token authority (https, a test certificate)."""
    tenant, client = "4f1c2a7e-3b55-4c0e-9d1a-6a2b8e0c9d11", "b5d7e0f2-0000-4000-8000-00000000c11e"
    context, certificate = servers.tls_context(tmp_path)
    graph_faults, authority_faults = Faults(), Faults()
    urls: dict[str, str] = {}
    for graph in servers.started(
        servers.graph(graph_faults, GRAPH_TOKEN, lambda: urls["graph"]), graph_faults
    ):
        urls["graph"] = graph.url
        route = servers.authority(tenant, client, AZURE_SECRET, GRAPH_TOKEN, lambda: urls["auth"])
        for authority in servers.started(route, authority_faults, context):
            urls["auth"] = authority.url
            monkeypatch.setenv("AZURE_TENANT_ID", tenant)
            monkeypatch.setenv("AZURE_CLIENT_ID", client)
            monkeypatch.setenv("AZURE_CLIENT_SECRET", AZURE_SECRET)
            monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate))  # MSAL uses requests
            yield Live(graph, graph_faults), Live(authority, authority_faults)


@pytest.fixture
def okta_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    """Okta's apps and app-users listings, paged by Link headers."""
    faults = Faults()
    urls: dict[str, str] = {}
    for server in servers.started(servers.okta(faults, OKTA_TOKEN, lambda: urls["okta"]), faults):
        urls["okta"] = server.url
        monkeypatch.setenv("OKTA_CLIENT_TOKEN", OKTA_TOKEN)
        yield Live(server, faults)
