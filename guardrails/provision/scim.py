"""Provider `scim`: Users and one Group (`saas-<name>`) on a tool's SCIM 2.0 endpoint.

Removing someone deactivates them (`active: false`) rather than deleting them, and
only users guardrails created (their externalId carries the mark) are deactivated.
The bearer token is read from the environment variable the manifest names, and is
never printed, logged or written to a plan.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from guardrails.errors import GuardrailsError
from guardrails.provision.calls import CallCounter
from guardrails.provision.model import Change, Notice, ToolAccess, group_name

PROVIDER = "scim"
MARK = "saas-guardrails:"
"""Prefix of the externalId of the users and the group guardrails creates."""
PAGE = 100


@dataclass(frozen=True)
class ScimUser:
    """A user on the tool's endpoint."""

    id: str
    """The server's id."""
    active: bool
    """Whether the account is active."""
    managed: bool
    """Created by guardrails (externalId carries the mark)."""


@dataclass(frozen=True)
class ScimState:
    """What was read from one tool's endpoint."""

    users: Mapping[str, ScimUser]
    """userName (lower case) -> user."""
    group_id: str | None
    """The id of `saas-<name>`, or None when it does not exist yet."""
    members: frozenset[str]
    """userNames in that group."""
    group_managed: bool = True
    """False when `saas-<name>` exists but guardrails did not create it (left alone)."""
    other_groups: int = 0
    """How many more groups share the name `saas-<name>` (reported, never touched)."""

    def snapshot(self) -> dict[str, Any]:
        """JSON-able, order-independent view for fingerprints."""
        return {
            "users": sorted((n, u.id, u.active, u.managed) for n, u in self.users.items()),
            "group": self.group_id,
            "members": sorted(self.members),
            "group_managed": self.group_managed,
            "other_groups": self.other_groups,
        }


def _client_class() -> Any:
    """A scim2-client over httpx2 that retries 429/5xx with back-off and counts calls."""
    from scim2_client.engines.httpx2 import SyncSCIMClient

    class RetryingClient(SyncSCIMClient):
        attempts = 5
        counter: CallCounter | None = None

        def request(self, method: str, url: str, **kwargs: Any) -> Any:
            if self.counter is not None:
                self.counter.record(PROVIDER, method.upper())
            for attempt in range(1, self.attempts + 1):
                if self.counter is not None:
                    self.counter.record_request(PROVIDER)
                response = super().request(method, url, **kwargs)
                retry = _retryable(method, response.status_code)
                if not retry or attempt == self.attempts:
                    return response
                time.sleep(_delay(attempt, response.headers.get("Retry-After")))
            raise AssertionError("unreachable")

    return RetryingClient


def _retryable(method: str, status: int) -> bool:
    """429 and 5xx are retried, except that a POST is only retried when the server
    surely did not carry it out (429, 503): a POST whose answer was lost in a 500 may
    have created the resource, and sending it again would create a second one. The
    next apply reads the live state and completes the work instead."""
    if status == 429:
        return True
    if method.upper() == "POST":
        return status == 503
    return status >= 500


def _patch(*operations: dict[str, Any]) -> dict[str, Any]:
    """A SCIM PatchOp body (RFC 7644 §3.5.2)."""
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": list(operations),
    }


def _delay(attempt: int, retry_after: str | None) -> float:
    """Seconds to wait: the server's Retry-After when given, else jittered exponential."""
    if retry_after and retry_after.isdigit():
        return min(float(retry_after), 30.0)
    return min(0.1 * 2.0 ** (attempt - 1), 5.0) * (0.5 + random.random() / 2)


