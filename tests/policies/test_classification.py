"""The cheap shortcuts of issue 14, through the CLI: a classification below what the data
demands, a made-up data category, and remedies that name the values in force (or
suggest lowering a classification)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from guardrails.data_categories import vocabulary
from guardrails.engine.policy_set import shipped_data
from tests.conftest import NOW, REPO, guardrails


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def write(catalog: Path, name: str, edit: dict[str, Any]) -> Path:
    """A copy of the compliant hubspot manifest called `name`, with `edit` merged into
    its spec (mappings merged, other values replaced)."""
    document = yaml.safe_load((catalog / "manifests" / "hubspot.yaml").read_text())

    def merge(base: dict[str, Any], patch: dict[str, Any]) -> None:
        for key, value in patch.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                merge(base[key], value)
            else:
                base[key] = value

    document["metadata"]["name"] = name
    document["spec"]["capabilities"] = ["lead-capture"]  # no standard tool's
    merge(document["spec"], edit)
    document["spec"].pop("provisioning", None)
    document["spec"].pop("integrations", None)
    path = catalog / "manifests" / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def findings(catalog: Path, *files: Path, fmt: str = "json") -> dict[str, Any]:
    run = guardrails("check", *files, "-C", catalog, "--now", NOW, "-f", fmt, "--no-cache")
    assert run.exit_code in (0, 1), run.stderr
    report: dict[str, Any] = json.loads(run.stdout)
    return report


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


# --- 1. the classification is derived ---------------------------------------------


def test_the_survey_tool_of_the_issue_no_longer_passes(catalog: Path) -> None:
    """Prospects' names and emails, declared public, no SSO, no MFA, no certificate."""
    survey = write(
        catalog,
        "survey",
        {
            "data": {"classification": "public", "categories": ["personal.contact"]},
            "auth": {"sso": "none", "mfa": "none", "scim": False},
            "vendor": {"certifications": []},
        },
    )
    found = findings(catalog, survey)["findings"]
    by_rule = {f["rule"]: f for f in found}
    floor = by_rule["SEC-CLASSIFICATION-FLOOR"]
    assert floor["blocking"] and floor["level"] == "hard-mandatory"
    assert floor["line"] == line_of(survey, "classification: public")
    assert floor["path"] == "spec.data.classification"
    assert floor["message"].startswith(
        "personal.contact data must be classified at least confidential"
    )
    # judged as confidential whatever it declares: every protection it lacks is listed now
    assert {"SEC-SSO-REQUIRED", "SEC-MFA-REQUIRED", "SEC-CERT-REQUIRED"} <= set(by_rule)
    assert by_rule["SEC-SSO-REQUIRED"]["message"].startswith("confidential data needs")
    for finding in found:
        assert not re.search(r"lower\w*\b.*classification", finding["remediation"], re.I)


def test_it_can_raise_a_category_and_the_rules_follow(catalog: Path) -> None:
    finance = write(
        catalog,
        "finance",
        {"data": {"categories": ["personal.financial"], "residency": ["eu", "uk"]}},
    )
    assert findings(catalog, finance)["findings"] == []
    (catalog / "policies" / "data").mkdir(parents=True, exist_ok=True)
    (catalog / "policies" / "data" / "floors.yaml").write_text(
        "classification:\n  floors:\n    personal.financial: restricted\n"
    )
    found = {f["rule"]: f for f in findings(catalog, finance)["findings"]}
    assert found["SEC-CLASSIFICATION-FLOOR"]["message"].startswith(
        "personal.financial data must be classified at least restricted"
    )
    # ... and restricted personal data stays in the EU, declared confidential or not
    assert found["RES-PERSONAL-DATA-LOCATION"]["path"] == "spec.data.residency[1]"


def test_the_floors_people_are_shown_are_the_floors_the_policies_apply(catalog: Path) -> None:
    """`new` and `explain --categories` say what policies/data_classification.rego does."""
    shown = {c.name: c.floor for c in vocabulary(shipped_data())}
    files = [
        write(catalog, f"holds-{i}", {"data": {"classification": "public", "categories": [name]}})
        for i, name in enumerate(shown)
    ]
    applied: dict[str, str | None] = dict.fromkeys(shown)
    for finding in findings(catalog, *files)["findings"]:
        if finding["rule"] == "SEC-CLASSIFICATION-FLOOR":
            match = re.match(r"(\S+) data must be classified at least (\w+)", finding["message"])
            assert match
            applied[match.group(1)] = match.group(2)
    assert applied == shown
    assert {floor for floor in shown.values()} == {None, "confidential", "restricted"}
    listed = guardrails("explain", "--categories", "-C", catalog).stdout
    for name, floor in shown.items():
        assert re.search(rf"^{re.escape(name)} +{floor or '-'} +\S", listed, re.M), name


# --- 2. a vocabulary of data categories -------------------------------------------


def test_a_made_up_category_blocks_at_its_line_with_did_you_mean(catalog: Path) -> None:
    leads = write(
        catalog, "leads", {"data": {"categories": ["personal.contact", "personal.job-title"]}}
    )
    found = findings(catalog, leads)["findings"]
    assert [(f["rule"], f["path"]) for f in found] == [
        ("STD-DATA-CATEGORY-UNKNOWN", "spec.data.categories[1]")
    ]
    assert found[0]["line"] == line_of(leads, "personal.job-title")
    assert found[0]["message"].endswith(
        "did you mean 'personal.professional' (Job titles, employers and professional "
        "profiles of people)?"
    )
    assert found[0]["blocking"]


