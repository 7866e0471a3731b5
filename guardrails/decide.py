"""Turn violations into findings: enforcement levels, then exceptions, then a summary.

Levels (after HashiCorp Sentinel): `advisory` warns, `soft-mandatory` blocks unless a
valid exception covers it, `hard-mandatory` always blocks. An exception is valid while
unexpired, at most `exceptions.max_days` ahead, approved by an approver of the rule's
category, and for a rule whose level allows waivers. Invalid exceptions are reported
(blocking), and so are unused ones (warning), so waivers never rot silently.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from guardrails.catalog.model import Catalog, PolicyException
from guardrails.catalog.safe_yaml import Path
from guardrails.engine.interface import EngineError, PolicySet, Violation
from guardrails.errors import GuardrailsError
from guardrails.findings import AppliedException, Category, Finding, Outcome, Rule, Summary
from guardrails.remedies import approvers

if TYPE_CHECKING:
    from guardrails.decided import KeptFindings

DEFAULT_MAX_EXCEPTION_DAYS = 365

EXCEPTION_RULES = {
    rule.id: rule
    for rule in (
        Rule(
            "EXC-EXPIRED",
            "Exception has expired",
            Category.EXCEPTION,
            "high",
            "hard-mandatory",
            "Fix the finding it waived, or have an approver renew it with a new `expires`.",
            rationale="Waivers are temporary by design; an expired one protects nothing.",
        ),
        Rule(
            "EXC-UNAUTHORISED",
            "Exception not approved by an approver of the rule's category",
            Category.EXCEPTION,
            "high",
            "hard-mandatory",
            "Have an approver listed under `approvers.<category>` in the policy data approve it.",
            rationale="Only the people accountable for a category may accept its risk.",
        ),
        Rule(
            "EXC-NOT-WAIVABLE",
            "Exception for a rule that cannot be waived",
            Category.EXCEPTION,
            "high",
            "hard-mandatory",
            "Remove the exception and fix the finding: hard-mandatory rules take no waivers.",
            rationale="Some risks are never acceptable; the level says which.",
        ),
        Rule(
            "EXC-TOO-LONG",
            "Exception expires too far ahead",
            Category.EXCEPTION,
            "medium",
            "hard-mandatory",
            "Set `expires` within the maximum the policy data allows (default 12 months).",
            rationale="Long waivers stop being reviewed.",
        ),
        Rule(
            "EXC-UNKNOWN-TOOL",
            "Exception names a tool that is not in the catalog",
            Category.EXCEPTION,
            "medium",
            "hard-mandatory",
            "Name the tool by the metadata.name of its manifest, or remove it from spec.manifests.",
            rationale="A waiver for a tool nobody declared waives nothing today and would "
            "silently cover whichever tool takes that name tomorrow.",
        ),
        Rule(
            "EXC-UNUSED",
            "Exception waives nothing",
            Category.EXCEPTION,
            "low",
            "advisory",
            "Remove the exception (or the tool from its list): the finding it waived is gone.",
            rationale="Stale waivers would silently cover a future regression.",
        ),
    )
}


class Waivers:
    """The exceptions of a catalog, judged once each, and which of them got used.

    Only the exceptions for rules that apply to `applies_to` are judged: `check`
    judges those of manifest rules (and of unknown rules), `discover` those of the
    rules over discovered tools, so neither reports the other's waivers as unused.
    `tools` are the catalog's tool names: an exception naming another is blocking
    (None: not checked, as for discovered tools, which are outside the catalog).
    """

    def __init__(
        self,
        exceptions: Iterable[PolicyException],
        policies: PolicySet,
        now: date,
        tools: Collection[str] | None = None,
        applies_to: str = "manifests",
    ) -> None:
        data = policies.data
        self.data = data
        settings = data.get("exceptions", {})
        max_days = settings.get("max_days") if isinstance(settings, Mapping) else None
        self.max_days = int(max_days or DEFAULT_MAX_EXCEPTION_DAYS)
        self.horizon = now + timedelta(days=self.max_days)
        self.now = now
        self.rules = policies.rules
        self.tools = tools
        self.by_target: dict[tuple[str, str], list[PolicyException]] = {}
        self.problems: dict[str, Problem | None] = {}
        self.used: set[tuple[str, str]] = set()
        self.exceptions = [e for e in exceptions if self._subject(e.rule) == applies_to]
        for exc in self.exceptions:
            self.problems[exc.name] = self._problem(exc)
            for tool in exc.manifests:
                self.by_target.setdefault((exc.rule, tool), []).append(exc)

    def _subject(self, rule_id: str) -> str:
        """What the rule judges; an unknown rule's exception is check's to report."""
        rule = self.rules.get(rule_id)
        return rule.applies_to if rule is not None else "manifests"

    def _problem(self, exc: PolicyException) -> Problem | None:
        """(rule id, path, message, remedy) of what makes `exc` invalid, or None."""
        rule = self.rules.get(exc.rule)
        expires = date.fromisoformat(exc.expires)
        if rule is None:
            return None  # reported as unused, with the reason
        if rule.level == "hard-mandatory":
            return (
                "EXC-NOT-WAIVABLE",
                ("spec", "rule"),
                f"{exc.rule} is hard-mandatory and cannot be waived",
                "",
            )
        latest = self.horizon.isoformat()
        if expires < self.now:
            return (
                "EXC-EXPIRED",
                ("spec", "expires"),
                f"expired on {exc.expires}",
                "Fix the finding it waived, or have an approver renew it with a new `expires` "
                f"(on or before {latest}).",
            )
        if expires > self.horizon:
            return (
                "EXC-TOO-LONG",
                ("spec", "expires"),
                f"expires {exc.expires}, after the latest allowed date {latest}",
                f"Set `expires` on or before {latest}: at most {self.max_days} days ahead "
                "(exceptions.max_days in the policy data).",
            )
        allowed = [str(a) for a in approvers(self.data, rule.category)]
        if exc.approved_by not in allowed:
            who = ", ".join(allowed) or f"none yet (IT lists them under approvers.{rule.category})"
            return (
                "EXC-UNAUTHORISED",
                ("spec", "approved_by"),
                f"{exc.approved_by} is not an approver for {rule.category} rules",
                f"Have an approver of {rule.category} rules approve it (approved_by: one of "
                f"{who}).",
            )
        return None

    def waiver(self, rule: Rule, manifest: str) -> PolicyException | None:
        """The valid exception covering (rule, manifest), marking every candidate used."""
        self.broken(rule.id, manifest)
        candidates = self.by_target.get((rule.id, manifest), ())
        return next((exc for exc in candidates if self.problems[exc.name] is None), None)

    def broken(self, rule_id: str, manifest: str) -> None:
        """`manifest` breaks `rule_id` (as a kept finding says): its exceptions are used."""
        for exc in self.by_target.get((rule_id, manifest), ()):
            self.used.add((exc.name, manifest))

    def verdict(self, rule: Rule, manifest: str) -> tuple[bool, AppliedException | None]:
        """(blocking, the exception that waives it) for a violation of `rule` by `manifest`."""
        exc = self.waiver(rule, manifest)
        blocking = rule.level != "advisory" and (exc is None or rule.level == "hard-mandatory")
        applied = (
            AppliedException(exc.name, exc.expires, exc.approved_by, exc.justification, exc.file)
            if exc is not None and rule.level != "hard-mandatory"
            else None
        )
        return blocking, applied

    def findings(self) -> Iterable[tuple[PolicyException, Finding]]:
        """Findings about the exceptions themselves: invalid ones, then unused entries."""
        for exc in self.exceptions:
            problem = self.problems[exc.name]
            if problem is not None:
                rule_id, path, message, remedy = problem
                rule = EXCEPTION_RULES[rule_id]
                mark = exc.positions.locate(path)
                message = f"{exc.name}: {message}"
                yield (
                    exc,
                    rule.finding(
                        exc.file,
                        mark.line,
                        mark.column,
                        path,
                        message,
                        blocking=True,
                        remediation=remedy,
                    ),
                )
                continue
            for index, tool in enumerate(exc.manifests):
                if (exc.name, tool) in self.used:
                    continue
                if self.tools is not None and tool not in self.tools:
                    yield exc, self._unknown_tool(exc, index, tool)
                    continue
                reason = (
                    f"there is no rule {exc.rule}"
                    if exc.rule not in self.rules
                    else f"{tool} has no {exc.rule} finding"
                )
                path = ("spec", "manifests", index)
                mark = exc.positions.locate(path)
                message = f"{exc.name} waives {exc.rule} for {tool}, but {reason}"
                unused = EXCEPTION_RULES["EXC-UNUSED"]
                yield (
                    exc,
                    unused.finding(exc.file, mark.line, mark.column, path, message, blocking=False),
                )

    def _unknown_tool(self, exc: PolicyException, index: int, tool: str) -> Finding:
        """A blocking finding: `exc` names `tool`, which no manifest of the catalog is."""
        path = ("spec", "manifests", index)
        mark = exc.positions.locate(path)
        close = difflib.get_close_matches(tool, sorted(self.tools or ()), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        return EXCEPTION_RULES["EXC-UNKNOWN-TOOL"].finding(
            exc.file,
            mark.line,
            mark.column,
            path,
            f"{exc.name} waives {exc.rule} for {tool}, which is not a tool of the catalog{hint}",
            blocking=True,
        )


Problem = tuple[str, Path, str, str]
"""What makes an exception invalid: rule id, path, message, remedy (empty: the rule's)."""


def decide(
    violations: Iterable[Violation],
    policies: PolicySet,
    catalog: Catalog,
    now: date,
    only: frozenset[str] | None = None,
    kept: KeptFindings | None = None,
) -> Outcome:
    """Findings for every violation and problem, restricted to the files in `only`.

    Credential-shaped text is masked in every finding (`secrets_mask`). With `kept`,
    the findings it took from the cache are added as they were (their manifests have
    no violations here), and those decided here are kept for the next check.
    """
    manifests = catalog.by_name  # duplicates are already flagged
    # A tool whose file does not even parse is still a tool: its file name stands for it.
    # (Only an exception asks: most catalogs have a few, and none of a tool's findings.)
    tools = (
        {*manifests, *(PurePosixPath(file).stem for file in catalog.files)}
        if catalog.exceptions
        else set()
    )
    waivers = Waivers(catalog.exceptions, policies, now, tools)
    mask = secrets_mask(policies.data)
    findings: list[Finding] = [mask(f) for f in catalog.problems]
    decided: dict[str, list[Finding]] = {}  # by manifest, for `kept`
    seen: set[tuple[str, str, tuple[str | int, ...]]] = set()
    for violation in violations:
        key = (violation.rule, violation.manifest, violation.path)
        if key in seen:  # two policies (or rule bodies) may report the same thing
            continue
        seen.add(key)
        rule = policies.rules.get(violation.rule)
        if rule is None:
            raise GuardrailsError(
                f"a policy reported rule {violation.rule}, which has no metadata: "
                "add it under `rules:` in the policy data"
            )
        target = manifests.get(violation.manifest)
        if target is None:
            raise EngineError(
                f"a policy reported {violation.rule} for unknown manifest {violation.manifest!r}"
            )
        blocking, applied = waivers.verdict(rule, violation.manifest)
        mark = target.positions.locate(violation.path)
        message = violation.message
        if rule.choices:
            message += _did_you_mean(target.document, violation.path, rule.choices)
        finding = mask(
            rule.finding(
                target.file,
                mark.line,
                mark.column,
                violation.path,
                message,
                blocking=blocking,
                manifest=violation.manifest,
                exception=applied,
            )
        )
        findings.append(finding)
        decided.setdefault(violation.manifest, []).append(finding)
    if kept is not None:
        kept.keep(decided)
        taken, broken = kept.findings()
        findings += taken
        if waivers.by_target:
            for rule_id, manifest in broken:
                waivers.broken(rule_id, manifest)

    if only is not None:
        findings = [f for f in findings if f.file in only]
    reported_names = {m.name for m in catalog.manifests if only is None or m.file in only}
    for exc, finding in waivers.findings():
        if only is None or exc.file in only or reported_names.intersection(exc.manifests):
            findings.append(mask(finding))
    findings.sort(key=lambda f: (f.file, f.line, f.column, f.rule))
    files = [f for f in catalog.files if only is None or f in only]
    return Outcome(tuple(findings), summarize(files, findings))


_MASK = "<redacted>"


def secrets_mask(data: Mapping[str, Any]) -> Callable[[Finding], Finding]:
    """What masks credential-shaped text in a finding's path and message.

    A credential can reach a finding's text as a mapping key (a path, an "unknown
    key" message) or through an organisation's rule; the policy data's credential
    patterns (`secrets.patterns`) say what one looks like. A pattern Python cannot
    compile is skipped (its manifests still get their SEC-NO-SECRETS finding).
    """
    secrets = data.get("secrets")
    patterns = secrets.get("patterns") if isinstance(secrets, Mapping) else None
    usable = []
    for pattern in patterns.values() if isinstance(patterns, Mapping) else ():
        try:
            usable.append(re.compile(str(pattern)))
        except re.error:
            continue
    if not usable:
        return lambda finding: finding
    secret: tuple[re.Pattern[str], ...]
    try:  # one search per text; patterns that cannot be joined (a `(?i)` prefix) stay apart
        secret = (re.compile("|".join(f"(?:{p.pattern})" for p in usable)),)
    except re.error:
        secret = tuple(usable)

    def masked(finding: Finding) -> Finding:
        message, path = finding.message, finding.path
        for pattern in secret:
            if pattern.search(message) or pattern.search(path):
                message, path = pattern.sub(_MASK, message), pattern.sub(_MASK, path)
        if message is finding.message and path is finding.path:
            return finding
        return replace(finding, message=message, path=path)

    return masked


def _did_you_mean(
    document: Any, path: tuple[str | int, ...], choices: Sequence[tuple[str, str]]
) -> str:
    """`; did you mean X (what X covers)?` for the value at `path`, when it is not one of
    `choices` (value, description) and one is close: by the words it is made of (a
    `job-title` is what a description of "Job titles, ..." covers), else by spelling."""
    value = document
    for part in path:
        if isinstance(value, Mapping) and isinstance(part, str):
            value = value.get(part)
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            value = value[part]
        else:
            return ""
    known = dict(choices)
    if not isinstance(value, str) or value in known or len(value) > 200:
        return ""
    wanted = _words(value.rsplit(".", 1)[-1])
    by_words = [
        choice
        for choice, description in choices
        if wanted
        and wanted <= _words(f"{choice} {description}")
        and choice.split(".")[0] == value.split(".")[0]
    ]
    close = by_words or difflib.get_close_matches(value, list(known), n=1, cutoff=0.6)
    if not close:
        return ""
    description = known[close[0]]
    return f"; did you mean '{close[0]}'" + (f" ({description})?" if description else "?")


def _words(text: str) -> set[str]:
    """The words of `text` of three letters or more, lower case, without a plural s."""
    words = re.findall(r"[a-z]{3,}", text.lower())
    return {w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words}


def summarize(files: Iterable[str], findings: Iterable[Finding]) -> Summary:
    """Put each manifest file in one state: failed > warned > excepted > passed."""
    states: dict[str, set[str]] = {}
    for finding in findings:
        states.setdefault(finding.file, set()).add(finding.status)
    counts = {"passed": 0, "failed": 0, "warned": 0, "excepted": 0}
    total = 0
    for file in files:
        total += 1
        seen = states.get(file, set())
        if "blocking" in seen:
            counts["failed"] += 1
        elif "warning" in seen:
            counts["warned"] += 1
        elif "excepted" in seen:
            counts["excepted"] += 1
        else:
            counts["passed"] += 1
    return Summary(manifests=total, **counts)
