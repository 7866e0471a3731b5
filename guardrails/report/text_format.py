"""Text: one `file:line:column: status: RULE [level] message` line per finding, as compilers do."""

from __future__ import annotations

import click

from guardrails.findings import Finding
from guardrails.report import Report, summary_line

_LABEL = {
    "blocking": ("error", "red"),
    "warning": ("warning", "yellow"),
    "excepted": ("excepted", "cyan"),
}


def _line(finding: Finding, color: bool) -> str:
    label, hue = _LABEL[finding.status]
    where = f"{finding.file}:{finding.line}:{finding.column}:"
    status = click.style(f"{label}:", fg=hue, bold=True) if color else f"{label}:"
    rule = click.style(finding.rule, bold=True) if color else finding.rule
    lines = [f"{where} {status} {rule} [{finding.level}] {finding.message}"]
    lines.append(f"    how to fix: {finding.remediation}")
    if finding.exception is not None:
        exc = finding.exception
        lines.append(
            f"    excepted by {exc.name} ({exc.file}) until {exc.expires}, "
            f"approved by {exc.approved_by}"
        )
    return "\n".join(lines)


def render(report: Report) -> str:
    """Findings in file/line order, then a one-line summary."""
    out = [_line(f, report.color) for f in report.outcome.findings]
    verdict = "blocked" if report.outcome.blocking else "ok"
    if report.color:
        verdict = click.style(verdict, fg="red" if report.outcome.blocking else "green", bold=True)
    out.append(f"{summary_line(report.outcome)} — {verdict}")
    return "\n".join(out) + "\n"
