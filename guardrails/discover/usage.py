"""Who uses which tool: matched evidence summed up per tool, and the catalog compared.

* tools in use and not in the catalog (shadow IT): who, how many people, first and
  last seen, the OAuth scopes granted and their risk, spend;
* catalog tools with no evidence of use (licences to reclaim);
* people using a catalog tool whom its manifest does not grant access.

Scope risks, exchange rates and software expense categories come from the policy data
(`discovery:` in `policies/data/discovery.yaml`, which the organisation extends).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from guardrails.catalog.model import Manifest
from guardrails.discover import IDENTITY_SOURCES
from guardrails.discover.interface import Evidence, Money, Origin, SourceError
from guardrails.discover.match import Known, Match, Matched, Matcher, metadata
from guardrails.errors import GuardrailsError

REPORTING_CURRENCY = "USD"
RISKS = ("critical", "high", "medium", "low", "unrated")


@dataclass(frozen=True)
class ScopeUse:
    """One OAuth scope (delegated permission) granted to a tool."""

    scope: str
    """The scope as the identity provider names it."""
    risk: str
    """critical, high, medium, low, or unrated (not in the policy data)."""
    access: str
    """What it lets the app do, in words (from the policy data; empty when unrated)."""
    people: int
    """How many people granted it."""
    origin: Origin
    """The first grant of it."""


@dataclass(frozen=True)
class MatchCount:
    """How some of a tool's evidence was matched to it."""

    by: str
    """The matching rule (client id, domain, name, name prefix, grouped, software expense)."""
    key: str
    """The value that matched."""
    confidence: float
    """The rule's confidence."""
    count: int
    """How many records matched this way."""


@dataclass(frozen=True)
class Records:
    """A tool's records of one kind from one source."""

    source: str
    """The source."""
    kind: str
    """oauth-grant, assignment, application or expense."""
    count: int
    """How many."""
    first: Origin
    """The first one read."""


@dataclass(frozen=True)
class ToolUse:
    """Everything the evidence says about one tool."""

    tool: str
    """Tool name: a catalog manifest's, a vendor entry's key, or made from the app's name."""
    title: str
    """Display name."""
    known: Known | None
    """The catalog manifest and vendor entry behind it (None: only the evidence knows it)."""
    people: tuple[str, ...]
    """Everyone seen using or paying for it, sorted (email addresses, or IdP user ids)."""
    users: tuple[str, ...]
    """Those of `people` an identity provider shows using it (a grant, an assignment):
    who pays is not always who uses."""
    everyone: bool
    """True when an administrator consented for every user of the directory."""
    first_seen: date | None
    """Earliest date in its evidence."""
    last_seen: date | None
    """Latest date in its evidence."""
    scopes: tuple[ScopeUse, ...]
    """Scopes granted, riskiest first."""
    spend: Money | None
    """Expenses, in the reporting currency."""
    sources: tuple[str, ...]
    """Sources with evidence of it."""
    matched: tuple[MatchCount, ...]
    """How its evidence was matched, most records first."""
    records: tuple[Records, ...]
    """Its evidence: how many records of each kind from each source, and the first."""
    group_app: str | None = None
    """For a tool only the evidence knows: the app name it was named after."""
    unlisted: tuple[str, ...] = field(default=())
    """For a catalog tool: people using it whom its manifest does not grant access."""
    unlisted_unknown: tuple[str, ...] = field(default=())
    """For a catalog tool: its directory groups whose members are not known here."""

    @property
    def in_catalog(self) -> bool:
        """Whether a catalog manifest declares it."""
        return self.known is not None and self.known.in_catalog

    @property
    def confidence(self) -> float:
        """The best confidence among its matches."""
        return max((m.confidence for m in self.matched), default=0.0)

    @property
    def count(self) -> int:
        """How many records are evidence of it."""
        return sum(r.count for r in self.records)

    def first(self, *kinds: str) -> Origin:
        """Its first record of the first of `kinds` it has (else its first record)."""
        for kind in kinds:
            for records in self.records:
                if records.kind == kind:
                    return records.first
        return self.records[0].first

    @property
    def manifest(self) -> Manifest | None:
        """Its catalog manifest."""
        return self.known.manifest if self.known is not None else None


