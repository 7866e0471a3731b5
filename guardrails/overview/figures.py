"""Compute the report's figures once, from a finished check (and what else is known).

Only schema-valid manifests are counted: a manifest that breaks the schema may state
anything, so it is listed under findings and named in the notes instead. Amounts are
converted at the policy data's rates; an amount no rate converts is left out of the
totals and the notes say which, never counted as zero.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from guardrails.catalog.model import Manifest
from guardrails.check import Checked
from guardrails.findings import Finding
from guardrails.overview.discovery import Discovery
from guardrails.overview.model import (
    Cost,
    Expiry,
    FileFindings,
    Overview,
    Rates,
    Renewal,
    Seats,
    ShadowTool,
    Spend,
    Status,
    Tally,
    Tool,
    Totals,
)
from guardrails.overview.people import Directory
from guardrails.overview.settings import ReportSettings

CENT = Decimal("0.01")
WINDOWS = (30, 60, 90, 180)
"""Renewal windows, in days; the policy data's horizon is added when it is longer."""
CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")
NO_COST_CENTER = "(none)"


def compute(
    checked: Checked,
    settings: ReportSettings,
    now: date,
    directory: Directory,
    discovery: Discovery | None = None,
    catalog: str = "",
) -> Overview:
    """Every figure of the report."""
    notes = _Notes(settings.rates)
    unused = frozenset(discovery.unused) if discovery else frozenset()
    statuses = _statuses(checked.outcome.findings)
    valid = [m for m in checked.catalog.manifests if m.valid]
    tools = tuple(
        sorted(
            (_tool(m, settings, statuses, directory, unused, notes) for m in valid),
            key=lambda t: t.name,
        )
    )
    invalid = len(checked.catalog.manifests) - len(valid)
    unparsed = len(checked.catalog.files) - len(checked.catalog.manifests)
    if invalid or unparsed:
        notes.add(
            f"{invalid + unparsed} manifest file(s) break the schema or do not parse: they are "
            "not in these figures (see Findings per file)"
        )
    renewals = _renewals(tools, now, settings.horizon_days)
    expiring = _expiring(valid, checked, now, settings.horizon_days)
    shadow = _shadow_it(discovery, settings.rates, tools, notes) if discovery else None
    if discovery is not None:
        declared = {t.name for t in tools}
        strangers = sorted(set(discovery.unused) - declared)
        if strangers:
            notes.add(
                f"discovery lists {len(strangers)} unused tool(s) the catalog does not "
                f"declare ({_few(strangers)}): the discovery results may be older than the catalog"
            )
    findings = _findings(checked)
    totals = _totals(tools, renewals, expiring, findings, shadow)
    _note_age(settings, now, notes)
    if directory.name:
        unresolved = sorted({g for t in tools for g in t.seats.unresolved})
        if unresolved:
            notes.add(
                f"{len(unresolved)} group(s) are not in {directory.name} ({_few(unresolved)}): "
                "people granted is unknown for the tools that name them"
            )
    elif any(t.seats.unresolved for t in tools):
        notes.add(
            "no directory resolves the manifests' groups: people granted is known only for "
            "tools that name users alone (add directory.yaml, or run with --with-plan)"
        )
    return Overview(
        catalog=catalog,
        now=now.isoformat(),
        rates=settings.rates,
        tco_months=settings.tco_months,
        horizon_days=settings.horizon_days,
        totals=totals,
        tools=tools,
        by_team=_spend(tools, lambda t: t.team),
        by_cost_center=_spend(tools, lambda t: t.cost_center or NO_COST_CENTER),
        capabilities=_tally(
            ((c, t.name) for t in tools for c in t.capabilities), key=lambda x: (-len(x[1]), x[0])
        ),
        classifications=_tally(
            ((t.classification, t.name) for t in tools),
            key=lambda x: (_rank(x[0], CLASSIFICATIONS), x[0]),
        ),
        residency=_tally(
            ((r, t.name) for t in tools for r in t.residency), key=lambda x: (-len(x[1]), x[0])
        ),
        renewals=renewals,
        expiring=expiring,
        findings=findings,
        shadow_it=shadow,
        unused=tuple(sorted(unused & {t.name for t in tools})),
        live=directory.provisioned is not None,
        notes=notes.all(),
    )


