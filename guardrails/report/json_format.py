"""JSON: the `version: 1` document of PRODUCT.md §6, for machines."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from guardrails.findings import Finding
from guardrails.report import Report


def finding_dict(finding: Finding) -> dict[str, Any]:
    """One finding as the JSON report spells it."""
    return dataclasses.asdict(finding)


def render(report: Report) -> str:
    """`{"version": 1, "summary": {...}, "findings": [...]}`."""
    document = {
        "version": 1,
        "summary": dataclasses.asdict(report.outcome.summary),
        "findings": [finding_dict(f) for f in report.outcome.findings],
    }
    return json.dumps(document, indent=2) + "\n"
