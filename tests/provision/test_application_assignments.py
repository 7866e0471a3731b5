"""The sso-admin application layer, which moto lacks: botocore's Stubber checks every
request against the real service model and answers with canned pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ParamValidationError
from botocore.stub import Stubber

from guardrails.errors import GuardrailsError
from guardrails.provision.calls import CallCounter
from guardrails.provision.identity_center import (
    ApplicationAssignments,
    DirectoryState,
    Group,
    IdentityCenter,
)
from guardrails.provision.model import Change
from guardrails.provision.settings import IdentityCenterSettings

INSTANCE = "arn:aws:sso:::instance/ssoins-1234567890abcdef"
APP = "arn:aws:sso::123456789012:application/ssoins-1234567890abcdef/apl-1234567890abcdef"
APP2 = "arn:aws:sso::123456789012:application/ssoins-1234567890abcdef/apl-abcdef1234567890"
GROUP = "9a67a2b4-5011-70a4-8a63-2ac9a2d2c2a1"


@pytest.fixture
def stubbed() -> Iterator[tuple[ApplicationAssignments, Stubber]]:
    client = boto3.session.Session(
        region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    ).client("sso-admin")
    with Stubber(client) as stubber:
        yield ApplicationAssignments(client, INSTANCE), stubber


def _app(name: str, arn: str) -> dict[str, Any]:
    return {"ApplicationArn": arn, "Name": name, "InstanceArn": INSTANCE}


def test_applications_reads_every_page(stubbed: tuple[ApplicationAssignments, Stubber]) -> None:
    apps, stub = stubbed
    stub.add_response(
        "list_applications",
        {"Applications": [_app("HubSpot", APP)], "NextToken": "page-2"},
        {"InstanceArn": INSTANCE, "MaxResults": 100},
    )
    stub.add_response(
        "list_applications",
        {"Applications": [_app("Zoom", APP2)]},
        {"InstanceArn": INSTANCE, "NextToken": "page-2", "MaxResults": 100},
    )
    assert apps.applications() == {"HubSpot": APP, "Zoom": APP2}
    stub.assert_no_pending_responses()


def test_applications_of_a_group_reads_every_page(
    stubbed: tuple[ApplicationAssignments, Stubber],
) -> None:
    apps, stub = stubbed
    asked = {"InstanceArn": INSTANCE, "PrincipalId": GROUP, "PrincipalType": "GROUP"}
    stub.add_response(
        "list_application_assignments_for_principal",
        {
            "ApplicationAssignments": [
                {"ApplicationArn": APP, "PrincipalId": GROUP, "PrincipalType": "GROUP"}
            ],
            "NextToken": "t",
        },
        {**asked, "MaxResults": 100},
    )
    stub.add_response(
        "list_application_assignments_for_principal",
        {
            "ApplicationAssignments": [
                {"ApplicationArn": APP2, "PrincipalId": GROUP, "PrincipalType": "GROUP"}
            ]
        },
        {**asked, "MaxResults": 100, "NextToken": "t"},
    )
    assert apps.applications_of(GROUP) == {APP, APP2}
    stub.assert_no_pending_responses()


def test_assign_and_unassign_send_valid_requests(
    stubbed: tuple[ApplicationAssignments, Stubber],
) -> None:
    apps, stub = stubbed
    expected = {"ApplicationArn": APP, "PrincipalId": GROUP, "PrincipalType": "GROUP"}
    stub.add_response("create_application_assignment", {}, expected)
    stub.add_response("delete_application_assignment", {}, expected)
    apps.assign(APP, GROUP)
    apps.unassign(APP, GROUP)
    stub.assert_no_pending_responses()


def test_the_real_model_is_enforced(stubbed: tuple[ApplicationAssignments, Stubber]) -> None:
    apps, stub = stubbed
    # a canned answer that breaks the sso-admin model is refused...
    with pytest.raises(ParamValidationError):
        stub.add_response("list_applications", {"Applications": "HubSpot"})
    # ...and so is a request our layer would send with the wrong parameters
    stub.add_response(
        "create_application_assignment",
        {},
        {"ApplicationArn": APP, "PrincipalId": GROUP, "PrincipalType": "USER"},
    )
    with pytest.raises(Exception, match="Expected parameters"):
        apps.assign(APP, GROUP)


def test_an_error_on_assign_surfaces_as_client_error(
    stubbed: tuple[ApplicationAssignments, Stubber],
) -> None:
    apps, stub = stubbed
    stub.add_client_error(
        "create_application_assignment", "AccessDeniedException", http_status_code=403
    )
    with pytest.raises(Exception, match="AccessDenied"):
        apps.assign(APP, GROUP)


def test_moto_still_lacks_the_application_apis() -> None:
    """The sandbox answers these with an in-memory stand-in (`ApplicationDesk`) because
    moto has no backend for them; once it has, the stand-in should go (docs/provisioning.md)."""
    from moto.ssoadmin.models import SSOAdminBackend

    from guardrails.provision.sandbox import ApplicationDesk

    for operation in ApplicationDesk.OPERATIONS:
        method = "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")
        assert not hasattr(SSOAdminBackend, method), f"moto now implements {operation}"
    assert hasattr(SSOAdminBackend, "list_instances")  # the name mapping is right


def _center() -> IdentityCenter:
    settings = IdentityCenterSettings("eu-west-1", "d-1234567890", INSTANCE, sandbox=True)
    center = IdentityCenter(settings, CallCounter())
    center.state = DirectoryState(
        users={},
        names={},
        aliases={},
        groups={"saas-hubspot": Group(GROUP, "hubspot", {})},
        applications={"HubSpot": APP},
        assignments={"HubSpot": frozenset()},
    )
    return center


def test_an_assignment_already_made_or_already_gone_counts_as_done() -> None:
    # Real sso-admin answers ConflictException / ResourceNotFoundException there; the
    # sandbox's stand-in never does, so this path is covered here.
    center = _center()
    assign = Change("identity-center", "hubspot", "assign", "saas-hubspot", "HubSpot")
    unassign = Change("identity-center", "hubspot", "unassign", "saas-hubspot", "HubSpot")
    expected = {"ApplicationArn": APP, "PrincipalId": GROUP, "PrincipalType": "GROUP"}
    with Stubber(center.apps.client) as stub:
        stub.add_client_error(
            "create_application_assignment", "ConflictException", expected_params=expected
        )
        stub.add_client_error(
            "delete_application_assignment",
            "ResourceNotFoundException",
            expected_params=expected,
        )
        center.apply(assign)
        center.apply(unassign)
        stub.assert_no_pending_responses()


def test_a_refused_assignment_is_one_line() -> None:
    center = _center()
    assign = Change("identity-center", "hubspot", "assign", "saas-hubspot", "HubSpot")
    with Stubber(center.apps.client) as stub:
        stub.add_client_error(
            "create_application_assignment",
            "AccessDeniedException",
            "not allowed",
            http_status_code=403,
        )
        with pytest.raises(GuardrailsError) as raised:
            center.apply(assign)
    assert str(raised.value) == (
        "identity-center: CreateApplicationAssignment failed: AccessDeniedException: not allowed"
    )