@dataclass(frozen=True)
class Usage:
    """What discovery found, before rules are applied."""

    tools: tuple[ToolUse, ...]
    """Every tool with evidence, by name."""
    unused: tuple[Manifest, ...]
    """Catalog tools nobody is seen using: no grant, no assignment (an application
    registered with nobody assigned, or paid for, is still unused). Only said when an
    identity source was read."""
    sources: tuple[str, ...]
    """Sources read."""
    ignored: int
    """Records of apps that are not tools to govern (`ignore: true` vendors)."""
    not_saas: int
    """Expense lines matching no tool and in no software category."""
    not_saas_spend: Money | None
    """Their total, in the reporting currency."""

    @property
    def undeclared(self) -> tuple[ToolUse, ...]:
        """Tools in use that no manifest declares: shadow IT."""
        return tuple(t for t in self.tools if not t.in_catalog)

    @property
    def identity_sources(self) -> tuple[str, ...]:
        """The sources read that show who uses an app."""
        return tuple(s for s in self.sources if s in IDENTITY_SOURCES)


@dataclass(frozen=True)
class Settings:
    """The policy data discovery reads (`discovery:`)."""

    scopes: Mapping[str, tuple[str, str]]
    """Scope -> (risk, what it gives access to)."""
    rates: Mapping[str, Decimal]
    """Currency -> value of one unit in the reporting currency."""
    software_categories: tuple[str, ...]
    """Expense categories that are software purchases."""

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Settings:
        """`discovery:` of the merged policy data, checked."""
        section = data.get("discovery") or {}
        if not isinstance(section, Mapping):
            raise GuardrailsError("policy data: discovery must be a mapping")
        scopes: dict[str, tuple[str, str]] = {}
        for scope, entry in (section.get("scopes") or {}).items():
            risk = entry.get("risk") if isinstance(entry, Mapping) else None
            if risk not in RISKS[:-1]:
                raise GuardrailsError(
                    f"policy data: discovery.scopes.{scope}.risk must be one of "
                    f"{', '.join(RISKS[:-1])}"
                )
            scopes[str(scope)] = (str(risk), str(entry.get("access") or ""))
        rates: dict[str, Decimal] = {REPORTING_CURRENCY: Decimal(1)}
        for currency, rate in (section.get("exchange_rates") or {}).items():
            if not isinstance(rate, int | float) or isinstance(rate, bool) or rate <= 0:
                raise GuardrailsError(
                    f"policy data: discovery.exchange_rates.{currency} must be a positive number"
                )
            rates[str(currency).upper()] = Decimal(str(rate))
        categories = section.get("software_categories") or []
        if not isinstance(categories, list):
            raise GuardrailsError("policy data: discovery.software_categories must be a list")
        return cls(scopes, rates, tuple(str(c) for c in categories))

    def convert(self, money: Money, origin: Origin) -> Decimal:
        """`money` in the reporting currency; a currency without a rate is an error."""
        rate = self.rates.get(money.currency)
        if rate is None:
            raise SourceError(
                f"{origin}: no exchange rate for {money.currency}: add "
                f"discovery.exchange_rates.{money.currency} (value of 1 {money.currency} in "
                f"{REPORTING_CURRENCY}) to the policy data"
            )
        return money.amount * rate


class _Tally:
    """A tool's evidence being summed up (one pass, nothing kept but the sums)."""

    def __init__(self) -> None:
        self.people: set[str] = set()
        self.users: set[str] = set()
        self.everyone = False
        self.first: date | None = None
        self.last: date | None = None
        self.scopes: dict[str, tuple[set[str], Origin]] = {}
        self.spend = Decimal(0)
        self.spent = False
        self.records: dict[tuple[str, str], list[Any]] = {}  # -> [count, first origin]
        self.matched: dict[tuple[str, str, float], int] = {}

    def add(self, item: Evidence, match: Match, settings: Settings) -> None:
        if item.person:
            self.people.add(item.person)
            if item.kind in ("oauth-grant", "assignment"):
                self.users.add(item.person)
        elif item.kind == "oauth-grant":
            self.everyone = True  # consent given for all users at once
        if item.seen is not None:
            self.first = item.seen if self.first is None else min(self.first, item.seen)
            self.last = item.seen if self.last is None else max(self.last, item.seen)
        for scope in item.scopes:
            granted = self.scopes.get(scope)
            if granted is None:
                granted = self.scopes[scope] = (set(), item.origin)
            granted[0].add(item.person or "*")
        if item.spend is not None:
            self.spend += settings.convert(item.spend, item.origin)
            self.spent = True
        records = self.records.get((item.source, item.kind))
        if records is None:
            self.records[(item.source, item.kind)] = [1, item.origin]
        else:
            records[0] += 1
        key = (match.by, match.key, match.confidence)
        self.matched[key] = self.matched.get(key, 0) + 1