class _Notes:
    """What the reader must know, each said once (amounts left out are summed per currency)."""

    def __init__(self, rates: Rates) -> None:
        self.rates = rates
        self.lines: list[str] = []
        self.no_rate: dict[str, list[Decimal]] = defaultdict(list)
        self.no_cost = 0
        self.no_currency = 0

    def add(self, line: str) -> None:
        if line not in self.lines:
            self.lines.append(line)

    def all(self) -> tuple[str, ...]:
        lines = []
        if self.rates.date is None:
            lines.append(
                f"the policy data has no currency rates: totals are in {self.rates.base}, and "
                "amounts in other currencies are left out"
            )
        for currency, amounts in sorted(self.no_rate.items()):
            lines.append(
                f"{len(amounts)} amount(s) in {currency} ({_plain(sum(amounts, Decimal(0)))} "
                f"{currency}) are left out of the totals: the policy data has no rate for "
                f"{currency} (add currency.rates.{currency})"
            )
        if self.no_currency:
            lines.append(
                f"{self.no_currency} tool(s) state amounts without cost.currency: taken as "
                f"{self.rates.base}"
            )
        if self.no_cost:
            lines.append(
                f"{self.no_cost} tool(s) state no annual cost (cost.annual): not in the totals"
            )
        return (*lines, *self.lines)


def _plain(amount: Decimal) -> str:
    return f"{amount:,.2f}".removesuffix(".00")


