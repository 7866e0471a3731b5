"""`--policies-ref REF`: policies, policy data, exceptions and guardrails.yaml come from REF.

The tamper scenario on a real git repository: `main` holds IT's rules; a pull
request weakens them *and* adds a manifest that breaks them. Judged by its own
files it would pass; judged by `main` (read through git, no checkout) it fails.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.ci.conftest import commit_all, git
from tests.conftest import EXAMPLES, NOW, guardrails

BAD = EXAMPLES / "bad" / "manifests"
ORG_POLICY = """package guardrails.policies.org

import rego.v1

violation contains v if {
\tsome name, m in input.manifests
\tnot endswith(m.metadata.owner, "@example.com")
\tv := {
\t\t"rule": "ACC-OWNER-DOMAIN", "manifest": name, "path": ["metadata", "owner"],
\t\t"message": sprintf("owner %v is not a company address", [m.metadata.owner]),
\t}
}
"""
ORG_RULES = """rules:
  ACC-OWNER-DOMAIN:
    title: The owner is a company address
    category: access
    severity: medium
    level: hard-mandatory
    remediation: Set metadata.owner to the accountable employee's company email.
"""


def rules_found(*args: str) -> tuple[int, set[tuple[str, str]]]:
    """(exit code, {(rule, file)} of blocking findings) of a JSON check."""
    run = guardrails("check", "--now", NOW, "-f", "json", *args)
    assert run.exit_code in (0, 1), run.stderr
    blocking = {(f["rule"], f["file"]) for f in run.json()["findings"] if f["blocking"]}
    return run.exit_code, blocking


@pytest.fixture
def org_repo(repo: Path) -> Path:
    """`main` with IT's own policy, a tighter cost threshold, and its rule metadata."""
    git(repo, "checkout", "-q", "main")
    (repo / "policies" / "data").mkdir(parents=True, exist_ok=True)
    (repo / "policies" / "org.rego").write_text(ORG_POLICY)
    (repo / "policies" / "data" / "org.yaml").write_text(ORG_RULES)
    (repo / "policies" / "data" / "cost.yaml").write_text("cost:\n  annual_threshold: 97000\n")
    commit_all(repo, "IT: org policies")
    git(repo, "checkout", "-q", "pr")
    git(repo, "merge", "-q", "--ff-only", "main")
    return repo


def add_manifest(repo: Path, name: str, text: str) -> None:
    text = text.replace("[email-marketing, landing-pages]", "[landing-pages]")  # no warning
    text = text.split("  provisioning:")[0]  # IT bound HubSpot's SSO to hubspot alone
    (repo / "manifests" / f"{name}.yaml").write_text(text.replace("name: hubspot", f"name: {name}"))


def test_pr_raising_the_cost_threshold_still_fails(org_repo: Path) -> None:
    hubspot = (org_repo / "manifests" / "hubspot.yaml").read_text()
    add_manifest(org_repo, "big-spend", hubspot.replace("annual: 48000", "annual: 99000"))
    (org_repo / "policies" / "data" / "cost.yaml").write_text(
        "cost:\n  annual_threshold: 1000000000\n"
    )
    commit_all(org_repo, "PR: weaken cost policy and add a violating tool")
    # Judged by its own files, the pull request passes: this is the attack.
    assert rules_found("--changed-since", "main") == (0, set())
    code, blocking = rules_found("--changed-since", "main", "--policies-ref", "main")
    assert code == 1
    assert blocking == {("COST-ANNUAL-THRESHOLD", "manifests/big-spend.yaml")}


def test_pr_editing_an_org_rego_policy_still_fails(org_repo: Path) -> None:
    hubspot = (org_repo / "manifests" / "hubspot.yaml").read_text()
    add_manifest(
        org_repo,
        "agency-owned",
        hubspot.replace("owner: jane.doe@example.com", "owner: jane@agency.example.org"),
    )
    rego = org_repo / "policies" / "org.rego"
    rego.write_text(rego.read_text().replace('"@example.com")', '"")'))
    commit_all(org_repo, "PR: neuter org.rego")
    assert rules_found("--changed-since", "main") == (0, set())
    code, blocking = rules_found("--changed-since", "main", "--policies-ref", "main")
    assert (code, blocking) == (1, {("ACC-OWNER-DOMAIN", "manifests/agency-owned.yaml")})


def test_pr_shadowing_a_shipped_policy_or_lowering_a_level_still_fails(repo: Path) -> None:
    shutil.copy(BAD / "sso-none.yaml", repo / "manifests")
    (repo / "policies" / "data").mkdir(parents=True, exist_ok=True)
    # Same file name as the shipped security.rego: it would replace it.
    (repo / "policies" / "security.rego").write_text(
        "package guardrails.policies.security\n\nimport rego.v1\n\nviolation := set()\n"
    )
    (repo / "policies" / "data" / "levels.yaml").write_text(
        "rules:\n  SEC-SSO-REQUIRED: {level: advisory}\n"
    )
    commit_all(repo, "PR: disable the SSO rule")
    assert rules_found("--changed-since", "main")[0] == 0
    code, blocking = rules_found("--changed-since", "main", "--policies-ref", "main")
    assert (code, blocking) == (1, {("SEC-SSO-REQUIRED", "manifests/sso-none.yaml")})


