"""The sso-admin application layer, which moto lacks: botocore's Stubber checks every
request against the real service model and answers with canned pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ParamValidationError
from botocore.stub import Stubber

from guardrails.provision.identity_center import ApplicationAssignments

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
        {"InstanceArn": INSTANCE},
    )
    stub.add_response(
        "list_applications",
        {"Applications": [_app("Zoom", APP2)]},
        {"InstanceArn": INSTANCE, "NextToken": "page-2"},
    )
    assert apps.applications() == {"HubSpot": APP, "Zoom": APP2}
    stub.assert_no_pending_responses()


def test_assigned_groups_reads_every_page_and_keeps_groups(
    stubbed: tuple[ApplicationAssignments, Stubber],
) -> None:
    apps, stub = stubbed
    user = {"ApplicationArn": APP, "PrincipalId": "u-1", "PrincipalType": "USER"}
    group = {"ApplicationArn": APP, "PrincipalId": GROUP, "PrincipalType": "GROUP"}
    stub.add_response(
        "list_application_assignments",
        {"ApplicationAssignments": [user], "NextToken": "t"},
        {"ApplicationArn": APP},
    )
    stub.add_response(
        "list_application_assignments",
        {"ApplicationAssignments": [group]},
        {"ApplicationArn": APP, "NextToken": "t"},
    )
    assert apps.assigned_groups(APP) == {GROUP}
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


def test_a_conflict_on_assign_surfaces_as_client_error(
    stubbed: tuple[ApplicationAssignments, Stubber],
) -> None:
    apps, stub = stubbed
    stub.add_client_error(
        "create_application_assignment", "AccessDeniedException", http_status_code=403
    )
    with pytest.raises(Exception, match="AccessDenied"):
        apps.assign(APP, GROUP)
