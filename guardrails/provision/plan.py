"""Desired access from approved manifests, the live state from each provider, the plan."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import groupby
from typing import Any

from guardrails.catalog.model import Manifest
from guardrails.check import Checked
from guardrails.errors import GuardrailsError
from guardrails.provision.bindings import Binding, same_url
from guardrails.provision.calls import CallCounter
from guardrails.provision.interface import Provider, Run, factories
from guardrails.provision.model import (
    Change,
    Notice,
    Plan,
    ToolAccess,
    fingerprint,
)
from guardrails.provision.settings import Settings


@dataclass(frozen=True)
class Wanted:
    """What the catalog asks for, as IT bound it."""

    tools: tuple[ToolAccess, ...]
    """One entry per tool and provider (`application` or `scim` set): approved tools
    with what they are granted; blocked, refused or removed tools whose access is only
    taken away (`grants` False; a removed SCIM tool with nobody)."""
    blocked: tuple[Notice, ...]
    """Tools asking for provisioning that get nothing new: blocked by a finding, or
    refused because they ask for what IT did not bind to them."""
    kept: frozenset[str]
    """Tools whose manifest breaks the schema or shares its name: what they ask for
    cannot be read, so whatever access they have is left untouched until fixed."""
    unreadable: tuple[str, ...] = ()
    """Manifest files that did not even parse: which tool they describe is unknown, so
    no tool missing from the catalog loses access while one exists (a typo must not
    revoke a tool)."""
    present: frozenset[str] = frozenset()
    """Names of the tools that have a manifest."""

    def withheld(self, tool: str) -> bool:
        """Whether `tool`'s access must be left as it is this time."""
        return tool in self.kept or (bool(self.unreadable) and tool not in self.present)


def wanted_access(checked: Checked, bindings: Mapping[str, Binding]) -> Wanted:
    """Read `spec.access` and `spec.provisioning` of every manifest, against IT's
    bindings: what each tool gets comes from its binding alone, never the manifest."""
    approved = {m.file for m in checked.approved()}
    counts = Counter(m.name for m in checked.catalog.manifests)
    unreadable = tuple(
        sorted(set(checked.catalog.files) - {m.file for m in checked.catalog.manifests})
    )
    tools: list[ToolAccess] = []
    blocked: list[Notice] = []
    kept: set[str] = set()
    present: set[str] = set()
    for manifest in checked.catalog.manifests:
        name = manifest.name
        present.add(name)
        provisioning = manifest.spec.get("provisioning")
        asks = provisioning if isinstance(provisioning, Mapping) else {}
        binding = bindings.get(name)
        if not manifest.valid or counts[name] > 1:
            kept.add(name)
            if asks or binding:
                blocked.append(Notice(name, _why_blocked(checked, manifest, kept=True)))
            continue
        refusal = _refusal(name, asks, binding)
        grants = manifest.file in approved and refusal is None
        if asks and manifest.file not in approved:
            blocked.append(Notice(name, _why_blocked(checked, manifest)))
        elif refusal is not None:
            blocked.append(Notice(name, f"refused: {refusal}; nothing granted"))
        if binding is None:
            continue
        users, groups, admins = _people(manifest)
        seats = (manifest.spec.get("cost") or {}).get("seats") if grants else None
        if binding.application and asks.get("identity_center") is not None:
            tools.append(
                ToolAccess(
                    name,
                    users,
                    groups,
                    admins,
                    application=binding.application,
                    application_admin_group=binding.application_admin_group,
                    grants=grants,
                    seats=seats,
                )
            )
        if binding.scim is None:
            continue
        if asks.get("scim") is not None:
            tools.append(
                ToolAccess(
                    name, users, groups, admins, scim=binding.scim, grants=grants, seats=seats
                )
            )
        else:  # the SCIM block was removed: its accounts are deactivated
            tools.append(ToolAccess(name, (), (), scim=binding.scim, grants=False))
    for name, binding in sorted(bindings.items()):
        if name not in present and binding.scim is not None and not unreadable:
            tools.append(ToolAccess(name, (), (), scim=binding.scim, grants=False))
    return Wanted(
        tuple(sorted(tools, key=lambda t: (t.tool, t.scim is not None))),
        tuple(sorted(blocked, key=lambda n: n.tool)),
        frozenset(kept),
        unreadable,
        frozenset(present),
    )


def _refusal(tool: str, asks: Mapping[str, Any], binding: Binding | None) -> str | None:
    """Why a manifest's provisioning request is not what IT bound to it (the check's
    SEC-PROVISIONING-* rules say the same; this is plan's own defence), or None."""
    # (A token variable in a manifest breaks the schema: such a manifest is never read
    # for provisioning at all, and nothing here reads a variable a manifest names.)
    center, scim = asks.get("identity_center"), asks.get("scim")
    if center is not None:
        application = center.get("application") if isinstance(center, Mapping) else None
        if binding is None or binding.application is None:
            return f"it asks for Identity Center, which IT did not bind to {tool}"
        if application != binding.application:
            return (
                f"it asks for application {application!r}; IT bound {binding.application!r} "
                f"to {tool}"
            )
    if scim is not None:
        url = scim.get("url") if isinstance(scim, Mapping) else None
        if binding is None or binding.scim is None:
            return f"it asks for SCIM, which IT did not bind to {tool}"
        if not isinstance(url, str) or same_url(url) != same_url(binding.scim.url):
            return f"its SCIM URL is not the one IT bound to {tool}"
    return None


