"""Markdown: an issue body (the nightly discovery job opens or updates one issue).

Everything that comes from a source (app names, merchant descriptors, scopes) is
escaped: an app can call itself anything, and must not write Markdown or HTML into
the issue.
"""

from __future__ import annotations

from guardrails.discover.formats import Report
from guardrails.discover.formats.text_format import amount, people, when
from guardrails.report.markdown_format import escape, link

_RISK = {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "⚪", "unrated": "⚪"}


def render(report: Report) -> str:
    """The discovery as an issue body."""
    discovery = report.discovery
    usage = discovery.usage
    blocking = [f for f in discovery.findings if f.blocking]
    verdict = f"❌ {len(blocking)} blocking" if blocking else "✅ nothing blocks"
    out = [
        "## SaaS discovery",
        "",
        f"{verdict} · as of {discovery.now.isoformat()} · sources: "
        f"{escape(', '.join(usage.sources))}",
        "",
        f"### In use and not in the catalog ({len(usage.undeclared)})",
        "",
    ]
    if usage.undeclared:
        out += [
            "| Tool | People | Seen | Spend | Riskiest scope | Sources | Draft |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for tool in usage.undeclared:
            scope = tool.scopes[0] if tool.scopes else None
            risk = f"{_RISK[scope.risk]} {scope.risk}: `{escape(scope.scope)}`" if scope else ""
            draft = report.drafts.get(tool.tool)
            out.append(
                f"| **{escape(tool.title)}** (`{tool.tool}`) | {people(tool)} | {when(tool)} | "
                f"{amount(tool.spend) if tool.spend else ''} | {risk} | "
                f"{escape(', '.join(tool.sources))} | {link(draft) if draft else ''} |"
            )
    else:
        out.append("Nothing: every tool seen in use is in the catalog.")
    if usage.identity_sources:
        out += ["", f"### In the catalog and unused ({len(usage.unused)})", ""]
        out += [f"- `{m.name}` ({link(m.file)}): reclaim its licences" for m in usage.unused]
    unlisted = [t for t in usage.tools if t.unlisted]
    if unlisted:
        out += ["", f"### Used beyond the manifest ({len(unlisted)})", ""]
        for tool in unlisted:
            shown = escape(", ".join(tool.unlisted))
            where = link(tool.manifest.file) if tool.manifest is not None else ""
            out.append(f"- `{tool.tool}` ({where}): {shown}")
    if discovery.findings:
        out += ["", "### Findings", ""]
        for finding in discovery.findings:
            mark = {"blocking": "❌", "warning": "⚠️", "excepted": "🟦"}[finding.status]
            where = (
                escape(finding.file)
                if finding.file.startswith(("https://", "http://"))
                else link(finding.file, finding.line)
            )
            out.append(
                f"- {mark} **{finding.rule}** `{finding.manifest}`: "
                f"{escape(finding.message)} ({where})  \n"
                f"  How to fix: {escape(finding.remediation)}"
            )
    return "\n".join(out) + "\n"
