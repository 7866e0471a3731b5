"""Revocation is complete, admins get what their tool can give, the deletion guard counts
people: end to end against the sandbox, state read back with boto3 and SCIM GETs."""

from __future__ import annotations

import re

from tests.provision.conftest import World, writes

HUBSPOT = {"alice@example.com", "jane.doe@example.com", "carol@example.com", "dan@example.com"}
SCIM_BLOCK = "    scim:\n      url: https://api.hubspot.example/scim/v2\n"


def test_deleting_a_scim_manifest_deactivates_its_accounts(world: World) -> None:
    assert world.run("apply", "--auto-approve").exit_code == 0
    for other in ("zoom", "salesforce"):  # their flows to hubspot: to a tool outside now
        world.edit(other, "    - tool: hubspot\n", "    - tool: hubspot\n      external: true\n")
    assert world.scim_users("hubspot") == dict.fromkeys(HUBSPOT, True)
    world.manifest("hubspot").unlink()
    plan = world.run("plan")
    assert "    - deactivate user alice@example.com (active: false)" in plan.output
    applied = world.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    # the binding, not the manifest, knew where and with which token
    assert world.scim_users("hubspot") == dict.fromkeys(HUBSPOT, False)
    assert world.scim_groups("hubspot") == {"saas-hubspot": set()}
    assert "saas-hubspot" not in world.groups()
    assert "DELETE" not in world.faults.scim_methods  # deactivated, never deleted
    assert writes(world.run("apply", "--auto-approve", "--stats")) == 0


def test_removing_the_scim_block_deactivates_its_accounts(world: World) -> None:
    assert world.run("apply", "--auto-approve").exit_code == 0
    world.edit("hubspot", SCIM_BLOCK, "")
    applied = world.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert world.scim_users("hubspot") == dict.fromkeys(HUBSPOT, False)
    assert world.members("saas-hubspot") == HUBSPOT  # Identity Center stays as asked


def test_a_user_removed_from_a_blocked_manifest_loses_access_anyway(world: World) -> None:
    assert world.run("apply", "--auto-approve").exit_code == 0
    world.edit("zoom", "sso: saml", "sso: none")  # now blocked by SEC-SSO-REQUIRED
    world.edit("zoom", "users: [bob@example.com]", "users: [carol@example.com]")
    applied = world.run("apply", "--auto-approve")
    assert applied.exit_code == 1, applied.output
    assert re.search(
        r"^! zoom: blocked by SEC-SSO-REQUIRED at .*revocations still applied", applied.output, re.M
    )
    # bob's access is revoked; carol, added by a blocked manifest, is not granted
    assert world.members("saas-zoom") == {"priya.nair@example.com", "hugo@example.com"}


def test_a_blocked_manifest_that_drops_its_scim_block_is_revoked_there(world: World) -> None:
    assert world.run("apply", "--auto-approve").exit_code == 0
    world.edit("hubspot", "sso: saml", "sso: none")
    world.edit("hubspot", SCIM_BLOCK, "")
    assert world.run("apply", "--auto-approve").exit_code == 1
    assert world.scim_users("hubspot") == dict.fromkeys(HUBSPOT, False)


def test_admins_get_access_and_the_admin_group_where_it_is_bound(world: World) -> None:
    world.bind("{application: Zoom}", "{application: Zoom, admin_group: true}")
    world.edit("zoom", "admins: [priya.nair@example.com]", "admins: [jane.doe@example.com]")
    applied = world.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    # jane is in neither access.users nor field-marketing: access through admins alone
    assert "jane.doe@example.com" in world.members("saas-zoom")
    assert world.members("saas-zoom-admins") == {"jane.doe@example.com"}
    admins = world.groups()["saas-zoom-admins"]
    assert admins["Description"] == "managed-by: saas-guardrails; tool: zoom; role: admins"
    assert world.assigned("Zoom") == {"saas-zoom", "saas-zoom-admins"}
    # no longer an admin: out of both groups
    world.edit("zoom", "admins: [jane.doe@example.com]", "admins: [priya.nair@example.com]")
    assert world.run("apply", "--auto-approve").exit_code == 0
    assert world.members("saas-zoom-admins") == {"priya.nair@example.com"}
    assert "jane.doe@example.com" not in world.members("saas-zoom")
    # IT turns the admin group off: it is emptied, unassigned and deleted
    world.bind("{application: Zoom, admin_group: true}", "{application: Zoom}")
    assert world.run("apply", "--auto-approve").exit_code == 0
    assert "saas-zoom-admins" not in world.groups()
    assert world.assigned("Zoom") == {"saas-zoom"}


