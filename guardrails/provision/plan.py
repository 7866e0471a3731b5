"""Desired access from approved manifests, the live state from each provider, the plan."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from guardrails.catalog.model import Manifest
from guardrails.check import Checked
from guardrails.errors import GuardrailsError
from guardrails.provision.calls import CallCounter
from guardrails.provision.identity_center import DirectoryState, IdentityCenter
from guardrails.provision.model import (
    Change,
    Notice,
    Plan,
    ScimEndpoint,
    ToolAccess,
    fingerprint,
)
from guardrails.provision.scim import ScimTool
from guardrails.provision.settings import Settings


@dataclass(frozen=True)
class Wanted:
    """What the catalog asks for."""

    tools: tuple[ToolAccess, ...]
    """Approved manifests with a `provisioning` block."""
    blocked: tuple[Notice, ...]
    """Tools with a `provisioning` block and a blocking finding: never provisioned;
    each notice names the rules that block it and where."""
    kept: frozenset[str]
    """Tools in the catalog that are not approved (blocked, or breaking the schema):
    whatever access they already have is left untouched until they are fixed."""
    unreadable: tuple[str, ...] = ()
    """Manifest files that did not even parse: which tool they describe is unknown, so
    no tool's access is removed while one exists (a typo must not revoke a tool)."""


def wanted_access(checked: Checked) -> Wanted:
    """Read `spec.access` and `spec.provisioning` from the approved manifests."""
    approved = {m.file for m in checked.approved()}
    tools: list[ToolAccess] = []
    blocked: list[Notice] = []
    for manifest in checked.catalog.manifests:
        provisioning = manifest.spec.get("provisioning")
        if not isinstance(provisioning, Mapping) or not provisioning:
            continue
        if manifest.file not in approved:
            blocked.append(Notice(manifest.name, _why_blocked(checked, manifest)))
            continue
        tools.append(_tool_access(manifest, provisioning))
    names = {m.name for m in checked.catalog.manifests}
    approved_names = {m.name for m in checked.catalog.manifests if m.file in approved}
    parsed = {m.file for m in checked.catalog.manifests}
    return Wanted(
        tuple(sorted(tools, key=lambda t: t.tool)),
        tuple(sorted(blocked, key=lambda n: n.tool)),
        frozenset(names - approved_names),
        tuple(sorted(f for f in checked.catalog.files if f not in parsed)),
    )


def _why_blocked(checked: Checked, manifest: Manifest) -> str:
    """`blocked by RULE at file:line:col, …: not provisioned (…)`."""
    findings = [f for f in checked.outcome.findings if f.blocking and f.file == manifest.file]
    where = [f"{f.rule} at {f.file}:{f.line}:{f.column}" for f in findings[:3]]
    if len(findings) > 3:
        where.append(f"{len(findings) - 3} more")
    return (
        f"blocked by {', '.join(where) or 'a finding'}: not provisioned "
        "(existing access left as is; see `guardrails check`)"
    )


def _tool_access(manifest: Manifest, provisioning: Mapping[str, Any]) -> ToolAccess:
    access = manifest.spec.get("access") or {}
    center = provisioning.get("identity_center") or {}
    scim = provisioning.get("scim")
    return ToolAccess(
        tool=manifest.name,
        users=tuple(sorted({str(u).lower() for u in access.get("users", [])})),
        groups=tuple(sorted(set(access.get("groups", [])))),
        application=center.get("application"),
        scim=ScimEndpoint(scim["url"], scim["token_env"]) if scim else None,
        seats=(manifest.spec.get("cost") or {}).get("seats"),
    )