def test_pr_turning_off_the_shipped_library_in_guardrails_yaml_still_fails(repo: Path) -> None:
    shutil.copy(BAD / "sso-none.yaml", repo / "manifests")
    (repo / "guardrails.yaml").write_text("default_policies: false\npolicies: nothing-here\n")
    (repo / "nothing-here").mkdir()
    (repo / "nothing-here" / "empty.rego").write_text(
        "package guardrails.policies.empty\n\nimport rego.v1\n\nviolation := set()\n"
    )
    commit_all(repo, "PR: switch the defaults off")
    assert rules_found("--changed-since", "main")[0] == 0
    code, blocking = rules_found("--changed-since", "main", "--policies-ref", "main")
    assert (code, blocking) == (1, {("SEC-SSO-REQUIRED", "manifests/sso-none.yaml")})


def test_pr_cannot_approve_its_own_exception(repo: Path) -> None:
    hubspot = (repo / "manifests" / "hubspot.yaml").read_text()
    add_manifest(repo, "pricey", hubspot.replace("annual: 48000", "annual: 250000"))
    (repo / "exceptions" / "pricey-waiver.yaml").write_text(
        "apiVersion: guardrails/v1\nkind: PolicyException\nmetadata:\n  name: pricey-waiver\n"
        "spec:\n  rule: COST-ANNUAL-THRESHOLD\n  manifests: [pricey]\n"
        "  justification: Launch quarter needs the enterprise plan\n"
        "  approved_by: finance-director@example.com\n"
        "  expires: 2027-06-30\n"
    )
    commit_all(repo, "PR: tool plus its own waiver")
    run = guardrails("check", "--changed-since", "main", "--now", NOW, "-f", "json")
    assert run.exit_code == 0  # the waiver works once IT has merged it ...
    assert [f["exception"]["name"] for f in run.json()["findings"]] == ["pricey-waiver"]
    # ... but not inside the very pull request that needs it.
    code, blocking = rules_found("--changed-since", "main", "--policies-ref", "main")
    assert (code, blocking) == (1, {("COST-ANNUAL-THRESHOLD", "manifests/pricey.yaml")})


def test_exceptions_on_the_ref_still_apply(repo: Path) -> None:
    # Removing the waiver in the working tree changes nothing: it is read from main.
    (repo / "exceptions" / "canva-scim-waiver.yaml").unlink()
    run = guardrails("check", "--policies-ref", "main", "--now", NOW, "-f", "json")
    assert run.exit_code == 0, run.stdout
    [finding] = run.json()["findings"]
    assert finding["exception"]["name"] == "canva-scim-waiver"
    assert finding["exception"]["file"] == "exceptions/canva-scim-waiver.yaml"
    assert guardrails("check", "--now", NOW).exit_code == 1  # without the ref it blocks


def test_policies_are_read_from_git_not_from_a_checkout(org_repo: Path) -> None:
    hubspot = (org_repo / "manifests" / "hubspot.yaml").read_text()
    add_manifest(org_repo, "mid-spend", hubspot.replace("annual: 48000", "annual: 98000"))
    shutil.rmtree(org_repo / "policies")
    head = git(org_repo, "rev-parse", "HEAD")
    code, blocking = rules_found("--policies-ref", "main")
    assert (code, blocking) == (1, {("COST-ANNUAL-THRESHOLD", "manifests/mid-spend.yaml")})
    assert not (org_repo / "policies").exists()
    assert git(org_repo, "rev-parse", "HEAD") == head
    assert git(org_repo, "branch", "--show-current").strip() == "pr"


def test_unknown_policies_ref_cannot_run(repo: Path) -> None:
    run = guardrails("check", "--policies-ref", "origin/nope", "--now", NOW)
    assert run.exit_code == 2
    assert "unknown git revision 'origin/nope'" in run.stderr
    assert "Traceback" not in run.stderr


def test_broken_policy_data_on_the_ref_cannot_run(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    (repo / "policies" / "data").mkdir(parents=True, exist_ok=True)
    (repo / "policies" / "data" / "bad.yaml").write_text("rules: [unclosed\n")
    commit_all(repo, "broken data")
    run = guardrails("check", "--policies-ref", "main", "--now", NOW)
    assert run.exit_code == 2
    assert "policies/data/bad.yaml" in run.stderr


def test_broken_guardrails_yaml_on_the_ref_cannot_run(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    (repo / "guardrails.yaml").write_text("manifests: tools\nmax_file_bytes: lots\n")
    commit_all(repo, "broken config")
    git(repo, "checkout", "-q", "pr")
    run = guardrails("check", "--policies-ref", "main", "--now", NOW)
    assert run.exit_code == 2
    assert run.stderr.startswith("guardrails: error: guardrails.yaml:2:")
    assert "(at main)" in run.stderr and "guardrails-config-" not in run.stderr
