"""Live discovery from AWS IAM Identity Center: boto3 against the sandbox's real moto
server (with its stand-in for the sso-admin application APIs moto lacks)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from guardrails.config import load_config
from guardrails.provision.sandbox import Sandbox, SandboxState, load_directory
from tests.conftest import EXAMPLES
from tests.discover.conftest import discover


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[Path, SandboxState]]:
    """A copy of the examples catalog with a sandbox running for it."""
    root = tmp_path / "catalog"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns("bad", "estate"))
    box = Sandbox(load_config(root), load_directory(root / "directory.yaml"))
    state = box.start()
    try:
        yield root, state
    finally:
        box.stop()


def _clients(state: SandboxState) -> tuple[Any, Any]:
    session = boto3.session.Session(
        region_name=state.region, aws_access_key_id="x", aws_secret_access_key="x"
    )
    return (
        session.client("sso-admin", endpoint_url=state.endpoint_url),
        session.client("identitystore", endpoint_url=state.endpoint_url),
    )


def _user(store: Any, state: SandboxState, email: str) -> str:
    found = store.get_user_id(
        IdentityStoreId=state.identity_store_id,
        AlternateIdentifier={
            "UniqueAttribute": {"AttributePath": "userName", "AttributeValue": email}
        },
    )
    return str(found["UserId"])


def test_identity_center_live_reads_apps_and_expands_group_assignments(
    sandbox: tuple[Path, SandboxState],
) -> None:
    root, state = sandbox
    sso, store = _clients(state)
    apps = {
        a["Name"]: a["ApplicationArn"]
        for a in sso.list_applications(InstanceArn=state.instance_arn)["Applications"]
    }
    assert {"HubSpot", "Salesforce", "Zoom", "Canva"} <= set(apps)
    # HubSpot through a group (two members, one of them not in its manifest) ...
    group = store.create_group(IdentityStoreId=state.identity_store_id, DisplayName="saas-hubspot")
    for email in ("carol@example.com", "erin@example.com"):
        store.create_group_membership(
            IdentityStoreId=state.identity_store_id,
            GroupId=group["GroupId"],
            MemberId={"UserId": _user(store, state, email)},
        )
    sso.create_application_assignment(
        ApplicationArn=apps["HubSpot"], PrincipalId=group["GroupId"], PrincipalType="GROUP"
    )
    # ... and an application nobody declared, assigned to one person.
    loom = sso.create_application(
        InstanceArn=state.instance_arn,
        ApplicationProviderArn="arn:aws:sso::aws:applicationProvider/custom",
        Name="Loom",
    )["ApplicationArn"]
    sso.create_application_assignment(
        ApplicationArn=loom,
        PrincipalId=_user(store, state, "farid@example.com"),
        PrincipalType="USER",
    )

    run = discover("--live", "identity-center", "--sandbox", "--format", "json", catalog=root)
    assert run.exit_code == 0, run.stderr
    document = run.json()
    undeclared = {t["tool"]: t for t in document["undeclared"]}
    # The sandbox registers every application IT bound; the examples' bindings (shared
    # with examples/bad) bind "Ad Platform" to a tool this catalog does not declare: an
    # application registered in the IdP with no manifest and nobody assigned.
    assert set(undeclared) == {"loom", "ad-platform"}
    assert undeclared["ad-platform"]["people"] == 0
    assert undeclared["loom"]["users"] == ["farid@example.com"]
    assert undeclared["loom"]["sources"] == ["identity-center"]
    assert undeclared["loom"]["matched"][0]["by"] == "name"  # the vendor dictionary's entry
    in_use = {t["tool"]: t for t in document["in_use"]}
    assert in_use["hubspot"]["users"] == ["carol@example.com", "erin@example.com"]
    assert document["unlisted_users"] == [
        {
            "tool": "hubspot",
            "title": "HubSpot Marketing Hub",
            "file": document["unlisted_users"][0]["file"],
            "users": ["erin@example.com"],
        }
    ]
    assert document["unlisted_users"][0]["file"].endswith("manifests/hubspot.yaml")
    # Applications with nobody assigned are still known; catalog tools with no
    # assignment at all are reported unused.
    assert {u["tool"] for u in document["unused"]} >= {"eventbrite", "slack"}
    assert "salesforce" in {u["tool"] for u in document["unused"]}


def test_identity_center_without_a_sandbox_or_settings_says_what_to_set(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns("bad", "estate"))
    run = discover("--live", "identity-center", catalog=root)
    assert run.exit_code == 2
    assert "identity-center: nothing says where Identity Center is" in run.stderr