class Provisioner:
    """Every provider for one run: reads the live state once, plans, applies."""

    def __init__(self, settings: Settings, counter: CallCounter) -> None:
        self.settings = settings
        self.counter = counter
        self.identity_center: IdentityCenter | None = None
        self.scim: dict[str, ScimTool] = {}

    def scim_url(self, tool: ToolAccess) -> str:
        """The tool's SCIM base URL (the sandbox's tenant while a sandbox runs)."""
        assert tool.scim is not None
        if self.settings.scim_sandbox_url:
            return f"{self.settings.scim_sandbox_url.rstrip('/')}/{tool.tool}/v2"
        return tool.scim.url

    def plan(self, wanted: Wanted) -> Plan:
        """Read the live state and list the changes, with a fingerprint of both."""
        notices = list(wanted.blocked)
        notices += [
            Notice(f, "does not parse: no tool's access is removed until it does")
            for f in wanted.unreadable
        ]
        if not wanted.tools and not self.settings.identity_center:
            return Plan((), fingerprint(), tuple(notices))
        if self.settings.identity_center is None:
            raise GuardrailsError(
                "no Identity Center to provision to: set provisioning.identity_center in "
                "guardrails.yaml (or GUARDRAILS_IDENTITY_STORE_ID and "
                "GUARDRAILS_SSO_INSTANCE_ARN), or start `guardrails sandbox`"
            )
        for tool in wanted.tools:
            # Fail closed before any read: a tool silently not pushed to SCIM would
            # look provisioned when it is not.
            if tool.scim is not None:
                tool.scim.token(tool.tool)
        center = IdentityCenter(self.settings.identity_center, self.counter)
        self.identity_center = center
        directory = center.read(wanted.tools)
        notices += [_seats(tool, directory) for tool in wanted.tools if tool.seats is not None]
        changes, more = center.changes(wanted.tools, wanted.kept, removals=not wanted.unreadable)
        notices += more
        snapshots: dict[str, Any] = {}
        for tool in wanted.tools:
            if tool.scim is None:
                continue
            endpoint = ScimTool(
                tool, self.scim_url(tool), self.counter, self.settings.scim_max_attempts
            )
            self.scim[tool.tool] = endpoint
            scim_state = endpoint.read()
            snapshots[tool.tool] = scim_state.snapshot()
            people, problems = directory.people(tool)
            notices += [Notice(tool.tool, p) for p in problems]
            scim_changes, scim_notices = endpoint.changes(people)
            changes += scim_changes
            notices += scim_notices
        changes.sort(key=lambda c: c.tool)  # stable: each tool's order is kept
        digest = fingerprint(
            [asdict(t) for t in wanted.tools],
            sorted(wanted.kept),
            wanted.unreadable,
            directory.snapshot(),
            snapshots,
        )
        return Plan(tuple(changes), digest, tuple(_unique(notices)))

    def apply(self, change: Change) -> None:
        """Carry out one change through its provider."""
        if change.provider == "scim":
            names = (
                self.identity_center.state.names
                if self.identity_center and self.identity_center.state
                else {}
            )
            self.scim[change.tool].apply(change, names)
        elif self.identity_center is not None:
            self.identity_center.apply(change)
        else:
            raise GuardrailsError(f"no provider for {change.provider}")


def _seats(tool: ToolAccess, directory: DirectoryState) -> Notice:
    """How many people the tool's groups and users grant access to, against its seats."""
    people, _ = directory.people(tool)
    sources = [
        f"group {name}: {len(directory.groups[name].members)}"
        for name in tool.groups
        if name in directory.groups
    ]
    if tool.users:
        sources.append(f"{len(tool.users)} listed")
    message = (
        f"grants access to {len(people)} {'person' if len(people) == 1 else 'people'} "
        f"({', '.join(sources) or 'nobody'}; each counted once) against {tool.seats} seats bought"
    )
    if tool.seats is not None and len(people) > tool.seats:
        message += f": {len(people) - tool.seats} more than the seats (buy seats or narrow access)"
    return Notice(tool.tool, message)


def _unique(notices: Iterable[Notice]) -> list[Notice]:
    return list(dict.fromkeys(notices))


def render_plan(plan: Plan) -> str:
    """The plan for a person: per tool and provider, then per person."""
    lines: list[str] = []
    for notice in plan.notices:
        lines.append(f"! {notice.tool}: {notice.message}")
    if lines:
        lines.append("")
    if not plan.changes:
        lines.append("No changes: the directory already matches the approved manifests.")
        return "\n".join(lines) + "\n"
    by_tool: dict[str, dict[str, list[Change]]] = {}
    for change in plan.changes:
        by_tool.setdefault(change.tool, {}).setdefault(change.provider, []).append(change)
    for tool, providers in by_tool.items():
        lines.append(tool)
        for provider, changes in providers.items():
            lines.append(f"  {provider}")
            lines += [f"    {c.sign} {c.describe()}" for c in changes]
    people: dict[str, list[str]] = {}
    for change in plan.changes:
        if "@" in change.principal:
            people.setdefault(change.principal, []).append(f"{change.sign}{change.tool}")
    if people:
        lines += ["", "By person:"]
        width = max(len(p) for p in people)
        for person, tools in sorted(people.items()):
            lines.append(f"  {person:<{width}}  {' '.join(dict.fromkeys(tools))}")
    counts = {s: sum(1 for c in plan.changes if c.sign == s) for s in "+~-"}
    lines += [
        "",
        f"Plan: {counts['+']} to create, {counts['~']} to change, {counts['-']} to remove "
        f"({plan.revocations} {'revocation' if plan.revocations == 1 else 'revocations'} "
        "of access).",
    ]
    return "\n".join(lines) + "\n"
