"""The report's settings from the policy data: currency rates and horizons (IT-owned).

```yaml
currency:
  base: USD                # every total is shown in this currency
  date: 2026-11-01         # the day the rates are from (shown beside the totals)
  source: treasury, monthly rates
  rates: {EUR: 1.08, GBP: 1.27}   # units of `base` for one unit of each currency
report:
  tco_months: 36           # count the cost of ownership over at least this many months
  horizon_days: 180        # list renewals and expiries this far ahead
  rates_max_age_days: 90   # older rates are flagged in the report
```

An organisation's `currency` section replaces the shipped one whole rather than
merging into it: rates only mean something against one base, and a shipped rate
left behind under an organisation's other base would convert at the wrong price.
`report` merges key by key as policy data does. A value that is not usable stops the
report (exit 2) with the policy data file, line and column that set it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from guardrails.catalog.safe_yaml import LoadError, load_bytes
from guardrails.catalog.tree import Tree, WorkTree
from guardrails.config import Config
from guardrails.engine.policy_set import policy_data
from guardrails.errors import GuardrailsError
from guardrails.overview.model import Rates
from guardrails.shipped import shipped_dir

CURRENCY = re.compile(r"^[A-Z]{3}$")
ISO_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
DEFAULT_BASE = "USD"


@dataclass(frozen=True)
class ReportSettings:
    """What the policy data sets for the report."""

    rates: Rates
    """Currency rates and the base currency."""
    tco_months: int = 36
    """Least months the cost of ownership is counted over."""
    horizon_days: int = 180
    """How far ahead renewals and expiries are listed."""
    rates_max_age_days: int = 90
    """Rates older than this (at the report's date) are flagged."""


def report_settings(data: Mapping[str, Any], tree: Tree, config: Config) -> ReportSettings:
    """Read `currency` and `report` from the merged policy `data`.

    `tree` and `config` say where the policy data files are: the organisation's own
    `currency` section, if any, is read from them, and a bad value is pointed at.
    Without any `currency` section (the shipped data turned off), totals are in USD
    and amounts in other currencies are left out, which the report says.
    """
    organisation = policy_data(tree, replace(config, default_policies=False))
    own = "currency" in organisation
    currency = organisation["currency"] if own else data.get("currency")
    where = _Locator(tree, config, shipped=config.default_policies and not own)
    if currency is None:
        rates = Rates(DEFAULT_BASE, None, {DEFAULT_BASE: Decimal(1)}, "")
    else:
        rates = _rates(_mapping(currency, ("currency",), where), where)
    where = _Locator(tree, config, shipped=config.default_policies)
    report = _mapping(data.get("report") or {}, ("report",), where)
    known = {"tco_months", "horizon_days", "rates_max_age_days"}
    for key in report:
        if key not in known:
            raise GuardrailsError(
                f"{where(('report', key))}unknown key report.{key} "
                f"(known: {', '.join(sorted(known))})"
            )
    return ReportSettings(
        rates,
        tco_months=_whole(report, "tco_months", 36, 1, 600, where),
        horizon_days=_whole(report, "horizon_days", 180, 30, 3650, where),
        rates_max_age_days=_whole(report, "rates_max_age_days", 90, 1, 3650, where),
    )


def _rates(currency: Mapping[str, Any], where: _Locator) -> Rates:
    base = currency.get("base")
    if not isinstance(base, str) or not CURRENCY.match(base):
        raise GuardrailsError(
            f"{where(('currency', 'base'))}currency.base must be an ISO 4217 code such as USD"
        )
    day = currency.get("date")
    if not isinstance(day, str) or not is_day(day):
        raise GuardrailsError(
            f"{where(('currency', 'date'))}currency.date must be the day the rates are from, "
            "YYYY-MM-DD"
        )
    listed = _mapping(currency.get("rates") or {}, ("currency", "rates"), where)
    per_unit = {base: Decimal(1)}
    for code, rate in listed.items():
        path = ("currency", "rates", code)
        if not isinstance(code, str) or not CURRENCY.match(code):
            raise GuardrailsError(f"{where(path)}currency.rates: {code!r} is not an ISO 4217 code")
        # (the YAML loader already refuses .inf and .nan)
        if not isinstance(rate, int | float) or isinstance(rate, bool) or rate <= 0:
            raise GuardrailsError(
                f"{where(path)}currency.rates.{code} must be a positive number: units of "
                f"{base} for one {code}"
            )
        if code == base and rate != 1:
            raise GuardrailsError(f"{where(path)}currency.rates.{code}: the base currency is 1")
        per_unit[code] = Decimal(str(rate))
    source = currency.get("source", "")
    return Rates(base, day, per_unit, str(source))


def is_day(text: str) -> bool:
    """Whether `text` is a real day written YYYY-MM-DD."""
    if not ISO_DAY.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _mapping(value: Any, path: tuple[str, ...], where: _Locator) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise GuardrailsError(f"{where(path)}{'.'.join(path)} must be a mapping")
    return value


def _whole(
    section: Mapping[str, Any], key: str, default: int, low: int, high: int, where: _Locator
) -> int:
    value = section.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise GuardrailsError(
            f"{where(('report', key))}report.{key} must be a whole number from {low} to {high}"
        )
    return value


class _Locator:
    """`file:line:column: ` of the policy data file that sets a path last (org data
    over shipped data, as they merge), or of the key where a missing one belongs;
    asked only once something is wrong."""

    def __init__(self, tree: Tree, config: Config, shipped: bool) -> None:
        self.folders: list[tuple[Tree, str]] = []
        if shipped:
            library = shipped_dir("policies")
            self.folders.append((WorkTree(library.parent), library.name))
        self.folders.append((tree, config.policies))

    def __call__(self, path: tuple[str, ...]) -> str:
        best: tuple[int, str] = (0, "policy data: ")
        for tree, folder in self.folders:
            for file in tree.files(f"{folder}/data", (".yaml", ".yml")):
                try:
                    positions = load_bytes(tree.read(file)).positions
                except (LoadError, OSError):
                    continue  # the policy set's loader reports such a file first
                for depth in range(len(path), 0, -1):
                    prefix = path[:depth]
                    mark = positions.value(prefix) if depth == len(path) else None
                    mark = mark or positions.key(prefix)
                    if mark is not None:
                        if depth >= best[0]:  # the deepest match; later files win ties
                            best = (depth, f"{tree.display(file)}:{mark.line}:{mark.column}: ")
                        break
        return best[1]
