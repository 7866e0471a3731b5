"""plan/apply against a real sandbox over HTTP: create, no-op, changes, guards, failures."""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import boto3
import pytest

from guardrails.provision.apply import PROGRESS_FROM
from tests.provision.conftest import FIXTURES, NOW, TOKEN, World, stats, writes

GUARDRAILS = Path(sys.executable).parent / "guardrails"


HUBSPOT = {"alice@example.com", "jane.doe@example.com", "carol@example.com", "dan@example.com"}


def test_first_apply_creates_groups_assignments_and_scim_users(world: World) -> None:
    plan = world.run("plan")
    assert plan.exit_code == 0, plan.output
    assert "hubspot\n  identity-center\n    + create group saas-hubspot\n" in plan.output
    assert "    + add alice@example.com to saas-hubspot" in plan.output
    assert "    + assign saas-hubspot to application HubSpot" in plan.output
    assert "  scim\n    + create user alice@example.com" in plan.output
    assert "By person:" in plan.output
    assert world.faults.seen == {"aws": 0, "scim": 0}  # the plan only reads
    applied = world.run("apply", "--auto-approve", "--stats")
    assert applied.exit_code == 0, applied.output
    groups = world.groups()
    assert groups["saas-hubspot"]["Description"].startswith("managed-by: saas-guardrails")
    # hubspot: alice (user) + marketing-ops members
    expected = {"alice@example.com", "jane.doe@example.com", "carol@example.com", "dan@example.com"}
    assert world.members("saas-hubspot") == expected
    assert world.members("saas-zoom") == {
        "bob@example.com",
        "priya.nair@example.com",
        "hugo@example.com",
    }
    assert world.scim_users("hubspot") == dict.fromkeys(expected, True)
    audit = [
        json.loads(x) for x in (world.root / ".guardrails/audit.jsonl").read_text().split("\n")[:-1]
    ]
    intents = [a for a in audit if a["event"] == "intent"]
    outcomes = [a for a in audit if a["event"] == "outcome"]
    first = outcomes[0]
    assert {"time", "actor", "tool", "provider", "action", "principal", "outcome"} <= set(first)
    assert first["actor"] == "test-runner" and first["outcome"] == "ok"
    # written ahead: each change's intent comes before its write, its outcome after
    assert audit[0] == {**intents[0], "event": "intent"} and audit[1]["id"] == audit[0]["id"]
    changes = [x for x in plan.output.splitlines() if x.startswith("    ")]
    assert len(intents) == len(outcomes) == len(changes)
    # SCIM writes go in batches (members in one PATCH, accounts in one Bulk request)
    assert 0 < writes(applied) < len(changes)


def test_second_apply_changes_nothing_and_makes_no_write_call(world: World) -> None:
    assert world.run("apply", "--auto-approve").exit_code == 0
    served = dict(world.faults.seen)
    assert served["aws"] > 0 and served["scim"] > 0  # the first apply did write
    again = world.run("apply", "--auto-approve", "--stats")
    assert again.exit_code == 0, again.output
    assert "No changes" in again.output and "Nothing to do." in again.output
    # counted twice: by guardrails' own hooks (--stats) and by the servers themselves
    assert writes(again) == 0
    assert world.faults.seen == served
    assert "ListUsers" in again.output and "scim: 2 calls, 0 writes (GET 2)" in again.output


def test_saved_plan_is_applied_exactly_and_refused_once_stale(world: World) -> None:
    out = world.root / "plan.json"
    assert world.run("plan", "--out", str(out)).exit_code == 0
    saved = json.loads(out.read_text())
    assert saved["fingerprint"] and saved["changes"]
    applied = world.run("apply", str(out))
    assert applied.exit_code == 0, applied.output
    assert applied.output.count("  done: ") == len(saved["changes"])
    stale = world.run("apply", str(out))
    assert stale.exit_code == 2
    assert "is stale" in stale.output


