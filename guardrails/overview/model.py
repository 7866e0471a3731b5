"""What the report says, computed once: every figure every format renders.

Amounts are `Decimal` in the report's base currency (policy data `currency.base`),
rounded to the cent; `None` where a figure is unknown (no cost stated, or no rate for
its currency), which is never the same as zero. Dates are ISO `YYYY-MM-DD` strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Status = Literal["failed", "warned", "excepted", "passed"]


@dataclass(frozen=True)
class Rates:
    """Currency rates from the policy data (`currency:`), as of one date."""

    base: str
    """ISO 4217 code every total is shown in."""
    date: str | None
    """The day the rates are from, shown beside every total (None: the policy data
    has no rates)."""
    per_unit: Mapping[str, Decimal]
    """Currency code -> units of `base` for one unit of it (`base` itself is 1)."""
    source: str
    """Where the rates come from, as the policy data says."""


@dataclass(frozen=True)
class Cost:
    """A tool's cost as its manifest states it, converted to the base currency."""

    currency: str
    """The manifest's `cost.currency` (the base currency when it names none)."""
    annual_listed: Decimal | None
    """`cost.annual` in the manifest's own currency (None: not stated)."""
    annual: Decimal | None
    """`cost.annual` in the base currency (None: not stated, or no rate)."""
    one_time: Decimal | None
    """`cost.one_time` in the base currency (0 when not stated; None: no rate)."""
    term_months: int
    """`cost.term_months` (12 when not stated)."""
    months: int
    """Months the cost of ownership is counted over: the term, or the policy data's
    `report.tco_months` when that is longer (an annual contract is normally renewed)."""
    year_one: Decimal | None
    """One-time cost plus the first twelve months of licence."""
    later: Decimal | None
    """Licence cost of the months after the first twelve, up to `months`."""

    @property
    def total(self) -> Decimal | None:
        """Total cost of ownership over `months`: year one plus the years after."""
        if self.year_one is None or self.later is None:
            return None
        return self.year_one + self.later


@dataclass(frozen=True)
class Seats:
    """Seats bought against the people the manifest grants access (and who has it)."""

    bought: int | None
    """`cost.seats` (None: not stated)."""
    granted: int | None
    """People the manifest grants: its users plus its groups' members (None: a group
    could not be resolved through any directory)."""
    unresolved: tuple[str, ...]
    """Groups no directory could resolve."""
    provisioned: int | None
    """Members of the tool's managed group in the live directory (`--with-plan`;
    None when not read, or the tool has no managed group)."""

    @property
    def unused(self) -> int | None:
        """Seats bought and granted to nobody (None when either is unknown)."""
        if self.bought is None or self.granted is None:
            return None
        return max(self.bought - self.granted, 0)

    @property
    def short(self) -> int | None:
        """People granted beyond the seats bought (None when either is unknown)."""
        if self.bought is None or self.granted is None:
            return None
        return max(self.granted - self.bought, 0)


@dataclass(frozen=True)
class Tool:
    """One schema-valid manifest, as the report shows it."""

    name: str
    """`metadata.name`."""
    title: str
    """`metadata.title`, or the name."""
    file: str
    """The manifest file."""
    team: str
    """`metadata.team`."""
    owner: str
    """`metadata.owner`."""
    cost_center: str | None
    """`metadata.cost_center` (None: not stated)."""
    capabilities: tuple[str, ...]
    """`spec.capabilities`."""
    classification: str
    """`spec.data.classification`."""
    residency: tuple[str, ...]
    """`spec.data.residency`."""
    status: Status
    """failed (a blocking finding), warned, excepted or passed."""
    cost: Cost
    """What it costs."""
    seats: Seats
    """Seats against people."""
    renewal_date: str | None
    """`cost.renewal_date`."""
    notice_days: int | None
    """`cost.notice_days`: days before renewal by which notice must be given."""
    auto_renew: bool | None
    """`cost.auto_renew` (None: not stated)."""
    unused: bool
    """Discovery saw nobody use it."""


@dataclass(frozen=True)
class Spend:
    """Annual spend of one group of tools (a team, a cost centre)."""

    name: str
    """The team or cost centre (`(none)` for tools that state no cost centre)."""
    tools: int
    """Tools in it."""
    annual: Decimal
    """Their annual licence cost, base currency (tools of unknown cost not counted)."""


@dataclass(frozen=True)
class Tally:
    """How many tools share one value (a capability, a classification, a jurisdiction)."""

    name: str
    """The value."""
    tools: tuple[str, ...]
    """Names of the tools, sorted."""


@dataclass(frozen=True)
class Renewal:
    """A renewal within the horizon (or already passed without a new date)."""

    tool: str
    """The tool."""
    title: str
    """Its title."""
    team: str
    """Its team."""
    date: str
    """`cost.renewal_date`."""
    days: int
    """Days from the report's date to the renewal (negative: passed)."""
    window: int | None
    """The smallest of 30/60/90/180 days it falls within (None: passed)."""
    annual: Decimal | None
    """What it renews for per year, base currency."""
    notice_days: int | None
    """Notice period in days (None: not stated)."""
    notice_by: str | None
    """Last day to give notice (None: no notice period stated)."""
    days_to_notice: int | None
    """Days left to give notice (negative: the deadline passed)."""
    auto_renew: bool | None
    """Whether it renews by itself."""


