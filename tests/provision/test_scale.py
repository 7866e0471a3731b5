"""Provisioning at scale: fewer calls, batched SCIM writes, throttling, the registry of
providers. Against the real sandbox (moto server + scim2-server over HTTP)."""

from __future__ import annotations

import gc
import json
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from guardrails.provision import identity_center
from guardrails.provision.calls import CallCounter
from guardrails.provision.identity_center import IdentityCenter
from guardrails.provision.interface import PROVIDERS, Proposal, Run
from guardrails.provision.model import Change, ToolAccess
from guardrails.provision.plan import Wanted
from guardrails.provision.settings import IdentityCenterSettings

from .conftest import TOKEN, World, running_world

HUBSPOT = {"alice@example.com", "jane.doe@example.com", "carol@example.com", "dan@example.com"}


def _calls(output: str, operation: str) -> int:
    """How many calls of `operation` `--stats` printed (0 when none)."""
    found = re.search(rf"[(,] ?{operation} (\d+)[,)]", output)
    return int(found.group(1)) if found else 0


def test_group_members_are_added_and_removed_in_one_patch(world: World) -> None:
    assert world.run("apply", "--auto-approve").exit_code == 0
    # the group was created with its four members in one POST: no PATCH at all
    assert not [p for p in world.faults.scim_paths if p.startswith("PATCH /hubspot/v2/Groups")]
    assert world.scim_groups("hubspot")["saas-hubspot"] == HUBSPOT
    world.edit(
        "hubspot",
        "users: [alice@example.com]",
        "users: [bob@example.com, erin@example.com, grace@example.com]",
    )
    world.faults.scim_paths.clear()
    applied = world.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "- remove alice@example.com from saas-hubspot" in applied.output
    patches = [p for p in world.faults.scim_paths if p.startswith("PATCH /hubspot/v2/Groups/")]
    assert len(patches) == 1  # three added, one removed: one request
    wanted = HUBSPOT - {"alice@example.com"} | {
        "bob@example.com",
        "erin@example.com",
        "grace@example.com",
    }
    # the same people as Identity Center's group, which is written one member a call
    assert world.scim_groups("hubspot")["saas-hubspot"] == wanted == world.members("saas-hubspot")
    assert world.scim_users("hubspot")["alice@example.com"] is False  # deactivated
    assert world.run("plan").output.endswith("already matches the approved manifests.\n")


def _scim_state(world: World) -> tuple[dict[str, bool], dict[str, set[str]]]:
    return world.scim_users("hubspot"), world.scim_groups("hubspot")


def test_bulk_and_one_request_per_account_end_in_the_same_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ends = []
    for name, bulk in (("bulk", True), ("single", False)):
        with running_world(tmp_path / name, monkeypatch) as world:
            if not bulk:
                world.one_request_per_account()
            first = world.run("apply", "--auto-approve")
            assert first.exit_code == 0, first.output
            world.edit("hubspot", "users: [alice@example.com]", "users: [bob@example.com]")
            second = world.run("apply", "--auto-approve")
            assert second.exit_code == 0, second.output
            bulks = [p for p in world.faults.scim_paths if p == "POST /hubspot/v2/Bulk"]
            # scim2-server advertises Bulk (maxOperations 1000): used unless turned off,
            # for the four accounts of the first apply (the second makes one at a time)
            assert len(bulks) == (1 if bulk else 0), world.faults.scim_paths
            ends.append(_scim_state(world))
    assert ends[0] == ends[1]
    users, groups = ends[0]
    assert users == {
        **dict.fromkeys(HUBSPOT, True),
        "alice@example.com": False,
        "bob@example.com": True,
    }
    assert groups["saas-hubspot"] == HUBSPOT - {"alice@example.com"} | {"bob@example.com"}


