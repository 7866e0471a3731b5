"""GitHub Actions workflow commands: each finding becomes an annotation on its line.

`::error file=…,line=…,col=…,title=…::message` for blocking findings, `::warning`
for warnings, `::notice` for excepted findings and planned removals. Values are
escaped as the Actions toolkit does: `%`, CR and LF in messages; also `:` and `,` in
properties. A plain summary line closes the output.
"""

from __future__ import annotations

from guardrails.findings import Finding
from guardrails.report import Report

_COMMAND = {"blocking": "error", "warning": "warning", "excepted": "notice"}


def escape_data(text: str) -> str:
    """Escape a command's message (`%` first, so nothing is escaped twice)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value, where `:` and `,` would end it."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str | int) -> str:
    """One workflow command line."""
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    return (
        f"::{name} {props}::{escape_data(message)}"
        if props
        else f"::{name}::{escape_data(message)}"
    )


def _annotation(finding: Finding) -> str:
    message = f"{finding.message}\nHow to fix: {finding.remediation}"
    if finding.exception is not None:
        exc = finding.exception
        message += (
            f"\nExcepted by {exc.name} until {exc.expires} (approved by {exc.approved_by}): "
            f"{exc.justification}"
        )
    return command(
        _COMMAND[finding.status],
        message,
        file=finding.file,
        line=finding.line,
        col=finding.column,
        title=f"{finding.rule} [{finding.level}] {finding.title}",
    )


def render(report: Report) -> str:
    """One annotation per finding, planned removals as notices, then the summary."""
    lines = [_annotation(f) for f in report.outcome.findings]
    lines += [
        command(
            "notice",
            f"{file} was deleted: planned removal (apply revokes its access)",
            file=file,
            title="Planned removal",
        )
        for file in report.removed
    ]
    s = report.outcome.summary
    verdict = "blocked" if report.outcome.blocking else "ok"
    lines.append(
        f"guardrails: {s.manifests} manifests: {s.passed} passed, {s.failed} failed, "
        f"{s.warned} warned, {s.excepted} excepted — {verdict}"
    )
    return "\n".join(lines) + "\n"