def summarise(
    matcher: Matcher,
    matched: Matched,
    settings: Settings,
    sources: Sequence[str],
    members: Mapping[str, frozenset[str]] | None,
) -> Usage:
    """Sum up the matched evidence per tool and compare with the catalog.

    `members` maps directory groups to their members' addresses (None: unknown), to
    tell who a manifest grants access through its groups.
    """
    tallies: dict[str, _Tally] = {}
    for item, match in matched.matches:
        tally = tallies.get(match.tool)
        if tally is None:
            tally = tallies[match.tool] = _Tally()
        tally.add(item, match, settings)
    not_saas = Decimal(0)
    for item in matched.unmatched:
        if item.spend is not None:
            not_saas += settings.convert(item.spend, item.origin)
    tools = []
    for name in sorted(tallies):
        tally = tallies[name]
        known = matcher.known.get(name)
        scopes = sorted(
            (
                ScopeUse(scope, *settings.scopes.get(scope, ("unrated", "")), len(who), origin)
                for scope, (who, origin) in tally.scopes.items()
            ),
            key=lambda s: (RISKS.index(s.risk), s.scope),
        )
        group_app = matched.groups.get(name)
        use = ToolUse(
            tool=name,
            title=known.title if known is not None else str(group_app or name),
            known=known,
            people=tuple(sorted(tally.people)),
            users=tuple(sorted(tally.users)),
            everyone=tally.everyone,
            first_seen=tally.first,
            last_seen=tally.last,
            scopes=tuple(scopes),
            spend=Money(tally.spend.quantize(Decimal("0.01")), REPORTING_CURRENCY)
            if tally.spent
            else None,
            sources=tuple(sorted({source for source, _ in tally.records})),
            matched=tuple(
                MatchCount(by, key, confidence, count)
                for (by, key, confidence), count in sorted(
                    tally.matched.items(), key=lambda kv: (-kv[1], kv[0])
                )
            ),
            records=tuple(
                Records(source, kind, count, first)
                for (source, kind), (count, first) in sorted(tally.records.items())
            ),
            group_app=group_app if known is None else None,
        )
        manifest = use.manifest
        if manifest is not None:
            unlisted, unknown = _unlisted(manifest, use.users, members)
            use = replace(use, unlisted=unlisted, unlisted_unknown=unknown)
        tools.append(use)
    used = {t.tool for t in tools if t.in_catalog and (t.users or t.everyone)}
    identity = any(s in IDENTITY_SOURCES for s in sources)
    catalog = [k.manifest for k in matcher.known.values() if k.manifest is not None]
    unused = tuple(
        sorted((m for m in catalog if m.name not in used), key=lambda m: m.name) if identity else ()
    )
    return Usage(
        tools=tuple(tools),
        unused=unused,
        sources=tuple(sources),
        ignored=len(matched.ignored),
        not_saas=len(matched.unmatched),
        not_saas_spend=Money(not_saas.quantize(Decimal("0.01")), REPORTING_CURRENCY)
        if matched.unmatched
        else None,
    )


def _listed(value: Any) -> list[Any]:
    """A manifest's list (an invalid manifest may hold anything there)."""
    return value if isinstance(value, list) else []


def _unlisted(
    manifest: Manifest, people: Iterable[str], members: Mapping[str, frozenset[str]] | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(people its manifest does not grant access, its groups whose members are unknown)."""
    access = manifest.spec.get("access")
    access = access if isinstance(access, Mapping) else {}
    owner = metadata(manifest, "owner")
    granted = {owner.lower()} if owner else set()
    for key in ("users", "admins"):
        granted |= {str(e).lower() for e in _listed(access.get(key))}
    unknown = []
    for group in _listed(access.get("groups")):
        found = (members or {}).get(str(group))
        if found is None:
            unknown.append(str(group))
        else:
            granted |= found
    if unknown:
        return (), tuple(unknown)  # anyone might be in those groups: say nothing
    return tuple(p for p in people if "@" in p and p not in granted), ()