def _few(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _rank(value: str, order: tuple[str, ...]) -> int:
    return order.index(value) if value in order else len(order)


def convert(amount: Decimal, currency: str, rates: Rates) -> Decimal | None:
    """`amount` of `currency` in the base currency, to the cent (None: no rate)."""
    rate = rates.per_unit.get(currency)
    if rate is None:
        return None
    return (amount * rate).quantize(CENT, ROUND_HALF_UP)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return Decimal(str(value))


def _statuses(findings: Iterable[Finding]) -> dict[str, Status]:
    """Each file's status: failed beats warned beats excepted."""
    order: dict[Status, int] = {"passed": 0, "excepted": 1, "warned": 2, "failed": 3}
    of_finding: dict[str, Status] = {
        "blocking": "failed",
        "warning": "warned",
        "excepted": "excepted",
    }
    statuses: dict[str, Status] = {}
    for finding in findings:
        status = of_finding[finding.status]
        if order[status] > order[statuses.get(finding.file, "passed")]:
            statuses[finding.file] = status
    return statuses


def _tool(
    manifest: Manifest,
    settings: ReportSettings,
    statuses: Mapping[str, Status],
    directory: Directory,
    unused: frozenset[str],
    notes: _Notes,
) -> Tool:
    document = manifest.document
    metadata = document.get("metadata") or {}
    spec = manifest.spec
    data = spec.get("data") or {}
    access = spec.get("access") or {}
    listed = spec.get("cost") or {}
    granted, unresolved = directory.granted(access.get("users", []), access.get("groups", []))
    provisioned = directory.provisioned.get(manifest.name) if directory.provisioned else None
    return Tool(
        name=manifest.name,
        title=str(metadata.get("title") or manifest.name),
        file=manifest.file,
        team=str(metadata.get("team", "")),
        owner=str(metadata.get("owner", "")),
        cost_center=metadata.get("cost_center"),
        capabilities=tuple(spec.get("capabilities", ())),
        classification=str(data.get("classification", "")),
        residency=tuple(data.get("residency", ())),
        status=statuses.get(manifest.file, "passed"),
        cost=_cost(listed, settings, notes),
        seats=Seats(listed.get("seats"), granted, unresolved, provisioned),
        renewal_date=listed.get("renewal_date"),
        notice_days=listed.get("notice_days"),
        auto_renew=listed.get("auto_renew"),
        unused=manifest.name in unused,
    )


def _cost(listed: Mapping[str, Any], settings: ReportSettings, notes: _Notes) -> Cost:
    rates = settings.rates
    annual_listed = _number(listed.get("annual"))
    one_time_listed = _number(listed.get("one_time")) or Decimal(0)
    currency = listed.get("currency")
    if currency is None:
        currency = rates.base
        if annual_listed is not None or one_time_listed:
            notes.no_currency += 1
    if annual_listed is None:
        notes.no_cost += 1
    annual = None if annual_listed is None else convert(annual_listed, currency, rates)
    one_time = convert(one_time_listed, currency, rates)
    left_out = [a for a in (annual_listed, one_time_listed) if a]
    if currency not in rates.per_unit and left_out:
        notes.no_rate[currency] += left_out
    term = int(listed.get("term_months", 12))
    months = max(term, settings.tco_months)
    year_one = later = None
    if annual is not None and one_time is not None:
        year_one = (one_time + annual * min(months, 12) / 12).quantize(CENT, ROUND_HALF_UP)
        later = (annual * max(months - 12, 0) / 12).quantize(CENT, ROUND_HALF_UP)
    return Cost(currency, annual_listed, annual, one_time, term, months, year_one, later)


def _spend(tools: Iterable[Tool], group: Any) -> tuple[Spend, ...]:
    count: dict[str, int] = defaultdict(int)
    annual: dict[str, Decimal] = defaultdict(Decimal)
    for tool in tools:
        name = group(tool)
        count[name] += 1
        annual[name] += tool.cost.annual or Decimal(0)
    lines = [Spend(name, count[name], annual[name]) for name in count]
    return tuple(sorted(lines, key=lambda s: (-s.annual, s.name)))


def _tally(pairs: Iterable[tuple[str, str]], key: Any) -> tuple[Tally, ...]:
    found: dict[str, set[str]] = defaultdict(set)
    for value, tool in pairs:
        found[str(value)].add(tool)
    ordered = sorted(found.items(), key=key)
    return tuple(Tally(name, tuple(sorted(tools))) for name, tools in ordered)


def windows(horizon: int) -> tuple[int, ...]:
    """The renewal windows for a horizon: 30/60/90/180 up to it, and the horizon itself."""
    shown = tuple(w for w in WINDOWS if w < horizon)
    return (*shown, horizon)


def _renewals(tools: Iterable[Tool], now: date, horizon: int) -> tuple[Renewal, ...]:
    found = []
    bounds = windows(horizon)
    for tool in tools:
        if tool.renewal_date is None:
            continue
        day = date.fromisoformat(tool.renewal_date)
        days = (day - now).days
        if days > horizon:
            continue
        notice_by = days_to_notice = None
        if tool.notice_days is not None:
            deadline = day - timedelta(days=tool.notice_days)
            notice_by, days_to_notice = deadline.isoformat(), (deadline - now).days
        found.append(
            Renewal(
                tool=tool.name,
                title=tool.title,
                team=tool.team,
                date=tool.renewal_date,
                days=days,
                window=None if days < 0 else next(w for w in bounds if days <= w),
                annual=tool.cost.annual,
                notice_days=tool.notice_days,
                notice_by=notice_by,
                days_to_notice=days_to_notice,
                auto_renew=tool.auto_renew,
            )
        )
    return tuple(sorted(found, key=lambda r: (r.date, r.tool)))


def _expiring(
    manifests: Iterable[Manifest], checked: Checked, now: date, horizon: int
) -> tuple[Expiry, ...]:
    found = []
    for manifest in manifests:
        vendor = manifest.spec.get("vendor") or {}
        for certificate in vendor.get("certifications", ()):
            days = (date.fromisoformat(certificate["expires"]) - now).days
            if days <= horizon:
                found.append(
                    Expiry(
                        "certificate",
                        certificate["name"],
                        (manifest.name,),
                        str(vendor.get("name", "")),
                        certificate["expires"],
                        days,
                    )
                )
    for exception in checked.catalog.exceptions:
        days = (date.fromisoformat(exception.expires) - now).days
        if days <= horizon:
            found.append(
                Expiry(
                    "exception",
                    exception.name,
                    exception.manifests,
                    exception.rule,
                    exception.expires,
                    days,
                )
            )
    return tuple(sorted(found, key=lambda e: (e.expires, e.kind, e.name, e.tools)))


def _findings(checked: Checked) -> tuple[FileFindings, ...]:
    names = {m.file: m.name for m in checked.catalog.manifests}
    by_file: dict[str, list[Finding]] = {file: [] for file in names}
    for finding in checked.outcome.findings:
        by_file.setdefault(finding.file, []).append(finding)
    rows = []
    for file, findings in by_file.items():
        statuses = [f.status for f in findings]
        rows.append(
            FileFindings(
                name=names.get(file) or next((f.manifest for f in findings if f.manifest), file),
                file=file,
                blocking=statuses.count("blocking"),
                warnings=statuses.count("warning"),
                excepted=statuses.count("excepted"),
                rules=tuple(sorted({f.rule for f in findings})),
            )
        )
    return tuple(sorted(rows, key=lambda r: (-r.blocking, -r.warnings, -r.excepted, r.name)))


def _shadow_it(
    discovery: Discovery, rates: Rates, tools: Iterable[Tool], notes: _Notes
) -> tuple[ShadowTool, ...]:
    declared = {t.name for t in tools}
    found = []
    for sighting in discovery.undeclared:
        if sighting.tool in declared:
            notes.add(
                f"discovery lists {sighting.tool} as undeclared, but the catalog declares it: "
                "left out of shadow IT (the discovery results may be older than the catalog)"
            )
            continue
        spend = None
        if sighting.spend_listed is not None and sighting.currency is not None:
            spend = convert(sighting.spend_listed, sighting.currency, rates)
            if spend is None:
                notes.no_rate[sighting.currency].append(sighting.spend_listed)
        found.append(replace(sighting, spend=spend))
    return tuple(sorted(found, key=lambda s: (-s.people, -(s.spend or 0), s.tool)))


def _totals(
    tools: tuple[Tool, ...],
    renewals: tuple[Renewal, ...],
    expiring: tuple[Expiry, ...],
    findings: tuple[FileFindings, ...],
    shadow: tuple[ShadowTool, ...] | None,
) -> Totals:
    zero = Decimal(0)
    soon = [r for r in renewals if 0 <= r.days <= 90]
    ahead = [r for r in renewals if r.days >= 0 and r.days_to_notice is not None]
    return Totals(
        tools=len(tools),
        annual=sum((t.cost.annual or zero for t in tools), zero),
        year_one=sum((t.cost.year_one or zero for t in tools), zero),
        later=sum((t.cost.later or zero for t in tools), zero),
        renewals_90=len(soon),
        renewals_90_annual=sum((r.annual or zero for r in soon), zero),
        notices_due=sum(1 for r in ahead if 0 <= (r.days_to_notice or 0) <= 30),
        notices_missed=sum(1 for r in ahead if (r.days_to_notice or 0) < 0),
        seats_bought=sum(t.seats.bought or 0 for t in tools),
        seats_unused=sum(t.seats.unused or 0 for t in tools),
        blocking=sum(f.blocking for f in findings),
        warnings=sum(f.warnings for f in findings),
        excepted=sum(f.excepted for f in findings),
        expiring=len(expiring),
        shadow_tools=None if shadow is None else len(shadow),
        shadow_spend=None if shadow is None else sum((s.spend or zero for s in shadow), zero),
    )


def _note_age(settings: ReportSettings, now: date, notes: _Notes) -> None:
    if settings.rates.date is None:
        return
    age = (now - date.fromisoformat(settings.rates.date)).days
    if age > settings.rates_max_age_days:
        notes.add(
            f"the currency rates are from {settings.rates.date}, {age} days before this report "
            f"(more than report.rates_max_age_days = {settings.rates_max_age_days}): update "
            "currency.rates and currency.date in the policy data"
        )
