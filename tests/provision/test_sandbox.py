"""`guardrails sandbox` as a person runs it: a background process that plan/apply find."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from guardrails.cli import main
from tests.provision.conftest import FIXTURES, NOW, TOKEN, World

GUARDRAILS = Path(sys.executable).parent / "guardrails"


def _wait_for(path: Path, process: subprocess.Popen[str]) -> dict[str, object]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if path.is_file():
            return dict(json.loads(path.read_text()))
        assert process.poll() is None, process.communicate()
        time.sleep(0.1)
    raise AssertionError("the sandbox did not start")


def test_sandbox_serves_plan_and_apply_then_stops_cleanly(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    shutil.copytree(FIXTURES / "catalog", root)
    env = {**os.environ, "GR_TEST_SCIM_TOKEN": TOKEN}
    process = subprocess.Popen(
        [str(GUARDRAILS), "sandbox", "-C", str(root)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    state_file = root / ".guardrails" / "sandbox.json"
    try:
        state = _wait_for(state_file, process)
        assert str(state["endpoint_url"]).startswith("http://127.0.0.1:")
        again = CliRunner().invoke(main, ["sandbox", "-C", str(root)])
        assert again.exit_code == 2 and "a sandbox already runs" in again.output
        apply = subprocess.run(
            [
                str(GUARDRAILS),
                "apply",
                "-C",
                str(root),
                "--now",
                NOW,
                "--auto-approve",
                "--sandbox",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert apply.returncode == 0, apply.stderr
        assert "done: + hubspot scim: create user alice@example.com" in apply.stdout
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "Sandbox stopped." in out
    assert not state_file.exists()
    for text in (
        out,
        err,
        apply.stdout,
        apply.stderr,
        state_file.parent.joinpath("audit.jsonl").read_text(),
    ):
        assert TOKEN not in text


def test_a_directory_naming_an_unknown_member_is_refused(tmp_path: Path) -> None:
    (tmp_path / "directory.yaml").write_text(
        "users: [{email: a@example.com}]\ngroups: {sales: [b@example.com]}\n"
    )
    result = CliRunner().invoke(main, ["sandbox", "-C", str(tmp_path)])
    assert result.exit_code == 2
    assert "group sales: b@example.com is not under users" in result.output


def test_plan_without_any_identity_center_says_how_to_get_one(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    shutil.copytree(FIXTURES / "catalog", root)
    env = {"GUARDRAILS_IDENTITY_STORE_ID": "", "GUARDRAILS_SSO_INSTANCE_ARN": ""}
    result = CliRunner(env=env).invoke(main, ["plan", "-C", str(root), "--now", NOW])
    assert result.exit_code == 2
    assert "start `guardrails sandbox`" in result.output


def test_a_stale_sandbox_state_file_is_explained(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    shutil.copytree(FIXTURES / "catalog", root)
    (root / ".guardrails").mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    state = {
        "region": "us-east-1",
        "identity_store_id": "d-1",
        "instance_arn": "arn:aws:sso:::instance/ssoins-1",
        "endpoint_url": "http://127.0.0.1:9",
        "scim_url": "http://127.0.0.1:9",
        "pid": dead.pid,
        "secret": "x",
    }
    path = root / ".guardrails" / "sandbox.json"
    path.write_text(json.dumps(state))
    path.chmod(0o600)
    result = CliRunner().invoke(main, ["plan", "-C", str(root), "--now", NOW, "--sandbox"])
    assert result.exit_code == 2
    assert f"its sandbox (pid {dead.pid}) is not running" in result.output


def test_the_application_stand_in_answers_like_aws(world: World) -> None:
    from botocore.exceptions import ClientError

    sso, store, sid = world.sso, world.store, world.state.identity_store_id
    instance = world.state.instance_arn
    # lists come in pages
    first = sso.list_applications(InstanceArn=instance, MaxResults=1)
    assert len(first["Applications"]) == 1 and first["NextToken"]
    pages = sso.get_paginator("list_applications").paginate(
        InstanceArn=instance, PaginationConfig={"PageSize": 1}
    )
    assert sorted(a["Name"] for p in pages for a in p["Applications"]) == [
        "HubSpot",
        "Salesforce",
        "Zoom",
    ]
    app = next(a for a in first["Applications"])["ApplicationArn"]
    group = store.create_group(IdentityStoreId=sid, DisplayName="g")["GroupId"]

    def code(call: object, **params: str) -> str:
        try:
            call(ApplicationArn=app, PrincipalType="GROUP", **params)  # type: ignore[operator]
        except ClientError as err:
            return str(err.response["Error"]["Code"])
        return "ok"

    missing = "9a67a2b4-0000-0000-0000-000000000000"
    assert code(sso.create_application_assignment, PrincipalId=missing) == (
        "ResourceNotFoundException"
    )
    assert code(sso.create_application_assignment, PrincipalId=group) == "ok"
    assert code(sso.create_application_assignment, PrincipalId=group) == "ConflictException"
    assert code(sso.delete_application_assignment, PrincipalId=group) == "ok"
    assert code(sso.delete_application_assignment, PrincipalId=group) == (
        "ResourceNotFoundException"
    )


def test_the_identity_store_keeps_memberships_unique_like_aws(world: World) -> None:
    from botocore.exceptions import ClientError

    store, sid = world.store, world.state.identity_store_id
    user = store.list_users(IdentityStoreId=sid)["Users"][0]["UserId"]
    group = store.create_group(IdentityStoreId=sid, DisplayName="g")["GroupId"]
    member = {"UserId": user}
    membership = store.create_group_membership(IdentityStoreId=sid, GroupId=group, MemberId=member)
    with pytest.raises(ClientError, match="ConflictException"):
        store.create_group_membership(IdentityStoreId=sid, GroupId=group, MemberId=member)
    store.delete_group(IdentityStoreId=sid, GroupId=group)
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        store.delete_group(IdentityStoreId=sid, GroupId=group)
    with pytest.raises(ClientError, match="ResourceNotFoundException"):  # gone with its group
        store.delete_group_membership(IdentityStoreId=sid, MembershipId=membership["MembershipId"])
