"""Read the JSON `guardrails discover --format json` prints, strictly.

```json
{"version": 1,
 "undeclared": [{"tool": "notion", "title": "Notion", "people": 14,
                 "first_seen": "2026-03-02", "last_seen": "2026-11-20",
                 "spend": {"amount": 1920, "currency": "USD"},
                 "sources": ["google-workspace", "expenses"]}],
 "unused": [{"tool": "hootsuite"}]}
```

Items may carry more keys than these; the ones the report uses must be there and
well-formed. The file is input like any other: anything else stops the report
(exit 2) with `file:line:column:`, what is wrong, and what to do.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from guardrails.catalog.safe_yaml import LoadError, load_bytes
from guardrails.errors import GuardrailsError
from guardrails.findings import format_path
from guardrails.overview.model import ShadowTool
from guardrails.overview.settings import CURRENCY, is_day

MAX_BYTES = 32 * 1024 * 1024
SLUG = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
WHAT_TO_DO = "give the JSON that `guardrails discover --format json` prints"


@dataclass(frozen=True)
class Discovery:
    """What the report uses of a discovery run."""

    undeclared: tuple[ShadowTool, ...]
    """Tools in use that no manifest declares (their spend not yet converted)."""
    unused: tuple[str, ...]
    """Catalog tools nobody was seen using."""


class _Invalid(Exception):
    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def read_discovery(path: Path) -> Discovery:
    """The discovery results in `path`, or one `GuardrailsError` line saying what is wrong."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise GuardrailsError(
                f"{path}: larger than {MAX_BYTES // (1024 * 1024)} MiB: not a discovery result"
            )
        data = path.read_bytes()
    except OSError as err:
        raise GuardrailsError(f"{path}: cannot read the discovery results: {err.strerror}") from err
    try:
        text = data.decode("utf-8")
        document = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except UnicodeDecodeError as cause:
        raise GuardrailsError(f"{path}: not UTF-8 text: {WHAT_TO_DO}") from cause
    except json.JSONDecodeError as err:
        raise GuardrailsError(
            f"{path}:{err.lineno}:{err.colno}: not JSON ({err.msg}): {WHAT_TO_DO}"
        ) from err
    except ValueError as err:  # a duplicate key, NaN or Infinity
        raise GuardrailsError(f"{path}: {err}: {WHAT_TO_DO}") from err
    try:
        return _discovery(document)
    except _Invalid as problem:
        where = _position(data, problem.path)
        shown = format_path(problem.path)
        raise GuardrailsError(
            f"{path}:{where}{shown + ' ' if shown else ''}{problem.message}: {WHAT_TO_DO}"
        ) from problem


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"key {key!r} appears twice in one object")
        found[key] = value
    return found


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _discovery(document: Any) -> Discovery:
    if not isinstance(document, Mapping):
        raise _Invalid((), "must be one JSON object")
    if document.get("version") != 1 or isinstance(document.get("version"), bool):
        raise _Invalid(("version",), f"must be 1 (found {_shown(document.get('version'))})")
    undeclared = _list(document, "undeclared", required=True)
    sightings = tuple(_sighting(item, ("undeclared", i)) for i, item in enumerate(undeclared))
    seen: set[str] = set()
    for index, sighting in enumerate(sightings):
        if sighting.tool in seen:
            raise _Invalid(("undeclared", index, "tool"), f"lists {sighting.tool!r} twice")
        seen.add(sighting.tool)
    unused = []
    for index, item in enumerate(_list(document, "unused", required=False)):
        unused.append(_slug(_object(item, ("unused", index)), ("unused", index)))
    return Discovery(sightings, tuple(dict.fromkeys(unused)))


def _list(document: Mapping[str, Any], key: str, required: bool) -> list[Any]:
    if key not in document and not required:
        return []
    value = document.get(key)
    if not isinstance(value, list):
        raise _Invalid((key,), f"must be a list (found {_shown(value)})")
    return value


def _object(item: Any, path: tuple[str | int, ...]) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise _Invalid(path, f"must be an object (found {_shown(item)})")
    return item


def _slug(item: Mapping[str, Any], path: tuple[str | int, ...]) -> str:
    tool = item.get("tool")
    if not isinstance(tool, str) or not SLUG.match(tool):
        raise _Invalid(
            (*path, "tool"), f"must be a tool slug such as 'notion' (found {_shown(tool)})"
        )
    return tool


def _sighting(value: Any, path: tuple[str | int, ...]) -> ShadowTool:
    item = _object(value, path)
    tool = _slug(item, path)
    title = item.get("title")
    if not isinstance(title, str):
        raise _Invalid((*path, "title"), f"must be the tool's name as text (found {_shown(title)})")
    people = item.get("people")
    if not isinstance(people, int) or isinstance(people, bool) or people < 0:
        raise _Invalid(
            (*path, "people"),
            f"must be a whole number of people, 0 or more (found {_shown(people)})",
        )
    days = [_day(item, key, path) for key in ("first_seen", "last_seen")]
    amount, currency = _spend(item.get("spend", ...), (*path, "spend"))
    sources = item.get("sources")
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise _Invalid((*path, "sources"), f"must be a list of texts (found {_shown(sources)})")
    return ShadowTool(
        tool=tool,
        title=title.strip() or tool,
        people=people,
        first_seen=days[0],
        last_seen=days[1],
        spend_listed=amount,
        currency=currency,
        spend=None,  # converted by the report, at the policy data's rates
        sources=tuple(sources),
    )


def _day(item: Mapping[str, Any], key: str, path: tuple[str | int, ...]) -> str | None:
    if key not in item:
        raise _Invalid((*path, key), "is missing (a YYYY-MM-DD date or null)")
    value = item[key]
    if value is None:
        return None
    if isinstance(value, str) and is_day(value):
        return value
    raise _Invalid((*path, key), f"must be a YYYY-MM-DD date or null (found {_shown(value)})")


def _spend(value: Any, path: tuple[str | int, ...]) -> tuple[Decimal | None, str | None]:
    if value is ...:
        raise _Invalid(path, 'is missing ({"amount": number, "currency": "USD"} or null)')
    if value is None:
        return None, None
    spend = _object(value, path)
    amount: Any = spend.get("amount")
    if not _finite(amount) or amount < 0:
        raise _Invalid((*path, "amount"), f"must be a number, 0 or more (found {_shown(amount)})")
    currency = spend.get("currency")
    if not isinstance(currency, str) or not CURRENCY.match(currency):
        raise _Invalid(
            (*path, "currency"), f"must be an ISO 4217 code such as USD (found {_shown(currency)})"
        )
    return Decimal(str(amount)), currency


def _finite(value: Any) -> bool:
    """A JSON number (not a boolean) that is finite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _shown(value: Any) -> str:
    """A short, one-line rendering of a bad value (never more than 40 characters)."""
    if value is None:
        return "null"
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 40 else text[:37] + "..."


def _position(data: bytes, path: tuple[str | int, ...]) -> str:
    """`line:column: ` of `path` in the JSON text (JSON is YAML), or '' when unknown."""
    try:
        mark = load_bytes(data, max_bytes=MAX_BYTES).positions.locate(path)
    except LoadError:
        return ""  # e.g. tab indentation, which JSON allows and the YAML loader refuses
    return f"{mark.line}:{mark.column}: "