def test_member_added_and_removed(world: World) -> None:
    assert world.run("apply", "--auto-approve").exit_code == 0
    world.edit("hubspot", "users: [alice@example.com]", "users: [bob@example.com]")
    plan = world.run("plan")
    assert "    + add bob@example.com to saas-hubspot" in plan.output
    assert "    - remove alice@example.com from saas-hubspot" in plan.output
    assert "    - deactivate user alice@example.com (active: false)" in plan.output
    assert re.search(r"^  alice@example\.com +-hubspot$", plan.output, re.M)
    assert re.search(r"^  bob@example\.com +\+hubspot$", plan.output, re.M)
    assert world.run("apply", "--auto-approve").exit_code == 0
    members = world.members("saas-hubspot")
    assert "bob@example.com" in members and "alice@example.com" not in members
    scim = world.scim_users("hubspot")
    assert scim["alice@example.com"] is False and scim["bob@example.com"] is True
    assert "DELETE" not in world.faults.scim_methods  # deactivated, never deleted
    # back again: alice is reactivated, not created twice
    world.edit("hubspot", "users: [bob@example.com]", "users: [alice@example.com]")
    plan = world.run("plan")
    assert "    ~ reactivate user alice@example.com" in plan.output
    assert world.run("apply", "--auto-approve").exit_code == 0
    assert world.scim_users("hubspot")["alice@example.com"] is True


def test_tool_removed_deletes_its_group_and_assignment(world: World) -> None:
    assert world.run("apply", "--auto-approve").exit_code == 0
    world.manifest("zoom").unlink()
    plan = world.run("plan")
    assert "zoom\n  identity-center\n    - remove bob@example.com from saas-zoom" in plan.output
    assert "    - unassign saas-zoom from application Zoom" in plan.output
    assert "    - delete group saas-zoom" in plan.output
    assert world.run("apply", "--auto-approve").exit_code == 0
    assert "saas-zoom" not in world.groups()
    assert "saas-hubspot" in world.groups()
    assert writes(world.run("apply", "--auto-approve", "--stats")) == 0


def test_deletion_guard_refuses_mass_revocation(world: World) -> None:
    assert world.run("apply", "--auto-approve").exit_code == 0
    world.manifest("zoom").unlink()  # 3 people lose Zoom (the group counts as its people)
    refused = world.run("apply", "--auto-approve", "--max-deletes", "2")
    assert refused.exit_code == 2
    assert "refusing to revoke 3 accesses (more than --max-deletes 2)" in refused.output
    assert world.members("saas-zoom") == {
        "bob@example.com",
        "priya.nair@example.com",
        "hugo@example.com",
    }  # nothing was touched
    allowed = world.run("apply", "--auto-approve", "--max-deletes", "3")
    assert allowed.exit_code == 0, allowed.output
    assert "saas-zoom" not in world.groups()


def test_blocked_manifest_is_reported_never_provisioned(world: World) -> None:
    shutil.copy(FIXTURES / "blocked-webinar.yaml", world.manifest("webinar-blocked"))
    applied = world.run("apply", "--auto-approve")
    assert applied.exit_code == 1
    # names the rule and the line, like `guardrails check` does
    assert re.search(
        r"^! webinar-blocked: blocked by [A-Z]+-[A-Z0-9-]+ at \S*manifests/webinar-blocked\.yaml"
        r":\d+:\d+(, [^:]+:\d+:\d+)*: nothing granted, revocations still applied",
        applied.output,
        re.M,
    ), applied.output
    assert "saas-webinar-blocked" not in world.groups()
    assert "saas-hubspot" in world.groups()  # the approved ones still are


def test_a_tool_that_becomes_blocked_keeps_its_access_untouched(world: World) -> None:
    assert world.run("apply", "--auto-approve").exit_code == 0
    world.edit("zoom", "sso: saml", "sso: none")
    again = world.run("apply", "--auto-approve", "--stats")
    assert again.exit_code == 1
    assert re.search(r"^! zoom: blocked by \S+ at \S*manifests/zoom\.yaml:", again.output, re.M)
    assert writes(again) == 0
    assert "saas-zoom" in world.groups()


def test_unmarked_group_is_never_touched(world: World) -> None:
    sid = world.state.identity_store_id
    world.store.create_group(IdentityStoreId=sid, DisplayName="saas-zoom", Description="by hand")
    applied = world.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "! zoom: group saas-zoom exists but guardrails did not create it" in applied.output
    assert world.groups()["saas-zoom"]["Description"] == "by hand"
    assert world.members("saas-zoom") == set()


