"""JSON: every figure of the report, for machines (`"version": 1`).

The `Overview` dataclasses field for field, plus the figures they derive (a tool's
total cost, unused seats, the catalog's cost of ownership). Amounts are numbers in
the base currency; an unknown figure is `null`, never 0.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from guardrails.overview.formats import Document
from guardrails.overview.model import Overview


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def render(overview: Overview) -> tuple[Document, ...]:
    """`{"version": 1, ...}` with every figure."""
    document: dict[str, Any] = {"version": 1, **asdict(overview)}
    totals = overview.totals
    document["totals"].update(tco=totals.tco, later_share=totals.later_share)
    for shown, tool in zip(document["tools"], overview.tools, strict=True):
        shown["cost"]["total"] = tool.cost.total
        shown["seats"].update(unused=tool.seats.unused, short=tool.seats.short)
    text = json.dumps(document, default=_number, indent=1, ensure_ascii=False)
    return (Document("report.json", text + "\n"),)
