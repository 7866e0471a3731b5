"""SARIF 2.1.0, for GitHub code scanning and any SARIF viewer.

Every rule in force is described once (title, rationale, remediation as help, a link
to docs/rules.md); every finding is a result at its exact line and column. Blocking
findings are `error`, warnings `warning`, excepted ones `note` with an external
suppression carrying the exception's justification, so code scanning shows them as
dismissed rather than open.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from pathlib import PureWindowsPath
from typing import Any
from urllib.parse import quote

from guardrails import __version__
from guardrails.findings import Finding, Rule
from guardrails.report import Report

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
PROJECT_URI = "https://github.com/saas-guardrails/saas-guardrails"
RULES_DOC = f"{PROJECT_URI}/blob/main/docs/rules.md"
_LEVEL = {"blocking": "error", "warning": "warning", "excepted": "note"}
# Code scanning ranks security alerts by this number (CVSS-like, 0.0-10.0).
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


def help_uri(rule_id: str) -> str:
    """Where a shipped rule is explained: its anchor in docs/rules.md."""
    return f"{RULES_DOC}#{rule_id.lower()}"


@functools.cache
def documented_rules() -> frozenset[str]:
    """The rules docs/rules.md explains: the shipped library's and the built-in ones."""
    from guardrails.catalog.load import SCHEMA_RULES
    from guardrails.catalog.safe_yaml import load_bytes
    from guardrails.decide import EXCEPTION_RULES
    from guardrails.shipped import shipped_dir

    rules = load_bytes((shipped_dir("policies") / "data" / "rules.yaml").read_bytes()).value
    return frozenset({*SCHEMA_RULES, *EXCEPTION_RULES, *rules["rules"]})


def _help_uri(rule: Rule) -> str | None:
    """The organisation's page for the rule (`help_uri` in its metadata); else the
    project's docs for a rule the project ships; else none: an organisation's own rule
    is not documented by this project, and a link there would lead nowhere."""
    if rule.help_uri:
        return rule.help_uri
    return help_uri(rule.id) if rule.id in documented_rules() else None


def artifact_uri(file: str) -> str:
    """A report path as a SARIF artifact URI: percent-encoded, relative to the checkout.

    Reports name files relative to the working directory (the repository root in CI),
    which is what code scanning resolves; a file outside it is an absolute `file:` URI.
    """
    if PureWindowsPath(file).is_absolute() and not file.startswith("/"):
        return PureWindowsPath(file).as_uri()
    if file.startswith("/"):
        return "file://" + quote(os.fsencode(file), safe="/")
    # The name's own bytes, percent-encoded: a name that is not UTF-8 stays exact.
    return quote(os.fsencode(file), safe="/")


def _rule_descriptor(rule: Rule) -> dict[str, Any]:
    help_text = rule.remedy()
    help_markdown = f"**How to fix:** {help_text}"
    if rule.example:
        help_text += f"\n\nExample:\n{rule.example}"
        help_markdown += f"\n\nExample:\n\n```yaml\n{rule.example.rstrip()}\n```"
    descriptor: dict[str, Any] = {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.split("-")),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale or rule.title},
        "help": {"text": help_text, "markdown": help_markdown},
        "defaultConfiguration": {
            "level": "warning" if rule.level == "advisory" else "error",
            "enabled": True,
        },
        "properties": {
            "tags": ["guardrails", rule.category],
            "category": rule.category,
            "severity": rule.severity,
            "enforcement": rule.level,
            "security-severity": _SECURITY_SEVERITY.get(rule.severity, "5.5"),
        },
    }
    uri = _help_uri(rule)
    if uri is not None:
        descriptor["helpUri"] = uri
    return descriptor


def _rule_of(finding: Finding) -> Rule:
    """Metadata for a finding whose rule the report does not list (kept self-contained)."""
    return Rule(
        finding.rule,
        finding.title,
        finding.category,
        finding.severity,
        finding.level,
        finding.remediation,
    )


