"""sarif, junit, github and markdown: the same findings, for CI systems, run via the CLI.

Runs on the repository's own example catalogs (examples/bad breaks every rule;
examples/ has an excepted finding), from the repository root as CI would.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import jsonschema
import pytest

from guardrails.report.github_format import command, escape_data, escape_property
from tests.conftest import EXAMPLES, FIXTURES, NOW, REPO, expectations, guardrails

# The official schema as the project received it (../shared/schemas/ in CI), kept here so
# that `make test` needs nothing beside the repository.
SARIF_SCHEMA = FIXTURES / "sarif" / "sarif-schema-2.1.0.json"
BAD = EXAMPLES / "bad"


@pytest.fixture(autouse=True)
def at_repository_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("GUARDRAILS_LINK_BASE", raising=False)


def check(catalog: str, fmt: str, *args: str) -> tuple[int, str]:
    run = guardrails("check", catalog, "--now", NOW, "-f", fmt, *args)
    assert run.exit_code in (0, 1), run.stderr
    return run.exit_code, run.stdout


def findings(catalog: str) -> list[dict[str, Any]]:
    """The JSON report's findings: the reference every other format must agree with."""
    return list(json.loads(check(catalog, "json")[1])["findings"])


# --- SARIF -----------------------------------------------------------------