class ScimTool:
    """One tool's SCIM endpoint: read, propose changes, apply them."""

    def __init__(self, tool: ToolAccess, url: str, counter: CallCounter, attempts: int = 5) -> None:
        import httpx2
        from scim2_models import Group, ScimProvider, User

        if tool.scim is None:
            raise ValueError("tool without scim")
        self.tool = tool.tool
        self.url = url
        token = tool.scim.token(tool.tool)
        http = httpx2.Client(
            base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        client_class = _client_class()
        self.client = client_class(http, provider=ScimProvider([User, Group]))
        self.client.attempts = attempts
        self.client.counter = counter
        self.state: ScimState | None = None
        self.ids: dict[str, str] = {}
        self.group_id: str | None = None

    def read(self) -> ScimState:
        """Read every user (paged) and the tool's group."""
        from scim2_models import Group, User

        with _scim_errors(self.tool, self.url):
            users: dict[str, ScimUser] = {}
            start = 1
            while True:
                page = self.client.query(
                    User, query_parameters={"startIndex": start, "count": PAGE}
                )
                resources = page.resources or []
                for user in resources:
                    users[str(user.user_name).lower()] = ScimUser(
                        str(user.id),
                        user.active is not False,
                        str(user.external_id or "").startswith(MARK),
                    )
                start += len(resources)
                if not resources or start > (page.total_results or 0):
                    break
            name = group_name(self.tool)
            found = self.client.query(
                Group, query_parameters={"filter": f'displayName eq "{name}"'}
            )
            # guardrails' own group first, whichever order the server lists them in
            groups = sorted(
                found.resources or [],
                key=lambda g: not str(g.external_id or "").startswith(MARK),
            )
            by_id = {u.id: n for n, u in users.items()}
            members: frozenset[str] = frozenset()
            group_id = None
            managed = True
            if groups:
                group_id = str(groups[0].id)
                managed = str(groups[0].external_id or "").startswith(MARK)
                members = frozenset(
                    by_id[str(m.value)] for m in groups[0].members or [] if str(m.value) in by_id
                )
        self.state = ScimState(users, group_id, members, managed, max(len(groups) - 1, 0))
        self.ids = {n: u.id for n, u in users.items()}
        self.group_id = group_id
        return self.state

    def changes(self, people: frozenset[str]) -> tuple[list[Change], list[Notice]]:
        """Create or reactivate who should have access, deactivate who should not.

        A deactivated account guardrails did not create is reported, not reactivated:
        someone else switched it off, and only guardrails' own resources are changed."""
        state = self.state
        if state is None:
            raise RuntimeError("read() first")
        name = group_name(self.tool)
        changes = []
        notices = []
        for person in sorted(people):
            user = state.users.get(person)
            if user is None:
                changes.append(Change(PROVIDER, self.tool, "create-user", person))
            elif not user.active and user.managed:
                changes.append(Change(PROVIDER, self.tool, "reactivate-user", person))
            elif not user.active:
                notices.append(
                    Notice(
                        self.tool,
                        f"SCIM user {person} is deactivated and guardrails did not create "
                        "it: left alone",
                    )
                )
        if not state.group_managed:
            notices.append(
                Notice(self.tool, "SCIM group exists but guardrails did not create it: left alone")
            )
        if state.other_groups:
            notices.append(
                Notice(
                    self.tool,
                    f"{state.other_groups} more SCIM group(s) named {name}: left alone "
                    f"(guardrails uses id {state.group_id})",
                )
            )
        if state.group_id is None:
            changes.append(Change(PROVIDER, self.tool, "create-group", name))
        if state.group_managed:
            changes += [
                Change(PROVIDER, self.tool, "add-member", p, name)
                for p in sorted(people - state.members)
            ]
            changes += [
                Change(PROVIDER, self.tool, "remove-member", p, name)
                for p in sorted(state.members - people)
            ]
        for person, user in sorted(state.users.items()):
            if person not in people and user.managed and user.active:
                changes.append(Change(PROVIDER, self.tool, "deactivate-user", person))
        return changes, notices

    def apply(self, change: Change, display_names: Mapping[str, str]) -> None:
        """Carry out one change."""
        from scim2_models import Email, Group, User

        with _scim_errors(self.tool, self.url):
            if change.action == "create-user":
                user: User[Any] = User(
                    user_name=change.principal,
                    display_name=display_names.get(change.principal, change.principal),
                    active=True,
                    external_id=MARK + change.principal,
                    emails=[Email(value=change.principal, primary=True)],
                )
                created = self.client.create(user)
                self.ids[change.principal] = str(created.id)
            elif change.action in ("reactivate-user", "deactivate-user"):
                active = change.action == "reactivate-user"
                patch = _patch({"op": "replace", "path": "active", "value": active})
                self.client.modify(User, self.ids[change.principal], patch)
            elif change.action == "create-group":
                group = Group(display_name=change.principal, external_id=MARK + self.tool)
                self.group_id = str(self.client.create(group).id)
            elif change.action == "add-member":
                uid = self.ids[change.principal]
                patch = _patch({"op": "add", "path": "members", "value": [{"value": uid}]})
                self.client.modify(Group, self._group(), patch)
            elif change.action == "remove-member":
                uid = self.ids[change.principal]
                patch = _patch({"op": "remove", "path": f'members[value eq "{uid}"]'})
                self.client.modify(Group, self._group(), patch)
            else:
                raise GuardrailsError(f"scim cannot {change.action}")

    def _group(self) -> str:
        if self.group_id is None:
            raise GuardrailsError(f"{self.tool}: SCIM group {group_name(self.tool)} not found")
        return self.group_id


@contextmanager
def _scim_errors(tool: str, url: str) -> Iterator[None]:
    """Turn scim2-client failures into one readable line (never the token: it is only
    ever in a request header, which no message here includes)."""
    from pydantic import ValidationError
    from scim2_client import SCIMClientException
    from scim2_models import SCIMException

    try:
        yield
    except (SCIMException, SCIMClientException, ValidationError) as err:
        # scim2-client puts the network cause (e.g. connection refused) in a note.
        parts = [*str(err).splitlines()[:1], *getattr(err, "__notes__", [])[:1]]
        detail = "; ".join(parts) or type(err).__name__
        raise GuardrailsError(f"{tool}: scim {url}: {type(err).__name__}: {detail}") from None
