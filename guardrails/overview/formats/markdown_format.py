"""Markdown: the report for a pull-request comment or an issue.

The headline figures, the notes, then every table cut to its first rows (a comment
has a size limit; the HTML page and the CSV files have every row). Text from
manifests is escaped as `check`'s Markdown escapes it: shown literally, on one line.
"""

from __future__ import annotations

from guardrails.overview.formats import Document
from guardrails.overview.model import Overview
from guardrails.overview.tables import NUMERIC, Table, show, tables
from guardrails.report.markdown_format import escape

MAX_ROWS = 15


def render(overview: Overview) -> tuple[Document, ...]:
    """The report as GitHub-flavoured Markdown."""
    o, t, base = overview, overview.totals, overview.rates.base
    rated = f" at the rates of {o.rates.date}" if o.rates.date else ""
    tco = f"{show('money', t.tco)} (year one {show('money', t.year_one)}, "
    tco += f"after {show('money', t.later)}"
    tco += f"; {show('share', t.later_share)} after year one)" if t.later_share is not None else ")"
    shadow = (
        "not measured (run `guardrails discover`)"
        if t.shadow_tools is None
        else f"{show('count', t.shadow_tools)} tools, "
        f"{show('money', t.shadow_spend)} {base} spend seen"
    )
    out = [
        f"## SaaS report: {escape(o.catalog)} as of {o.now}",
        "",
        f"Amounts in {base}{rated}.",
        "",
        "| Figure | Value |",
        "| --- | --- |",
        f"| Tools declared | {show('count', t.tools)} |",
        f"| Annual spend ({base}) | {show('money', t.annual)} |",
        f"| Cost of ownership ({base}) | {tco} |",
        f"| Renewals within 90 days | {show('count', t.renewals_90)} "
        f"({show('money', t.renewals_90_annual)} {base} a year) |",
        f"| Notice deadlines within 30 days | {show('count', t.notices_due)} "
        f"({show('count', t.notices_missed)} passed: renewing as they are) |",
        f"| Seats bought | {show('count', t.seats_bought)} "
        f"({show('count', t.seats_unused)} granted to nobody) |",
        f"| Findings | {show('count', t.blocking)} blocking, {show('count', t.warnings)} "
        f"warnings, {show('count', t.excepted)} excepted |",
        f"| Certificates and exceptions expiring within {o.horizon_days} days | "
        f"{show('count', t.expiring)} |",
        f"| Shadow IT | {shadow} |",
        "",
    ]
    if o.notes:
        out += ["**Read with care**", "", *(f"- {escape(n)}" for n in o.notes), ""]
    for table in tables(overview):
        out += _table(table)
    return (Document("report.md", "\n".join(out).rstrip("\n") + "\n"),)


def _table(table: Table) -> list[str]:
    out = [f"### {escape(table.title)}", "", escape(table.caption), ""]
    if not table.rows:
        return [*out, f"_{escape(table.empty)}_", ""]
    out.append("| " + " | ".join(escape(c.title) for c in table.columns) + " |")
    out.append(
        "| " + " | ".join("---:" if c.kind in NUMERIC else "---" for c in table.columns) + " |"
    )
    for row in table.rows[:MAX_ROWS]:
        cells = (escape(show(c.kind, v)) for c, v in zip(table.columns, row, strict=True))
        out.append("| " + " | ".join(cells) + " |")
    more = len(table.rows) - MAX_ROWS
    if more > 0:
        out.append("")
        out.append(f"_… and {more:,} more rows: every row is in the HTML and CSV reports._")
    return [*out, ""]
