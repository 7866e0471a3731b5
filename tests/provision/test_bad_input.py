"""Bad input to plan/apply/sandbox: one clear line, exit 2, no traceback, no secret."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from guardrails.cli import main
from tests.provision.conftest import FIXTURES, NOW, TOKEN, World


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _error_line(output: str) -> str:
    """The one line a failure prints; fails on a traceback or several lines."""
    assert "Traceback" not in output
    lines = output.splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("guardrails: error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("users: [alice\n", "directory.yaml:"),
        ("- just\n- a list\n", "directory.yaml: not a directory file"),
        ("users: [plain-string]\n", "directory.yaml: not a directory file"),
        ("users:\n  - {name: No Email}\n", "directory.yaml: not a directory file"),
        ("users: []\ngroups: {sales: [b@example.com]}\n", "group sales: b@example.com is not"),
    ],
)
def test_a_bad_directory_file_is_one_line_and_exit_2(
    tmp_path: Path, text: str, expected: str
) -> None:
    (tmp_path / "directory.yaml").write_text(text)
    result = CliRunner().invoke(main, ["sandbox", "-C", str(tmp_path)])
    assert result.exit_code == 2
    assert expected in _error_line(result.output)
    assert not (tmp_path / ".guardrails" / "sandbox.json").exists()


def test_a_missing_directory_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["sandbox", "-C", str(tmp_path)])
    assert result.exit_code == 2
    assert "directory.yaml: cannot read the sandbox directory" in _error_line(result.output)


def test_an_unreachable_aws_endpoint_is_one_line_and_exit_2(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.direct(monkeypatch)
    config = world.root / "guardrails.yaml"
    config.write_text(
        config.read_text().replace(world.state.endpoint_url, f"http://127.0.0.1:{_closed_port()}")
    )
    for command in (("plan",), ("apply", "--auto-approve")):
        result = world.run(*command, sandbox=False)
        assert result.exit_code == 2
        line = _error_line(result.output)
        assert "identity-center: Could not connect to the endpoint URL" in line


def test_an_unreachable_scim_endpoint_is_one_line_and_exit_2(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.direct(monkeypatch)
    port = _closed_port()
    world.point_scim("hubspot", f"http://127.0.0.1:{port}/hubspot/v2")
    result = world.run("apply", "--auto-approve", sandbox=False)
    assert result.exit_code == 2
    line = _error_line(result.output)
    assert f"hubspot: scim http://127.0.0.1:{port}/hubspot/v2: RequestNetworkException" in line
    assert "Connection refused" in line or "connect" in line.lower()
    assert TOKEN not in line
    assert world.faults.seen == {"aws": 0, "scim": 0}  # planning failed: nothing written


def test_an_identity_center_without_credentials_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "catalog"
    shutil.copytree(FIXTURES / "catalog", root)
    monkeypatch.setenv("GR_TEST_SCIM_TOKEN", TOKEN)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("GUARDRAILS_IDENTITY_STORE_ID", "d-1234567890")
    monkeypatch.setenv("GUARDRAILS_SSO_INSTANCE_ARN", "arn:aws:sso:::instance/ssoins-1")
    config = root / "guardrails.yaml"
    config.write_text(
        config.read_text().replace(
            "  identity_center:\n",
            f"  identity_center:\n    endpoint_url: http://127.0.0.1:{_closed_port()}\n",
        )
    )
    result = CliRunner().invoke(main, ["plan", "-C", str(root), "--now", NOW])
    assert result.exit_code == 2
    assert "identity-center: Unable to locate credentials" in _error_line(result.output)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not json", "not a guardrails plan file"),
        ('{"version": 99, "fingerprint": "x", "changes": []}', "unsupported plan version 99"),
        (
            '{"version": 1, "fingerprint": "x", "changes": [{"provider": "scim", "tool": "t",'
            ' "action": "drop-table", "principal": "p"}]}',
            "unknown action 'drop-table'",
        ),
    ],
)
def test_a_file_that_is_not_a_plan_is_one_line_and_exit_2(
    world: World, text: str, expected: str
) -> None:
    planfile = world.root / "plan.json"
    planfile.write_text(text)
    result = world.run("apply", str(planfile))
    assert result.exit_code == 2
    line = _error_line(result.output)
    assert f"{planfile}: not a guardrails plan file" in line and expected in line
    assert world.faults.seen == {"aws": 0, "scim": 0}


def test_a_binary_plan_file_is_one_line_and_exit_2(world: World) -> None:
    planfile = world.root / "plan.json"
    planfile.write_bytes(b"\xff\xfe\x00garbage")
    result = world.run("apply", str(planfile))
    assert result.exit_code == 2
    assert f"{planfile}: cannot read the plan: not UTF-8 text" in _error_line(result.output)


@pytest.mark.parametrize(
    ("binding", "expected"),
    [
        (  # one endpoint, two tools: one's revocations would deactivate the other's users
            "    zoom:\n      identity_center: {application: Zoom}\n      scim:\n"
            "        url: https://api.hubspot.example/scim/v2/\n        token_env: ZOOM_TOKEN\n",
            "hubspot and zoom are bound to the same SCIM URL",
        ),
        (
            "    zoom:\n      identity_center: {application: Zoom, admin_group: true}\n"
            "    zoom-admins:\n      identity_center: {application: Zoom}\n",
            "zoom-admins: its group saas-zoom-admins would be the admin group of zoom",
        ),
        (
            "    zoom:\n      scim: {url: 'http://198.51.100.7/scim', token_env: ZOOM_TOKEN}\n",
            "zoom.scim.url: must be an https URL (or http on loopback",
        ),
        (
            "    zoom:\n      scim: {url: 'https://x.example/scim', token_env: 'a b'}\n",
            "zoom.scim.token_env: must name an environment variable",
        ),
        ("    zoom:\n      identity_center: {app: Zoom}\n", "unknown key 'app'"),
    ],
)
def test_bindings_that_cannot_be_right_are_one_line_and_exit_2(
    world: World, binding: str, expected: str
) -> None:
    world.bind("    zoom:\n      identity_center: {application: Zoom}\n", binding)
    for command in (("plan",), ("apply", "--auto-approve")):
        result = world.run(*command)
        assert result.exit_code == 2
        line = _error_line(result.output)
        assert line.startswith("guardrails: error: policy data provisioning.bindings")
        assert expected in line
    assert world.faults.seen == {"aws": 0, "scim": 0}


def test_the_cause_of_a_provisioning_error_is_in_the_debug_log_without_the_token(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The error stays one line; with GUARDRAILS_LOG=debug the failure it came from
    (the HTTP library's, botocore's) is shown too, the SCIM token blotted out."""
    world.direct(monkeypatch)
    monkeypatch.setenv("GUARDRAILS_LOG", "debug")
    world.point_scim("hubspot", f"http://127.0.0.1:{_closed_port()}/hubspot/v2")
    result = world.run("plan", sandbox=False)
    assert result.exit_code == 2
    assert "the failure it came from" in result.output and "ConnectError" in result.output
    assert TOKEN not in result.output
    config = world.root / "guardrails.yaml"
    config.write_text(
        config.read_text().replace(world.state.endpoint_url, f"http://127.0.0.1:{_closed_port()}")
    )
    result = world.run("plan", sandbox=False)
    assert result.exit_code == 2
    assert "botocore.exceptions.EndpointConnectionError" in result.output
    assert "direct cause of the following exception" in result.output