def test_the_organisation_extends_the_vocabulary(catalog: Path) -> None:
    loyal = write(catalog, "loyal", {"data": {"categories": ["personal.loyalty"]}})
    assert [f["rule"] for f in findings(catalog, loyal)["findings"]] == [
        "STD-DATA-CATEGORY-UNKNOWN"
    ]
    (catalog / "policies" / "data").mkdir(parents=True, exist_ok=True)
    (catalog / "policies" / "data" / "categories.yaml").write_text(
        "data_categories:\n  personal.loyalty: Loyalty points of identified customers\n"
    )
    assert findings(catalog, loyal)["findings"] == []
    listed = guardrails("explain", "--categories", "-C", catalog).stdout
    assert re.search(r"^personal\.loyalty +confidential +Loyalty points", listed, re.M)
    skeleton = guardrails("new", "x", "-o", "-", "-C", catalog).stdout
    assert re.search(r"#   personal\.loyalty +confidential +Loyalty points", skeleton)


# --- 4. remedies name the values in force, in every format ------------------------


def test_remedies_name_the_values_in_force_in_every_format(catalog: Path) -> None:
    (catalog / "policies" / "data").mkdir(parents=True, exist_ok=True)
    (catalog / "policies" / "data" / "finance.yaml").write_text(
        "cost:\n  max_term_months: 24\napprovers:\n  cost: [cfo@acme.example]\n"
    )
    long = write(catalog, "long-term", {"cost": {"term_months": 36}})
    expected = (
        "Sign for at most 24 months (spec.cost.term_months). Or ask an approver of cost "
        "rules (cfo@acme.example) for a PolicyException: `guardrails new --exception "
        "COST-MULTI-YEAR long-term` writes one to fill in."
    )
    (finding,) = findings(catalog, long)["findings"]
    assert finding["remediation"] == expected
    outputs = {
        fmt: guardrails("check", long, "-C", catalog, "--now", NOW, "-f", fmt).stdout
        for fmt in ("text", "sarif", "junit", "github", "markdown")
    }
    assert expected in outputs["text"]
    sarif = json.loads(outputs["sarif"])["runs"][0]
    assert expected in sarif["results"][0]["message"]["text"]
    (rule,) = [r for r in sarif["tool"]["driver"]["rules"] if r["id"] == "COST-MULTI-YEAR"]
    assert (
        "at most 24 months" in rule["help"]["text"] and "cfo@acme.example" in rule["help"]["text"]
    )
    assert expected in outputs["junit"]
    assert expected in outputs["github"]
    assert "24 months" in outputs["markdown"] and "cfo@acme.example" in outputs["markdown"]
    for text in outputs.values():
        assert "at most 12 months" not in text
        assert "finance-director@example.com" not in text
    explained = " ".join(guardrails("explain", "COST-MULTI-YEAR", "-C", catalog).stdout.split())
    assert "Sign for at most 24 months" in explained and "(cfo@acme.example)" in explained


def test_a_remedy_offers_no_waiver_where_the_level_allows_none(catalog: Path) -> None:
    (catalog / "policies" / "data").mkdir(parents=True, exist_ok=True)
    (catalog / "policies" / "data" / "levels.yaml").write_text(
        "rules:\n  COST-MULTI-YEAR: {level: hard-mandatory}\n"
    )
    long = write(catalog, "long-term", {"cost": {"term_months": 36}})
    (finding,) = findings(catalog, long)["findings"]
    assert finding["remediation"] == "Sign for at most 12 months (spec.cost.term_months)."


def test_no_remedy_suggests_lowering_a_classification() -> None:
    listed = guardrails("explain", "--list").stdout.split("\n")
    rules = [line.split()[0] for line in listed if line.strip()]
    assert len(rules) > 30
    for rule in rules:
        text = " ".join(guardrails("explain", rule).stdout.split())
        remedy = text.split("How to comply: ", 1)[1].split(" Compliant example:")[0]
        assert not re.search(
            r"\blower\w*\b.{0,40}\bclassification|classification.{0,40}\blower", remedy, re.I
        ), rule
    assert "lower the data classification" not in (REPO / "docs" / "rules.md").read_text()


def test_exception_findings_name_the_approvers_and_the_latest_date(catalog: Path) -> None:
    waiver = catalog / "exceptions" / "canva-scim-waiver.yaml"
    waiver.write_text(waiver.read_text().replace("security-lead@example.com", "intern@example.com"))
    report = findings(catalog)
    (unauthorised,) = [f for f in report["findings"] if f["rule"] == "EXC-UNAUTHORISED"]
    assert unauthorised["remediation"] == (
        "Have an approver of security rules approve it (approved_by: one of "
        "security-lead@example.com, ciso@example.com)."
    )
    waiver.write_text(waiver.read_text().replace("expires: 2027-03-31", "expires: 2028-03-31"))
    (too_long,) = [f for f in findings(catalog)["findings"] if f["rule"] == "EXC-TOO-LONG"]
    assert too_long["remediation"].startswith("Set `expires` on or before 2027-11-22: at most 365")