def test_people_missing_from_the_directory_are_reported_not_created(world: World) -> None:
    world.edit("zoom", "users: [bob@example.com]", "users: [bob@example.com, zed@example.com]")
    applied = world.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "! zoom: zed@example.com is not in the directory: not provisioned" in applied.output
    users = world.store.list_users(IdentityStoreId=world.state.identity_store_id)["Users"]
    assert "zed@example.com" not in {u["UserName"] for u in users}


def test_throttling_on_a_write_is_retried(world: World) -> None:
    world.faults.fail_write("aws", 3, error="ThrottlingException", status="400 Bad Request")
    applied = world.run("apply", "--auto-approve", "--stats")
    assert applied.exit_code == 0, applied.output
    assert world.faults.injected == 1
    calls, _, requests = stats(applied)
    assert requests == calls + 1  # botocore's hooks saw the one retry
    assert writes(world.run("apply", "--auto-approve", "--stats")) == 0


def test_failure_half_way_then_reapply_converges(world: World) -> None:
    # The 5th write fails on both attempts (max_attempts: 2 in the fixture config): one
    # of hubspot's four members, added side by side after its group was created; which
    # one is whichever request reached the server fifth.
    world.faults.fail_write("aws", 5, times=2)
    failed = world.run("apply", "--auto-approve")
    assert world.faults.injected == 2
    assert failed.exit_code == 2
    assert "InternalServerException" in failed.output
    assert "Applied 4 of " in failed.output and "run `guardrails apply` again" in failed.output
    audit = [
        json.loads(x) for x in (world.root / ".guardrails/audit.jsonl").read_text().splitlines()
    ]
    outcomes = [a for a in audit if a["event"] == "outcome"]
    # the group, then its wave of four members: every one of them audited as it ended
    assert len(outcomes) == 5 and outcomes[0]["action"] == "create-group"
    assert {a["action"] for a in outcomes[1:]} == {"add-member"}
    lost = [a["principal"] for a in outcomes if a["outcome"].startswith("failed: ")]
    assert len(lost) == 1 and [a["outcome"] for a in outcomes].count("ok") == 4
    assert f"error: hubspot: add {lost[0]} to saas-hubspot" in failed.output
    assert world.members("saas-hubspot") == HUBSPOT - set(lost)
    # nothing after the failed wave was started
    assert not any(a["tool"] != "hubspot" or a["provider"] != "identity-center" for a in audit)
    resumed = world.run("apply", "--auto-approve")
    assert resumed.exit_code == 0, resumed.output
    # it picks up where the failure stopped: the group is not created twice
    assert "done: + hubspot identity-center: create group" not in resumed.output
    assert f"done: + hubspot identity-center: add {lost[0]}" in resumed.output
    assert writes(world.run("apply", "--auto-approve", "--stats")) == 0
    assert len(world.members("saas-hubspot")) == 4
    assert len(world.members("saas-salesforce")) == 6
    assert list(world.groups()).count("saas-hubspot") == 1


def test_scim_5xx_and_429_are_retried(world: World) -> None:
    world.faults.fail_write("scim", 2, status="503 Service Unavailable")
    applied = world.run("apply", "--auto-approve", "--stats")
    assert applied.exit_code == 0, applied.output
    assert world.faults.injected == 1
    calls, _, requests = stats(applied)
    assert requests == calls + 1
    world.edit("hubspot", "users: [alice@example.com]", "users: [bob@example.com]")
    world.faults.fail_write("scim", world.faults.seen["scim"] + 1, status="429 Too Many Requests")
    assert world.run("apply", "--auto-approve").exit_code == 0
    assert world.faults.injected == 2
    assert world.scim_users("hubspot")["bob@example.com"] is True


def test_scim_token_never_appears_in_output_plan_or_audit_log(world: World) -> None:
    out = world.root / "plan.json"
    outputs = [world.run("plan", "--out", str(out), "--stats").output]
    outputs.append(world.run("apply", str(out), "--stats").output)
    world.faults.fail_write("scim", world.faults.seen["scim"] + 1, times=5)
    world.edit("hubspot", "users: [alice@example.com]", "users: [bob@example.com]")
    outputs.append(world.run("apply", "--auto-approve").output)  # a failing run too
    files = [out.read_text(), (world.root / ".guardrails/audit.jsonl").read_text()]
    for text in outputs + files:
        assert TOKEN not in text
    assert "scim" in outputs[2] and "failed" in files[1]


