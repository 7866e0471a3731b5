"""`plan` says how many people each tool's groups and users grant access to, against
the seats its manifest says were bought (the directory knows group members; a check
does not)."""

from __future__ import annotations

from tests.provision.conftest import World


def test_plan_counts_the_people_granted_against_the_seats_bought(world: World) -> None:
    plan = world.run("plan")
    assert plan.exit_code == 0, plan.output
    # hubspot: marketing-ops (jane.doe, carol, dan), alice and the admin jane.doe listed
    assert (
        "! hubspot: grants access to 4 people (group marketing-ops: 3, 2 listed; each "
        "counted once) against 25 seats bought\n"
    ) in plan.output
    # salesforce: marketing-ops (3) and sales (3), nobody in both; its admin is in one
    assert (
        "! salesforce: grants access to 6 people (group marketing-ops: 3, group sales: 3, 1 listed;"
        in (plan.output)
    )


def test_plan_says_when_groups_grant_more_people_than_seats(world: World) -> None:
    world.edit("salesforce", "seats: 60", "seats: 5")
    plan = world.run("plan")
    assert plan.exit_code == 0, plan.output
    assert (
        "! salesforce: grants access to 6 people (group marketing-ops: 3, group sales: 3, "
        "1 listed; each counted once) against 5 seats bought: 1 more than the seats (buy seats or "
        "narrow access)\n"
    ) in plan.output
