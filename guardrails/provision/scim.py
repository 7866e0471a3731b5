"""Provider `scim`: Users and one Group (`saas-<name>`) on a tool's SCIM 2.0 endpoint.

Removing someone deactivates them (`active: false`) rather than deleting them, and
only users guardrails created (their externalId carries the mark) are deactivated.
The bearer token is read from the environment variable IT bound to the tool (never one
a manifest names), and is never printed, logged or written to a plan.
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
from guardrails.provision.model import ROLES, Change, Notice, ToolAccess, group_name

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
class ScimGroup:
    """One of the tool's groups on its endpoint (`saas-<name>`, `saas-<name>-admins`)."""

    id: str | None
    """Its id, or None when it does not exist yet."""
    members: frozenset[str] = frozenset()
    """userNames in it."""
    managed: bool = True
    """False when it exists but guardrails did not create it (left alone)."""
    others: int = 0
    """How many more groups share its name (reported, never touched)."""


@dataclass(frozen=True)
class ScimState:
    """What was read from one tool's endpoint."""

    users: Mapping[str, ScimUser]
    """userName (lower case) -> user."""
    groups: Mapping[str, ScimGroup]
    """Role (`users`, `admins`) -> the tool's group of that role."""

    def snapshot(self) -> dict[str, Any]:
        """JSON-able, order-independent view for fingerprints."""
        return {
            "users": sorted((n, u.id, u.active, u.managed) for n, u in self.users.items()),
            "groups": sorted(
                (r, g.id, sorted(g.members), g.managed, g.others) for r, g in self.groups.items()
            ),
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

    def __init__(
        self, tool: ToolAccess, url: str, token: str, counter: CallCounter, attempts: int = 5
    ) -> None:
        import httpx2
        from scim2_models import Group, ScimProvider, User

        if tool.scim is None:
            raise ValueError("tool without scim")
        self.tool = tool.tool
        self.url = url
        self.secret = token
        # No redirects are followed (httpx's default, kept explicit): a redirect would
        # carry the request, and the token, somewhere IT did not bind.
        http = httpx2.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
            follow_redirects=False,
        )
        client_class = _client_class()
        self.client = client_class(http, provider=ScimProvider([User, Group]))
        self.client.attempts = attempts
        self.client.counter = counter
        self.state: ScimState | None = None
        self.ids: dict[str, str] = {}
        self.group_ids: dict[str, str] = {}

    def read(self) -> ScimState:
        """Read every user (paged) and the tool's groups (one filtered query)."""
        from scim2_models import Group, User

        with _scim_errors(self.tool, self.url, self.secret):
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
            names = {role: group_name(self.tool, role) for role in ROLES}
            wanted = " or ".join(f'displayName eq "{n}"' for n in names.values())
            found = (
                self.client.query(
                    Group, query_parameters={"filter": wanted, "count": PAGE}
                ).resources
                or []
            )
            by_id = {u.id: n for n, u in users.items()}
            groups: dict[str, ScimGroup] = {}
            for role, name in names.items():
                mark = _group_mark(self.tool, role)
                # guardrails' own group first, whichever order the server lists them in
                same = sorted(
                    (g for g in found if g.display_name == name),
                    key=lambda g: g.external_id != mark,
                )
                if not same:
                    groups[role] = ScimGroup(None)
                    continue
                members = frozenset(
                    by_id[str(m.value)] for m in same[0].members or [] if str(m.value) in by_id
                )
                managed = same[0].external_id == mark
                groups[role] = ScimGroup(str(same[0].id), members, managed, len(same) - 1)
        self.state = ScimState(users, groups)
        self.ids = {n: u.id for n, u in users.items()}
        self.group_ids = {
            group_name(self.tool, role): g.id for role, g in groups.items() if g.id is not None
        }
        return self.state

    def changes(
        self, tool: ToolAccess, people: frozenset[str], admins: frozenset[str]
    ) -> tuple[list[Change], list[Notice]]:
        """Create or reactivate who should have access, deactivate who should not; keep
        `saas-<name>` (everyone) and, with an admin group, `saas-<name>-admins` (admins).

        A deactivated account guardrails did not create is reported, not reactivated:
        someone else switched it off, and only guardrails' own resources are changed.
        A tool that only loses access (`grants` False) gets only the `-` changes."""
        state = self.state
        if state is None:
            raise RuntimeError("read() first")
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
        admin_group = tool.scim is not None and tool.scim.admin_group
        for role, members in (("users", people), ("admins", admins if admin_group else None)):
            group = state.groups.get(role, ScimGroup(None))
            name = group_name(self.tool, role)
            if not group.managed:
                if members is None:
                    continue  # no admin group here: someone else's group of that name
                notices.append(
                    Notice(
                        self.tool,
                        f"SCIM group {name} exists but guardrails did not create it: left alone",
                    )
                )
                continue
            if group.others:
                notices.append(
                    Notice(
                        self.tool,
                        f"{group.others} more SCIM group(s) named {name}: left alone "
                        f"(guardrails uses id {group.id})",
                    )
                )
            wanted = members or frozenset()
            if group.id is None and members is not None:
                changes.append(Change(PROVIDER, self.tool, "create-group", name))
            changes += [
                Change(PROVIDER, self.tool, "add-member", p, name)
                for p in sorted(wanted - group.members)
            ]
            changes += [
                Change(PROVIDER, self.tool, "remove-member", p, name)
                for p in sorted(group.members - wanted)
            ]
        for person, user in sorted(state.users.items()):
            if person not in people and user.managed and user.active:
                changes.append(Change(PROVIDER, self.tool, "deactivate-user", person))
        if not tool.grants:
            changes = [c for c in changes if c.revokes]
        return changes, notices

    def apply(self, change: Change, display_names: Mapping[str, str]) -> None:
        """Carry out one change."""
        from scim2_models import Email, Group, User

        with _scim_errors(self.tool, self.url, self.secret):
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
                mark = _group_mark(self.tool, _role(self.tool, change.principal))
                group = Group(display_name=change.principal, external_id=mark)
                self.group_ids[change.principal] = str(self.client.create(group).id)
            elif change.action == "add-member":
                uid = self.ids[change.principal]
                patch = _patch({"op": "add", "path": "members", "value": [{"value": uid}]})
                self.client.modify(Group, self._group(change.target), patch)
            elif change.action == "remove-member":
                uid = self.ids[change.principal]
                patch = _patch({"op": "remove", "path": f'members[value eq "{uid}"]'})
                self.client.modify(Group, self._group(change.target), patch)
            else:
                raise GuardrailsError(f"scim cannot {change.action}")

    def _group(self, name: str) -> str:
        if name not in self.group_ids:
            raise GuardrailsError(f"{self.tool}: SCIM group {name} not found")
        return self.group_ids[name]


