"""Provider `identity-center`: managed Identity Store groups assigned to applications.

Each approved tool with `provisioning.identity_center` gets a group `saas-<name>`
whose Description marks it as guardrails' own; its members are the manifest's users
plus the members of its directory groups; it is assigned to the named application.
Groups without the mark are never changed. People missing from the directory are
reported, never created.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guardrails.errors import GuardrailsError
from guardrails.provision.calls import CallCounter, in_parallel
from guardrails.provision.interface import Proposal, Run
from guardrails.provision.model import (
    MANAGED_MARK,
    ROLES,
    Change,
    Notice,
    ToolAccess,
    group_name,
)
from guardrails.provision.settings import IdentityCenterSettings

if TYPE_CHECKING:
    from guardrails.provision.plan import Wanted

PROVIDER = "identity-center"
SANDBOX_CREDENTIALS = {"aws_access_key_id": "sandbox", "aws_secret_access_key": "sandbox"}
PAGE = 100
"""Items asked for per page (the largest MaxResults these list operations accept)."""


def provider(wanted: Wanted, run: Run) -> IdentityCenter | None:
    """The registry's factory: Identity Center is the directory every tool's people
    are resolved against, so it is needed as soon as any tool is provisioned."""
    settings = run.settings.identity_center
    if settings is None:
        if wanted.tools:
            raise GuardrailsError(
                "no Identity Center to provision to: set provisioning.identity_center in "
                "guardrails.yaml (or GUARDRAILS_IDENTITY_STORE_ID and "
                "GUARDRAILS_SSO_INSTANCE_ARN), or start `guardrails sandbox` and pass --sandbox"
            )
        return None
    return IdentityCenter(settings, run.counter, run)


def make_clients(settings: IdentityCenterSettings, counter: CallCounter) -> tuple[Any, Any]:
    """(identitystore, sso-admin) boto3 clients, adaptive retries, counted."""
    import boto3
    from botocore.config import Config as BotoConfig

    credentials = SANDBOX_CREDENTIALS if settings.sandbox else {}
    session = boto3.session.Session(region_name=settings.region, **credentials)
    # Adaptive mode: besides retrying throttled calls with back-off, a client that is
    # throttled slows its own sending rate (client-side token bucket), which the reads
    # running in parallel share.
    config = BotoConfig(
        retries={"mode": "adaptive", "total_max_attempts": settings.max_attempts},
        connect_timeout=5,
        read_timeout=30,
        max_pool_connections=max(10, settings.max_concurrency),
    )
    clients = []
    for service in ("identitystore", "sso-admin"):
        client = session.client(service, endpoint_url=settings.endpoint_url, config=config)
        counter.watch(client, service)
        clients.append(client)
    return clients[0], clients[1]


class ApplicationAssignments:
    """The thin `sso-admin` layer: applications and their group assignments."""

    def __init__(self, client: Any, instance_arn: str) -> None:
        self.client = client
        self.instance_arn = instance_arn

    def applications(self) -> dict[str, str]:
        """Application name -> ARN, every page."""
        pages = self.client.get_paginator("list_applications").paginate(
            InstanceArn=self.instance_arn, PaginationConfig={"PageSize": PAGE}
        )
        return {a["Name"]: a["ApplicationArn"] for p in pages for a in p.get("Applications", [])}

    def applications_of(self, group_id: str) -> set[str]:
        """ARNs of the applications a group is assigned to, every page: asked per
        managed group, so no application the catalog does not touch is listed."""
        pages = self.client.get_paginator("list_application_assignments_for_principal").paginate(
            InstanceArn=self.instance_arn,
            PrincipalId=group_id,
            PrincipalType="GROUP",
            PaginationConfig={"PageSize": PAGE},
        )
        return {a["ApplicationArn"] for p in pages for a in p.get("ApplicationAssignments", [])}

    def assign(self, application_arn: str, group_id: str) -> None:
        """Assign a group to an application."""
        self.client.create_application_assignment(
            ApplicationArn=application_arn, PrincipalId=group_id, PrincipalType="GROUP"
        )

    def unassign(self, application_arn: str, group_id: str) -> None:
        """Remove a group's assignment."""
        self.client.delete_application_assignment(
            ApplicationArn=application_arn, PrincipalId=group_id, PrincipalType="GROUP"
        )


