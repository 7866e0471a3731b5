"""The data-category vocabulary of the policy data, for people: what each category
covers and the lowest classification it may be held at.

The policies decide (policies/data_classification.rego); this module only says the
same thing to the person filling in a manifest (`guardrails new`, `guardrails
explain --categories`). tests/policies/test_data_categories.py holds both to the
same floors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")


@dataclass(frozen=True)
class DataCategory:
    """One category of the vocabulary."""

    name: str
    """As manifests write it, e.g. `personal.contact`."""
    description: str
    """What it covers, in one line."""
    floor: str | None
    """The lowest classification a tool holding it may declare (None: any)."""


def floors(data: Mapping[str, Any]) -> Mapping[str, str]:
    """`classification.floors` of the policy data (category or `prefix*` -> level)."""
    settings = data.get("classification")
    found = settings.get("floors") if isinstance(settings, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def floor_of(category: str, by_key: Mapping[str, str]) -> str | None:
    """The category's own floor, else that of the longest `prefix*` key covering it."""
    if category in by_key:
        return by_key[category]
    covering = [k for k in by_key if k.endswith("*") and category.startswith(k[:-1])]
    return by_key[max(covering, key=len)] if covering else None


def vocabulary(data: Mapping[str, Any]) -> list[DataCategory]:
    """Every category of `data_categories`, in the order the policy data lists them."""
    listed = data.get("data_categories")
    if not isinstance(listed, Mapping):
        return []
    by_key = floors(data)
    return [
        DataCategory(str(name), str(text), floor_of(str(name), by_key))
        for name, text in listed.items()
    ]