def test_scim_token_unset_is_one_line_and_exit_2_before_any_write(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GR_TEST_SCIM_TOKEN")
    for command in (("plan",), ("apply", "--auto-approve")):
        result = world.run(*command)
        assert result.exit_code == 2
        assert result.output == (
            "guardrails: error: hubspot: SCIM token variable GR_TEST_SCIM_TOKEN is not set: "
            "export it (IT binds it in policies/data/provisioning.yaml)\n"
        )
    assert world.faults.seen == {"aws": 0, "scim": 0}
    assert "saas-zoom" not in world.groups()  # fail closed: not even the other tools


def test_a_user_whose_username_is_not_the_email_is_matched_by_email(world: World) -> None:
    world.store.create_user(
        IdentityStoreId=world.state.identity_store_id,
        UserName="zara",
        DisplayName="Zara Ali",
        Name={"GivenName": "Zara", "FamilyName": "Ali"},
        Emails=[{"Value": "Zara.Ali@example.com", "Type": "work", "Primary": True}],
    )
    world.edit("zoom", "users: [bob@example.com]", "users: [bob@example.com, zara.ali@example.com]")
    applied = world.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "+ add zara.ali@example.com to saas-zoom" in applied.output
    assert writes(world.run("apply", "--auto-approve", "--stats")) == 0


def test_dropping_the_provisioning_block_gives_up_the_group(world: World) -> None:
    assert world.run("apply", "--auto-approve").exit_code == 0
    world.edit("zoom", "  provisioning:\n    identity_center:\n      application: Zoom\n", "")
    applied = world.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "    - delete group saas-zoom" in applied.output
    assert "saas-zoom" not in world.groups()


def test_a_scim_group_guardrails_did_not_create_is_left_alone(world: World) -> None:
    import httpx2

    url = f"{world.state.scim_url}/hubspot/v2/Groups"
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "saas-hubspot",
    }
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx2.post(url, json=body, headers=headers).status_code == 201
    applied = world.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert (
        "! hubspot: SCIM group saas-hubspot exists but guardrails did not create it"
        in applied.output
    )
    assert "scim: add alice@example.com to saas-hubspot" not in applied.output
    assert world.scim_users("hubspot")["alice@example.com"] is True  # users still pushed
    group = httpx2.get(url, headers=headers).json()["Resources"][0]
    assert not group.get("members")


def test_an_unknown_application_is_one_line_and_exit_2_before_any_scim_request(
    world: World,
) -> None:
    world.bind(
        "zoom:\n      identity_center: {application: Zoom}",
        "zoom:\n      identity_center: {application: Zoom Workplace}",
    )
    world.edit("zoom", "application: Zoom", "application: Zoom Workplace")
    result = world.run("apply", "--auto-approve")
    assert result.exit_code == 2
    assert result.output.startswith(
        "guardrails: error: zoom: Identity Center application 'Zoom Workplace' not found"
    )
    assert "the instance has: HubSpot, Salesforce, Zoom" in result.output
    assert len(result.output.splitlines()) == 1
    assert world.faults.seen == {"aws": 0, "scim": 0}
    # the directory is read first: no SCIM endpoint was sent its token, not even a read
    assert not [path for path in world.faults.scim_paths if "/v2/" in path]


def test_a_manifest_that_does_not_parse_withholds_every_removal(world: World) -> None:
    assert world.run("apply", "--auto-approve").exit_code == 0
    # a bad merge: zoom's manifest no longer parses, so its name cannot be read
    world.manifest("zoom").write_text("apiVersion: guardrails/v1\nkind: [SaaSTool\n")
    applied = world.run("apply", "--auto-approve", "--stats")
    assert applied.exit_code == 1, applied.output
    assert (
        "zoom.yaml: does not parse: no tool missing from the catalog loses access until it does"
        in applied.output
    )
    assert writes(applied) == 0
    assert world.members("saas-zoom") == {
        "bob@example.com",
        "priya.nair@example.com",
        "hugo@example.com",
    }