@dataclass(frozen=True)
class Group:
    """An Identity Store group as guardrails sees it."""

    id: str
    """GroupId."""
    managed_tool: str | None
    """The tool it was created for, when it carries guardrails' mark; else None."""
    members: Mapping[str, tuple[str, ...]]
    """Member email -> its MembershipIds (more than one if the directory holds duplicates;
    only read for the groups that matter)."""
    role: str = "users"
    """Which of its tool's managed groups it is (`users` or `admins`)."""


@dataclass(frozen=True)
class DirectoryState:
    """What was read from Identity Center; also the input of the plan's fingerprint."""

    users: Mapping[str, str]
    """Email (lower case) -> UserId."""
    names: Mapping[str, str]
    """Email -> display name."""
    aliases: Mapping[str, str]
    """UserName or any email (lower case) -> the email `users` is keyed by."""
    groups: Mapping[str, Group]
    """Display name -> group, for referenced directory groups and managed groups."""
    applications: Mapping[str, str]
    """Application name -> ARN."""
    assignments: Mapping[str, frozenset[str]]
    """Application name -> names of the managed groups assigned to it."""

    def people(self, tool: ToolAccess) -> tuple[frozenset[str], list[str]]:
        """(emails that should have access: users, members of the groups and admins;
        problems to report)."""
        people, problems = self.resolve(tool.users + tool.admins)
        for name in tool.groups:
            group = self.groups.get(name)
            if group is None:
                problems.append(f"directory group {name} does not exist: nobody added from it")
            else:
                people.update(group.members)
        return frozenset(people), problems

    def resolve(self, emails: Iterable[str]) -> tuple[set[str], list[str]]:
        """(directory emails of these people, the ones missing from the directory)."""
        found: set[str] = set()
        problems = []
        for email in dict.fromkeys(emails):
            if email in self.aliases:
                found.add(self.aliases[email])
            else:
                problems.append(f"{email} is not in the directory: not provisioned")
        return found, problems

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able, order-independent view for fingerprints."""
        return {
            "users": sorted(self.users.items()),
            "groups": sorted(
                (n, g.id, g.managed_tool, g.role, sorted(g.members.items()))
                for n, g in self.groups.items()
            ),
            "applications": sorted(self.applications.items()),
            "assignments": sorted((a, sorted(g)) for a, g in self.assignments.items()),
        }


def wanted_groups(tool: ToolAccess, state: DirectoryState) -> list[tuple[str, frozenset[str]]]:
    """(role, members) of each managed group a tool should have in Identity Center."""
    people, _ = state.people(tool)
    roles = [("users", people)]
    if tool.application_admin_group:
        roles.append(("admins", frozenset(state.resolve(tool.admins)[0])))
    return roles


def per_person(people: int, groups: int) -> bool:
    """Whether listing memberships per person takes fewer calls than per group (one
    call each, a page holding up to 100 memberships either way)."""
    return people < groups


def seats(tool: ToolAccess, directory: DirectoryState) -> Notice:
    """How many people the tool's groups and users grant access to, against its seats."""
    people, _ = directory.people(tool)
    sources = [
        f"group {name}: {len(directory.groups[name].members)}"
        for name in tool.groups
        if name in directory.groups
    ]
    listed = set(tool.users) | set(tool.admins)
    if listed:
        sources.append(f"{len(listed)} listed")
    message = (
        f"grants access to {len(people)} {'person' if len(people) == 1 else 'people'} "
        f"({', '.join(sources) or 'nobody'}; each counted once) against {tool.seats} seats bought"
    )
    if tool.seats is not None and len(people) > tool.seats:
        message += f": {len(people) - tool.seats} more than the seats (buy seats or narrow access)"
    return Notice(tool.tool, message)


