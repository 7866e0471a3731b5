"""The engine contract: Rego modules + policy data + input in, violations out.

Policies are plain Rego v1. Each policy package lives under `guardrails.policies`
and defines a set `violation` of objects::

    {"rule": "SEC-SSO-REQUIRED", "manifest": "canva",
     "path": ["spec", "auth", "sso"], "message": "..."}

Input is `{"now": "YYYY-MM-DD", "manifests": {name: manifest, ...}}`; the merged
policy data is `data.guardrails`. Rule metadata (title, level, ...) is data too, so
nothing depends on `rego.metadata`, which the embedded engines lack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from guardrails.errors import GuardrailsError
from guardrails.findings import Rule

VIOLATIONS_QUERY = "data.guardrails.policies"


class EngineError(GuardrailsError):
    """The engine failed (bad policy, evaluation error, server trouble): exit 2."""


class _Undefined:
    """Rego's *undefined*: the query has no value (distinct from null or false)."""

    def __repr__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Any = _Undefined()


@dataclass(frozen=True)
class PolicyModule:
    """One Rego file."""

    file: str
    """Where it came from, as reports name it."""
    text: str
    """Its source."""
    shipped: bool = False
    """True when its text is that of a file of the shipped library."""


@dataclass(frozen=True)
class PolicySet:
    """Everything the engine evaluates: Rego modules, policy data and rule metadata."""

    modules: tuple[PolicyModule, ...]
    """Rego modules in load order."""
    data: Mapping[str, Any]
    """Merged policy data; the policies see it as `data.guardrails`."""
    rules: Mapping[str, Rule]
    """Rule metadata by id, levels after the organisation's overrides."""


@dataclass(frozen=True)
class Violation:
    """One rule broken by one manifest, as a policy reported it."""

    rule: str
    """Rule id."""
    manifest: str
    """`metadata.name` of the manifest."""
    path: tuple[str | int, ...]
    """Where in the manifest (empty = the whole document)."""
    message: str
    """What is wrong, specifically."""


class Evaluator(Protocol):
    """A policy set loaded into an engine, ready for queries."""

    def query(self, path: str, input: Mapping[str, Any] | None = None) -> Any:
        """The value of `path` (e.g. `data.guardrails.policies`), or `UNDEFINED`."""
        ...


class Engine(Protocol):
    """A Rego implementation."""

    name: str
    """The `--engine` value that selects it."""

    def prepare(self, policies: PolicySet) -> Evaluator:
        """Load and compile `policies`; raise `EngineError` if they do not compile."""
        ...


def violations_from(value: Any, query: str = VIOLATIONS_QUERY) -> list[Violation]:
    """Read the `violation` sets of every package in the value of `query`
    (`data.guardrails.policies`, or `data.guardrails.discovered` for discovery).

    Fails closed: a malformed violation is an `EngineError`, never silently dropped.
    """
    if value is UNDEFINED:
        raise EngineError(f"no policy package under {query}: nothing was checked")
    if not isinstance(value, Mapping):
        raise EngineError(f"{query} is not an object of policy packages")
    found: list[Violation] = []
    for package, document in sorted(value.items()):
        if not isinstance(document, Mapping):
            continue
        items = document.get("violation", [])
        if not isinstance(items, list):
            raise EngineError(f"policy package {package!r}: its violation is not a set")
        for item in items:
            if not (
                isinstance(item, Mapping)
                and isinstance(item.get("rule"), str)
                and isinstance(item.get("manifest"), str)
                and isinstance(item.get("message"), str)
                and isinstance(item.get("path", []), list)
                and all(_path_step(step) for step in item.get("path", []))
            ):
                shown = repr(item)
                raise EngineError(
                    f"policy package {package!r} returned a malformed violation "
                    f"{shown if len(shown) <= 200 else shown[:197] + '...'}: it needs string "
                    "rule, manifest and message and a path of keys and indexes"
                )
            found.append(
                Violation(
                    item["rule"], item["manifest"], tuple(item.get("path", [])), item["message"]
                )
            )
    return found


def _path_step(step: Any) -> bool:
    """A key (string) or an index (a whole number, not a boolean)."""
    return isinstance(step, str) or (isinstance(step, int) and not isinstance(step, bool))
