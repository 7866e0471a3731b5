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
from tests.discover import servers
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
    assert (
        _undeclared(live)["pdf-docs-sync"]["scopes"]
        == _undeclared(saved)["pdf-docs-sync"]["scopes"]
    )
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


# --- Hostile or failing servers: exit 2 with one line, never a pass, never a secret ---


def test_throttling_is_waited_out_as_retry_after_asks(catalog: Path, google_api: Live) -> None:
    settings(catalog, {"google": {"api_url": google_api.url, "admin_subject": "admin@example.com"}})
    google_api.faults.throttle["/admin/reports/v1/activity/users/all/applications/token"] = 2
    started = time.monotonic()
    run = discover("--live", "google", "--format", "json", catalog=catalog)
    assert run.exit_code == 1, run.stderr
    assert time.monotonic() - started >= 2.0  # Retry-After: 1, twice
    activity = [p for _, p in google_api.faults.requests if "/activity/" in p]
    assert len(activity) == 2 + 2  # two refused, then both pages
    assert "pdf-docs-sync" in _undeclared(run)


def test_a_retry_after_beyond_the_limit_is_an_error(catalog: Path, okta_api: Live) -> None:
    settings(catalog, {"okta": {"org_url": okta_api.url}, "limits": {"max_wait": 5}})
    okta_api.faults.throttle["/api/v1/apps"] = 1
    okta_api.faults.retry_after = "3600"
    started = time.monotonic()
    run = discover("--live", "okta", catalog=catalog)
    assert time.monotonic() - started < 5
    assert run.exit_code == 2
    assert "throttled, and asked to wait 3600 s, more than the 5 s allowed" in run.stderr


def test_endless_throttling_gives_up(catalog: Path, okta_api: Live) -> None:
    settings(catalog, {"okta": {"org_url": okta_api.url}, "limits": {"max_retries": 2}})
    okta_api.faults.throttle["/api/v1/apps"] = 100
    okta_api.faults.retry_after = "0"
    run = discover("--live", "okta", catalog=catalog)
    assert run.exit_code == 2
    assert "still throttled after 2 retries" in run.stderr
    assert len(okta_api.faults.requests) == 3


def test_a_refused_token_says_what_to_check_and_never_prints_it(
    catalog: Path, okta_api: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings(catalog, {"okta": {"org_url": okta_api.url}})
    monkeypatch.setenv("OKTA_CLIENT_TOKEN", "00wrong-token-6e1d")
    run = discover("--live", "okta", catalog=catalog)
    assert run.exit_code == 2
    assert run.stderr.startswith(f"guardrails: error: okta: {okta_api.url}/api/v1/apps: 401 ")
    assert "check OKTA_CLIENT_TOKEN" in run.stderr
    assert "00wrong-token-6e1d" not in run.stdout + run.stderr
    assert "Traceback" not in run.stderr


def test_a_refused_azure_secret_is_an_error(
    catalog: Path, graph_api: tuple[Live, Live], monkeypatch: pytest.MonkeyPatch
) -> None:
    graph, authority = graph_api
    settings(
        catalog, {"entra": {"graph_url": f"{graph.url}/v1.0", "authority_host": authority.url}}
    )
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "not-the-secret-22aa")
    run = discover("--live", "entra", catalog=catalog)
    assert run.exit_code == 2
    assert "entra: the token request was refused (invalid_client)" in run.stderr
    assert "not-the-secret-22aa" not in run.stdout + run.stderr
    assert graph.faults.requests == []  # no token, no Graph call


def test_missing_credentials_are_named(catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OKTA_CLIENT_TOKEN", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    settings(catalog, {"okta": {"org_url": "https://example.okta.com"}})
    okta = discover("--live", "okta", catalog=catalog)
    entra = discover("--live", "entra", catalog=catalog)
    assert (okta.exit_code, entra.exit_code) == (2, 2)
    assert "okta: live discovery needs OKTA_CLIENT_TOKEN in the environment" in okta.stderr
    assert "AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET" in entra.stderr


def test_a_redirect_is_refused_not_followed(catalog: Path, okta_api: Live) -> None:
    settings(catalog, {"okta": {"org_url": okta_api.url}})
    okta_api.faults.redirect = "https://collector.invalid/steal"
    run = discover("--live", "okta", catalog=catalog)
    assert run.exit_code == 2
    assert "redirected (302) to https://collector.invalid/steal: redirects are not followed" in (
        run.stderr
    )
    assert len(okta_api.faults.requests) == 1


@pytest.mark.parametrize("source", ["okta", "entra"])
def test_a_paging_link_to_another_host_is_refused(
    catalog: Path, source: str, okta_api: Live, graph_api: tuple[Live, Live]
) -> None:
    graph, authority = graph_api
    other = "http://127.0.0.2:9"  # another origin: the credential must never go there
    if source == "okta":
        okta_api.faults.foreign_next = other
        settings(catalog, {"okta": {"org_url": okta_api.url}})
    else:
        graph.faults.foreign_next = other
        settings(
            catalog,
            {"entra": {"graph_url": f"{graph.url}/v1.0", "authority_host": authority.url}},
        )
    run = discover("--live", source, catalog=catalog)
    assert run.exit_code == 2
    assert f"{source}: refusing to send credentials to {other}/" in run.stderr
    _no_secret(run)


def test_an_oversized_reply_is_refused(catalog: Path, okta_api: Live) -> None:
    settings(catalog, {"okta": {"org_url": okta_api.url}, "limits": {"max_reply_bytes": 100000}})
    okta_api.faults.huge = True
    run = discover("--live", "okta", catalog=catalog)
    assert run.exit_code == 2
    assert "reply larger than 100000 bytes: refused" in run.stderr


def test_a_slow_reply_is_cut_off(catalog: Path, okta_api: Live) -> None:
    settings(catalog, {"okta": {"org_url": okta_api.url}, "limits": {"timeout": 1}})
    okta_api.faults.slow = 4.0  # each chunk arrives in time; the whole reply does not
    started = time.monotonic()
    run = discover("--live", "okta", catalog=catalog)
    assert run.exit_code == 2
    assert "no complete reply within 1 s" in run.stderr
    assert time.monotonic() - started < 4.0


def test_a_reply_that_is_not_the_documented_shape_names_the_record(
    catalog: Path, okta_api: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings(catalog, {"okta": {"org_url": okta_api.url}})
    original = okta_api.server.route

    def broken(*args: object) -> servers.Answer:
        status, headers, body = original(*args)
        if status == 200 and args[1] == "/api/v1/apps":
            apps = json.loads(body)
            apps[-1]["label"] = 42
            body = json.dumps(apps).encode()
        return status, headers, body

    okta_api.server.route = broken
    run = discover("--live", "okta", catalog=catalog)
    assert run.exit_code == 2
    assert f"{okta_api.url}/api/v1/apps: [1].label: label must be a non-empty string" in (
        run.stderr
    )