def _people(manifest: Manifest) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(users, directory groups, admins) of a schema-valid manifest."""
    access = manifest.spec.get("access") or {}

    def emails(key: str) -> tuple[str, ...]:
        return tuple(sorted({str(e).lower() for e in access.get(key) or []}))

    return emails("users"), tuple(sorted(set(access.get("groups") or []))), emails("admins")


def _why_blocked(checked: Checked, manifest: Manifest, kept: bool = False) -> str:
    """`blocked by RULE at file:line:col, …: …`."""
    findings = [f for f in checked.outcome.findings if f.blocking and f.file == manifest.file]
    where = [f"{f.rule} at {f.file}:{f.line}:{f.column}" for f in findings[:3]]
    if len(findings) > 3:
        where.append(f"{len(findings) - 3} more")
    effect = (
        "its access is left as is until it is fixed"
        if kept
        else "nothing granted, revocations still applied"
    )
    return f"blocked by {', '.join(where) or 'a finding'}: {effect} (see `guardrails check`)"


class Provisioner:
    """Every registered provider for one run: reads the live state once, plans, applies.

    It knows no provider by name: it runs the registry's (`interface.PROVIDERS`)."""

    def __init__(self, settings: Settings, counter: CallCounter) -> None:
        self.settings = settings
        self.counter = counter
        self.run = Run(settings, counter)
        self.providers: dict[str, Provider] = {}

    def plan(self, wanted: Wanted) -> Plan:
        """Read the live state and list the changes, with a fingerprint of both."""
        notices = list(wanted.blocked)
        notices += [
            Notice(
                f,
                "does not parse: no tool missing from the catalog loses access until it does",
            )
            for f in wanted.unreadable
        ]
        # Every provider is built (and checks what it needs: tokens, settings) before
        # any of them reads anything: fail closed before the first call.
        built = [(name, factory(wanted, self.run)) for name, factory in factories()]
        self.providers = {name: made for name, made in built if made is not None}
        changes: list[Change] = []
        snapshots: dict[str, Any] = {}
        for name, made in self.providers.items():
            proposal = made.propose(wanted)
            changes += proposal.changes
            notices += proposal.notices
            snapshots[name] = proposal.snapshot
        changes.sort(key=lambda c: c.tool)  # stable: each tool's order is kept
        if not self.providers:
            return Plan((), fingerprint(), tuple(_unique(notices)))
        digest = fingerprint(
            [asdict(t) for t in wanted.tools],
            sorted(wanted.kept),
            wanted.unreadable,
            snapshots,
        )
        return Plan(tuple(changes), digest, tuple(_unique(notices)))

    def steps(self, changes: Sequence[Change]) -> list[tuple[Change, ...]]:
        """The plan's changes as steps, in order: each run of one tool's changes to one
        provider is split by that provider (a step is one request where it can be)."""
        found: list[tuple[Change, ...]] = []
        for (provider, _tool), run in groupby(changes, key=lambda c: (c.provider, c.tool)):
            if provider not in self.providers:
                raise GuardrailsError(f"no provider for {provider}")
            found += self.providers[provider].steps(list(run))
        return found

    def waves(self, steps: Sequence[tuple[Change, ...]]) -> list[list[tuple[Change, ...]]]:
        """The steps, in order, as waves apply may carry out side by side: consecutive
        one-change steps of the same action on the same target, where their provider
        allows it (`Provider.side_by_side`); every other step is a wave of its own."""
        found: list[list[tuple[Change, ...]]] = []
        for step in steps:
            last = found[-1][-1] if found else None
            first = step[0]
            if (
                last is not None
                and len(step) == len(last) == 1
                and (first.provider, first.tool, first.action, first.target)
                == (last[0].provider, last[0].tool, last[0].action, last[0].target)
                and first.action in self.providers[first.provider].side_by_side
            ):
                found[-1].append(step)
            else:
                found.append([step])
        return found

    def carry_out(self, step: Sequence[Change]) -> None:
        """Carry out one step through its provider."""
        provider = self.providers.get(step[0].provider)
        if provider is None:
            raise GuardrailsError(f"no provider for {step[0].provider}")
        provider.carry_out(step)


def _by_person(changes: Iterable[Change]) -> dict[str, list[str]]:
    """What each person gains or loses: `+hubspot`, `-zoom`; a tool whose group moves
    between applications shows `-zoom via Zoom +zoom via Salesforce`."""
    labels: dict[str, dict[tuple[str, str], list[str]]] = {}
    for change in changes:
        via = f" via {change.target}" if change.action in ("assign", "unassign") else ""
        for person in change.reached:
            found = labels.setdefault(person, {}).setdefault((change.sign, change.tool), [])
            found.append(via)
    shown: dict[str, list[str]] = {}
    for person, entries in labels.items():
        for (sign, tool), vias in entries.items():
            # `+hubspot` already says it all when the person is added in person
            kinds = [""] if "" in vias else list(dict.fromkeys(vias))
            shown.setdefault(person, []).extend(f"{sign}{tool}{via}" for via in kinds)
    return shown


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
    people = _by_person(plan.changes)
    if people:
        lines += ["", "By person:"]
        width = max(len(p) for p in people)
        for person, tools in sorted(people.items()):
            lines.append(f"  {person:<{width}}  {', '.join(tools)}")
    counts = {s: sum(1 for c in plan.changes if c.sign == s) for s in "+~-"}
    lines += [
        "",
        f"Plan: {counts['+']} to create, {counts['~']} to change, {counts['-']} to remove "
        f"({plan.revocations} {'revocation' if plan.revocations == 1 else 'revocations'} "
        "of access).",
    ]
    return "\n".join(lines) + "\n"
