"""Attacks on provisioning, end to end: the real CLI against the real moto server and
scim2-server over HTTP, a capture server on loopback standing for the attacker's, and
the state read back independently (boto3, SCIM GETs).

The pull request's author controls manifests and committed files; only IT's bindings,
guardrails.yaml and policies from the base branch are trusted (PRODUCT.md §10).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.provision.capture import capture_server
from tests.provision.conftest import AWS_TEST_CREDENTIALS, TOKEN, World

SECRETS = (TOKEN, *AWS_TEST_CREDENTIALS.values())
"""What must never reach a server of the attacker's, nor any output."""


def _no_secret_in(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def _check(world: World, *args: str) -> list[dict[str, object]]:
    result = world.run("check", "--format", "json", *args)
    assert result.exit_code in (0, 1), result.output
    findings: list[dict[str, object]] = json.loads(result.output)["findings"]
    return findings


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def _waive_at_check_time(world: World, rule: str) -> None:
    """IT's data makes `rule` advisory, so `check` passes: plan/apply must still refuse
    (their own defence, not the check's)."""
    data = world.root / "policies" / "data" / "levels.yaml"
    data.write_text(f"rules:\n  {rule}: {{level: advisory}}\n")


def _notes_asking_for(world: World, application: str) -> Path:
    """A tool `notes`, otherwise approved, asking for `application`."""
    notes = world.manifest("notes")
    text = world.manifest("zoom").read_text()
    notes.write_text(
        text.replace("name: zoom", "name: notes").replace(
            "application: Zoom", f"application: {application}"
        )
    )
    return notes


def test_a_manifest_asking_for_another_tools_application_gets_nothing(world: World) -> None:
    notes = _notes_asking_for(world, "HubSpot")
    findings = [f for f in _check(world) if f["manifest"] == "notes" and f["blocking"]]
    assert [(f["rule"], f["line"], f["blocking"]) for f in findings] == [
        ("SEC-PROVISIONING-BINDING", _line_of(notes, "application: HubSpot"), True)
    ]
    assert "'HubSpot' is bound to hubspot, not to notes" in str(findings[0]["message"])
    blocked = world.run("apply", "--auto-approve")
    assert blocked.exit_code == 1, blocked.output
    assert "! notes: blocked by SEC-PROVISIONING-BINDING at " in blocked.output
    # Defence in depth: with the check's rule made advisory, plan refuses it on its own.
    _waive_at_check_time(world, "SEC-PROVISIONING-BINDING")
    assert world.run("check").exit_code == 0
    refused = world.run("apply", "--auto-approve")
    assert refused.exit_code == 1, refused.output
    assert "! notes: refused: it asks for Identity Center, which IT did not bind to notes" in (
        refused.output
    )
    assert "saas-notes" not in world.groups()
    assert world.assigned("HubSpot") == {"saas-hubspot"}


def test_a_bound_tool_asking_for_another_application_keeps_its_own(world: World) -> None:
    assert world.run("apply", "--auto-approve").exit_code == 0
    _waive_at_check_time(world, "SEC-PROVISIONING-BINDING")
    world.edit("zoom", "application: Zoom", "application: HubSpot")
    applied = world.run("apply", "--auto-approve", "--stats")
    assert applied.exit_code == 1, applied.output
    assert "! zoom: refused: it asks for application 'HubSpot'; IT bound 'Zoom' to zoom" in (
        applied.output
    )
    assert world.assigned("HubSpot") == {"saas-hubspot"}
    assert world.assigned("Zoom") == {"saas-zoom"}


def test_an_unbound_scim_url_never_receives_a_token(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.direct(monkeypatch)  # no sandbox substitution: the URLs are used as they are
    with capture_server() as (url, captured):
        world.edit("hubspot", f"url: {world.state.scim_url}/hubspot/v2", f"url: {url}/scim/v2")
        findings = _check(world)
        line = _line_of(world.manifest("hubspot"), f"url: {url}/scim/v2")
        assert ("SEC-PROVISIONING-BINDING", line) in [(f["rule"], f["line"]) for f in findings]
        _waive_at_check_time(world, "SEC-PROVISIONING-BINDING")
        outputs = []
        for command in (("plan",), ("apply", "--auto-approve")):
            result = world.run(*command, sandbox=False)
            assert result.exit_code == 1, result.output
            assert "! hubspot: refused: its SCIM URL is not the one IT bound to hubspot" in (
                result.output
            )
            outputs.append(result.output)
        assert captured.requests == []
    _no_secret_in(*outputs)
    assert world.scim_users("hubspot") == {}  # refused: nothing granted at the bound one


def test_a_token_variable_named_in_a_manifest_is_never_read(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.direct(monkeypatch)
    with capture_server() as (url, captured):
        world.edit(
            "hubspot",
            f"      url: {world.state.scim_url}/hubspot/v2\n",
            f"      url: {url}/scim/v2\n      token_env: AWS_SECRET_ACCESS_KEY\n",
        )
        line = _line_of(world.manifest("hubspot"), "token_env:")
        found = {(f["rule"], f["line"]) for f in _check(world) if f["manifest"] == "hubspot"}
        assert {("SCHEMA-INVALID", line), ("SEC-PROVISIONING-TOKEN", line)} <= found
        outputs = [world.run("check").output]
        for command in (("plan",), ("apply", "--auto-approve")):
            result = world.run(*command, sandbox=False)
            assert result.exit_code == 1, result.output
            outputs.append(result.output)
        assert captured.requests == []
    _no_secret_in(*outputs, (world.root / ".guardrails" / "audit.jsonl").read_text())


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def _repository(root: Path) -> None:
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.email", "it@example.com")
    _git(root, "config", "user.name", "IT")


def test_a_committed_sandbox_state_file_is_refused(world: World) -> None:
    state_file = world.root / ".guardrails" / "sandbox.json"
    with capture_server() as (url, captured):
        forged = json.loads(state_file.read_text())
        forged.update(endpoint_url=url, scim_url=url)
        _repository(world.root)
        state_file.write_text(json.dumps(forged))
        state_file.chmod(0o600)
        _git(world.root, "add", "-A")
        _git(world.root, "commit", "-qm", "a catalog, with a sandbox state of my choosing")
        outputs = []
        for sandbox in (False, True):
            for command in (("plan",), ("apply", "--auto-approve")):
                result = world.run(*command, sandbox=sandbox)
                assert result.exit_code == 2, result.output
                assert result.output == (
                    "guardrails: error: .guardrails/sandbox.json is tracked by git: a "
                    "sandbox's state comes from `guardrails sandbox` on this machine, never "
                    "from the repository (git rm --cached it)\n"
                )
                outputs.append(result.output)
        assert captured.requests == []
    assert world.faults.seen == {"aws": 0, "scim": 0}


def test_a_sandbox_state_file_is_never_read_unless_asked_for(world: World) -> None:
    result = world.run("plan", sandbox=False)  # no --sandbox and no Identity Center set
    assert result.exit_code == 2
    assert "start `guardrails sandbox` and pass --sandbox" in result.output


def test_a_forged_sandbox_state_file_is_refused_even_when_asked(world: World) -> None:
    state_file = world.root / ".guardrails" / "sandbox.json"
    real = json.loads(state_file.read_text())
    with capture_server() as (url, captured):
        for key in ("endpoint_url", "scim_url"):
            state_file.write_text(json.dumps({**real, key: url}))
            state_file.chmod(0o600)
            for command in (("plan",), ("apply", "--auto-approve")):
                result = world.run(*command)
                assert result.exit_code == 2, result.output
                assert f"the server at its {key} is not this catalog's sandbox" in result.output
        # it was asked to prove itself, and sent nothing else: no token, no signature
        assert captured.requests and all(
            r.startswith("GET /_guardrails/sandbox?challenge=") for r in captured.requests
        )
        assert "Authorization" not in captured.text
        assert TOKEN not in captured.text
    state_file.write_text(json.dumps({**real, "endpoint_url": "http://192.0.2.1:80"}))
    state_file.chmod(0o600)
    assert "endpoint_url is not a loopback http URL" in world.run("plan").output
    state_file.write_text(json.dumps(real))
    state_file.chmod(0o644)  # readable by others: not a file the sandbox wrote
    assert "not a sandbox state file written by you" in world.run("plan").output
    assert world.faults.seen == {"aws": 0, "scim": 0}


def test_a_scim_endpoint_that_redirects_elsewhere_sends_no_token_there(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.direct(monkeypatch)
    with capture_server() as (elsewhere, captured), capture_server() as (bound, bouncer):
        bouncer.redirect_to = elsewhere
        world.point_scim("hubspot", f"{bound}/scim/v2")  # IT bound it; it answers 307
        result = world.run("plan", sandbox=False)
        assert result.exit_code == 2, result.output
        assert "hubspot: scim " in result.output
        assert bouncer.requests  # the bound endpoint was asked, with its token
        assert captured.requests == []  # the redirect was not followed
    _no_secret_in(result.output)


def test_a_hostile_scim_server_echoing_the_token_never_gets_it_printed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.direct(monkeypatch)
    with capture_server() as (bound, echoer):
        echoer.echo = True
        world.point_scim("hubspot", f"{bound}/scim/v2")
        for command in (("plan",), ("apply", "--auto-approve")):
            result = world.run(*command, sandbox=False)
            assert result.exit_code == 2, result.output
            assert len(result.output.splitlines()) == 1 and "Traceback" not in result.output
            assert "Authorization: Bearer ***" in result.output  # its echo, blotted out
            _no_secret_in(result.output)
        assert TOKEN in echoer.text  # it did get the token: it is the bound endpoint


@pytest.mark.parametrize("padding", ["\n", "  ", "\r\n", "\t"])
def test_a_token_with_whitespace_around_it_is_stripped_and_works(
    world: World, monkeypatch: pytest.MonkeyPatch, padding: str
) -> None:
    monkeypatch.setenv("GR_TEST_SCIM_TOKEN", f"{padding}{TOKEN}{padding}")
    applied = world.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert world.scim_users("hubspot")["alice@example.com"] is True


@pytest.mark.parametrize("inside", ["\n", " ", "\x7f", "é"])
def test_a_token_that_cannot_be_a_header_is_one_line_naming_only_the_variable(
    world: World, monkeypatch: pytest.MonkeyPatch, inside: str
) -> None:
    head, tail = TOKEN[:10], TOKEN[10:]
    monkeypatch.setenv("GR_TEST_SCIM_TOKEN", f"{head}{inside}{tail}\n")
    for command in (("plan",), ("apply", "--auto-approve")):
        result = world.run(*command)
        assert result.exit_code == 2
        assert result.output == (
            "guardrails: error: hubspot: SCIM token in GR_TEST_SCIM_TOKEN has a character "
            f"that cannot be sent in an HTTP header (character 11 of {len(TOKEN) + 1}): "
            "set it again\n"
        )
        assert head not in result.output and tail not in result.output
    assert world.faults.seen == {"aws": 0, "scim": 0}


def test_a_pull_request_cannot_rebind_or_redirect_through_its_own_config(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.direct(monkeypatch)
    (world.root / ".gitignore").write_text(".guardrails/\n")
    _repository(world.root)
    _git(world.root, "add", "-A")
    _git(world.root, "commit", "-qm", "base: IT's bindings and settings")
    base = _git(world.root, "rev-parse", "HEAD")
    with capture_server() as (url, captured):
        # the pull request: its own settings, its own binding, a tool asking for HubSpot
        config = world.root / "guardrails.yaml"
        config.write_text(config.read_text().replace(world.state.endpoint_url, url))
        world.bind(
            "    zoom:\n", "    notes:\n      identity_center: {application: HubSpot}\n    zoom:\n"
        )
        _notes_asking_for(world, "HubSpot")
        _git(world.root, "commit", "-qam", "pr")
        _git(world.root, "add", "-A")
        _git(world.root, "commit", "-qm", "pr: notes")
        check = world.run("check", "--policies-ref", base)
        assert check.exit_code == 1
        assert re.search(r"notes\.yaml:\d+:\d+: error: SEC-PROVISIONING-BINDING", check.output)
        applied = world.run("apply", "--auto-approve", "--policies-ref", base, sandbox=False)
        assert applied.exit_code == 1, applied.output
        assert "! notes: blocked by SEC-PROVISIONING-BINDING" in applied.output
        assert captured.requests == []  # the base's settings were used: moto
    assert world.assigned("HubSpot") == {"saas-hubspot"}
    assert "saas-notes" not in world.groups()
    _no_secret_in(check.output, applied.output)


LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
USER = {"id": "u1", "userName": "alice@example.com", "active": True}


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (
            {"schemas": [LIST], "totalResults": 1, "Resources": [{**USER, "id": "../../Groups/g"}]},
            "unusable resource id",
        ),
        (
            {"schemas": [LIST], "totalResults": 1, "Resources": [{**USER, "userName": 7}]},
            "userName is a int",
        ),
        (
            {"schemas": [LIST], "totalResults": 1, "Resources": [{**USER, "active": "no"}]},
            "active is a str",
        ),
        ({"schemas": [LIST], "totalResults": 1, "Resources": ["alice"]}, "a JSON object"),
        ({"schemas": [LIST], "Resources": [USER]}, "without totalResults"),
        ({"totalResults": 1, "Resources": [USER]}, "without schemas"),
        ([USER], "a JSON object"),
    ],
)
def test_a_scim_answer_with_a_field_guardrails_uses_malformed_is_refused(
    world: World, monkeypatch: pytest.MonkeyPatch, answer: object, why: str
) -> None:
    """Reads are checked field by field, not by scim2-models: every field guardrails
    uses must be there with its type, and an id must be one that can go into a path,
    or the plan stops in one line before anything is written."""
    world.direct(monkeypatch)
    with capture_server() as (bound, server):
        server.answer = answer
        world.point_scim("hubspot", f"{bound}/scim/v2")
        result = world.run("apply", "--auto-approve", sandbox=False)
    assert result.exit_code == 2, result.output
    assert len(result.output.splitlines()) == 1 and "Traceback" not in result.output
    assert f"hubspot: scim {bound}/scim/v2: " in result.output and why in result.output
    assert world.faults.seen == {"aws": 0, "scim": 0}
    _no_secret_in(result.output)
