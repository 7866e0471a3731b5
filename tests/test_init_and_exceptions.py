"""`guardrails init`, `guardrails new --exception RULE TOOL`, exceptions naming unknown
tools, and the one schema modeline of new, init and the examples."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from guardrails.shipped import modeline
from tests.conftest import EXAMPLES, NOW, REPO, guardrails


def check(catalog: Path, *args: str) -> tuple[int, list[dict[str, object]]]:
    run = guardrails("check", "-C", catalog, "--now", NOW, "-f", "json", "--no-cache", *args)
    assert run.exit_code in (0, 1), run.stderr
    return run.exit_code, json.loads(run.stdout)["findings"]


# --- 5. exceptions made easy and strict -------------------------------------------


def long_term(catalog: Path) -> None:
    hubspot = catalog / "manifests" / "hubspot.yaml"
    hubspot.write_text(hubspot.read_text().replace("term_months: 12", "term_months: 36"))


def test_new_exception_writes_a_waiver_to_sign_with_its_approvers(catalog: Path) -> None:
    long_term(catalog)
    blocked, found = check(catalog)
    assert blocked == 1
    (multi_year,) = [f for f in found if f["rule"] == "COST-MULTI-YEAR"]
    # the finding says who approves, and the command that writes the request
    assert "(finance-director@example.com)" in str(multi_year["remediation"])
    command = "guardrails new --exception COST-MULTI-YEAR hubspot"
    assert command in str(multi_year["remediation"])

    run = guardrails(*command.split()[1:], "-C", catalog, "--now", NOW)
    assert run.exit_code == 0, run.stderr
    written = catalog / "exceptions" / "hubspot-cost-multi-year.yaml"
    assert "finance-director@example.com" in run.stdout
    text = written.read_text()
    assert text.splitlines()[0] == modeline("exception")
    assert "approved_by: <approver-email>      # one of: finance-director@example.com" in text
    assert "on or before 2027-11-22" in text
    # unfilled, the request waives nothing and blocks at each placeholder
    blocked, found = check(catalog)
    assert blocked == 1
    placeholders = [f for f in found if f["rule"] == "SCHEMA-PLACEHOLDER"]
    assert {f["path"] for f in placeholders} == {
        "spec.justification",
        "spec.approved_by",
        "spec.expires",
    }
    assert all(f["file"].endswith("hubspot-cost-multi-year.yaml") for f in placeholders)
    # filled in as its comments say: the finding is excepted, nothing blocks
    text = text.replace(
        "<Why the rule cannot be met yet, and when it will be>", "3-year price lock"
    )
    text = text.replace("<approver-email>", "finance-director@example.com")
    written.write_text(text.replace("<YYYY-MM-DD>", "2027-06-30"))
    passed, found = check(catalog)
    assert passed == 0, found
    assert [(f["rule"], f["exception"]["name"]) for f in found if f["exception"]] == [  # type: ignore[index]
        ("SEC-SCIM-REQUIRED", "canva-scim-waiver"),
        ("COST-MULTI-YEAR", "hubspot-cost-multi-year"),
    ]


@pytest.mark.parametrize(
    ("rule", "tool", "says"),
    [
        ("SEC-SSO-REQUIRED", "hubspot", "SEC-SSO-REQUIRED is hard-mandatory: no exception"),
        ("STD-STANDARD-TOOL", "hubspot", "STD-STANDARD-TOOL is advisory: it never blocks"),
        ("COST-MULTI-YR", "hubspot", "unknown rule 'COST-MULTI-YR'; did you mean COST-MULTI-YEAR?"),
        (
            "COST-MULTI-YEAR",
            "hubspt",
            "'hubspt' is not a tool of the catalog; did you mean hubspot?",
        ),
    ],
)
def test_new_exception_refuses_what_could_never_be_valid(
    catalog: Path, rule: str, tool: str, says: str
) -> None:
    run = guardrails("new", "--exception", rule, tool, "-C", catalog)
    assert run.exit_code == 2
    assert says in run.stderr
    assert not (catalog / "exceptions" / f"{tool}-{rule.lower()}.yaml").exists()


def test_an_exception_naming_a_tool_outside_the_catalog_is_an_error(catalog: Path) -> None:
    waiver = catalog / "exceptions" / "canva-scim-waiver.yaml"
    waiver.write_text(
        waiver.read_text().replace("manifests: [canva]", "manifests: [canva, canvas]")
    )
    blocked, found = check(catalog)
    assert blocked == 1
    (unknown,) = [f for f in found if f["file"].endswith("canva-scim-waiver.yaml")]
    assert unknown["rule"] == "EXC-UNKNOWN-TOOL" and unknown["blocking"] is True
    assert unknown["path"] == "spec.manifests[1]"
    assert str(unknown["message"]).endswith("not a tool of the catalog; did you mean canva?")


# --- 8. guardrails init -----------------------------------------------------------


def test_init_creates_a_catalog_that_new_and_check_work_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run = guardrails("init", "acme", "--it-team", "@acme/it", "--marketing-team", "@acme/mops")
    assert run.exit_code == 0, run.stderr
    root = tmp_path / "acme"
    assert (root / "manifests").is_dir() and (root / "exceptions").is_dir()
    config = (root / "guardrails.yaml").read_text()
    assert config.splitlines()[0] == modeline("config")
    assert yaml.safe_load(config)["default_policies"] is True
    org = yaml.safe_load((root / "policies" / "data" / "org.yaml").read_text())
    assert set(org["approvers"]) == {"security", "residency", "standards", "cost", "access"}
    assert (root / ".gitignore").read_text().splitlines()[-2:] == [
        ".guardrails/",
        ".guardrails-cache/",
    ]
    owners = (root / ".github" / "CODEOWNERS").read_text()
    assert (
        "/policies/             @acme/it" in owners
        and "/manifests/            @acme/mops" in owners
    )
    assert "@acme/it-security" not in owners
    workflow = yaml.safe_load((root / ".github" / "workflows" / "guardrails.yml").read_text())
    uses = workflow["jobs"]["guardrails"]["uses"]
    assert uses.startswith("saas-guardrails/saas-guardrails/.github/workflows/guardrails.yml@")
    assert "cd acme" in run.stdout and "guardrails new TOOL" in run.stdout

    monkeypatch.chdir(root)
    assert guardrails("check", "--now", NOW).exit_code == 0
    assert guardrails("new", "livestorm").exit_code == 0
    assert (root / "manifests" / "livestorm.yaml").read_text().splitlines()[0] == modeline(
        "manifest"
    )
    assert guardrails("check", "--now", NOW).exit_code == 1  # its placeholders


def test_init_never_overwrites_and_completes_a_gitignore(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("node_modules/\n.guardrails/")
    (tmp_path / "guardrails.yaml").write_text("manifests: tools\n")
    run = guardrails("init", tmp_path)
    assert run.exit_code == 0
    assert "kept    guardrails.yaml" in run.stdout
    assert (tmp_path / "guardrails.yaml").read_text() == "manifests: tools\n"
    assert (tmp_path / ".gitignore").read_text().splitlines() == [
        "node_modules/",
        ".guardrails/",
        "# written by guardrails: its cache and audit log stay local",
        ".guardrails-cache/",
    ]
    again = guardrails("init", tmp_path)
    assert again.exit_code == 0 and "created" not in again.stdout


def test_one_modeline_in_new_init_and_every_example_that_works_anywhere(tmp_path: Path) -> None:
    for kind in ("manifest", "exception", "config"):
        url = modeline(kind).split("$schema=", 1)[1]
        published = json.loads((REPO / "schemas" / f"{kind}-v1.schema.json").read_text())["$id"]
        assert url == published and url.startswith("https://")
    # a catalog copied out of this repository keeps modelines that name the schema
    copy = tmp_path / "elsewhere"
    shutil.copytree(EXAMPLES, copy)
    documents = sorted(
        p for folder in ("manifests", "exceptions") for p in copy.rglob(f"{folder}/*.yaml")
    )
    assert len(documents) > 25
    for path in documents:
        kind = "exception" if "kind: PolicyException" in path.read_text() else "manifest"
        assert path.read_text().splitlines()[0] == modeline(kind), path
