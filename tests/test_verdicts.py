"""Every default verdict of PRODUCT.md §5, run through the CLI on examples/bad.

Each bad manifest marks the line a finding must point at with `# expect: RULE`;
the test checks rule, category, file, line, blocking and the exit code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, NOW, REPO, expectations, guardrails

BAD = EXAMPLES / "bad"
CATEGORY = {"SEC": "security", "RES": "residency", "STD": "standards", "COST": "cost"}
CATEGORY |= {"ACC": "access", "SCHEMA": "schema", "EXC": "exception"}
WARNINGS = {"SEC-CERT-EXPIRING", "SEC-CERT-EXPIRED", "STD-STANDARD-TOOL", "EXC-UNUSED"}
WARNINGS |= {"COST-RENEWAL-NEAR", "ACC-USE-GROUPS", "ACC-ADMINS-NO-RIGHTS"}

BAD_MANIFESTS = sorted(p for p in (BAD / "manifests").glob("*.yaml") if expectations(p))


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


@pytest.mark.parametrize("manifest", BAD_MANIFESTS, ids=lambda p: p.stem)
def test_each_bad_manifest_gets_exactly_its_verdict(manifest: Path) -> None:
    file = manifest.relative_to(REPO).as_posix()
    run = guardrails("check", file, "--catalog", BAD, "--now", NOW, "--format", "json")
    findings = [f for f in run.json()["findings"] if f["file"] == file]

    expected = sorted(expectations(manifest))
    assert sorted((f["rule"], f["line"]) for f in findings) == expected
    for finding in findings:
        assert finding["category"] == CATEGORY[finding["rule"].split("-")[0]]
        assert finding["blocking"] is (finding["rule"] not in WARNINGS)
        assert finding["manifest"] == manifest.stem
        assert finding["remediation"]
    blocks = any(rule not in WARNINGS for rule, _ in expected)
    assert run.exit_code == (1 if blocks else 0)


def test_the_bad_examples_cover_every_default_verdict() -> None:
    rules = {rule for path in BAD_MANIFESTS for rule, _ in expectations(path)}
    assert rules >= {
        "SEC-SSO-REQUIRED",
        "RES-PERSONAL-DATA-LOCATION",
        "RES-DPA-REQUIRED",
        "SEC-CERT-REQUIRED",
        "SEC-CERT-EXPIRING",
        "STD-INTEGRATION-UNKNOWN",
        "STD-PERSONAL-DATA-FLOW",
        "SEC-NO-SECRETS",
        "COST-ANNUAL-THRESHOLD",
        "STD-STANDARD-TOOL",
        "SEC-SCIM-REQUIRED",
    }


@pytest.mark.parametrize(
    "exception", sorted((BAD / "exceptions").glob("*.yaml")), ids=lambda p: p.stem
)
def test_bad_exceptions_are_reported_where_they_are_wrong(exception: Path) -> None:
    run = guardrails("check", BAD, "--now", NOW, "--format", "json")
    file = exception.relative_to(REPO).as_posix()
    found = sorted((f["rule"], f["line"]) for f in run.json()["findings"] if f["file"] == file)
    assert found == sorted(expectations(exception))
    assert run.exit_code == 1


def test_the_compliant_catalog_passes_with_one_waiver() -> None:
    run = guardrails("check", EXAMPLES, "--now", NOW, "--format", "json")
    assert run.exit_code == 0, run.stdout
    report = run.json()
    assert report["summary"]["failed"] == 0
    assert report["summary"]["manifests"] == len(list((EXAMPLES / "manifests").glob("*.yaml")))
    excepted = [f for f in report["findings"] if f["exception"]]
    assert [(f["manifest"], f["rule"]) for f in excepted] == [("canva", "SEC-SCIM-REQUIRED")]
    assert excepted[0]["exception"]["name"] == "canva-scim-waiver"
    assert excepted[0]["blocking"] is False


def test_secrets_never_appear_in_any_output() -> None:
    for fmt in ("text", "json"):
        run = guardrails("check", BAD, "--now", NOW, "--format", fmt)
        assert "AKIAIOSFODNN7EXAMPLE" not in run.stdout + run.stderr
        assert "not-a-real-key-but-a-literal" not in run.stdout + run.stderr
