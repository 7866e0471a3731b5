"""Remedies that name the values in force, rendered from the policy data a check uses.

A rule's `remediation` in the policy data may hold placeholders in braces:

* `{cost.max_term_months}`: the value at that path of the merged policy data (a list
  reads `a, b, c`; `{path|or}` reads `a or b`; a mapping reads `key: value; ...`);
* `{approvers}`: the addresses that may approve exceptions to the rule's category;
* `{exception}`: for a rule whose level in force allows waivers (soft-mandatory), the
  sentence saying who approves a PolicyException and the command that writes one;
  nothing for the other levels, so a remedy never offers a waiver that cannot exist;
* `{rule}`: the rule's id; `{tool}`: the manifest of the finding (`TOOL` where no
  finding is concerned: `explain`, SARIF rule help, docs/rules.md).

So an organisation that changes a threshold, an approver or a level changes what
every report tells people to do, and every format says the same.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from guardrails.errors import GuardrailsError

TOOL = "{tool}"
"""Left in a rendered remedy until a finding names the tool."""

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_*-]+)*)(\|or)?\}")
_EXCEPTION = (
    "Or ask an approver of {category} rules ({approvers}) for a PolicyException: "
    "`guardrails new --exception {rule} {tool}` writes one to fill in."
)


def approvers(data: Mapping[str, Any], category: str) -> list[str]:
    """The addresses listed under `approvers.<category>` in the policy data."""
    table = data.get("approvers")
    listed = table.get(category) if isinstance(table, Mapping) else None
    return [str(a) for a in listed] if isinstance(listed, list) else []


def value_at(data: Mapping[str, Any], path: str) -> Any:
    """The policy data at dotted `path`, or None."""
    value: Any = data
    for key in path.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def spoken(value: Any, joiner: str = ", ") -> str:
    """A policy data value as a remedy says it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | Mapping) and not value:
        return "none"
    if isinstance(value, list):
        return joiner.join(spoken(item) for item in value)
    if isinstance(value, Mapping):
        return "; ".join(f"{key}: {spoken(item)}" for key, item in value.items())
    return str(value)


def render(text: str, data: Mapping[str, Any], rule_id: str, category: str, level: str) -> str:
    """`text` with its placeholders filled from `data` (`{tool}` is left for the finding)."""
    names = approvers(data, category)
    listed = ", ".join(names) or f"nobody yet: IT lists them under approvers.{category}"

    def fill(match: re.Match[str]) -> str:
        name, joiner = match.group(1), " or " if match.group(2) else ", "
        if name == "tool":
            return TOOL
        if name == "rule":
            return rule_id
        if name == "approvers":
            return listed
        if name == "exception":
            if level != "soft-mandatory":
                return ""
            return _EXCEPTION.format(category=category, approvers=listed, rule=rule_id, tool=TOOL)
        value = value_at(data, name)
        if value is None:
            raise GuardrailsError(
                f"policy data: rule {rule_id}: its remediation names {{{name}}}, which the "
                "policy data does not have"
            )
        return spoken(value, joiner)

    return " ".join(_PLACEHOLDER.sub(fill, text).split())


def for_tool(remedy: str, tool: str | None) -> str:
    """A rendered remedy for the finding of `tool` (None: for no tool in particular)."""
    return remedy.replace(TOOL, tool or "TOOL")
