"""What a check produces: findings, each tied to a rule and a place in a file."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from guardrails.remedies import for_tool

Level = Literal["advisory", "soft-mandatory", "hard-mandatory"]
LEVELS: tuple[Level, ...] = ("advisory", "soft-mandatory", "hard-mandatory")
SEVERITIES = ("low", "medium", "high", "critical")


class Category(StrEnum):
    """What a rule is about: the one list of categories, in the order reports list them.

    A policy rule (policies/data/rules.yaml, or an organisation's own) has one of
    `POLICY_CATEGORIES`, which are also the keys of `approvers` in the policy data;
    the built-in rules are `schema` (the loader's) and `exception` (an exception
    file's). Validation, JUnit, SARIF tags, `guardrails explain` and docs/rules.md
    take their categories from here.
    """

    SECURITY = "security"
    RESIDENCY = "residency"
    STANDARDS = "standards"
    COST = "cost"
    ACCESS = "access"
    SCHEMA = "schema"
    EXCEPTION = "exception"


POLICY_CATEGORIES: tuple[Category, ...] = tuple(
    c for c in Category if c not in (Category.SCHEMA, Category.EXCEPTION)
)
"""The categories a policy rule may have."""


@dataclass(frozen=True)
class Rule:
    """A rule's metadata, declared once in the policy data (never via rego.metadata)."""

    id: str
    """Stable id such as `SEC-SSO-REQUIRED`."""
    title: str
    """One line saying what the rule requires."""
    category: Category
    """One of `POLICY_CATEGORIES` (or schema/exception for the built-in rules)."""
    severity: str
    """low, medium, high or critical."""
    level: Level
    """Enforcement level after the organisation's overrides."""
    remediation: str
    """How to comply, with the values in force (`guardrails/remedies.py`); `{tool}`
    stands for the tool of a finding (see `remedy`)."""
    rationale: str = ""
    """Why the rule exists."""
    example: str = ""
    """A compliant manifest snippet."""
    applies_to: str = "manifests"
    """What it judges: `manifests` (`check`) or `discovered` (`discover`: tools found
    in use, policies/discovery.rego)."""
    help_uri: str = ""
    """Where the organisation documents the rule (SARIF `helpUri`); empty: the
    project's docs/rules.md for a shipped rule, nothing for an organisation's own."""
    choices: tuple[tuple[str, str], ...] = ()
    """The values the offending one should be one of, each with what it covers (the
    vocabulary its `did_you_mean` names in the policy data): a finding suggests the
    closest."""

    def remedy(self, tool: str | None = None) -> str:
        """How to comply, for the finding of `tool` (None: for any tool)."""
        return for_tool(self.remediation, tool)

    def finding(
        self,
        file: str,
        line: int,
        column: int,
        path: tuple[str | int, ...],
        message: str,
        *,
        blocking: bool,
        manifest: str | None = None,
        remediation: str = "",
        exception: AppliedException | None = None,
    ) -> Finding:
        """A finding of this rule at `file:line:column`, `path` in its document."""
        return Finding(
            rule=self.id,
            title=self.title,
            category=self.category,
            severity=self.severity,
            level=self.level,
            blocking=blocking,
            manifest=manifest,
            file=file,
            line=line,
            column=column,
            path=format_path(path),
            message=message,
            remediation=remediation or self.remedy(manifest),
            exception=exception,
        )


@dataclass(frozen=True)
class AppliedException:
    """The PolicyException that turned a blocking finding into an excepted one."""

    name: str
    """`metadata.name` of the exception."""
    expires: str
    """Its expiry date, ISO."""
    approved_by: str
    """Who approved it."""
    justification: str
    """Why it was granted."""
    file: str
    """The exception's file."""


@dataclass(frozen=True)
class Finding:
    """One rule broken by one manifest (or one unusable file), at one place."""

    rule: str
    """Rule id."""
    title: str
    """Rule title."""
    category: Category
    """Rule category."""
    severity: str
    """Rule severity."""
    level: Level
    """Enforcement level in force."""
    blocking: bool
    """True when this finding fails the check."""
    manifest: str | None
    """`metadata.name` of the manifest concerned, if known."""
    file: str
    """File to change, relative to the working directory."""
    line: int
    """1-based line of the offending value (or nearest enclosing key)."""
    column: int
    """1-based column."""
    path: str
    """Path in the document, e.g. `spec.integrations[1].tool`."""
    message: str
    """What is wrong, specifically."""
    remediation: str
    """How to fix it."""
    exception: AppliedException | None = None
    """The exception that waives it, if any."""

    @property
    def status(self) -> Literal["blocking", "excepted", "warning"]:
        """blocking, excepted (waived by an exception) or warning (advisory)."""
        if self.blocking:
            return "blocking"
        return "excepted" if self.exception else "warning"


@functools.cache  # a few paths, asked for by thousands of findings
def format_path(path: tuple[str | int, ...]) -> str:
    """`("spec", "integrations", 1, "tool")` -> `spec.integrations[1].tool`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


@dataclass(frozen=True)
class Summary:
    """Counts over manifests; each manifest is in exactly one of the four states."""

    manifests: int
    """Manifests checked (reported)."""
    passed: int
    """No finding at all."""
    failed: int
    """At least one blocking finding."""
    warned: int
    """Not failed, but at least one warning."""
    excepted: int
    """Not failed or warned, but at least one finding waived by an exception."""


@dataclass(frozen=True)
class Outcome:
    """Everything a check decided, in the order reports print it."""

    findings: tuple[Finding, ...]
    """Sorted by file, line, column, rule."""
    summary: Summary
    """Per-manifest counts."""

    @property
    def blocking(self) -> bool:
        """True when at least one finding blocks."""
        return any(f.blocking for f in self.findings)

    @property
    def warnings(self) -> bool:
        """True when at least one finding is a warning."""
        return any(f.status == "warning" for f in self.findings)
