"""JSON: the `version: 1` document of PRODUCT.md §6, for machines.

One finding per line: as readable in a diff as an indented document, and written by
the json module's C encoder (an indented document is written in Python, 20 times
slower on a large catalog's findings).
"""

from __future__ import annotations

import json
from typing import Any

from guardrails.findings import Finding
from guardrails.report import Report


def finding_dict(finding: Finding) -> dict[str, Any]:
    """One finding as the JSON report spells it (its fields, in order)."""
    fields = dict(vars(finding))
    if finding.exception is not None:
        fields["exception"] = dict(vars(finding.exception))
    return fields


def render(report: Report) -> str:
    """`{"version": 1, "summary": {...}, "findings": [...]}`."""
    summary = json.dumps(vars(report.outcome.summary))
    findings = ",\n    ".join(json.dumps(finding_dict(f)) for f in report.outcome.findings)
    body = f"[\n    {findings}\n  ]" if findings else "[]"
    return f'{{\n  "version": 1,\n  "summary": {summary},\n  "findings": {body}\n}}\n'
