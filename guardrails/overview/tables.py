"""The report's tables, laid out once for every format that prints tables.

A table is columns (a title and a kind) and rows of raw values. Each format shows a
value by its column's kind (`show`) or writes it raw (CSV), so "48,000" on the page
and `48000.00` in the finance export are the same figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from guardrails.overview.model import Overview, Spend, Tally

Kind = Literal["text", "money", "count", "date", "days", "list", "flag", "share"]
NUMERIC: frozenset[Kind] = frozenset({"money", "count", "days", "share"})
"""Kinds shown right-aligned and sorted as numbers."""
LIST_SHOWN = 8
"""A list cell shows this many names, then how many more (CSV keeps them all)."""


@dataclass(frozen=True)
class Column:
    """One column of a table."""

    title: str
    """The header."""
    kind: Kind = "text"
    """How its values are shown and sorted."""


@dataclass(frozen=True)
class Table:
    """One table of the report."""

    key: str
    """Short name: the CSV file's stem and the HTML anchor (e.g. `renewals`)."""
    title: str
    """The heading."""
    caption: str
    """One sentence saying what it shows."""
    columns: tuple[Column, ...]
    """Its columns."""
    rows: tuple[tuple[Any, ...], ...]
    """Raw values, one tuple per row, in the columns' order."""
    empty: str = "Nothing to list."
    """What to say when there are no rows."""


def show(kind: Kind, value: Any) -> str:
    """A value as a person reads it ('—' for unknown)."""
    if value is None or value == ():
        return "—"
    if kind == "money":
        return f"{value:,.2f}".removesuffix(".00")
    if kind == "count":
        return f"{value:,}"
    if kind == "days":
        return f"{value:,}"
    if kind == "share":
        return f"{value * 100:.0f}%"
    if kind == "flag":
        return "yes" if value else "no"
    if kind == "list":
        names = [str(v) for v in value]
        more = len(names) - LIST_SHOWN
        return ", ".join(names[:LIST_SHOWN]) + (f" and {more:,} more" if more > 0 else "")
    return str(value)


def raw(kind: Kind, value: Any) -> str:
    """A value as a spreadsheet reads it: plain numbers, `;`-joined lists, '' for unknown."""
    if value is None:
        return ""
    if kind == "list":
        return "; ".join(str(v) for v in value)
    if kind == "flag":
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:.2f}" if kind == "money" else str(value)
    return str(value)


def tables(overview: Overview) -> tuple[Table, ...]:
    """Every table, in the order the report shows them."""
    base = overview.rates.base
    found = [
        _spend_table(overview, overview.by_team, "spend-by-team", "Team"),
        _spend_table(overview, overview.by_cost_center, "spend-by-cost-centre", "Cost centre"),
        _cost_table(overview, base),
        _renewals_table(overview, base),
        _seats_table(overview),
        _expiring_table(overview),
        _findings_table(overview),
        _inventory_table(overview),
        _capabilities_table(overview),
        _tally_table(
            "classification",
            "Tools by data classification",
            "How sensitive the data each tool holds is.",
            "Classification",
            overview.classifications,
        ),
        _tally_table(
            "residency",
            "Tools by data residency",
            "Where each tool stores or processes data (a tool may count in several).",
            "Jurisdiction",
            overview.residency,
        ),
    ]
    if overview.shadow_it is not None:
        found += [_shadow_table(overview, base), _unused_table(overview, base)]
    return tuple(found)


def _table(
    key: str,
    title: str,
    caption: str,
    columns: Sequence[tuple[str, Kind]],
    rows: Sequence[tuple[Any, ...]],
    empty: str = "Nothing to list.",
) -> Table:
    return Table(key, title, caption, tuple(Column(t, k) for t, k in columns), tuple(rows), empty)


def _spend_table(overview: Overview, lines: tuple[Spend, ...], key: str, what: str) -> Table:
    base = overview.rates.base
    return _table(
        key,
        f"Annual spend by {what.lower()}",
        f"Recurring licence cost per year, in {base} at the rates of "
        f"{overview.rates.date or 'no date'}.",
        [(what, "text"), ("Tools", "count"), (f"Annual ({base})", "money")],
        [(s.name, s.tools, s.annual) for s in lines],
    )


def _cost_table(overview: Overview, base: str) -> Table:
    return _table(
        "cost",
        "Total cost of ownership per tool",
        f"One-time cost plus licence over the term, or over {overview.tco_months} months when "
        "the term is shorter (contracts renew); year one against the years after.",
        [
            ("Tool", "text"),
            ("Team", "text"),
            ("Currency", "text"),
            ("Annual (listed)", "money"),
            (f"Annual ({base})", "money"),
            (f"One-time ({base})", "money"),
            ("Term (months)", "count"),
            ("Counted over (months)", "count"),
            (f"Year one ({base})", "money"),
            (f"After year one ({base})", "money"),
            (f"Total ({base})", "money"),
            ("After year one (share)", "share"),
        ],
        [
            (
                t.name,
                t.team,
                t.cost.currency,
                t.cost.annual_listed,
                t.cost.annual,
                t.cost.one_time,
                t.cost.term_months,
                t.cost.months,
                t.cost.year_one,
                t.cost.later,
                t.cost.total,
                t.cost.later / t.cost.total if t.cost.total and t.cost.later is not None else None,
            )
            for t in overview.tools
        ],
    )