def test_scim_admins_get_the_scim_admin_group_where_it_is_bound(world: World) -> None:
    world.bind(
        "token_env: GR_TEST_SCIM_TOKEN", "token_env: GR_TEST_SCIM_TOKEN\n        admin_group: true"
    )
    assert world.run("apply", "--auto-approve").exit_code == 0
    assert world.scim_groups("hubspot") == {
        "saas-hubspot": HUBSPOT,
        "saas-hubspot-admins": {"jane.doe@example.com"},
    }
    assert writes(world.run("apply", "--auto-approve", "--stats")) == 0


def test_admins_without_an_admin_group_are_told_they_get_no_admin_rights(world: World) -> None:
    result = world.run("check")
    assert result.exit_code == 0, result.output  # a warning, not a block
    assert re.search(
        r"zoom\.yaml:\d+:\d+: warning: ACC-ADMINS-NO-RIGHTS \[advisory\] provisioning gives the "
        r"admins of zoom access but no admin rights",
        result.output,
    )


def test_a_group_moved_to_another_application_counts_every_member(world: World) -> None:
    world.add_team("events-team", "events", 11)  # with bob and priya: 13 reach Zoom
    world.edit("zoom", "groups: [field-marketing]", "groups: [events-team]")
    first = world.run("apply", "--auto-approve")
    assert first.exit_code == 0, first.output
    assert len(world.members("saas-zoom")) == 13
    world.bind("{application: Zoom}", "{application: Salesforce}")  # IT moves it
    world.edit("zoom", "application: Zoom", "application: Salesforce")
    refused = world.run("apply", "--auto-approve", "--max-deletes", "1")
    assert refused.exit_code == 2
    assert "refusing to revoke 13 accesses (more than --max-deletes 1)" in refused.output
    assert "Plan: 1 to create, 0 to change, 1 to remove (13 revocations of access)." in (
        refused.output
    )
    assert re.search(
        r"^  events007@example\.com +\+zoom via Salesforce, -zoom via Zoom$", refused.output, re.M
    )
    assert world.assigned("Zoom") == {"saas-zoom"}  # nothing was touched
    assert world.run("apply", "--auto-approve", "--max-deletes", "13").exit_code == 0
    assert world.assigned("Salesforce") == {"saas-salesforce", "saas-zoom"}


def test_revocation_removes_duplicate_memberships_too(world: World) -> None:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.identitystore.models import identitystore_backends

    assert world.run("apply", "--auto-approve").exit_code == 0
    groups, sid = world.groups(), world.state.identity_store_id
    bob = next(
        u["UserId"]
        for u in world.store.list_users(IdentityStoreId=sid)["Users"]
        if u["UserName"] == "bob@example.com"
    )
    # AWS keeps memberships unique (so does the sandbox): a duplicate can only come
    # from elsewhere, here straight into moto's store
    backend = identitystore_backends[DEFAULT_ACCOUNT_ID][world.state.region]
    backend.create_group_membership(sid, groups["saas-zoom"]["GroupId"], {"UserId": bob})
    listed = world.store.list_group_memberships(
        IdentityStoreId=sid, GroupId=groups["saas-zoom"]["GroupId"]
    )["GroupMemberships"]
    assert [m["MemberId"]["UserId"] for m in listed].count(bob) == 2
    world.edit("zoom", "users: [bob@example.com]", "users: []")
    assert world.run("apply", "--auto-approve").exit_code == 0
    listed = world.store.list_group_memberships(
        IdentityStoreId=sid, GroupId=groups["saas-zoom"]["GroupId"]
    )["GroupMemberships"]
    assert bob not in [m["MemberId"]["UserId"] for m in listed]
    assert writes(world.run("apply", "--auto-approve", "--stats")) == 0
