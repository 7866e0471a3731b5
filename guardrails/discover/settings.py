"""Discovery settings: `guardrails.yaml` `discover:` (IT-owned, trusted), checked.

```yaml
discover:
  limits:                 # what any one server may cost (see discover/http.py)
    timeout: 30           # seconds per request, whole reply
    max_reply_bytes: 67108864
    max_retries: 5        # after 429/503
    max_wait: 120         # longest Retry-After honoured
  google:                 # one block per source; `export` and/or `live`
    export: exports/google          # files or folders of saved API replies
    live: true
    admin_subject: admin@example.com
  expenses:
    export: exports/card.csv
    columns: {merchant: Merchant, amount: Amount, date: Date, employee: Email}
```

Endpoints and credential names live here or in the environment, never in anything a
pull request controls; secrets only ever come from the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from guardrails.config import Config
from guardrails.discover.http import Limits
from guardrails.discover.interface import SourceSettings
from guardrails.errors import GuardrailsError

COMMON_KEYS = frozenset({"export", "live"})
"""Keys every source block may have."""


@dataclass(frozen=True)
class DiscoverSettings:
    """All of `discover:`."""

    sources: Mapping[str, SourceSettings]
    """Each configured source's settings, by registry name."""
    limits: Limits
    """Bounds on every live reply."""
    config: Config
    """The catalog's settings: relative paths are read against its root."""
    sandbox: bool = False
    """True with `--sandbox`: live AWS reads go to this catalog's verified local sandbox."""

    def source(self, name: str) -> SourceSettings:
        """The settings of source `name` (empty when it has no block)."""
        found = self.sources.get(name) or SourceSettings(name, {}, self.config)
        return replace(found, sandbox=self.sandbox)

    def exports(self, name: str) -> list[Path]:
        """The export paths configured for source `name`, relative to the catalog root."""
        options = self.source(name)
        value = options.options.get("export")
        if value is None:
            return []
        values = [value] if isinstance(value, str) else value
        return [self.config.root / str(v) for v in values]

    def live(self) -> list[str]:
        """Sources configured with `live: true`."""
        return [name for name, s in self.sources.items() if s.options.get("live") is True]


def load_discover_settings(
    config: Config, source_keys: Mapping[str, frozenset[str]]
) -> DiscoverSettings:
    """`config.discover` checked against each source's own keys (`source_keys`)."""
    section = config.discover
    sources: dict[str, SourceSettings] = {}
    limits = Limits()
    for key, value in section.items():
        if key == "limits":
            limits = _limits(value)
            continue
        if key not in source_keys:
            known = ", ".join(["limits", *sorted(source_keys)])
            raise GuardrailsError(f"guardrails.yaml: discover.{key}: unknown; known: {known}")
        if not isinstance(value, Mapping):
            raise GuardrailsError(f"guardrails.yaml: discover.{key} must be a mapping")
        allowed = COMMON_KEYS | source_keys[key]
        for option in value:
            if option not in allowed:
                raise GuardrailsError(
                    f"guardrails.yaml: discover.{key}.{option} is not a setting of {key}; "
                    f"known: {', '.join(sorted(allowed))}"
                )
        export = value.get("export")
        if export is not None and not (
            isinstance(export, str)
            or (isinstance(export, list) and all(isinstance(e, str) for e in export))
        ):
            raise GuardrailsError(
                f"guardrails.yaml: discover.{key}.export must be a path or a list of paths"
            )
        if not isinstance(value.get("live", False), bool):
            raise GuardrailsError(f"guardrails.yaml: discover.{key}.live must be true or false")
        sources[key] = SourceSettings(key, value, config)
    return DiscoverSettings(sources, limits, config)


def _limits(value: Any) -> Limits:
    if not isinstance(value, Mapping):
        raise GuardrailsError("guardrails.yaml: discover.limits must be a mapping")
    fields = {"timeout": float, "max_reply_bytes": int, "max_retries": int, "max_wait": float}
    checked: dict[str, Any] = {}
    for key, number in value.items():
        kind = fields.get(key)
        ok = isinstance(number, int | float) and not isinstance(number, bool) and number >= 0
        if kind is None or not ok or (kind is int and not isinstance(number, int)):
            raise GuardrailsError(
                f"guardrails.yaml: discover.limits.{key}: expected one of "
                f"{', '.join(fields)} with a number of at least 0"
            )
        checked[key] = kind(number)
    return Limits(**checked)


def option(settings: SourceSettings, key: str, default: str | None = None) -> str | None:
    """The string setting `key` of a source (the default when absent)."""
    value = settings.options.get(key, default)
    if value is not None and not isinstance(value, str):
        raise GuardrailsError(f"guardrails.yaml: discover.{settings.name}.{key} must be a string")
    return value


def option_map(settings: SourceSettings, key: str) -> Mapping[str, str]:
    """The string-to-string mapping setting `key` of a source (empty when absent)."""
    value = settings.options.get(key) or {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise GuardrailsError(
            f"guardrails.yaml: discover.{settings.name}.{key} must map names to strings"
        )
    return value