def test_a_hand_edited_plan_file_is_refused(world: World) -> None:
    out = world.root / "plan.json"
    assert world.run("plan", "--out", str(out)).exit_code == 0
    saved = json.loads(out.read_text())
    saved["changes"][1]["principal"] = "bob@example.com"  # fingerprint left as it was
    out.write_text(json.dumps(saved))
    refused = world.run("apply", str(out))
    assert refused.exit_code == 2
    assert "its changes are not what its inputs give (edited by hand?)" in refused.output
    assert "saas-hubspot" not in world.groups()


def test_audit_log_goes_to_the_configured_path(world: World) -> None:
    config = world.root / "guardrails.yaml"
    config.write_text(config.read_text() + "audit_log: logs/provisioning.jsonl\n")
    applied = world.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "audit log: logs/provisioning.jsonl" in applied.output
    assert not (world.root / ".guardrails" / "audit.jsonl").exists()
    lines = [
        json.loads(x) for x in (world.root / "logs/provisioning.jsonl").read_text().splitlines()
    ]
    lines = [x for x in lines if x["event"] == "outcome"]
    assert len(lines) == applied.output.count("  done: ")
    assert {
        "event": "outcome",
        "id": lines[0]["id"],
        "time": lines[0]["time"],
        "actor": "test-runner",
        "tool": "hubspot",
        "provider": "identity-center",
        "action": "create-group",
        "principal": "saas-hubspot",
        "target": "",
        "outcome": "ok",
    } == lines[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", lines[0]["time"])
    scim = [x for x in lines if x["provider"] == "scim"]
    assert scim and all(x["tool"] == "hubspot" for x in scim)


def test_a_wrong_scim_token_fails_in_one_line_without_printing_either_token(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert world.run("apply", "--auto-approve").exit_code == 0
    wrong = "wrong-s3cret-7c9e0b"
    monkeypatch.setenv("GR_TEST_SCIM_TOKEN", wrong)
    for command in (("plan",), ("apply", "--auto-approve")):
        result = world.run(*command)
        assert result.exit_code == 2
        assert "hubspot: scim " in result.output and "UnauthorizedException" in result.output
        assert wrong not in result.output and TOKEN not in result.output
        assert "Traceback" not in result.output


def test_botocore_clients_retry_in_adaptive_mode(world: World) -> None:
    from guardrails.config import load_config
    from guardrails.provision.calls import CallCounter
    from guardrails.provision.identity_center import make_clients
    from guardrails.provision.settings import load_settings

    settings = load_settings(load_config(world.root), use_sandbox=True).identity_center
    assert settings is not None
    for client in make_clients(settings, CallCounter()):
        assert client.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 2}


def _apply_in_a_process(world: World, stderr_on_a_terminal: bool) -> tuple[int, str, str]:
    """Run `guardrails apply` as a user does; stderr on a pseudo-terminal or a pipe.

    The in-process sandbox serves it: its state file names this (living) process."""
    command = [str(GUARDRAILS), "apply", "-C", str(world.root), "--now", NOW, "--auto-approve"]
    command.append("--sandbox")
    env = {**os.environ, "COLUMNS": "100"}
    if not stderr_on_a_terminal:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        return done.returncode, done.stdout, done.stderr
    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:  # keep reading so the child never blocks on a full terminal
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        done = subprocess.run(
            command, env=env, stdout=subprocess.PIPE, stderr=slave, text=True, timeout=120
        )
    finally:
        os.close(slave)
        reader.join(timeout=10)
        os.close(master)
    return done.returncode, done.stdout, b"".join(chunks).decode(errors="replace")


def test_a_long_apply_shows_a_progress_bar_on_a_terminal(world: World) -> None:
    code, stdout, terminal = _apply_in_a_process(world, stderr_on_a_terminal=True)
    assert code == 0, stdout + terminal
    assert "Applying" in terminal and "100%" in terminal
    assert stdout.count("  done: ") >= PROGRESS_FROM  # the record is still printed


def test_no_progress_bar_when_output_is_not_a_terminal(world: World) -> None:
    code, stdout, stderr = _apply_in_a_process(world, stderr_on_a_terminal=False)
    assert code == 0, stdout + stderr
    assert stdout.count("  done: ") >= PROGRESS_FROM
    assert "Applying" not in stdout + stderr and "%" not in stdout + stderr


def test_a_write_done_but_its_answer_lost_then_reapply_converges(world: World) -> None:
    # CreateGroup saas-hubspot is carried out by moto, but both attempts answer 500:
    # the retry finds the name taken, the run stops; the next apply adopts nothing it
    # did not mark, and finds its own marked group.
    world.faults.fail_write("aws", 1, times=2, after=True)
    failed = world.run("apply", "--auto-approve")
    assert failed.exit_code == 2, failed.output
    assert world.faults.injected == 2
    assert "Applied 0 of " in failed.output
    resumed = world.run("apply", "--auto-approve")
    assert resumed.exit_code == 0, resumed.output
    assert "create group saas-hubspot" not in resumed.output.split("scim")[0]
    assert [g for g in world.store_groups() if g == "saas-hubspot"] == ["saas-hubspot"]
    assert len(world.members("saas-hubspot")) == 4
    assert writes(world.run("apply", "--auto-approve", "--stats")) == 0


def test_scim_failure_half_way_then_reapply_converges(world: World) -> None:
    # the 3rd SCIM write (create user dan) is carried out, then answers 500: a POST is
    # not sent again (it could create a second resource); the run stops there
    world.one_request_per_account()  # (test_scale.py has the same with Bulk)
    world.faults.fail_write("scim", 3, status="500 Internal Server Error", after=True)
    failed = world.run("apply", "--auto-approve")
    assert failed.exit_code == 2, failed.output
    assert world.faults.injected == 1
    assert "error: hubspot: create user dan@example.com: scim http://" in failed.output
    resumed = world.run("apply", "--auto-approve")
    assert resumed.exit_code == 0, resumed.output
    assert "create user dan@example.com" not in resumed.output
    expected = {"alice@example.com", "jane.doe@example.com", "carol@example.com", "dan@example.com"}
    assert world.scim_users("hubspot") == dict.fromkeys(expected, True)
    assert writes(world.run("apply", "--auto-approve", "--stats")) == 0


def test_a_deactivated_scim_user_guardrails_did_not_create_is_left_alone(world: World) -> None:
    import httpx2

    url = f"{world.state.scim_url}/hubspot/v2/Users"
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "carol@example.com",
        "active": False,
    }
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx2.post(url, json=body, headers=headers).status_code == 201
    applied = world.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert (
        "! hubspot: SCIM user carol@example.com is deactivated and guardrails did not create "
        "it: left alone" in applied.output
    )
    assert world.scim_users("hubspot")["carol@example.com"] is False
    assert world.scim_users("hubspot")["dan@example.com"] is True


