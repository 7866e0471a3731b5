"""Live discovery against local servers that speak each vendor's documented API.

Each source is fetched with its real client libraries (httpx; google-auth signing a
JWT for a service account; MSAL's client-credentials flow over TLS), through paging,
and must find what the same records give when read from the saved exports.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.discover.conftest import (
    GRAPH_TOKEN,
    SECRETS,
    Live,
    discover,
    estate_args,
    settings,
)


def _undeclared(run: Run) -> dict[str, dict[str, object]]:
    return {t["tool"]: t for t in run.json()["undeclared"]}


def _people(run: Run) -> dict[str, int]:
    document = run.json()
    return {t["tool"]: t["people"] for t in document["undeclared"] + document["in_use"]}


def _no_secret(run: Run) -> None:
    for secret in SECRETS:
        assert secret not in run.stdout + run.stderr


def test_google_live_finds_what_the_exports_hold(catalog: Path, google_api: Live) -> None:
    settings(catalog, {"google": {"api_url": google_api.url, "admin_subject": "admin@example.com"}})
    live = discover("--live", "google", "--format", "json", catalog=catalog)
    saved = discover(*estate_args("google"), "--format", "json", catalog=catalog)
    assert (live.exit_code, saved.exit_code) == (1, 1), live.stderr
    assert _people(live) == _people(saved)
    assert _undeclared(live)["pdf-docs-sync"]["scopes"] == _undeclared(saved)["pdf-docs-sync"]["scopes"]
    paths = [path for method, path in google_api.faults.requests]
    # users in pages of two (8 users: 4 pages), each user's tokens, activity in 2 pages
    assert sum(p.startswith("/admin/directory/v1/users?") for p in paths) == 4
    assert sum("pageToken=" in p for p in paths if "/activity/" in p) == 1
    assert ("POST", "/token") in google_api.faults.requests  # a real JWT exchange
    _no_secret(live)


def test_entra_live_gets_a_token_from_msal_and_follows_next_links(
    catalog: Path, graph_api: tuple[Live, Live]
) -> None:
    graph, authority = graph_api
    settings(
        catalog,
        {"entra": {"graph_url": f"{graph.url}/v1.0", "authority_host": authority.url}},
    )
    live = discover("--live", "entra", "--format", "json", catalog=catalog)
    saved = discover(*estate_args("entra"), "--format", "json", catalog=catalog)
    assert live.exit_code == saved.exit_code == 0, live.stderr
    assert _people(live) == _people(saved) == {"miro": 2, "salesforce": 2}
    assert _undeclared(live)["miro"]["scopes"] == _undeclared(saved)["miro"]["scopes"]
    paths = [path for _, path in graph.faults.requests]
    assert sum(p.startswith("/v1.0/servicePrincipals?") for p in paths) == 2  # 3 principals
    assert any("%24skiptoken=" in p or "$skiptoken=" in p for p in paths)
    # Microsoft's own service principal is not asked for its assignments.
    assert not any("00000003-aaaa-4000-8000-000000000001/appRoleAssignedTo" in p for p in paths)
    assert set(graph.faults.authorizations) == {f"Bearer {GRAPH_TOKEN}"}
    _no_secret(live)


def test_okta_live_follows_link_headers(catalog: Path, okta_api: Live) -> None:
    settings(catalog, {"okta": {"org_url": okta_api.url}})
    live = discover("--live", "okta", "--format", "json", catalog=catalog)
    saved = discover(*estate_args("okta"), "--format", "json", catalog=catalog)
    assert live.exit_code == saved.exit_code == 0, live.stderr
    assert _people(live) == _people(saved)
    assert _undeclared(live)["calendly"]["people"] == 2
    paths = [path for _, path in okta_api.faults.requests]
    assert sum(p.startswith("/api/v1/apps?") for p in paths) == 3  # 5 apps, 2 a page
    assert "after=2" in " ".join(paths)
    # The Okta dashboard (an Okta app) is not asked for its users.
    assert not any("0oa1dashb0ard00000001/users" in p for p in paths)
    _no_secret(live)