def _group_mark(tool: str, role: str) -> str:
    """The externalId of a group guardrails creates: `saas-guardrails:<tool>[:admins]`."""
    return MARK + tool + ("" if role == "users" else f":{role}")


def _role(tool: str, name: str) -> str:
    return next((r for r in ROLES if group_name(tool, r) == name), "users")


@contextmanager
def _scim_errors(tool: str, url: str, secret: str) -> Iterator[None]:
    """Turn every failure of a SCIM request into one readable line. The token is only
    ever in a request header, yet a hostile server may echo it in its answer, so it is
    blotted out of the message whatever the message is."""
    from pydantic import ValidationError
    from scim2_client import SCIMClientException
    from scim2_models import SCIMException

    try:
        yield
    except GuardrailsError:
        raise
    except (SCIMException, SCIMClientException, ValidationError) as err:
        # scim2-client puts the network cause (e.g. connection refused) in a note.
        parts = [*str(err).splitlines()[:1], *getattr(err, "__notes__", [])[:1]]
        detail = "; ".join(parts) or type(err).__name__
        message = f"{tool}: scim {url}: {type(err).__name__}: {detail}"
        raise GuardrailsError(message.replace(secret, "***")) from None
    except Exception as err:  # anything else the HTTP stack raises: still one line
        detail = str(err).splitlines()[0] if str(err) else ""
        message = f"{tool}: scim {url}: {type(err).__name__}: {detail}"
        raise GuardrailsError(message.replace(secret, "***")) from None
