"""Discovery: the SaaS in use that the catalog does not know (shadow IT), and back.

evidence (IdP apps, OAuth grants, expenses) -> match -> rules (Rego) -> report, drafts

Each source is one module behind the `Source` protocol (`interface.py`), listed in
`SOURCES` by the name `--from NAME=PATH` and `--live NAME` use; a source's module
(and its client libraries) is imported only when it runs.
"""

from __future__ import annotations

import importlib

from guardrails.discover.interface import Source

SOURCES: dict[str, tuple[str, str]] = {
    "google": ("guardrails.discover.google", "GoogleWorkspace"),
    "entra": ("guardrails.discover.entra", "EntraId"),
    "okta": ("guardrails.discover.okta", "Okta"),
    "identity-center": ("guardrails.discover.identity_center", "IdentityCenter"),
    "expenses": ("guardrails.discover.expenses", "Expenses"),
}
"""Every source: registry name -> (module, class)."""

IDENTITY_SOURCES = frozenset({"google", "entra", "okta", "identity-center"})
"""Sources that see who uses an app (not only who paid for it)."""


def get_source(name: str) -> Source:
    """The source called `name`."""
    module, attribute = SOURCES[name]
    source: Source = getattr(importlib.import_module(module), attribute)()
    return source