def test_a_failed_bulk_operation_stops_the_run_and_the_next_apply_finishes(
    world: World,
) -> None:
    import httpx2

    def someone_creates_bob() -> None:  # after the plan read the endpoint, before a write
        created = httpx2.post(
            f"{world.state.scim_url}/hubspot/v2/Users",
            headers={"Authorization": f"Bearer {TOKEN}"},
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "bob@example.com",
            },
        )
        assert created.status_code == 201

    world.edit(
        "hubspot", "users: [alice@example.com]", "users: [alice@example.com, bob@example.com]"
    )
    world.faults.before_write = someone_creates_bob
    failed = world.run("apply", "--auto-approve")
    assert failed.exit_code == 2
    assert "Bulk POST for bob@example.com answered 409" in failed.output
    assert "Traceback" not in failed.output and TOKEN not in failed.output
    outcomes = {
        (entry["action"], entry["principal"]): entry["outcome"]
        for entry in map(
            json.loads, (world.root / ".guardrails/audit.jsonl").read_text().splitlines()
        )
        if entry["event"] == "outcome" and entry["provider"] == "scim"
    }
    # the accounts the Bulk request did create are audited as done, bob's as failed
    assert outcomes[("create-user", "alice@example.com")] == "ok"
    assert outcomes[("create-user", "jane.doe@example.com")] == "ok"
    assert outcomes[("create-user", "bob@example.com")].startswith("failed: ")
    # bob's account is someone else's: reported and left alone; the rest completes
    again = world.run("apply", "--auto-approve")
    assert again.exit_code == 0, again.output
    assert world.scim_groups("hubspot")["saas-hubspot"] == HUBSPOT | {"bob@example.com"}


def test_a_bulk_request_whose_answer_was_lost_never_makes_second_accounts(
    world: World,
) -> None:
    # the Bulk POST (the first SCIM write) is carried out, then answers 500: it is not
    # sent again (each of its POSTs could create a second account); the run stops
    world.faults.fail_write("scim", 1, status="500 Internal Server Error", after=True)
    failed = world.run("apply", "--auto-approve")
    assert failed.exit_code == 2, failed.output
    assert world.faults.injected == 1
    assert "error: hubspot: create user alice@example.com: scim http://" in failed.output
    resumed = world.run("apply", "--auto-approve")
    assert resumed.exit_code == 0, resumed.output
    assert "create user" not in resumed.output
    assert world.scim_users("hubspot") == dict.fromkeys(HUBSPOT, True)
    assert world.scim_groups("hubspot")["saas-hubspot"] == HUBSPOT


def test_retry_after_is_honoured(world: World) -> None:
    world.faults.fail_write("scim", 1, status="429 Too Many Requests", retry_after="1")
    started = time.monotonic()
    applied = world.run("apply", "--auto-approve", "--stats")
    assert applied.exit_code == 0, applied.output
    assert world.faults.injected == 1
    assert time.monotonic() - started >= 1.0  # waited as asked before trying again
    assert world.scim_users("hubspot") == dict.fromkeys(HUBSPOT, True)


def test_a_retry_after_beyond_the_cap_fails_at_once(world: World) -> None:
    world.faults.fail_write("scim", 1, times=5, status="429 Too Many Requests", retry_after="3600")
    started = time.monotonic()
    failed = world.run("apply", "--auto-approve")
    assert failed.exit_code == 2
    assert time.monotonic() - started < 25  # did not sleep for an hour (nor 30 s)
    assert world.faults.injected == 1  # no second attempt
    assert "asks to wait longer than the 30 s guardrails waits" in failed.output
    assert "Traceback" not in failed.output and TOKEN not in failed.output


def test_plan_reads_assignments_of_managed_groups_only(world: World) -> None:
    assert world.run("apply", "--auto-approve").exit_code == 0
    # thirty applications the catalog does not bind, one of them with hubspot's group
    provider = "arn:aws:sso::aws:applicationProvider/custom"
    for n in range(30):
        world.sso.create_application(
            InstanceArn=world.state.instance_arn,
            ApplicationProviderArn=provider,
            Name=f"Unrelated {n:02d}",
        )
    arns = {
        a["Name"]: a["ApplicationArn"]
        for page in world.sso.get_paginator("list_applications").paginate(
            InstanceArn=world.state.instance_arn
        )
        for a in page["Applications"]
    }
    world.sso.create_application_assignment(
        ApplicationArn=arns["Unrelated 07"],
        PrincipalId=world.groups()["saas-hubspot"]["GroupId"],
        PrincipalType="GROUP",
    )
    plan = world.run("plan", "--stats")
    assert plan.exit_code == 0, plan.output
    # found, although no manifest binds that application...
    assert "- unassign saas-hubspot from application Unrelated 07" in plan.output
    # ...by asking each managed group where it is assigned, not every application
    assert _calls(plan.output, "ListApplicationAssignments") == 0
    managed = [g for g in world.groups().values() if "saas-guardrails" in g.get("Description", "")]
    assert _calls(plan.output, "ListApplicationAssignmentsForPrincipal") == len(managed)


