"""Source `identity-center`: AWS IAM Identity Center applications and who is assigned to them.

Documented record shapes (boto3 / AWS CLI replies, saved as JSON):

* `sso-admin list_applications`: `{"Applications": [{"Name", "ApplicationArn",
  "ApplicationProviderArn", "Status", "CreatedDate", "PortalOptions": {...}}]}`;
* `sso-admin list_application_assignments`: `{"ApplicationAssignments":
  [{"ApplicationArn", "PrincipalId", "PrincipalType": "USER" | "GROUP"}]}`;
* `identitystore list_users`: `{"Users": [{"UserId", "UserName", "Emails": [{"Value"}]}]}`;
* `identitystore list_group_memberships`: `{"GroupMemberships": [{"GroupId",
  "MemberId": {"UserId"}}]}`, so a group's assignment counts its members.

Live, boto3 reads the same through its default credential chain, at the Identity
Center that `plan`/`apply` use (`provisioning.identity_center`, the environment, or
a running `guardrails sandbox`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from guardrails.discover.http import Limits
from guardrails.discover.interface import Evidence, SourceError, SourceSettings
from guardrails.discover.records import Page, Record, hosts, saved_replies

_KEYS = ("Applications", "ApplicationAssignments", "Users", "GroupMemberships")


class IdentityCenter:
    """IAM Identity Center applications and their user and group assignments."""

    name = "identity-center"
    title = "AWS IAM Identity Center"
    settings_keys: frozenset[str] = frozenset()

    def read(self, paths: Sequence[Path], settings: SourceSettings) -> Iterator[Evidence]:
        """Evidence from saved boto3/AWS CLI replies (one per file, or a JSON list)."""
        return evidence(saved_replies(paths))

    def fetch(self, settings: SourceSettings, limits: Limits) -> Iterator[Evidence]:
        """Applications, their assignments, and the members of assigned groups, live."""
        from guardrails.provision.calls import CallCounter
        from guardrails.provision.identity_center import _aws_errors, make_clients
        from guardrails.provision.settings import load_settings

        found = load_settings(settings.config, use_sandbox=settings.sandbox).identity_center
        if found is None:
            raise SourceError(
                "identity-center: nothing says where Identity Center is: set "
                "provisioning.identity_center in guardrails.yaml (or "
                "GUARDRAILS_IDENTITY_STORE_ID and GUARDRAILS_SSO_INSTANCE_ARN), or start "
                "`guardrails sandbox` and pass --sandbox"
            )
        with _aws_errors():  # one readable line per AWS failure, exit 2
            store, sso = make_clients(found, CallCounter())
            pages = list(_live_pages(store, sso, found.instance_arn, found.identity_store_id))
        yield from evidence(pages)


def _live_pages(store: Any, sso: Any, instance: str, store_id: str) -> Iterator[Page]:
    """Every reply the evidence needs, as pages named by the operation."""

    def listing(client: Any, operation: str, **params: Any) -> Iterator[Page]:
        for reply in client.get_paginator(operation).paginate(**params):
            reply.pop("ResponseMetadata", None)
            # Through JSON, as a saved reply would be (dates become ISO strings).
            value = json.loads(json.dumps(reply, default=_iso))
            yield Page(f"{client.meta.service_model.service_name} {operation}", value)

    applications = list(listing(sso, "list_applications", InstanceArn=instance))
    yield from applications
    groups: set[str] = set()
    for page in applications:
        for app in page.records("Applications", "an application"):
            arn = app.text("ApplicationArn")
            for assigned in listing(sso, "list_application_assignments", ApplicationArn=arn):
                yield assigned
                groups |= {
                    a.text("PrincipalId")
                    for a in assigned.records("ApplicationAssignments", "an assignment")
                    if a.optional_text("PrincipalType") == "GROUP"
                }
    yield from listing(store, "list_users", IdentityStoreId=store_id)
    for group in sorted(groups):
        yield from listing(store, "list_group_memberships", IdentityStoreId=store_id, GroupId=group)


def _iso(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot save {type(value).__name__}")


def _created(app: Record) -> date | None:
    """`CreatedDate`: an ISO string (AWS CLI, saved boto3) or epoch seconds (the raw API)."""
    value = app.value.get("CreatedDate")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).date()
    return app.when("CreatedDate")


def evidence(pages: Iterable[Page]) -> Iterator[Evidence]:
    """Evidence from Identity Center replies: each application, each assigned person."""
    lists: dict[str, list[Record]] = {key: [] for key in _KEYS}
    for page in pages:
        keys = [key for key in _KEYS if isinstance(page.value, Mapping) and key in page.value]
        if not keys:
            raise page.error((), f"not an Identity Center reply: it has none of {', '.join(_KEYS)}")
        for key in keys:
            lists[key] += page.records(key, f"an item of {key}")
    emails: dict[str, str] = {}
    for user in lists["Users"]:
        addresses = [e for e in user.value.get("Emails") or [] if isinstance(e, Mapping)]
        primary = [e for e in addresses if e.get("Primary")] or addresses
        address = primary[0].get("Value") if primary else None
        emails[user.text("UserId")] = str(address or user.text("UserName")).lower()
    members: dict[str, list[str]] = {}
    for membership in lists["GroupMemberships"]:
        member = membership.mapping("MemberId").get("UserId")
        if not isinstance(member, str):
            raise membership.error("MemberId.UserId must be a string", "MemberId")
        members.setdefault(membership.text("GroupId"), []).append(member)
    apps: dict[str, Record] = {}
    for app in lists["Applications"]:
        apps[app.text("ApplicationArn")] = app
        portal = app.mapping("PortalOptions").get("SignInOptions")
        url = portal.get("ApplicationUrl") if isinstance(portal, Mapping) else None
        yield Evidence(
            source="identity-center",
            kind="application",
            app=app.text("Name"),
            origin=app.origin,
            client_id=app.text("ApplicationArn"),
            domains=hosts([url if isinstance(url, str) else None]),
            seen=_created(app),
            memo="disabled" if app.optional_text("Status") == "DISABLED" else "",
        )
    for assignment in lists["ApplicationAssignments"]:
        arn = assignment.text("ApplicationArn")
        owner = apps.get(arn)
        if owner is None:
            raise assignment.error(
                f"{arn} is not among the applications read: include list_applications",
                "ApplicationArn",
            )
        kind = assignment.text("PrincipalType")
        principal = assignment.text("PrincipalId")
        if kind == "USER":
            people = [principal]
        elif kind == "GROUP":
            people = members.get(principal, [])
        else:
            raise assignment.error(f"PrincipalType must be USER or GROUP, not {kind!r}")
        for person in people:
            yield Evidence(
                source="identity-center",
                kind="assignment",
                app=owner.text("Name"),
                origin=assignment.origin,
                client_id=arn,
                person=emails.get(person, person),
                memo="via a group" if kind == "GROUP" else "",
            )
