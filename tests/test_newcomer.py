"""A scripted newcomer: from `guardrails init` and `guardrails new` to a green check,
following only what the tool prints.

The newcomer knows their tool (the facts below) and nothing about the rules. They
take the cheapest-looking answer wherever a placeholder offers a choice (public
data, no SSO, no MFA: the shortcut of issue 14), invent a data category, and signed
a 24-month contract they cannot change. After each `guardrails check` they act on
the text report only: every error is fixed at the line and column it names, with the
value its message or its "how to fix" gives; where the fix offers a waiver for
something they cannot change, they run the command it quotes and fill in what the
written file's comments say. A finding whose text does not say what to write leaves
them stuck, and the test fails.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import NOW, guardrails

# What the newcomer knows about their tool, by the path a placeholder finding names.
FACTS = {
    "metadata.title": "SurveyPop",
    "metadata.owner": "maria.lopez@example.com",
    "metadata.team": "demand-gen",
    "spec.purpose": "Lead-capture surveys at trade shows",
    "spec.capabilities[0]": "surveys",
    "spec.vendor.name": "SurveyPop Ltd",
    "spec.vendor.certifications[0].expires": "2027-10-31",
    "spec.vendor.dpa_signed": "true",
    "spec.data.categories[0]": "personal.contact, personal.job-title",  # names, emails, roles
    "spec.data.residency[0]": "eu",
    "spec.auth.scim": "false",
    "spec.access.groups[0]": "demand-gen",
    "spec.access.admins[0]": "maria.lopez@example.com",
    "spec.cost.annual": "2400",
    "spec.cost.seats": "3",
    "spec.cost.renewal_date": "2027-10-31",
    "spec.justification": "The vendor only sells 24-month terms; revisit at renewal",
}
FIXED = {"COST-MULTI-YEAR"}  # the contract is signed: a waiver, not a fix

_FINDING = re.compile(
    r"^(?P<file>\S+?):(?P<line>\d+):(?P<column>\d+): (?P<status>error|warning|excepted): "
    r"(?P<rule>\S+) \[[a-z-]+\] (?P<message>.*)$"
)


@dataclass
class Finding:
    file: str
    line: int
    column: int
    status: str
    rule: str
    message: str
    fix: str


def read_report(text: str) -> list[Finding]:
    """The findings of a text report, as a person reads them."""
    found: list[Finding] = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = _FINDING.match(line)
        if match:
            fix = lines[index + 1].removeprefix("    how to fix: ")
            found.append(
                Finding(
                    match["file"],
                    int(match["line"]),
                    int(match["column"]),
                    match["status"],
                    match["rule"],
                    match["message"],
                    fix,
                )
            )
    return found


def put(file: Path, line: int, column: int, value: str) -> None:
    """Replace the value that starts at `line`:`column` (up to `,` `]` `}` or a comment)."""
    lines = file.read_text().splitlines(keepends=True)
    text = lines[line - 1]
    start = column - 1
    end = start
    while end < len(text) and text[end] not in ",]}\n" and not text.startswith(" #", end):
        end += 1
    lines[line - 1] = text[:start] + value + text[end:]
    file.write_text("".join(lines))


def cheapest(choices: str) -> str:
    """The choice a newcomer in a hurry takes: the least demanding one offered."""
    options = re.split(r",\s*(?:or\s+)?|\s+or\s+", choices.strip().rstrip("."))
    for lenient in ("public", "none", "false"):
        if lenient in options:
            return lenient
    return options[0]


def value_for(finding: Finding) -> str:
    """What the finding's own text says to write at its place."""
    if finding.rule == "SCHEMA-PLACEHOLDER":
        path = finding.message.split(" is still a placeholder")[0]
        if path in FACTS:
            return FACTS[path]
        offered = re.search(r": (\w+(?:, \w+)*,? (?:or \w+)?)\.?$", finding.fix)
        assert offered, f"no value known or offered for {path}: {finding.fix}"
        return cheapest(offered.group(1))
    for pattern, text in (
        (r"did you mean '([^']+)'", finding.message),
        (r"classified at least (\w+)", finding.message),
        (r"[Ss]et spec\.[\w.]+ to (\w+)", finding.fix),
    ):
        match = re.search(pattern, text)
        if match:
            return match.group(1)
    raise AssertionError(f"stuck: {finding.rule} does not say what to write: {finding.fix}")


def request_waiver(finding: Finding, catalog: Path) -> None:
    """Run the command the fix quotes, then fill the file it writes from its comments."""
    command = re.search(r"`(guardrails new --exception [^`]+)`", finding.fix)
    assert command, f"stuck: {finding.rule} offers no way to ask for a waiver"
    run = guardrails(*shlex.split(command.group(1))[1:], "--now", NOW)
    assert run.exit_code == 0, run.stderr
    written = catalog / re.search(r"wrote (\S+):", run.stdout).group(1)  # type: ignore[union-attr]
    text = written.read_text()
    approver = re.search(r"approved_by: <approver-email> +# one of: ([^,\s]+)", text)
    latest = re.search(r"expires: <YYYY-MM-DD> +#.* on or before (\S+)", text)
    assert approver and latest, text
    text = text.replace("<approver-email>", approver.group(1))
    text = text.replace("<YYYY-MM-DD>", latest.group(1))
    reason = re.search(r"justification: (<[^>]+>)", text)
    assert reason, text
    written.write_text(text.replace(reason.group(1), FACTS["spec.justification"]))


def test_a_newcomer_gets_from_init_to_green_by_following_the_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert guardrails("init", "acme").exit_code == 0
    catalog = tmp_path / "acme"
    monkeypatch.chdir(catalog)
    started = guardrails("new", "survey-tool")
    assert started.exit_code == 0
    # "fill in the <...> placeholders, then run: guardrails check manifests/survey-tool.yaml"
    command = shlex.split(started.stdout.split("then run: ", 1)[1])
    manifest = catalog / "manifests" / "survey-tool.yaml"
    text = manifest.read_text()
    manifest.write_text(text.replace("term_months: 12", "term_months: 24"))  # as signed

    checks: list[list[Finding]] = []
    while True:
        run = guardrails(*command[1:], "--now", NOW)
        assert run.exit_code in (0, 1), run.stderr
        checks.append(read_report(run.stdout))
        if run.exit_code == 0:
            break
        assert len(checks) < 6, "not green after 5 rounds of fixes"
        errors = [f for f in checks[-1] if f.status == "error"]
        # bottom-up, so a fix never moves the line or column of the next one
        for finding in sorted(errors, key=lambda f: (f.file, f.line, f.column), reverse=True):
            if finding.rule in FIXED:
                request_waiver(finding, catalog)
            else:
                put(catalog / finding.file, finding.line, finding.column, value_for(finding))

    rounds = [sorted({f.rule for f in found if f.status == "error"}) for found in checks]
    print(f"newcomer: {len(checks)} checks to green: {rounds}")
    assert rounds[0] == ["SCHEMA-PLACEHOLDER"]
    # the shortcut and the invented category are all caught in one round
    assert {
        "SEC-CLASSIFICATION-FLOOR",
        "STD-DATA-CATEGORY-UNKNOWN",
        "SEC-SSO-REQUIRED",
        "SEC-MFA-REQUIRED",
        "COST-MULTI-YEAR",
    } <= set(rounds[1])
    assert len(checks) == 3
    final = manifest.read_text()
    assert "classification: confidential" in final
    assert "personal.contact, personal.professional" in final
    assert "sso: saml" in final and "mfa: enforced" in final
    assert [(f.rule, f.status) for f in checks[-1]] == [("COST-MULTI-YEAR", "excepted")]