@pytest.mark.parametrize("per_person", [True, False])
def test_memberships_read_per_person_or_per_group_give_the_same_directory(
    world: World, monkeypatch: pytest.MonkeyPatch, per_person: bool
) -> None:
    assert world.run("apply", "--auto-approve").exit_code == 0
    settings = IdentityCenterSettings(
        region=world.state.region,
        identity_store_id=world.state.identity_store_id,
        instance_arn=world.state.instance_arn,
        endpoint_url=world.state.endpoint_url,
        sandbox=True,
    )
    tools = [ToolAccess("hubspot", ("alice@example.com",), ("marketing-ops", "sales"))]
    counter = CallCounter()
    monkeypatch.setattr(identity_center, "per_person", lambda people, groups: per_person)
    state = IdentityCenter(settings, counter).read(tools)
    listed = counter.calls[("identitystore", "ListGroupMembershipsForMember")]
    assert (listed > 0) == per_person
    assert state.groups["saas-hubspot"].members.keys() == HUBSPOT
    assert set(state.groups["sales"].members) == {
        "sam.rivera@example.com",
        "erin@example.com",
        "farid@example.com",
    }
    # whichever way, the same directory
    monkeypatch.setattr(identity_center, "per_person", lambda people, groups: not per_person)
    other = IdentityCenter(settings, CallCounter()).read(tools)
    assert other.snapshot() == state.snapshot()


def test_memberships_are_read_the_way_that_makes_fewer_calls() -> None:
    assert identity_center.per_person(people=13, groups=40)
    assert not identity_center.per_person(people=6250, groups=1250)


class Ledger:
    """A provisioning target defined by a test: it proposes one change per tool."""

    name = "ledger"
    side_by_side: frozenset[str] = frozenset()
    carried: ClassVar[list[tuple[str, ...]]] = []

    def __init__(self, run: Run) -> None:
        self.run = run

    def propose(self, wanted: Wanted) -> Proposal:
        assert self.run.directory is not None  # the directory was read first
        tools = sorted({t.tool for t in wanted.tools if t.grants})
        return Proposal(tuple(Change("ledger", t, "create-group", f"ledger-{t}") for t in tools))

    def steps(self, changes: Sequence[Change]) -> list[tuple[Change, ...]]:
        return [tuple(changes)]

    def carry_out(self, step: Sequence[Change]) -> None:
        self.carried.append(tuple(c.principal for c in step))


def test_a_registered_provider_is_planned_and_applied(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def factory(wanted: Wanted, run: Run) -> Any:
        return Ledger(run)

    monkeypatch.setitem(PROVIDERS, "ledger", factory)
    Ledger.carried = []
    plan = world.run("plan")
    assert "hubspot\n" in plan.output and "  ledger\n    + create group ledger-hubspot" in (
        plan.output
    )
    applied = world.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert ("ledger-hubspot",) in Ledger.carried and ("ledger-zoom",) in Ledger.carried
    assert "done: + hubspot ledger: create group ledger-hubspot" in applied.output


def test_plan_and_apply_leave_nothing_frozen(world: World) -> None:
    gc.unfreeze()
    assert world.run("plan").exit_code == 0
    assert gc.get_freeze_count() == 0
    assert world.run("apply", "--auto-approve").exit_code == 0
    assert gc.get_freeze_count() == 0


def test_only_memberships_of_one_group_are_carried_out_side_by_side() -> None:
    """Waves: consecutive one-change membership steps on the same Identity Store group
    (which the provider declares independent); a group's creation, its assignment,
    another group's members and every SCIM step each wait for the wave before."""
    from guardrails.provision.plan import Provisioner
    from guardrails.provision.scim import ScimProvider
    from guardrails.provision.settings import Settings

    provisioner = Provisioner(Settings(None), CallCounter())
    provisioner.providers = {
        "identity-center": IdentityCenter.__new__(IdentityCenter),
        "scim": ScimProvider.__new__(ScimProvider),
    }

    def ic(action: str, who: str, group: str = "saas-a", tool: str = "a") -> Change:
        return Change("identity-center", tool, action, who, group)

    steps = [
        (ic("create-group", "saas-a", ""),),
        (ic("add-member", "p1"),),
        (ic("add-member", "p2"),),
        (ic("add-member", "p3"),),
        (ic("assign", "saas-a", "App"),),
        (ic("remove-member", "p4"),),
        (ic("remove-member", "p5"),),
        (ic("add-member", "p1", "saas-b", "b"),),
        (Change("scim", "b", "add-member", "p1", "saas-b"),),
        (Change("scim", "b", "add-member", "p2", "saas-b"),),
    ]
    waves = provisioner.waves(steps)
    assert [len(w) for w in waves] == [1, 3, 1, 2, 1, 1, 1]
    assert [s for w in waves for s in w] == steps  # the plan's order, nothing lost
