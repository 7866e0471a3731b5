"""JUnit XML: one test case per manifest and rule evaluated, for CI test-report views.

A manifest is evaluated against every policy rule (`POLICY_CATEGORIES`) and the
schema rules. A blocking finding is a `<failure>`; an excepted
one is `<skipped>` with the exception that waives it; a warning passes with the
warning in `<system-out>`. Files that are not manifests (an exception file with an
`EXC-*` finding, a manifest that did not parse) get test cases for their findings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from xml.etree import ElementTree as ET

from guardrails.findings import POLICY_CATEGORIES, Category, Finding
from guardrails.report import Report

EVALUATED_CATEGORIES = (*POLICY_CATEGORIES, Category.SCHEMA)
# Characters XML 1.0 cannot carry at all, even escaped (a YAML "\x01" can put one in a
# message): shown as U+FFFD so the report still parses.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_safe(root: ET.Element) -> None:
    """Replace characters XML cannot hold in every text and attribute under `root`."""
    for element in root.iter():
        if element.text:
            element.text = _NOT_XML.sub("\ufffd", element.text)
        for key, value in element.attrib.items():
            element.attrib[key] = _NOT_XML.sub("\ufffd", value)


def _describe(finding: Finding) -> str:
    where = f"{finding.file}:{finding.line}:{finding.column}"
    text = f"{where}: {finding.message}\nhow to fix: {finding.remediation}"
    if finding.exception is not None:
        exc = finding.exception
        text += (
            f"\nexcepted by {exc.name} ({exc.file}) until {exc.expires}, "
            f"approved by {exc.approved_by}: {exc.justification}"
        )
    return text


def _case(suite: ET.Element, file: str, rule_id: str, title: str, findings: list[Finding]) -> str:
    """Append one test case; return its state: passed, failure or skipped."""
    case = ET.SubElement(
        suite, "testcase", {"classname": file, "name": f"{rule_id}: {title}", "time": "0"}
    )
    blocking = [f for f in findings if f.status == "blocking"]
    excepted = [f for f in findings if f.status == "excepted"]
    warnings = [f for f in findings if f.status == "warning"]
    state = "passed"
    if blocking:
        failure = ET.SubElement(
            case,
            "failure",
            {"message": blocking[0].message, "type": f"{rule_id} [{blocking[0].level}]"},
        )
        failure.text = "\n\n".join(_describe(f) for f in blocking)
        state = "failure"
    elif excepted:
        exc = excepted[0].exception
        reason = f"excepted by {exc.name} until {exc.expires}" if exc else "excepted"
        ET.SubElement(case, "skipped", {"message": reason})
        state = "skipped"
    out = [f"warning: {_describe(f)}" for f in warnings]
    out += [f"excepted: {_describe(f)}" for f in excepted]
    if out:
        ET.SubElement(case, "system-out").text = "\n\n".join(out)
    return state


def _files(report: Report) -> list[str]:
    """Manifest files in report order, then any other file with a finding."""
    files = [m.file for m in report.manifests]
    for finding in report.outcome.findings:
        if finding.file not in files:
            files.append(finding.file)
    return files


def _group(findings: Iterable[Finding]) -> dict[tuple[str, str], list[Finding]]:
    grouped: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        grouped.setdefault((finding.file, finding.rule), []).append(finding)
    return grouped


def render(report: Report) -> str:
    """One `<testsuites>` with one `<testsuite name="guardrails">`."""
    evaluated = sorted(
        r for r, rule in report.rules.items() if rule.category in EVALUATED_CATEGORIES
    )
    manifest_files = {m.file for m in report.manifests}
    grouped = _group(report.outcome.findings)
    suite = ET.Element("testsuite", {"name": "guardrails"})
    counts = {"tests": 0, "failure": 0, "skipped": 0}
    for file in _files(report):
        rule_ids = list(evaluated) if file in manifest_files else []
        rule_ids += sorted({r for (f, r) in grouped if f == file and r not in rule_ids})
        for rule_id in rule_ids:
            findings = grouped.get((file, rule_id), [])
            rule = report.rules.get(rule_id)
            title = rule.title if rule else findings[0].title
            state = _case(suite, file, rule_id, title, findings)
            counts["tests"] += 1
            if state != "passed":
                counts[state] += 1
    for file in report.removed:
        case = ET.SubElement(
            suite, "testcase", {"classname": file, "name": "planned removal", "time": "0"}
        )
        ET.SubElement(
            case, "system-out"
        ).text = f"{file} was deleted: planned removal (apply revokes its access)"
        counts["tests"] += 1
    attributes = {
        "tests": str(counts["tests"]),
        "failures": str(counts["failure"]),
        "errors": "0",
        "skipped": str(counts["skipped"]),
        "time": "0",
    }
    suite.attrib.update(attributes)
    root = ET.Element("testsuites", {"name": "guardrails", **attributes})
    root.append(suite)
    _xml_safe(root)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
