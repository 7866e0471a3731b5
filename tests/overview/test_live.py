"""`guardrails report --with-plan`: seats against the people in the live directory.

A real sandbox (moto over HTTP for Identity Center, scim2-server for SCIM) seeded
from examples/directory.yaml; `guardrails apply` provisions the examples, then the
live directory is changed behind guardrails' back and the report must show it.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from guardrails.config import load_config
from guardrails.provision.sandbox import Sandbox, SandboxState, load_directory
from tests.conftest import EXAMPLES, guardrails

NOW = "2026-11-22"


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, SandboxState]]:
    """A copy of examples/, provisioned into a running sandbox."""
    root = tmp_path / "catalog"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns("bad"))
    for data in (root / "policies" / "data").glob("*.yaml"):  # IT's bindings
        for variable in re.findall(r"token_env: *([A-Z0-9_]+)", data.read_text("utf-8")):
            monkeypatch.setenv(variable, "sandbox-token-for-the-report-test")
    box = Sandbox(load_config(root), load_directory(root / "directory.yaml"))
    state = box.start()
    try:
        applied = guardrails("apply", "-C", root, "--auto-approve", "--now", NOW, "--sandbox")
        assert applied.exit_code == 0, applied.stdout + applied.stderr
        yield root, state
    finally:
        box.stop()


def seats(root: Path, *args: str) -> dict[str, dict[str, Any]]:
    run = guardrails("report", root, "--now", NOW, "-f", "json", "--with-plan", "--sandbox", *args)
    assert run.exit_code == 0, run.stderr
    found = run.json()
    assert found["live"] is True
    return {t["name"]: t["seats"] for t in found["tools"]}


class Directory:
    """The sandbox's Identity Store, changed directly (as an admin would in AWS)."""

    def __init__(self, state: SandboxState) -> None:
        session = boto3.session.Session(
            region_name=state.region, aws_access_key_id="x", aws_secret_access_key="x"
        )
        self.store = session.client("identitystore", endpoint_url=state.endpoint_url)
        self.id = state.identity_store_id

    def user(self, email: str) -> str:
        users = self.store.list_users(IdentityStoreId=self.id)["Users"]
        return str(next(u["UserId"] for u in users if u["UserName"] == email))

    def group(self, name: str) -> str:
        groups = self.store.list_groups(IdentityStoreId=self.id)["Groups"]
        return str(next(g["GroupId"] for g in groups if g["DisplayName"] == name))

    def add(self, email: str, group: str) -> None:
        member = {"UserId": self.user(email)}
        self.store.create_group_membership(
            IdentityStoreId=self.id, GroupId=self.group(group), MemberId=member
        )

    def remove(self, email: str, group: str) -> None:
        memberships = self.store.list_group_memberships(
            IdentityStoreId=self.id, GroupId=self.group(group)
        )["GroupMemberships"]
        user = self.user(email)
        membership = next(m for m in memberships if m["MemberId"]["UserId"] == user)
        self.store.delete_group_membership(
            IdentityStoreId=self.id, MembershipId=membership["MembershipId"]
        )


def test_people_provisioned_are_read_from_the_live_directory(
    live: tuple[Path, SandboxState],
) -> None:
    root, state = live
    found = seats(root)
    # hubspot: alice + marketing-ops (jane, carol, dan); canva: brand (lee, grace) +
    # marketing-ops; salesforce: sales (sam, erin, farid) + marketing-ops; zoom:
    # field-marketing (priya, hugo) + bob. The other four have no managed group.
    provisioned = {name: s["provisioned"] for name, s in found.items()}
    assert provisioned == {
        "canva": 5,
        "eventbrite": None,
        "google-analytics": None,
        "hootsuite": None,
        "hubspot": 4,
        "salesforce": 6,
        "slack": None,
        "zoom": 3,
    }
    assert {name: s["granted"] for name, s in found.items()} == {
        "canva": 5,
        "eventbrite": 2,
        "google-analytics": 2,
        "hootsuite": 2,
        "hubspot": 4,
        "salesforce": 6,
        "slack": 13,
        "zoom": 3,
    }
    directory = Directory(state)
    # By hand, outside guardrails: carol leaves HubSpot's managed group and bob joins
    # marketing-ops. The live directory now grants hubspot five people (bob through
    # marketing-ops), and three of them are provisioned (carol gone, bob not yet added).
    directory.remove("carol@example.com", "saas-hubspot")
    directory.add("bob@example.com", "marketing-ops")
    changed = seats(root)
    assert (changed["hubspot"]["granted"], changed["hubspot"]["provisioned"]) == (5, 3)
    assert changed["hubspot"]["unused"] == 20  # 25 seats - 5 granted


def test_the_seats_table_gets_a_live_column(live: tuple[Path, SandboxState]) -> None:
    root, _ = live
    run = guardrails(
        "report",
        root,
        "--now",
        NOW,
        "-f",
        "csv",
        "--table",
        "seats",
        "--with-plan",
        "--sandbox",
    )
    assert run.exit_code == 0, run.stderr
    table = {row["Tool"]: row for row in csv.DictReader(io.StringIO(run.stdout))}
    assert table["zoom"]["Provisioned (live)"] == "3"
    assert table["slack"]["Provisioned (live)"] == ""


def test_with_plan_and_nowhere_to_read_is_exit_2(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns("bad"))
    run = guardrails("report", root, "--now", NOW, "-f", "json", "--with-plan")
    assert run.exit_code == 2
    assert run.stderr.startswith("guardrails: error: --with-plan: no Identity Center to read")
    assert run.stdout == ""


def test_a_running_sandbox_is_read_only_when_asked_for(live: tuple[Path, SandboxState]) -> None:
    # A sandbox state file could come from anywhere (a pull request, another user):
    # without --sandbox it is never what --with-plan reads.
    root, _ = live
    run = guardrails("report", root, "--now", NOW, "-f", "json", "--with-plan")
    assert run.exit_code == 2
    assert run.stderr.startswith("guardrails: error: --with-plan: no Identity Center to read")
    assert "--sandbox" in run.stderr
