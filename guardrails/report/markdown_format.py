"""Markdown: the pull-request summary (for `$GITHUB_STEP_SUMMARY` or a PR comment).

A verdict line; a table with one row per tool and its status; every blocking
finding with a link to `file#Lline` and how to fix it; then warnings, excepted
findings and planned removals. Links are relative to the repository root; set
`GUARDRAILS_LINK_BASE` (e.g. `https://github.com/org/repo/blob/<sha>/`) to make them
absolute, which a job summary needs because it is not served from the repository.
"""

from __future__ import annotations

import os
import re

from guardrails.findings import Category, Finding
from guardrails.report import Report, summary_line

_STATUS = {
    "failed": "❌ failed",
    "warned": "⚠️ warned",
    "excepted": "🟦 excepted",
    "passed": "✅ passed",
}
_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def escape(text: str) -> str:
    """Text from manifests, shown literally: no Markdown, no HTML, one line."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.split()))


def link(file: str, line: int | None = None) -> str:
    """`[file:line](file#Lline)`, absolute when `GUARDRAILS_LINK_BASE` is set."""
    base = os.environ.get("GUARDRAILS_LINK_BASE", "")
    if base and not base.endswith("/"):
        base += "/"
    anchor = f"#L{line}" if line is not None else ""
    target = f"{base}{file}{anchor}".replace(" ", "%20").replace(")", "%29")
    shown = f"{file}:{line}" if line is not None else file
    return f"[{escape(shown)}]({target})"


def _state(findings: list[Finding]) -> str:
    statuses = {f.status for f in findings}
    if "blocking" in statuses:
        return "failed"
    if "warning" in statuses:
        return "warned"
    return "excepted" if "excepted" in statuses else "passed"


def _item(finding: Finding) -> str:
    text = (
        f"- {link(finding.file, finding.line)} **{finding.rule}** "
        f"({finding.level}): {escape(finding.message)}  \n"
        f"  How to fix: {escape(finding.remediation)}"
    )
    if finding.exception is not None:
        exc = finding.exception
        text += (
            f"  \n  Excepted by {escape(exc.name)} until {exc.expires}, approved by "
            f"{escape(exc.approved_by)}: {escape(exc.justification)}"
        )
    return text


def render(report: Report) -> str:
    """The summary as GitHub-flavoured Markdown."""
    outcome = report.outcome
    by_file: dict[str, list[Finding]] = {}
    for finding in outcome.findings:
        by_file.setdefault(finding.file, []).append(finding)
    verdict = "❌ blocked" if outcome.blocking else "✅ nothing blocks"
    out = [
        f"## Guardrails: {verdict}",
        "",
        f"{summary_line(outcome)}.",
        "",
    ]
    rows = [(m.name, m.file) for m in report.manifests]
    # Manifests that did not parse have findings but no name; exception files are not tools.
    tools = {f.file for f in outcome.findings if f.category != Category.EXCEPTION}
    rows += [(file, file) for file in by_file if file in tools and file not in {f for _, f in rows}]
    if rows:
        out += ["| Tool | Status | Findings | File |", "| --- | --- | --- | --- |"]
        for name, file in rows:
            findings = by_file.get(file, [])
            counts = ", ".join(
                f"{sum(1 for f in findings if f.status == status)} {status}"
                for status in ("blocking", "warning", "excepted")
                if any(f.status == status for f in findings)
            )
            out.append(
                f"| {escape(name)} | {_STATUS[_state(findings)]} | {counts or '—'} | {link(file)} |"
            )
        out.append("")
    sections = (
        ("Blocking findings (fix these to merge)", "blocking"),
        ("Warnings", "warning"),
        ("Excepted findings", "excepted"),
    )
    for heading, status in sections:
        items = [_item(f) for f in outcome.findings if f.status == status]
        if items:
            out += [f"### {heading}", "", *items, ""]
    if report.removed:
        out += ["### Planned removals", ""]
        out += [
            f"- {escape(file)} was deleted: apply revokes the tool's access"
            for file in report.removed
        ]
        out.append("")
    if outcome.blocking:
        out.append(
            "Run `guardrails check` locally to see the same findings, and "
            "`guardrails explain RULE` for why each rule exists."
        )
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