class IdentityCenter:
    """Reads the directory, proposes changes for Identity Center, carries them out."""

    name = PROVIDER
    side_by_side = frozenset({"add-member", "remove-member"})
    """One membership per call (the Identity Store has no batch write), each independent
    of the others of its group: apply makes up to `max_concurrency` at once."""

    def __init__(
        self, settings: IdentityCenterSettings, counter: CallCounter, run: Run | None = None
    ) -> None:
        self.settings = settings
        self.run = run
        store, sso = make_clients(settings, counter)
        self.store = store
        self.apps = ApplicationAssignments(sso, settings.instance_arn)
        self.state: DirectoryState | None = None
        # Ids learnt while applying (a group created by this run).
        self.group_ids: dict[str, str] = {}

    def propose(self, wanted: Wanted) -> Proposal:
        """Read the directory (it becomes `run.directory`), then list the changes."""
        directory = self.read(wanted.tools)
        if self.run is not None:
            self.run.directory = directory
        notices = [seats(t, directory) for t in wanted.tools if t.seats is not None]
        changes, more = self.changes(wanted.tools, wanted.withheld)
        return Proposal(tuple(changes), tuple(notices + more), directory.snapshot())

    def steps(self, changes: Sequence[Change]) -> list[tuple[Change, ...]]:
        """One change per request: the Identity Store has no batch writes."""
        return [(change,) for change in changes]

    def carry_out(self, step: Sequence[Change]) -> None:
        """Carry out each change of the step."""
        for change in step:
            self.apply(change)

    # --- reading -----------------------------------------------------------------------

    def _pages(self, operation: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
        paginator = self.store.get_paginator(operation)
        for page in paginator.paginate(
            IdentityStoreId=self.settings.identity_store_id,
            PaginationConfig={"PageSize": PAGE},
            **params,
        ):
            yield from page.get(key, [])

    def read(self, tools: Iterable[ToolAccess]) -> DirectoryState:
        """Read users, the groups that matter and their members, applications, assignments."""
        with _aws_errors():
            users: dict[str, str] = {}
            names: dict[str, str] = {}
            aliases: dict[str, str] = {}
            for user in self._pages("list_users", "Users"):
                person = _canonical(user)
                users[person] = user["UserId"]
                names[person] = user.get("DisplayName") or person
                for alias in (
                    user.get("UserName"),
                    *(e.get("Value") for e in user.get("Emails") or []),
                ):
                    if alias:
                        aliases.setdefault(alias.lower(), person)
            by_id = {uid: person for person, uid in users.items()}
            tools = tuple(tools)
            # directory groups the manifests name, and the names guardrails would use
            needed = {g for t in tools for g in t.groups}
            needed |= {group_name(t.tool, role) for t in tools for role in ROLES}
            kept: list[tuple[str, str, str | None, str]] = []  # (name, id, tool, role)
            for group in self._pages("list_groups", "Groups"):
                name = group.get("DisplayName", "")
                tool, role = _mark(group.get("Description"))
                if name in needed or tool is not None:
                    kept.append((name, group["GroupId"], tool, role))
            members = self._memberships({gid for _, gid, _, _ in kept}, by_id)
            groups = {
                name: Group(gid, tool, members.get(gid, {}), role) for name, gid, tool, role in kept
            }
            applications = self.apps.applications()
            application_names = {arn: name for name, arn in applications.items()}
            managed = sorted((g.id, n) for n, g in groups.items() if g.managed_tool)
            assigned_to = in_parallel(
                self.apps.applications_of,
                [gid for gid, _ in managed],
                self.settings.max_concurrency,
            )
            found: dict[str, set[str]] = {}
            for (_, group_name_), arns in zip(managed, assigned_to, strict=True):
                for arn in arns:
                    if arn in application_names:
                        found.setdefault(application_names[arn], set()).add(group_name_)
            assignments = {app: frozenset(names) for app, names in found.items()}
        self.state = DirectoryState(users, names, aliases, groups, applications, assignments)
        return self.state

    def _memberships(
        self, group_ids: set[str], by_id: Mapping[str, str]
    ) -> dict[str, dict[str, tuple[str, ...]]]:
        """GroupId -> member email -> MembershipIds, for the groups that matter: listed
        per group, or per person when the directory has fewer people than there are
        such groups (fewer calls either way: one per group, or one per person)."""
        found: dict[str, dict[str, list[str]]] = {gid: {} for gid in group_ids}
        width = self.settings.max_concurrency
        if per_person(len(by_id), len(group_ids)):
            people = sorted(by_id)
            listed = in_parallel(
                lambda uid: list(
                    self._pages(
                        "list_group_memberships_for_member",
                        "GroupMemberships",
                        MemberId={"UserId": uid},
                    )
                ),
                people,
                width,
            )
        else:
            listed = in_parallel(
                lambda gid: list(
                    self._pages("list_group_memberships", "GroupMemberships", GroupId=gid)
                ),
                sorted(group_ids),
                width,
            )
        for memberships in listed:
            for m in memberships:
                uid = m.get("MemberId", {}).get("UserId")
                gid = m.get("GroupId")
                if uid in by_id and gid in found:
                    found[gid].setdefault(by_id[uid], []).append(m["MembershipId"])
        return {
            gid: {person: tuple(ids) for person, ids in members.items()}
            for gid, members in found.items()
        }

    # --- planning ----------------------------------------------------------------------

    def changes(
        self, tools: Iterable[ToolAccess], withheld: Callable[[str], bool]
    ) -> tuple[list[Change], list[Notice]]:
        """Changes for every tool with an application, and removal of every managed
        group no tool wants any more (a tool removed, its `identity_center` block or
        its binding gone), except for tools whose access is `withheld`.

        A tool that only loses access (`grants` False) gets only the `-` changes. An
        application name Identity Center does not know is an error for a tool that is
        granted access: IT bound the wrong name, and a group nobody can use would hide
        it."""
        state = self._state()
        changes: list[Change] = []
        notices: list[Notice] = []
        wanted = {t.tool: t for t in tools if t.application}
        for tool in sorted(wanted.values(), key=lambda t: t.tool):
            if tool.grants and str(tool.application) not in state.applications:
                known = ", ".join(sorted(state.applications)[:10]) or "none"
                raise GuardrailsError(
                    f"{tool.tool}: Identity Center application {tool.application!r} not found "
                    "(IT's binding in policies/data/provisioning.yaml; the instance has: "
                    f"{known})"
                )
        desired: set[str] = set()
        for tool in sorted(wanted.values(), key=lambda t: t.tool):
            for role, people in wanted_groups(tool, state):
                name = group_name(tool.tool, role)
                desired.add(name)
                group = state.groups.get(name)
                if group is not None and (group.managed_tool, group.role) != (tool.tool, role):
                    notices.append(
                        Notice(
                            tool.tool,
                            f"group {name} exists but guardrails did not create it for "
                            f"{tool.tool}: left alone",
                        )
                    )
                    continue
                mine = self._group_changes(tool, name, group, people)
                changes += mine if tool.grants else [c for c in mine if c.revokes]
            notices += [Notice(tool.tool, p) for p in state.people(tool)[1]]
        for name, group in sorted(state.groups.items()):
            tool_name = group.managed_tool
            if tool_name is None or name in desired or name != group_name(tool_name, group.role):
                continue
            if withheld(tool_name):
                continue  # unreadable: it keeps what it had until it is fixed
            everyone = tuple(sorted(group.members))
            changes += [Change(PROVIDER, tool_name, "remove-member", p, name) for p in everyone]
            for app, assigned in sorted(state.assignments.items()):
                if name in assigned:
                    changes.append(Change(PROVIDER, tool_name, "unassign", name, app, everyone))
            changes.append(Change(PROVIDER, tool_name, "delete-group", name, "", everyone))
        return changes, notices

    def _group_changes(
        self, tool: ToolAccess, name: str, group: Group | None, people: frozenset[str]
    ) -> list[Change]:
        """Bring one managed group to `people`, assigned to the tool's application only."""
        state = self._state()
        current = set(group.members) if group else set()
        everyone = tuple(sorted(people))
        mine = [Change(PROVIDER, tool.tool, "create-group", name)] if group is None else []
        mine += [
            Change(PROVIDER, tool.tool, "add-member", p, name) for p in sorted(people - current)
        ]
        app = str(tool.application)
        if name not in state.assignments.get(app, frozenset()):
            mine.append(Change(PROVIDER, tool.tool, "assign", name, app, everyone))
        mine += [
            Change(PROVIDER, tool.tool, "remove-member", p, name) for p in sorted(current - people)
        ]
        for other, assigned in sorted(state.assignments.items()):
            if other != app and name in assigned:
                reached = tuple(sorted(current))
                mine.append(Change(PROVIDER, tool.tool, "unassign", name, other, reached))
        return mine

    def _state(self) -> DirectoryState:
        if self.state is None:
            raise RuntimeError("read() first")
        return self.state

    # --- applying ----------------------------------------------------------------------

    def apply(self, change: Change) -> None:
        """Carry out one change; a change already in effect counts as done."""
        from botocore.exceptions import ClientError

        state = self._state()
        store_id = self.settings.identity_store_id
        with _aws_errors():
            try:
                if change.action == "create-group":
                    description = f"{MANAGED_MARK}; tool: {change.tool}"
                    if change.principal == group_name(change.tool, "admins"):
                        description += "; role: admins"
                    created = self.store.create_group(
                        IdentityStoreId=store_id,
                        DisplayName=change.principal,
                        Description=description,
                    )
                    self.group_ids[change.principal] = created["GroupId"]
                elif change.action == "add-member":
                    self.store.create_group_membership(
                        IdentityStoreId=store_id,
                        GroupId=self._group_id(change.target),
                        MemberId={"UserId": state.users[change.principal]},
                    )
                elif change.action == "remove-member":
                    # every membership: a duplicate left behind would keep the access
                    for membership in state.groups[change.target].members[change.principal]:
                        self._delete_membership(membership)
                elif change.action == "assign":
                    self.apps.assign(
                        state.applications[change.target], self._group_id(change.principal)
                    )
                elif change.action == "unassign":
                    self.apps.unassign(
                        state.applications[change.target], self._group_id(change.principal)
                    )
                elif change.action == "delete-group":
                    self.store.delete_group(
                        IdentityStoreId=store_id, GroupId=self._group_id(change.principal)
                    )
                else:
                    raise GuardrailsError(f"identity-center cannot {change.action}")
            except ClientError as err:
                code = err.response.get("Error", {}).get("Code", "")
                # Already a member / already gone: the change is in effect. A group name
                # taken (ConflictException on create-group) is not: never adopt a group.
                done = (
                    code == "ConflictException" and change.action in ("add-member", "assign")
                ) or (code == "ResourceNotFoundException" and change.sign == "-")
                if not done:
                    raise

    def _delete_membership(self, membership: str) -> None:
        from botocore.exceptions import ClientError

        try:
            self.store.delete_group_membership(
                IdentityStoreId=self.settings.identity_store_id, MembershipId=membership
            )
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise

    def _group_id(self, name: str) -> str:
        if name in self.group_ids:
            return self.group_ids[name]
        group = self._state().groups.get(name)
        if group is None:
            raise GuardrailsError(f"identity-center: group {name} not found")
        return group.id


def _canonical(user: Mapping[str, Any]) -> str:
    """How guardrails names a directory user: primary email, else first email, else UserName."""
    emails = [e for e in user.get("Emails") or [] if e.get("Value")]
    primary = [e for e in emails if e.get("Primary")]
    chosen = (primary or emails or [{"Value": user.get("UserName") or user["UserId"]}])[0]
    return str(chosen["Value"]).lower()


def _mark(description: str | None) -> tuple[str | None, str]:
    """(tool, role) named in a managed group's Description; (None, "users") for a group
    without guardrails' mark."""
    if not description or not description.startswith(MANAGED_MARK):
        return None, "users"
    fields = dict(part.strip().partition(": ")[::2] for part in description.split(";"))
    tool = fields.get("tool") or None
    role = fields.get("role") or "users"
    return tool, role if role in ROLES else "users"


@contextmanager
def _aws_errors() -> Iterator[None]:
    """Turn botocore failures into one readable GuardrailsError line."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as err:
        error = err.response.get("Error", {})
        operation = getattr(err, "operation_name", "call")
        raise GuardrailsError(
            f"identity-center: {operation} failed: {error.get('Code')}: {error.get('Message')}"
        ) from err
    except BotoCoreError as err:
        raise GuardrailsError(f"identity-center: {err}") from err
