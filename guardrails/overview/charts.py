"""The report's charts as geometry (bars, texts, lines) that a template draws as SVG.

Each chart has a title and a text alternative that says what it shows in words, and
names the table that holds every figure it draws. Long lists are cut to the largest
entries (the rest summed into one bar) so a chart stays readable at 10,000 tools.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from guardrails.overview.figures import windows
from guardrails.overview.model import Overview

WIDTH = 720
LABEL_WIDTH = 180
ROW = 26
BAR = 18
TOP_ROWS = 12


@dataclass(frozen=True)
class Bar:
    """A filled rectangle standing for one amount."""

    x: float
    """Left edge."""
    y: float
    """Top edge."""
    width: float
    """Width."""
    height: float
    """Height."""
    tone: str
    """`primary` or `secondary` (year one / after year one)."""
    tip: str
    """What it stands for, with its value (shown on hover)."""


@dataclass(frozen=True)
class Text:
    """A label."""

    x: float
    """Anchor's x."""
    y: float
    """Baseline's y."""
    text: str
    """The words."""
    anchor: str = "start"
    """`start`, `middle` or `end`."""


@dataclass(frozen=True)
class Line:
    """A guide line (an axis, or a marker such as '90 days')."""

    x1: float
    """Start x."""
    y1: float
    """Start y."""
    x2: float
    """End x."""
    y2: float
    """End y."""
    dashed: bool = False
    """A marker rather than an axis."""


@dataclass(frozen=True)
class Chart:
    """One chart."""

    key: str
    """Its id in the page."""
    title: str
    """What it shows, as a heading."""
    description: str
    """The same in words: its text alternative."""
    table: str
    """The key of the table holding every figure it draws."""
    width: int
    """Width of its drawing."""
    height: int
    """Height of its drawing."""
    bars: tuple[Bar, ...]
    """The amounts."""
    texts: tuple[Text, ...]
    """Labels."""
    lines: tuple[Line, ...] = ()
    """Axes and markers."""
    legend: tuple[tuple[str, str], ...] = ()
    """(tone, what it means)."""


def compact(amount: Decimal | float) -> str:
    """48000 -> '48k', 1250000 -> '1.25M' (chart labels; tables give exact figures)."""
    value = float(amount)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.0f}"


def _clip(text: str, limit: int = 26) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def charts(overview: Overview) -> tuple[Chart, ...]:
    """Spend by team, the renewal timeline, and year one against the years after."""
    return (spend_by_team(overview), renewal_timeline(overview), cost_split(overview))


def spend_by_team(overview: Overview) -> Chart:
    """Horizontal bars: each team's annual spend, largest first."""
    base = overview.rates.base
    lines = [(s.name, s.annual) for s in overview.by_team]
    if len(lines) > TOP_ROWS:
        rest = lines[TOP_ROWS - 1 :]
        others = sum((a for _, a in rest), Decimal(0))
        lines = [*lines[: TOP_ROWS - 1], (f"{len(rest)} other teams", others)]
    top = max((a for _, a in lines), default=Decimal(0)) or Decimal(1)
    span = WIDTH - LABEL_WIDTH - 70
    bars, texts = [], []
    for row, (name, annual) in enumerate(lines):
        y = 8 + row * ROW
        width = float(annual / top) * span
        bars.append(Bar(LABEL_WIDTH, y, width, BAR, "primary", f"{name}: {annual:,.0f} {base}"))
        texts.append(Text(LABEL_WIDTH - 8, y + 13, _clip(name), "end"))
        texts.append(Text(LABEL_WIDTH + width + 6, y + 13, compact(annual)))
    said = "; ".join(f"{name} {annual:,.0f} {base}" for name, annual in lines)
    return Chart(
        "chart-spend-by-team",
        "Annual spend by team",
        f"Horizontal bars of each team's annual licence spend in {base}, largest first: "
        f"{said or 'no spend stated'}.",
        "spend-by-team",
        WIDTH,
        16 + max(len(lines), 1) * ROW,
        tuple(bars),
        tuple(texts),
    )


