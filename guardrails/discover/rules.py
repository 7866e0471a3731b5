"""Rules over discovered tools: Rego (policies/discovery.rego), the same levels and
exceptions as every rule.

The engine gets one input for all tools (`tool_input`) and is asked for
`data.guardrails.discovered`; each violation names a tool and a path into it, which
is turned into a place a person can open: the export record that is the evidence (a
grant, an expense line), or, for a catalog tool, its manifest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from guardrails.catalog.model import PolicyException
from guardrails.decide import Waivers
from guardrails.discover.interface import Origin
from guardrails.discover.match import title
from guardrails.discover.records import with_lines
from guardrails.discover.usage import ToolUse, Usage
from guardrails.engine.interface import Engine, EngineError, PolicySet, Violation, violations_from
from guardrails.errors import GuardrailsError
from guardrails.findings import Finding

DISCOVERED_QUERY = "data.guardrails.discovered"
_KIND_ORDER = ("oauth-grant", "assignment", "application", "expense")


def tool_input(usage: Usage, now: date) -> dict[str, Any]:
    """The engine's input: every tool with evidence, and every unused catalog tool."""
    tools: dict[str, Any] = {}
    for tool in usage.tools:
        tools[tool.tool] = {
            "title": tool.title,
            "in_catalog": tool.in_catalog,
            "people": len(tool.people),
            "users": len(tool.users),
            "everyone": tool.everyone,
            "sources": list(tool.sources),
            "scopes": [
                {"scope": s.scope, "risk": s.risk, "access": s.access, "people": s.people}
                for s in tool.scopes
            ],
            "spend": {"amount": float(tool.spend.amount), "currency": tool.spend.currency}
            if tool.spend is not None
            else None,
            "first_seen": tool.first_seen.isoformat() if tool.first_seen else None,
            "last_seen": tool.last_seen.isoformat() if tool.last_seen else None,
            "unlisted": list(tool.unlisted),
        }
    for manifest in usage.unused:
        if manifest.name in tools:
            continue  # known to an identity provider, but nobody uses it
        tools[manifest.name] = {
            "title": title(manifest),
            "in_catalog": True,
            "people": 0,
            "users": 0,
            "everyone": False,
            "sources": [],
            "scopes": [],
            "spend": None,
            "first_seen": None,
            "last_seen": None,
            "unlisted": [],
        }
    return {
        "now": now.isoformat(),
        "identity_sources": list(usage.identity_sources),
        "tools": tools,
    }


def evaluate(usage: Usage, policies: PolicySet, engine: Engine, now: date) -> list[Violation]:
    """Every violation the discovery rules report."""
    evaluator = engine.prepare(policies)
    document = tool_input(usage, now)
    violations = violations_from(evaluator.query(DISCOVERED_QUERY, document), DISCOVERED_QUERY)
    for violation in violations:
        if violation.manifest not in document["tools"]:
            raise EngineError(
                f"a discovery rule reported {violation.rule} for unknown tool "
                f"{violation.manifest!r}"
            )
    return violations


def decide(
    violations: Sequence[Violation],
    usage: Usage,
    policies: PolicySet,
    exceptions: Sequence[PolicyException],
    now: date,
) -> list[Finding]:
    """Findings, with levels and exceptions applied; invalid or unused waivers too."""
    waivers = Waivers(exceptions, policies, now, applies_to="discovered")
    tools = {t.tool: t for t in usage.tools}
    unused = {m.name: m for m in usage.unused}
    places = _places(violations, tools)
    findings: list[Finding] = []
    seen: set[tuple[str, str, tuple[str | int, ...]]] = set()
    for violation in violations:
        key = (violation.rule, violation.manifest, violation.path)
        if key in seen:
            continue
        seen.add(key)
        rule = policies.rules.get(violation.rule)
        if rule is None:
            raise GuardrailsError(
                f"a discovery rule reported {violation.rule}, which has no metadata: "
                "add it under `rules:` in the policy data"
            )
        if rule.applies_to != "discovered":
            raise GuardrailsError(
                f"a discovery rule reported {violation.rule}, whose metadata does not say "
                "`applies_to: discovered`"
            )
        blocking, applied = waivers.verdict(rule, violation.manifest)
        tool = tools.get(violation.manifest)
        manifest = tool.manifest if tool is not None else unused.get(violation.manifest)
        if manifest is not None:
            path: tuple[str | int, ...] = (
                ("spec", "access", "users")
                if violation.path[:1] == ("unlisted",)
                else ("metadata", "name")
            )
            mark = manifest.positions.locate(path)
            file, line, column = manifest.file, mark.line, mark.column
        else:
            assert tool is not None
            origin = places[_origin(tool, violation.path)]
            file, line, column = origin.file, origin.line or 1, origin.column or 1
            path = (origin.record,)  # the record in the export (or live reply)
        findings.append(
            rule.finding(
                file,
                line,
                column,
                path,
                violation.message,
                blocking=blocking,
                manifest=violation.manifest,
                exception=applied,
            )
        )
    findings += [finding for _, finding in waivers.findings()]
    findings.sort(key=lambda f: (f.manifest or "", f.rule, f.file, f.line, f.column))
    return findings


def _origin(tool: ToolUse, path: tuple[str | int, ...]) -> Origin:
    """The record a violation's path points at."""
    index = path[1] if path[:1] == ("scopes",) and len(path) > 1 else None
    if isinstance(index, int) and index < len(tool.scopes):
        return tool.scopes[index].origin
    if path[:1] == ("spend",):
        return tool.first("expense")
    return tool.first(*_KIND_ORDER)


def _places(violations: Sequence[Violation], tools: Mapping[str, ToolUse]) -> dict[Origin, Origin]:
    """Every origin a violation points at, with its line (one walk per export file)."""
    origins = [
        _origin(tools[v.manifest], v.path)
        for v in violations
        if v.manifest in tools and tools[v.manifest].manifest is None
    ]
    located = with_lines(origins)
    return {origin: located.get(origin, origin) for origin in origins}