@dataclass(frozen=True)
class Expiry:
    """A vendor certificate or an exception expiring within the horizon (or expired)."""

    kind: Literal["certificate", "exception"]
    """What expires."""
    name: str
    """Certificate name (soc2-type2, …) or the exception's name."""
    tools: tuple[str, ...]
    """The tool it covers (a certificate) or the tools it waives for (an exception)."""
    detail: str
    """The vendor (a certificate) or the rule waived (an exception)."""
    expires: str
    """Last valid day."""
    days: int
    """Days left (negative: expired)."""


@dataclass(frozen=True)
class FileFindings:
    """Findings of one file (a manifest, or an exception file)."""

    name: str
    """The tool's name (or the file, for one that names no tool)."""
    file: str
    """The file."""
    blocking: int
    """Blocking findings."""
    warnings: int
    """Warnings."""
    excepted: int
    """Findings waived by an exception."""
    rules: tuple[str, ...]
    """Rule ids of its findings, sorted, each once."""


@dataclass(frozen=True)
class ShadowTool:
    """A tool in use that no manifest declares (from `guardrails discover`)."""

    tool: str
    """Its slug."""
    title: str
    """Its display name."""
    people: int
    """People seen using it."""
    first_seen: str | None
    """First day seen."""
    last_seen: str | None
    """Last day seen."""
    spend_listed: Decimal | None
    """Spend seen, in `currency` (None: none seen)."""
    currency: str | None
    """Currency of the spend seen."""
    spend: Decimal | None
    """Spend seen, base currency (None: none seen, or no rate)."""
    sources: tuple[str, ...]
    """Where it was seen (identity providers, expense exports)."""


@dataclass(frozen=True)
class Totals:
    """The headline figures."""

    tools: int
    """Schema-valid manifests counted."""
    annual: Decimal
    """Annual licence spend (tools of unknown cost not counted)."""
    year_one: Decimal
    """Cost of ownership in year one, summed."""
    later: Decimal
    """Cost of ownership after year one, summed."""
    renewals_90: int
    """Renewals within 90 days."""
    renewals_90_annual: Decimal
    """What they renew for per year."""
    notices_due: int
    """Notice deadlines within the next 30 days (act now to cancel or renegotiate)."""
    notices_missed: int
    """Renewals still ahead whose notice deadline has passed (they renew as they are)."""
    seats_bought: int
    """Seats bought, summed."""
    seats_unused: int
    """Seats bought and granted to nobody, summed over the tools where both are known."""
    blocking: int
    """Blocking findings."""
    warnings: int
    """Warnings."""
    excepted: int
    """Excepted findings."""
    expiring: int
    """Certificates and exceptions expiring within the horizon or expired."""
    shadow_tools: int | None
    """Tools in use but undeclared (None: discovery not given)."""
    shadow_spend: Decimal | None
    """Their spend seen (None: discovery not given)."""

    @property
    def tco(self) -> Decimal:
        """Total cost of ownership, summed."""
        return self.year_one + self.later

    @property
    def later_share(self) -> Decimal | None:
        """The share of the cost of ownership that comes after year one (0..1)."""
        return (self.later / self.tco).quantize(Decimal("0.0001")) if self.tco else None


@dataclass(frozen=True)
class Overview:
    """The whole report."""

    catalog: str
    """The catalog's name (its folder)."""
    now: str
    """The date the report is as of."""
    rates: Rates
    """Currency rates used."""
    tco_months: int
    """Least months the cost of ownership is counted over."""
    horizon_days: int
    """How far ahead renewals and expiries are listed."""
    totals: Totals
    """Headline figures."""
    tools: tuple[Tool, ...]
    """Every schema-valid manifest, by name."""
    by_team: tuple[Spend, ...]
    """Annual spend per team, largest first."""
    by_cost_center: tuple[Spend, ...]
    """Annual spend per cost centre, largest first."""
    capabilities: tuple[Tally, ...]
    """Tools per capability, most tools first (two or more: consolidation candidates)."""
    classifications: tuple[Tally, ...]
    """Tools per data classification, public to restricted."""
    residency: tuple[Tally, ...]
    """Tools per jurisdiction their data lives in."""
    renewals: tuple[Renewal, ...]
    """Renewals within the horizon, and passed ones, by date."""
    expiring: tuple[Expiry, ...]
    """Certificates and exceptions expiring within the horizon, and expired, by date."""
    findings: tuple[FileFindings, ...]
    """Findings per file, files with blocking findings first."""
    shadow_it: tuple[ShadowTool, ...] | None
    """Undeclared tools in use, most people first (None: discovery not given)."""
    unused: tuple[str, ...]
    """Catalog tools discovery saw nobody use."""
    live: bool
    """Whether the live directory was read (`--with-plan`)."""
    notes: tuple[str, ...]
    """What the reader must know about the figures (amounts left out, and why)."""
