"""Org rule authoring: docs/writing-rules.md, run as written; the shipped test helpers in
an organisation's tests; engine errors with their lines; SARIF links for org rules."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, NOW, REPO, guardrails

GUIDE = REPO / "docs" / "writing-rules.md"
_FILE = re.compile(r"^`([^`]+)`:$")
_FENCE = re.compile(r"^```(\w*)$")


def guide_blocks() -> list[tuple[str, str, str]]:
    """(kind, name, body) of each fenced block: kind `file` (named by the line
    "`path`:" before it) or `console` (a `$ command` and its output)."""
    blocks = []
    lines = GUIDE.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if not fence or not fence.group(1):
            index += 1
            continue
        end = lines.index("```", index + 1)
        body = "\n".join(lines[index + 1 : end]) + "\n"
        named = next((_FILE.match(line) for line in reversed(lines[:index]) if line.strip()), None)
        if fence.group(1) == "console":
            blocks.append(("console", "", body))
        elif named:
            blocks.append(("file", named.group(1), body))
        index = end + 1
    return blocks


@pytest.fixture
def acme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The catalog `guardrails init acme-catalog` makes, as the working directory."""
    monkeypatch.chdir(tmp_path)
    assert guardrails("init", "acme-catalog").exit_code == 0
    monkeypatch.chdir(tmp_path / "acme-catalog")
    return tmp_path / "acme-catalog"


def test_the_guide_runs_as_written(acme: Path) -> None:
    blocks = guide_blocks()
    assert [kind for kind, _, _ in blocks].count("console") == 2
    for kind, name, body in blocks:
        if kind == "file":
            (acme / name).parent.mkdir(parents=True, exist_ok=True)
            (acme / name).write_text(body, encoding="utf-8")
            continue
        command, _, shown = body.partition("\n")
        assert command.startswith("$ guardrails ")
        run = guardrails(*shlex.split(command[len("$ guardrails ") :]))
        assert run.stderr == ""
        assert run.stdout == shown, f"{command}\n{run.stdout}"
    # The rule's own link, never one into this project's docs.
    sarif = json.loads(guardrails("check", "--now", NOW, "-f", "sarif").stdout)
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["ORG-COST-CENTER"]["helpUri"] == (
        "https://wiki.acme.example/guardrails/org-cost-center"
    )
    assert rules["SEC-SSO-REQUIRED"]["helpUri"].endswith("/docs/rules.md#sec-sso-required")
    explained = guardrails("explain", "ORG-COST-CENTER")
    assert "(ask finance-director@example.com)" in " ".join(explained.stdout.split())


def test_an_org_rule_without_help_uri_has_no_link(acme: Path) -> None:
    (acme / "policies" / "team.rego").write_text(
        "package guardrails.policies.team\n\nimport rego.v1\n\n"
        "violation contains v if {\n\tsome name, m in input.manifests\n"
        '\tm.metadata.team == "brand"\n'
        '\tv := {"rule": "ORG-BRAND-FREEZE", "manifest": name, "path": ["metadata", "team"],'
        ' "message": "brand is in a freeze"}\n}\n'
    )
    (acme / "policies" / "data" / "team.yaml").write_text(
        "rules:\n  ORG-BRAND-FREEZE:\n    title: Brand buys nothing this quarter\n"
        "    category: cost\n    severity: low\n    level: advisory\n"
        "    remediation: Wait for the next quarter.\n"
    )
    (acme / "manifests" / "canva.yaml").write_bytes(
        (EXAMPLES / "manifests" / "canva.yaml").read_bytes()
    )
    sarif = json.loads(guardrails("check", "--now", NOW, "-f", "sarif").stdout)
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert "helpUri" not in rules["ORG-BRAND-FREEZE"]
    results = sarif["runs"][0]["results"]
    # (this catalog's IT bound no application to canva: SEC-PROVISIONING-BINDING)
    assert [r["ruleId"] for r in results] == [
        "ORG-BRAND-FREEZE",
        "SEC-SCIM-REQUIRED",
        "SEC-PROVISIONING-BINDING",
    ]


def test_a_help_uri_that_is_no_https_link_is_refused(acme: Path) -> None:
    (acme / "policies" / "data" / "links.yaml").write_text(
        "rules:\n  SEC-SSO-REQUIRED:\n    help_uri: javascript:alert(1)\n"
    )
    run = guardrails("check", "--now", NOW)
    assert run.exit_code == 2
    assert "rule SEC-SSO-REQUIRED: help_uri must be an https:// URL" in run.stderr


def test_org_tests_use_the_shipped_helpers_with_their_own_policies(acme: Path) -> None:
    (acme / "policies" / "org_test.rego").write_text(
        "package guardrails.policies.org_test\n\n"
        "import data.guardrails.policies.security\n"
        "import data.guardrails.testing as t\n"
        "import rego.v1\n\n"
        "test_the_shipped_tool_is_compliant if {\n"
        "\tcount(security.violation) == 0 with input as t.alone(t.tool)\n}\n"
    )
    run = guardrails("policy", "test", "policies")
    assert run.exit_code == 0, run.stdout
    assert run.stdout.splitlines() == [
        "PASS  policies/org_test.rego:7: test_the_shipped_tool_is_compliant",
        "1 passed, 0 failed",
    ]


def test_a_policy_that_does_not_compile_is_shown_with_its_line_and_caret(acme: Path) -> None:
    (acme / "policies" / "broken.rego").write_text(
        "package guardrails.policies.broken\n\nimport rego.v1\n\n"
        "violation contains v if {\n\tsome name, m in input.manifests\n\tx := 1 +\n}\n"
    )
    run = guardrails("check", "--now", NOW)
    assert run.exit_code == 2
    lines = run.stderr.splitlines()
    assert re.match(r"guardrails: error: regorus: policies/broken\.rego:8:1: \S", lines[0])
    assert lines[1].strip() == "8 | }"
    assert lines[2].strip() == "| ^"
    assert lines[2].index("^") == lines[1].index("}")
    (acme / "policies" / "broken_test.rego").write_text(
        "package guardrails.policies.broken_test\n\nimport rego.v1\n\ntest_nothing if true\n"
    )
    tested = guardrails("policy", "test", "policies")
    assert tested.exit_code == 2
    assert "policies/broken.rego:8:1:" in tested.stderr
    assert "8 | }" in tested.stderr.splitlines()[1]
