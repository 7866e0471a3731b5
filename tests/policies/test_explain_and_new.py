"""`guardrails explain` for every rule, and `guardrails new` manifests that pass once filled."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLES, NOW, REPO, guardrails

RULES = sorted(yaml.safe_load((REPO / "policies" / "data" / "rules.yaml").read_text())["rules"])
BUILT_IN = ["SCHEMA-PARSE", "SCHEMA-INVALID", "SCHEMA-DUPLICATE-NAME", "SCHEMA-PLACEHOLDER"]
BUILT_IN += ["EXC-EXPIRED", "EXC-UNKNOWN-TOOL"]

# What a requester would type over each placeholder of the skeleton.
FILLED = {
    "<Display name>": "Livestorm",
    "<owner-email>": "priya.nair@example.com",
    "<team>": "field-marketing",
    "<Why the team needs it, in a sentence>": "Browser-based webinars for product launches",
    "<capability>": "webinars",
    "<Vendor legal name>": "Livestorm SAS",
    "<YYYY-MM-DD>": "2027-09-30",
    "<true-or-false>": "true",
    "<data-category>": "personal.contact",
    "<classification>": "confidential",
    "<jurisdiction>": "eu",
    "<sso>": "saml",
    "<mfa>": "enforced",
    "<directory-group>": "field-marketing",
    "<admin-email>": "priya.nair@example.com",
    "<annual-cost>": "9000",
    "<seats>": "6",
}


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


@pytest.mark.parametrize("rule", RULES + BUILT_IN)
def test_explain_every_rule(rule: str) -> None:
    run = guardrails("explain", rule)
    assert run.exit_code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith(f"{rule}: ")
    assert re.match(r"category: \w+ · severity: \w+ · level: [a-z-]+$", lines[1])
    assert "How to comply: " in run.stdout
    assert "Compliant example:" in run.stdout
    if not rule.startswith(("SCHEMA-", "EXC-")):
        assert "Why: " in run.stdout


def test_explain_list_names_every_rule_and_its_level() -> None:
    run = guardrails("explain", "--list")
    assert run.exit_code == 0
    listed = {line.split()[0]: line.split()[1] for line in run.stdout.splitlines()}
    assert set(RULES + BUILT_IN) <= set(listed)
    assert listed["SEC-SSO-REQUIRED"] == "hard-mandatory"
    assert listed["STD-STANDARD-TOOL"] == "advisory"


def test_explain_is_case_insensitive_and_follows_level_overrides(tmp_path: Path) -> None:
    (tmp_path / "policies" / "data").mkdir(parents=True)
    (tmp_path / "policies" / "data" / "levels.yaml").write_text(
        "rules:\n  STD-STANDARD-TOOL: {level: soft-mandatory}\n"
    )
    run = guardrails("explain", "std-standard-tool", "-C", tmp_path)
    assert run.exit_code == 0
    assert "level: soft-mandatory" in run.stdout


def test_explain_unknown_rule_suggests_the_closest() -> None:
    run = guardrails("explain", "SEC-SSO-REQUIRD")
    assert run.exit_code == 2
    assert "unknown rule 'SEC-SSO-REQUIRD'; did you mean SEC-SSO-REQUIRED" in run.stderr
    assert guardrails("explain").exit_code == 2


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    root = tmp_path / "catalog"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns("bad"))
    return root


def test_new_manifest_passes_check_once_its_placeholders_are_filled(catalog: Path) -> None:
    run = guardrails("new", "livestorm", "-C", catalog)
    assert run.exit_code == 0, run.stderr
    written = catalog / "manifests" / "livestorm.yaml"
    text = written.read_text()
    assert text.startswith("# yaml-language-server: $schema=https://")
    assert "name: livestorm" in text
    # Unfilled, it cannot pass: every placeholder blocks at its own line.
    unfilled = guardrails("check", "-C", catalog, written, "--now", NOW, "-f", "json")
    assert unfilled.exit_code == 1
    found = unfilled.json()["findings"]
    assert {f["rule"] for f in found} == {"SCHEMA-PLACEHOLDER"}
    lines = text.splitlines()
    assert all(re.search(r"<[^<>\n]+>", lines[f["line"] - 1].split("#")[0]) for f in found)
    values = [line for line in lines if re.search(r"<[^<>\n]+>", line.split("#")[0])]
    assert len(found) == len(values)
    placeholders = set(re.findall(r"<[^<>\n]+>", "\n".join(line.split("#")[0] for line in lines)))
    assert placeholders == set(FILLED), placeholders ^ set(FILLED)
    for placeholder, value in FILLED.items():
        text = text.replace(placeholder, value)
    written.write_text(text)
    filled = guardrails("check", "-C", catalog, written, "--now", NOW, "-f", "json")
    assert filled.exit_code == 0, filled.stdout
    assert filled.json()["findings"] == []


def test_new_prints_with_dash_and_never_overwrites(catalog: Path) -> None:
    printed = guardrails("new", "livestorm", "-o", "-", "-C", catalog)
    assert printed.exit_code == 0
    assert printed.stdout.startswith("# yaml-language-server: $schema=")
    assert not (catalog / "manifests" / "livestorm.yaml").exists()
    again = guardrails("new", "hubspot", "-C", catalog)
    assert again.exit_code == 2
    assert "manifests/hubspot.yaml already exists" in again.stderr


@pytest.mark.parametrize("name", ["HubSpot", "hub_spot", "-hubspot", "x" * 64, "a b"])
def test_new_refuses_invalid_names(name: str, catalog: Path) -> None:
    run = guardrails("new", "-C", catalog, "--", name)
    assert run.exit_code == 2
    assert "not a valid tool name" in run.stderr
    assert len(list((catalog / "manifests").glob("*.yaml"))) == len(
        list((EXAMPLES / "manifests").glob("*.yaml"))
    )