def _fingerprint(finding: Finding) -> str:
    """Stable across edits that only move lines: rule, manifest (or file) and path."""
    key = f"{finding.rule}\0{finding.manifest or finding.file}\0{finding.path}"
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _result(finding: Finding, index: int) -> dict[str, Any]:
    message = f"{finding.message}. How to fix: {finding.remediation}"
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": index,
        "level": _LEVEL[finding.status],
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": artifact_uri(finding.file)},
                    "region": {"startLine": finding.line, "startColumn": finding.column},
                },
                "logicalLocations": [
                    {"name": finding.path or finding.file, "kind": "member"},
                ],
            }
        ],
        "partialFingerprints": {"guardrails/v1": _fingerprint(finding)},
        "properties": {
            "manifest": finding.manifest,
            "path": finding.path,
            "enforcement": finding.level,
            "blocking": finding.blocking,
        },
    }
    if finding.exception is not None:
        exc = finding.exception
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": exc.justification,
                "location": {
                    "physicalLocation": {"artifactLocation": {"uri": artifact_uri(exc.file)}},
                },
                "properties": {
                    "exception": exc.name,
                    "expires": exc.expires,
                    "approvedBy": exc.approved_by,
                },
            }
        ]
    return result


def sarif_document(report: Report) -> dict[str, Any]:
    """The SARIF log as a JSON-ready mapping."""
    rules: dict[str, Rule] = dict(report.rules)
    for finding in report.outcome.findings:
        rules.setdefault(finding.rule, _rule_of(finding))
    order = sorted(rules)
    index = {rule_id: i for i, rule_id in enumerate(order)}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "guardrails",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": PROJECT_URI,
                "rules": [_rule_descriptor(rules[r]) for r in order],
            }
        },
        # Columns count characters, as the text report and editors do.
        "columnKind": "unicodeCodePoints",
        "invocations": [{"executionSuccessful": True}],
        "results": [_result(f, index[f.rule]) for f in report.outcome.findings],
        "properties": {
            "summary": {
                "manifests": report.outcome.summary.manifests,
                "passed": report.outcome.summary.passed,
                "failed": report.outcome.summary.failed,
                "warned": report.outcome.summary.warned,
                "excepted": report.outcome.summary.excepted,
            },
            "plannedRemovals": list(report.removed),
        },
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


_SURROGATE = re.compile("[\ud800-\udfff]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    # As JSON text: a backslash, then the name's byte (or the code point) in hex.
    return f"\\\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\\\u{code:04x}"


def indented(value: Any) -> str:
    """`json.dumps(value, indent=2, ensure_ascii=False)` for JSON's own types, byte for byte.

    The json module writes indented JSON in Python, a generator per container: 8 of
    the 9 seconds of a 40,000-finding report. This writes the same text with the C
    string encoder and no generators. Only dict (string keys), list, str (and its
    subclasses, such as `Category`), int, float, bool and None are written as json
    does (a test holds it to `json.dumps` on every format test's report and a
    findings-heavy catalog's); anything else is refused.
    """
    out: list[str] = []
    _write(value, "\n", out)
    return "".join(out)


_STRING = json.encoder.encode_basestring  # the C encoder, as ensure_ascii=False uses
_CONSTANT = {None: "null", True: "true", False: "false"}


def _write(value: Any, newline: str, out: list[str]) -> None:
    """Append `value` as indented JSON whose lines start with `newline` (and 2 spaces
    per level)."""
    kind = type(value)
    if kind is str:
        out.append(_STRING(value))
    elif kind is dict:
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        separator = "{" + inner
        for key, item in value.items():
            if type(key) is not str:
                raise TypeError(f"a SARIF key must be text, not {key!r}")
            out.append(separator + _STRING(key) + ": ")
            _write(item, inner, out)
            separator = "," + inner
        out.append(newline + "}")
    elif kind is list:
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        separator = "[" + inner
        for item in value:
            out.append(separator)
            _write(item, inner, out)
            separator = "," + inner
        out.append(newline + "]")
    elif kind is int:
        out.append(int.__repr__(value))  # as json: a bool is not one of these
    elif value is None or kind is bool:
        out.append(_CONSTANT[value])
    elif kind is float:
        out.append(json.dumps(value))  # NaN and infinities as json spells them
    elif isinstance(value, str):  # a StrEnum (findings.Category): its text, as json writes it
        out.append(_STRING(value))
    else:
        raise TypeError(f"not a JSON value: {kind.__name__}")


def render(report: Report) -> str:
    """The SARIF log, indented JSON (valid UTF-8 whatever the file names hold)."""
    text = indented(sarif_document(report)) + "\n"
    # A file name that is not UTF-8 reaches messages as lone surrogates: no UTF-8
    # writer (nor code scanning) takes them, so they are written as `\xNN` text.
    return _SURROGATE.sub(_escaped, text) if _SURROGATE.search(text) else text