def test_every_page_is_read_past_a_hundred_users_and_members(world: World) -> None:
    # moto pages ListUsers and ListGroupMemberships by 100: a group of 150 people is
    # only seen whole when every page is read, else the next apply would add them again
    world.add_team("big-team", "person", 150)
    world.edit("zoom", "groups: [field-marketing]", "groups: [field-marketing, big-team]")
    applied = world.run("apply", "--auto-approve", "--max-deletes", "0")
    assert applied.exit_code == 0, applied.output
    assert len(world.members("saas-zoom")) == 153
    again = world.run("apply", "--auto-approve", "--stats")
    assert writes(again) == 0, again.output
    assert re.search(r"ListUsers 2\b", again.output)


def test_every_scim_page_is_read_and_mass_deactivation_is_refused(world: World) -> None:
    import httpx2

    assert world.run("apply", "--auto-approve").exit_code == 0
    url = f"{world.state.scim_url}/hubspot/v2/Users"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx2.Client(headers=headers) as http:
        for n in range(105):  # accounts guardrails made earlier, for people since removed
            email = f"former{n:03d}@example.com"
            body = {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": email,
                "externalId": f"saas-guardrails:{email}",
                "active": True,
            }
            assert http.post(url, json=body).status_code == 201
    plan = world.run("plan")
    assert "(105 revocations of access)" in plan.output
    assert "- deactivate user former104@example.com (active: false)" in plan.output
    refused = world.run("apply", "--auto-approve")  # the default --max-deletes
    assert refused.exit_code == 2
    assert "refusing to revoke 105 accesses (more than --max-deletes 10)" in refused.output
    assert all(world.scim_users("hubspot").values())  # nothing deactivated