def cost_split(overview: Overview) -> Chart:
    """Stacked bars: year one against the years after, for the tools that cost most."""
    base = overview.rates.base
    tools = sorted(
        (t for t in overview.tools if t.cost.total),
        key=lambda t: (-(t.cost.total or 0), t.name),
    )[:TOP_ROWS]
    top = max((t.cost.total or Decimal(0) for t in tools), default=Decimal(0)) or Decimal(1)
    span = WIDTH - LABEL_WIDTH - 70
    legend_height = 28
    bars, texts = [], []
    for row, tool in enumerate(tools):
        y = legend_height + row * ROW
        first, later = tool.cost.year_one or Decimal(0), tool.cost.later or Decimal(0)
        w1, w2 = float(first / top) * span, float(later / top) * span
        bars.append(
            Bar(LABEL_WIDTH, y, w1, BAR, "primary", f"{tool.name}, year one: {first:,.0f} {base}")
        )
        bars.append(
            Bar(
                LABEL_WIDTH + w1,
                y,
                w2,
                BAR,
                "secondary",
                f"{tool.name}, after year one: {later:,.0f} {base}",
            )
        )
        texts.append(Text(LABEL_WIDTH - 8, y + 13, _clip(tool.name), "end"))
        texts.append(Text(LABEL_WIDTH + w1 + w2 + 6, y + 13, compact(first + later)))
    totals = overview.totals
    share = totals.later_share
    said = "; ".join(f"{t.name} {t.cost.year_one:,.0f} then {t.cost.later:,.0f}" for t in tools)
    return Chart(
        "chart-cost-split",
        f"Cost of ownership: year one against the years after ({len(tools)} costliest tools)",
        f"Stacked bars per tool, in {base}: year one (one-time cost and the first year's "
        f"licence) then the years after, over at least {overview.tco_months} months. "
        + (
            f"Across the catalog {share * 100:.0f}% of the cost comes after year one. "
            if share is not None
            else ""
        )
        + (said or "No tool states a cost."),
        "cost",
        WIDTH,
        legend_height + max(len(tools), 1) * ROW + 8,
        tuple(bars),
        tuple(texts),
        legend=(("primary", "Year one"), ("secondary", "After year one")),
    )


def renewal_timeline(overview: Overview) -> Chart:
    """Columns per week of the horizon: what renews that week, with 30/60/90-day markers."""
    base = overview.rates.base
    horizon = overview.horizon_days
    now = date.fromisoformat(overview.now)
    weeks = math.ceil((horizon + 1) / 7)
    amounts = [Decimal(0)] * weeks
    counts = [0] * weeks
    for renewal in overview.renewals:
        if renewal.days < 0:
            continue
        week = renewal.days // 7
        counts[week] += 1
        amounts[week] += renewal.annual or Decimal(0)
    left, right, top, bottom = 60.0, WIDTH - 40.0, 22.0, 200.0  # room for the last date
    column = (right - left) / weeks
    peak = max(amounts) or Decimal(1)
    bars, texts = [], []
    for week, (amount, count) in enumerate(zip(amounts, counts, strict=True)):
        if not count:
            continue
        height = max(float(amount / peak) * (bottom - top), 2.0)
        x = left + week * column + column * 0.1
        start = now + timedelta(days=week * 7)
        tip = f"week of {start.isoformat()}: {count} renewal(s), {amount:,.0f} {base} a year"
        bars.append(Bar(x, bottom - height, column * 0.8, height, "primary", tip))
        texts.append(Text(x + column * 0.4, bottom - height - 4, str(count), "middle"))
    lines = [Line(left, bottom, right, bottom), Line(left, top, left, bottom)]
    for days in windows(horizon):
        x = left + days / (weeks * 7) * (right - left)
        lines.append(Line(x, top - 6, x, bottom, dashed=True))
        texts.append(Text(x, bottom + 16, f"{days} d", "middle"))
        texts.append(Text(x, bottom + 30, (now + timedelta(days=days)).isoformat(), "middle"))
    texts.append(Text(left - 6, top + 4, compact(peak if any(counts) else 0), "end"))
    texts.append(Text(left - 6, bottom, "0", "end"))
    ahead = [r for r in overview.renewals if r.days >= 0]
    said = "; ".join(f"{r.tool} on {r.date}" for r in ahead[:10])
    if len(ahead) > 10:
        said += f"; and {len(ahead) - 10} more"
    return Chart(
        "chart-renewals",
        f"Renewals in the next {horizon} days, by week",
        f"Columns per week from {overview.now}, each as tall as the annual value renewing "
        f"that week in {base}, labelled with the number of renewals; dashed lines mark "
        f"{', '.join(str(d) for d in windows(horizon))} days. "
        + (f"{len(ahead)} renewal(s): {said}." if ahead else "No renewal in this period."),
        "renewals",
        WIDTH,
        int(bottom + 40),
        tuple(bars),
        tuple(texts),
        tuple(lines),
    )