def sarif(catalog: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(check(catalog, "sarif")[1])
    return document


def sarif_schema_errors(document: Any) -> list[str]:
    """Where `document` breaks the official SARIF 2.1.0 schema (empty when valid)."""
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    # This copy keeps the log's own shape in definitions/Root and has nothing at the
    # top level, so validating against the file as-is would accept anything.
    if "Root" in schema.get("definitions", {}) and "properties" not in schema:
        schema = {**schema, "$ref": "#/definitions/Root"}
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_the_kept_sarif_schema_is_the_one_ci_provides() -> None:
    shared = REPO / ".." / "shared" / "schemas" / "sarif-schema-2.1.0.json"
    if not shared.is_file():
        pytest.skip("no ../shared beside the repository: nothing to compare the copy with")
    assert SARIF_SCHEMA.read_bytes() == shared.read_bytes()


@pytest.mark.parametrize("catalog", ["examples", "examples/bad"])
def test_sarif_is_valid_against_the_official_schema(catalog: str) -> None:
    assert sarif_schema_errors(sarif(catalog)) == []


def test_the_schema_check_catches_a_broken_sarif_log() -> None:
    document = sarif("examples/bad")
    result = document["runs"][0]["results"][0]
    result["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    result["level"] = "fatal"
    assert len(sarif_schema_errors(document)) >= 2


def test_sarif_results_sit_at_the_exact_line_and_column() -> None:
    document = sarif("examples/bad")
    results = document["runs"][0]["results"]
    located = {
        (
            r["ruleId"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["locations"][0]["physicalLocation"]["region"]["startColumn"],
        )
        for r in results
    }
    reference = {(f["rule"], f["file"], f["line"], f["column"]) for f in findings("examples/bad")}
    assert located == reference
    # And the line is the one the fixture marks, e.g. `sso: none  # expect: SEC-SSO-REQUIRED`.
    sso = BAD / "manifests" / "sso-none.yaml"
    [(rule, line)] = expectations(sso)
    column = sso.read_text().splitlines()[line - 1].index("none") + 1
    assert (rule, "examples/bad/manifests/sso-none.yaml", line, column) in located


def test_sarif_levels_follow_blocking_warning_and_excepted() -> None:
    results = sarif("examples/bad")["runs"][0]["results"]
    by_rule = {(r["ruleId"], r["level"]) for r in results}
    assert ("SEC-SSO-REQUIRED", "error") in by_rule
    assert ("SEC-CERT-EXPIRING", "warning") in by_rule
    status = {(f["rule"], f["file"], f["line"]): f["blocking"] for f in findings("examples/bad")}
    for result in results:
        where = result["locations"][0]["physicalLocation"]
        key = (result["ruleId"], where["artifactLocation"]["uri"], where["region"]["startLine"])
        assert (result["level"] == "error") == status[key]
        assert ("suppressions" in result) == (result["level"] == "note")


def test_sarif_excepted_finding_is_a_note_suppressed_with_its_justification() -> None:
    [result] = sarif("examples")["runs"][0]["results"]
    assert result["ruleId"] == "SEC-SCIM-REQUIRED"
    assert result["level"] == "note"
    [suppression] = result["suppressions"]
    assert suppression["kind"] == "external"
    waiver = (EXAMPLES / "exceptions" / "canva-scim-waiver.yaml").read_text()
    assert f"justification: {suppression['justification']}" in waiver
    assert suppression["properties"]["exception"] == "canva-scim-waiver"


def test_sarif_rules_carry_help_text_and_a_help_uri() -> None:
    run = sarif("examples")["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    # Every rule in force is described, not only those that fired.
    assert {"SEC-SSO-REQUIRED", "COST-ANNUAL-THRESHOLD", "SCHEMA-INVALID"} <= set(rules)
    sso = rules["SEC-SSO-REQUIRED"]
    assert sso["shortDescription"]["text"].startswith("Confidential or restricted data")
    assert "spec.auth.sso" in sso["help"]["text"]
    assert sso["helpUri"].endswith("/docs/rules.md#sec-sso-required")
    for result in run["results"]:
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]


def test_every_help_uri_lands_on_a_rule_heading_in_docs_rules_md() -> None:
    # A dead link in code scanning is worse than none: each rule must have its section.
    headings = {
        line.removeprefix("## ").strip().lower()
        for line in (REPO / "docs" / "rules.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("## ")
    }
    for catalog in ("examples", "examples/bad"):
        for rule in sarif(catalog)["runs"][0]["tool"]["driver"]["rules"]:
            page, _, section = rule["helpUri"].partition("#")
            assert page.endswith("/blob/main/docs/rules.md")
            assert section in headings, (
                f"{rule['id']} has no section in docs/rules.md: regenerate it with "
                "`python -m guardrails.report.rules_doc > docs/rules.md`"
            )


def test_rules_page_explains_each_rule() -> None:
    from guardrails.report.rules_doc import render, shipped_rules

    page = render(shipped_rules())
    section = page.split("## SEC-SSO-REQUIRED\n")[1].split("\n## ")[0]
    assert "Why: " in section and "How to comply: Set spec.auth.sso" in section
    assert "```yaml" in section


# --- JUnit -----------------------------------------------------------------


def test_junit_has_one_case_per_manifest_and_rule_evaluated() -> None:
    code, xml = check("examples/bad", "junit")
    assert code == 1
    suite = ET.fromstring(xml).find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    manifests = sorted((BAD / "manifests").glob("*.yaml"))
    by_manifest: dict[str, set[str]] = {}
    for case in cases:
        by_manifest.setdefault(case.get("classname", ""), set()).add(
            case.get("name", "").split(":")[0]
        )
    sso_file = "examples/bad/manifests/sso-none.yaml"
    evaluated = by_manifest[sso_file]
    assert {"SEC-SSO-REQUIRED", "COST-ANNUAL-THRESHOLD", "SCHEMA-INVALID"} <= evaluated
    for manifest in manifests:
        assert by_manifest[f"examples/bad/manifests/{manifest.name}"] >= evaluated
    assert suite.get("tests") == str(len(cases))
    failures = [c for c in cases if c.find("failure") is not None]
    assert suite.get("failures") == str(len(failures))
    reference = {(f["file"], f["rule"]) for f in findings("examples/bad") if f["blocking"]}
    assert {(c.get("classname"), c.get("name", "").split(":")[0]) for c in failures} == reference
    [sso] = [
        c
        for c in failures
        if c.get("classname") == sso_file and c.get("name", "").startswith("SEC-SSO-REQUIRED")
    ]
    failure = sso.find("failure")
    assert (
        failure is not None
        and f"{sso_file}:{expectations(BAD / 'manifests' / 'sso-none.yaml')[0][1]}:"
        in (failure.text or "")
    )


def test_junit_excepted_finding_is_skipped_with_its_exception() -> None:
    code, xml = check("examples", "junit")
    assert code == 0
    suite = ET.fromstring(xml).find("testsuite")
    assert suite is not None
    skipped = [c for c in suite.findall("testcase") if c.find("skipped") is not None]
    assert [(c.get("classname"), c.get("name", "").split(":")[0]) for c in skipped] == [
        ("examples/manifests/canva.yaml", "SEC-SCIM-REQUIRED")
    ]
    reason = skipped[0].find("skipped")
    assert reason is not None and "canva-scim-waiver" in reason.get("message", "")
    assert suite.get("failures") == "0" and suite.get("skipped") == "1"


# --- GitHub workflow commands -----------------------------------------------


def test_github_annotations_point_at_file_line_and_column() -> None:
    code, out = check("examples/bad", "github")
    assert code == 1
    line = expectations(BAD / "manifests" / "sso-none.yaml")[0][1]
    assert re.search(
        rf"^::error file=examples/bad/manifests/sso-none\.yaml,line={line},col=\d+,"
        r"title=SEC-SSO-REQUIRED \[hard-mandatory\] [^:]+::.+%0AHow to fix: ",
        out,
        re.MULTILINE,
    )
    commands = [entry for entry in out.splitlines() if entry.startswith("::")]
    assert len(commands) == len(findings("examples/bad"))
    assert any(entry.startswith("::warning file=") for entry in commands)
    total = len(list((BAD / "manifests").glob("*.yaml")))
    assert out.splitlines()[-1].startswith(f"guardrails: {total} manifests:")


def test_github_excepted_finding_is_a_notice() -> None:
    _code, out = check("examples", "github")
    assert out.startswith("::notice file=examples/manifests/canva.yaml,line=")
    assert "Excepted by canva-scim-waiver until 2027-03-31" in out


def test_github_escaping_keeps_one_command_per_line() -> None:
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    line = command("error", "x\n::warning::injected", file="m,1.yaml", line=3, title="T: a")
    assert line == "::error file=m%2C1.yaml,line=3,title=T%3A a::x%0A::warning::injected"
    assert "\n" not in line


# --- Markdown ---------------------------------------------------------------


def test_markdown_summary_has_a_row_per_tool_and_links_to_lines() -> None:
    code, out = check("examples/bad", "markdown")
    assert code == 1
    assert out.startswith("## Guardrails: ❌ blocked")
    rows = [
        r for r in out.splitlines() if r.startswith("| ") and not r.startswith(("| Tool", "| -"))
    ]
    assert len(rows) == len(list((BAD / "manifests").glob("*.yaml")))
    assert any(r.startswith("| sso-none | ❌ failed | 1 blocking |") for r in rows)
    assert any(r.startswith("| standard-tool | ⚠️ warned |") for r in rows)
    line = expectations(BAD / "manifests" / "sso-none.yaml")[0][1]
    target = f"examples/bad/manifests/sso-none.yaml#L{line}"
    blocking = out.split("### Blocking findings")[1].split("###")[0]
    assert f"({target}) **SEC-SSO-REQUIRED**" in blocking
    assert "How to fix: Set spec.auth.sso to saml or oidc" in blocking
    assert blocking.count("\n- [") == sum(1 for f in findings("examples/bad") if f["blocking"])


def test_markdown_links_can_be_absolute_for_a_job_summary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GUARDRAILS_LINK_BASE", "https://github.com/acme/catalog/blob/abc123")
    _code, out = check("examples/bad", "markdown")
    assert (
        "(https://github.com/acme/catalog/blob/abc123/examples/bad/manifests/sso-none.yaml#L" in out
    )


def test_markdown_passing_catalog_and_manifest_text_cannot_inject_markup(tmp_path: Path) -> None:
    code, out = check("examples", "markdown")
    assert code == 0
    assert out.startswith("## Guardrails: ✅ nothing blocks")
    assert "| canva | 🟦 excepted | 1 excepted |" in out
    assert "### Excepted findings" in out
    from guardrails.report.markdown_format import escape

    assert escape("<img src=x>|[a](b)\n") == r"\<img src=x\>\|\[a\](b)"


def test_report_written_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "guardrails.sarif"
    run = guardrails("check", "examples", "--now", NOW, "-f", "sarif", "-o", target)
    assert run.exit_code == 0 and run.stdout == ""
    assert json.loads(target.read_text())["version"] == "2.1.0"


# --- Hostile file names and contents ---------------------------------------


@pytest.fixture
def odd_catalog(catalog: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A catalog with a file name that needs URI escaping and a control character."""
    hubspot = (catalog / "manifests" / "hubspot.yaml").read_text()
    odd = hubspot.replace("name: hubspot", "name: odd-tool").replace(
        "- tool: salesforce", '- tool: "sales\\x01force"'
    )
    (catalog / "manifests" / "odd tool.yaml").write_text(odd)
    monkeypatch.chdir(catalog)
    return catalog


def test_sarif_uris_are_percent_encoded_and_still_valid(odd_catalog: Path) -> None:
    run = guardrails("check", "--now", NOW, "-f", "sarif")
    assert run.exit_code == 1, run.stderr
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in run.json()["runs"][0]["results"]
    }
    assert "manifests/odd%20tool.yaml" in uris
    assert sarif_schema_errors(run.json()) == []


def test_artifact_uri_outside_the_checkout_is_a_file_uri() -> None:
    from guardrails.report.sarif_format import artifact_uri

    assert artifact_uri("/srv/catalog/a b.yaml") == "file:///srv/catalog/a%20b.yaml"
    assert artifact_uri("../catalog/x#1.yaml") == "../catalog/x%231.yaml"


def test_junit_stays_parseable_with_control_characters_in_a_finding(odd_catalog: Path) -> None:
    run = guardrails("check", "--now", NOW, "-f", "junit")
    assert run.exit_code == 1, run.stderr
    suite = ET.fromstring(run.stdout).find("testsuite")
    assert suite is not None
    [case] = [
        c
        for c in suite.findall("testcase")
        if c.get("classname") == "manifests/odd tool.yaml"
        and c.get("name", "").startswith("STD-INTEGRATION-UNKNOWN")
    ]
    failure = case.find("failure")
    assert failure is not None and "sales\ufffdforce" in failure.get("message", "")
