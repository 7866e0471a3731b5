"""Text: what is in use and not declared, what is declared and unused, then findings
as `file:line:column: status: RULE [level] message` lines (as `check` prints them)."""

from __future__ import annotations

from guardrails.discover.formats import Report
from guardrails.discover.interface import Money
from guardrails.discover.usage import ToolUse
from guardrails.findings import Finding

_STATUS = {"blocking": "error", "warning": "warning", "excepted": "excepted"}


def amount(value: Money) -> str:
    """`1,234.50 USD`."""
    return f"{value.amount:,.2f} {value.currency}"


def when(tool: ToolUse) -> str:
    """`2026-01-05 to 2026-10-30`, one date, or nothing when no record is dated."""
    first, last = tool.first_seen, tool.last_seen
    if first is None or last is None:
        return ""
    return first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"


def people(tool: ToolUse) -> str:
    """`4 people`, or everyone when an administrator consented for all."""
    if tool.everyone:
        return "everyone (admin consent)"
    return f"{len(tool.people)} {'person' if len(tool.people) == 1 else 'people'}"


def _tool(tool: ToolUse, draft: str | None) -> list[str]:
    facts = [tool.title, people(tool), when(tool)]
    if tool.spend is not None:
        facts.append(amount(tool.spend))
    facts.append(", ".join(tool.sources))
    lines = [f"  {tool.tool}: " + " · ".join(f for f in facts if f)]
    risky = [s for s in tool.scopes if s.risk in ("critical", "high")]
    if risky:
        lines.append(
            "      scopes: " + "; ".join(f"{s.scope} ({s.risk}: {s.access})" for s in risky)
        )
    matched = ", ".join(f"{m.by} {m.key!r} ({m.confidence:g}) x{m.count}" for m in tool.matched)
    lines.append(f"      matched by {matched}")
    if draft:
        lines.append(f"      draft manifest: {draft}")
    return lines


def _finding(finding: Finding) -> list[str]:
    lines = [
        f"{finding.file}:{finding.line}:{finding.column}: {_STATUS[finding.status]}: "
        f"{finding.rule} [{finding.level}] {finding.message}",
        f"    how to fix: {finding.remediation}",
    ]
    if finding.exception is not None:
        exc = finding.exception
        lines.append(f"    excepted by {exc.name} ({exc.file}) until {exc.expires}")
    return lines


def render(report: Report) -> str:
    """The discovery for a terminal."""
    usage = report.discovery.usage
    out = [f"Sources read: {', '.join(usage.sources)}"]
    undeclared = usage.undeclared
    out.append(f"In use and not in the catalog (shadow IT): {len(undeclared)}")
    for tool in undeclared:
        out += _tool(tool, report.drafts.get(tool.tool))
    if usage.identity_sources:
        out.append(f"In the catalog and unused (licences to reclaim): {len(usage.unused)}")
        out += [f"  {m.name}: {m.file}" for m in usage.unused]
    unlisted = [t for t in usage.tools if t.unlisted]
    out.append(f"Used by people their manifest does not list: {len(unlisted)}")
    out += [f"  {t.tool}: {', '.join(t.unlisted)}" for t in unlisted]
    if usage.ignored or usage.not_saas:
        spent = f" ({amount(usage.not_saas_spend)})" if usage.not_saas_spend else ""
        out.append(
            f"Not counted as tools: {usage.ignored} record(s) of the identity providers' own "
            f"apps; {usage.not_saas} expense line(s) of no SaaS tool{spent}"
        )
    findings = report.discovery.findings
    for finding in findings:
        out += _finding(finding)
    blocking = sum(1 for f in findings if f.blocking)
    warnings = sum(1 for f in findings if f.status == "warning")
    verdict = "blocked" if blocking else "ok"
    out.append(
        f"{len(usage.tools)} tools in use, {len(undeclared)} undeclared: "
        f"{blocking} blocking, {warnings} warnings — {verdict}"
    )
    return "\n".join(out) + "\n"