def test_apply_without_a_terminal_or_auto_approve_changes_nothing(world: World) -> None:
    result = world.run("apply")
    assert result.exit_code == 2
    assert "guardrails: error: not a terminal: rerun with --auto-approve to apply" in result.output
    assert "+ create group saas-hubspot" in result.output  # the plan was shown first
    assert world.faults.seen == {"aws": 0, "scim": 0}
    assert not (world.root / ".guardrails" / "audit.jsonl").exists()


def test_a_lost_answer_to_creating_the_scim_group_never_makes_a_second_one(
    world: World,
) -> None:
    import httpx2

    # SCIM writes: 4 users, then POST /Groups (5th, with its members): carried out,
    # answer lost in a 500
    world.one_request_per_account()
    world.faults.fail_write("scim", 5, status="500 Internal Server Error", after=True)
    failed = world.run("apply", "--auto-approve")
    assert failed.exit_code == 2, failed.output
    assert "hubspot: create group saas-hubspot: scim " in failed.output
    resumed = world.run("apply", "--auto-approve")
    assert resumed.exit_code == 0, resumed.output
    assert "done: + hubspot scim: create group" not in resumed.output
    url = f"{world.state.scim_url}/hubspot/v2/Groups"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    groups = httpx2.get(url, headers=headers).json()["Resources"]
    assert [(g["displayName"], len(g["members"])) for g in groups] == [("saas-hubspot", 4)]
    # a same-named group made by hand later is reported and left alone
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "saas-hubspot",
    }
    assert httpx2.post(url, json=body, headers=headers).status_code == 201
    world.edit("hubspot", "users: [alice@example.com]", "users: [bob@example.com]")
    applied = world.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "! hubspot: 1 more SCIM group(s) named saas-hubspot: left alone" in applied.output
    assert "done: + hubspot scim: add bob@example.com to saas-hubspot" in applied.output
    sizes = sorted(
        len(g.get("members") or []) for g in httpx2.get(url, headers=headers).json()["Resources"]
    )
    assert sizes == [0, 4]


def test_a_patch_whose_answer_was_lost_is_sent_again_without_doubling(world: World) -> None:
    import httpx2

    # the group is created with its members; members added later go in one PATCH
    assert world.run("apply", "--auto-approve").exit_code == 0
    world.one_request_per_account()
    world.edit(
        "hubspot",
        "users: [alice@example.com]",
        "users: [alice@example.com, bob@example.com, erin@example.com]",
    )
    # SCIM writes: users bob and erin, then the member PATCH: carried out, then 500
    world.faults.fail_write(
        "scim", world.faults.seen["scim"] + 3, status="500 Internal Server Error", after=True
    )
    applied = world.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert world.faults.injected == 1
    url = f"{world.state.scim_url}/hubspot/v2/Groups"
    group = httpx2.get(url, headers={"Authorization": f"Bearer {TOKEN}"}).json()["Resources"][0]
    assert len(group["members"]) == len({m["value"] for m in group["members"]}) == 6
    assert writes(world.run("apply", "--auto-approve", "--stats")) == 0


def test_a_tool_moved_to_another_application_is_reassigned(world: World) -> None:
    assert world.run("apply", "--auto-approve").exit_code == 0
    world.bind("{application: Zoom}", "{application: Salesforce}")  # IT moves it
    world.edit("zoom", "application: Zoom", "application: Salesforce")
    applied = world.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "    + assign saas-zoom to application Salesforce" in applied.output
    assert "    - unassign saas-zoom from application Zoom" in applied.output
    # read back through sso-admin (answered by the sandbox's stand-in, see the docs)
    session = boto3.session.Session(
        region_name=world.state.region, aws_access_key_id="x", aws_secret_access_key="x"
    )
    sso = session.client("sso-admin", endpoint_url=world.state.endpoint_url)
    apps = {
        a["Name"]: a["ApplicationArn"]
        for a in sso.list_applications(InstanceArn=world.state.instance_arn)["Applications"]
    }
    zoom_group = world.groups()["saas-zoom"]["GroupId"]

    def assigned(app: str) -> set[str]:
        listed = sso.list_application_assignments(ApplicationArn=apps[app])
        return {a["PrincipalId"] for a in listed["ApplicationAssignments"]}

    assert zoom_group in assigned("Salesforce") and zoom_group not in assigned("Zoom")
    assert writes(world.run("apply", "--auto-approve", "--stats")) == 0
