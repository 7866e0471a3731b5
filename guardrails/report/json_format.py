"""JSON: the `version: 1` document of PRODUCT.md §6, for machines.

One finding per line: as readable in a diff as an indented document, and written by
the json module's C encoder (an indented document is written in Python, 20 times
slower on a large catalog's findings).
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from guardrails.findings import Finding
from guardrails.report import Report

_FIELDS = tuple(f.name for f in fields(Finding))
JSON_LINE = "_json_line"
"""Where a finding carries its line of this report once written (in the instance's
dict, never a field: a finding changed with `dataclasses.replace` is a new one
without it). `guardrails/decided.py` keeps it in the cache with the finding."""


def finding_dict(finding: Finding) -> dict[str, Any]:
    """One finding as the JSON report spells it (its fields, in order)."""
    values = finding.__dict__
    found = {name: values[name] for name in _FIELDS}
    if finding.exception is not None:
        found["exception"] = dict(vars(finding.exception))
    return found


def line(finding: Finding) -> str:
    """The finding's line of the report (written once, then carried with it)."""
    values = finding.__dict__
    text: str | None = values.get(JSON_LINE)
    if text is None:
        text = values[JSON_LINE] = json.dumps(finding_dict(finding))
    return text


def render(report: Report) -> str:
    """`{"version": 1, "summary": {...}, "findings": [...]}`."""
    summary = json.dumps(vars(report.outcome.summary))
    findings = ",\n    ".join([line(f) for f in report.outcome.findings])
    body = f"[\n    {findings}\n  ]" if findings else "[]"
    return f'{{\n  "version": 1,\n  "summary": {summary},\n  "findings": {body}\n}}\n'
