"""CSV: one file per table, for finance's spreadsheets.

Numbers are plain (`48000.00`, no thousands separators), lists are `;`-joined and an
unknown value is an empty cell. Text that a spreadsheet would run as a formula (it
starts with `=`, `+`, `-`, `@`, a tab or a carriage return) is written with a leading
apostrophe: a manifest's title must not become a formula on finance's machine.
"""

from __future__ import annotations

import csv
import io

from guardrails.overview.formats import Document
from guardrails.overview.model import Overview
from guardrails.overview.tables import NUMERIC, Table, raw, tables

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def render(overview: Overview) -> tuple[Document, ...]:
    """`<table>.csv` for every table of the report."""
    return tuple(Document(f"{t.key}.csv", _csv(t)) for t in tables(overview))


def inert(text: str) -> str:
    """Text a spreadsheet shows as text, never runs as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([inert(c.title) for c in table.columns])
    for row in table.rows:
        writer.writerow(
            [
                raw(c.kind, v) if c.kind in NUMERIC else inert(raw(c.kind, v))
                for c, v in zip(table.columns, row, strict=True)
            ]
        )
    return buffer.getvalue()