def _renewals_table(overview: Overview, base: str) -> Table:
    return _table(
        "renewals",
        f"Renewals in the next {overview.horizon_days} days",
        "Each renewal with the last day to give notice (cost.notice_days) and whether it "
        "renews by itself (cost.auto_renew); a negative number of days has passed.",
        [
            ("Tool", "text"),
            ("Team", "text"),
            ("Renews on", "date"),
            ("Days left", "days"),
            ("Within (days)", "count"),
            (f"Annual ({base})", "money"),
            ("Notice (days)", "count"),
            ("Notice by", "date"),
            ("Days to notice", "days"),
            ("Auto-renews", "flag"),
        ],
        [
            (
                r.tool,
                r.team,
                r.date,
                r.days,
                r.window,
                r.annual,
                r.notice_days,
                r.notice_by,
                r.days_to_notice,
                r.auto_renew,
            )
            for r in overview.renewals
        ],
        "No renewal in this period.",
    )


def _seats_table(overview: Overview) -> Table:
    columns: list[tuple[str, Kind]] = [
        ("Tool", "text"),
        ("Team", "text"),
        ("Seats bought", "count"),
        ("People granted", "count"),
        ("Unused seats", "count"),
        ("Granted beyond seats", "count"),
    ]
    if overview.live:
        columns.append(("Provisioned (live)", "count"))
    columns.append(("Groups not resolved", "list"))

    def row(tool: Any) -> tuple[Any, ...]:
        seats = tool.seats
        values = [tool.name, tool.team, seats.bought, seats.granted, seats.unused, seats.short]
        if overview.live:
            values.append(seats.provisioned)
        return (*values, seats.unresolved)

    return _table(
        "seats",
        "Seats bought and people granted",
        "Seats from cost.seats; people granted are the manifest's users plus its groups' "
        "members" + (" (live directory)." if overview.live else "."),
        columns,
        [row(t) for t in overview.tools],
    )


def _expiring_table(overview: Overview) -> Table:
    return _table(
        "expiring",
        f"Certificates and exceptions expiring in the next {overview.horizon_days} days",
        "Vendor certificates and PolicyExceptions; a negative number of days has expired.",
        [
            ("What", "text"),
            ("Name", "text"),
            ("Tools", "list"),
            ("Vendor or rule", "text"),
            ("Expires", "date"),
            ("Days left", "days"),
        ],
        [(e.kind, e.name, e.tools, e.detail, e.expires, e.days) for e in overview.expiring],
        "Nothing expires in this period.",
    )


def _findings_table(overview: Overview) -> Table:
    return _table(
        "findings",
        "Findings per file",
        "What guardrails check reports for each manifest (and exception file).",
        [
            ("Tool", "text"),
            ("File", "text"),
            ("Blocking", "count"),
            ("Warnings", "count"),
            ("Excepted", "count"),
            ("Rules", "list"),
        ],
        [(f.name, f.file, f.blocking, f.warnings, f.excepted, f.rules) for f in overview.findings],
    )


def _inventory_table(overview: Overview) -> Table:
    columns: list[tuple[str, Kind]] = [
        ("Tool", "text"),
        ("Title", "text"),
        ("Team", "text"),
        ("Owner", "text"),
        ("Cost centre", "text"),
        ("Capabilities", "list"),
        ("Classification", "text"),
        ("Residency", "list"),
        ("Status", "text"),
    ]
    if overview.shadow_it is not None:
        columns.append(("Seen in use", "flag"))

    def row(tool: Any) -> tuple[Any, ...]:
        values = (
            tool.name,
            tool.title,
            tool.team,
            tool.owner,
            tool.cost_center,
            tool.capabilities,
            tool.classification,
            tool.residency,
            tool.status,
        )
        return (*values, not tool.unused) if overview.shadow_it is not None else values

    return _table(
        "inventory",
        "Inventory",
        "Every tool the catalog declares, with its check status.",
        columns,
        [row(t) for t in overview.tools],
    )


def _capabilities_table(overview: Overview) -> Table:
    return _table(
        "capabilities",
        "Tools by capability",
        "Two or more tools with one capability are candidates for consolidation.",
        [("Capability", "text"), ("Tools", "count"), ("Which", "list"), ("Consolidate?", "flag")],
        [(c.name, len(c.tools), c.tools, len(c.tools) > 1) for c in overview.capabilities],
    )


def _tally_table(
    key: str, title: str, caption: str, what: str, tallies: tuple[Tally, ...]
) -> Table:
    return _table(
        key,
        title,
        caption,
        [(what, "text"), ("Tools", "count")],
        [(t.name, len(t.tools)) for t in tallies],
    )


def _shadow_table(overview: Overview, base: str) -> Table:
    return _table(
        "shadow-it",
        "Shadow IT: in use, not in the catalog",
        "From guardrails discover: tools people use that no manifest declares.",
        [
            ("Tool", "text"),
            ("Title", "text"),
            ("People", "count"),
            ("First seen", "date"),
            ("Last seen", "date"),
            ("Currency", "text"),
            ("Spend seen (listed)", "money"),
            (f"Spend seen ({base})", "money"),
            ("Sources", "list"),
        ],
        [
            (
                s.tool,
                s.title,
                s.people,
                s.first_seen,
                s.last_seen,
                s.currency,
                s.spend_listed,
                s.spend,
                s.sources,
            )
            for s in overview.shadow_it or ()
        ],
        "Discovery found no undeclared tool.",
    )


def _unused_table(overview: Overview, base: str) -> Table:
    unused = set(overview.unused)
    return _table(
        "unused",
        "Declared, paid for, and not seen in use",
        "Catalog tools discovery saw nobody use: candidates to cancel at renewal.",
        [
            ("Tool", "text"),
            ("Team", "text"),
            (f"Annual ({base})", "money"),
            ("Seats bought", "count"),
            ("Renews on", "date"),
        ],
        [
            (t.name, t.team, t.cost.annual, t.seats.bought, t.renewal_date)
            for t in overview.tools
            if t.name in unused
        ],
        "Discovery saw every declared tool in use.",
    )
