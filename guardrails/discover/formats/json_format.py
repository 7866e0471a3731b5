"""JSON: one object, `version: 1`, for machines (the CIO report reads it).

```
{"version": 1, "now": "YYYY-MM-DD", "sources": [...], "summary": {...},
 "undeclared": [{"tool", "title", "vendor", "website", "people", "users", "paid_by", "everyone",
                 "first_seen", "last_seen", "spend", "sources", "scopes", "confidence",
                 "matched", "records", "evidence", "draft"}],
 "in_use": [...catalog tools seen in use...],
 "unused": [{"tool", "title", "file"}],
 "unlisted_users": [{"tool", "title", "file", "users"}],
 "findings": [...as `guardrails check --format json`...]}
```
"""

from __future__ import annotations

import json
from typing import Any

from guardrails.discover.formats import Report
from guardrails.discover.interface import Money
from guardrails.discover.match import title
from guardrails.discover.usage import ToolUse
from guardrails.report.json_format import finding_dict


def money(value: Money | None) -> dict[str, Any] | None:
    """`{"amount": 12.5, "currency": "USD"}`, or None."""
    if value is None:
        return None
    return {"amount": float(value.amount), "currency": value.currency}


def _day(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def tool_dict(tool: ToolUse, draft: str | None = None) -> dict[str, Any]:
    """One tool in use, as the JSON report spells it."""
    vendor = tool.known.vendor if tool.known is not None else None
    return {
        "tool": tool.tool,
        "title": tool.title,
        "vendor": vendor.vendor if vendor is not None else None,
        "website": vendor.website if vendor is not None else None,
        "people": len(tool.people),
        "users": list(tool.users),
        "paid_by": [p for p in tool.people if p not in tool.users],
        "everyone": tool.everyone,
        "first_seen": _day(tool.first_seen),
        "last_seen": _day(tool.last_seen),
        "spend": money(tool.spend),
        "sources": list(tool.sources),
        "scopes": [
            {"scope": s.scope, "risk": s.risk, "access": s.access, "people": s.people}
            for s in tool.scopes
        ],
        "confidence": tool.confidence,
        "matched": [
            {"by": m.by, "key": m.key, "confidence": m.confidence, "records": m.count}
            for m in tool.matched
        ],
        "records": tool.count,
        "evidence": [
            {
                "source": r.source,
                "kind": r.kind,
                "records": r.count,
                "first": {"file": r.first.file, "record": r.first.record},
            }
            for r in tool.records
        ],
        "draft": draft,
        "unknown_groups": list(tool.unlisted_unknown),
    }


def document(report: Report) -> dict[str, Any]:
    """The whole report as plain values."""
    discovery = report.discovery
    usage = discovery.usage
    findings = discovery.findings
    return {
        "version": 1,
        "now": discovery.now.isoformat(),
        "sources": list(usage.sources),
        "summary": {
            "tools": len(usage.tools),
            "undeclared": len(usage.undeclared),
            "unused": len(usage.unused),
            "unlisted_users": sum(1 for t in usage.tools if t.unlisted),
            "findings": len(findings),
            "blocking": sum(1 for f in findings if f.blocking),
            "warnings": sum(1 for f in findings if f.status == "warning"),
            "excepted": sum(1 for f in findings if f.status == "excepted"),
            "ignored_records": usage.ignored,
            "not_saas_expense_lines": usage.not_saas,
            "not_saas_spend": money(usage.not_saas_spend),
        },
        "undeclared": [tool_dict(t, report.drafts.get(t.tool)) for t in usage.undeclared],
        "in_use": [tool_dict(t) for t in usage.tools if t.in_catalog],
        "unused": [
            {
                "tool": m.name,
                "title": title(m),
                "file": m.file,
            }
            for m in usage.unused
        ],
        "unlisted_users": [
            {
                "tool": t.tool,
                "title": t.title,
                "file": t.manifest.file if t.manifest is not None else None,
                "users": list(t.unlisted),
            }
            for t in usage.tools
            if t.unlisted
        ],
        "findings": [finding_dict(f) for f in findings],
    }


def render(report: Report) -> str:
    """The report as JSON, one tool or finding per line: as readable in a diff as an
    indented document, and written by the json module's C encoder (an indented one is
    written in Python, ten times slower for a large estate)."""
    parts = []
    for key, value in document(report).items():
        if isinstance(value, list) and value:
            items = ",\n    ".join(json.dumps(item) for item in value)
            parts.append(f"  {json.dumps(key)}: [\n    {items}\n  ]")
        else:
            parts.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"
