"""`--changed-since` with `--policies-ref`, without the CLI: `check_catalog(CheckRequest)`.

How the two flags work together lives in the pipeline (guardrails/check.py), not in
`cli/check.py`: which settings apply (the ref's, but the working tree's manifests
folder), which exceptions count (the ref's: a pull request's own are noted, not
used, and not reported as changed), what is reported (the changed manifests) and
what is a planned removal. Each is asserted here on a real git repository.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from guardrails.check import CheckRequest, CheckResult, check_catalog
from guardrails.engine import get_engine
from tests.ci.conftest import commit_all
from tests.conftest import NOW

TODAY = date.fromisoformat(NOW)
SELF_APPROVED = """apiVersion: guardrails/v1
kind: PolicyException
metadata:
  name: pricey-waiver
spec:
  rule: COST-ANNUAL-THRESHOLD
  manifests: [pricey]
  justification: Launch quarter needs the enterprise plan
  approved_by: {approver}
  expires: 2027-06-30
"""


def check(repo: Path, **flags: str) -> CheckResult:
    request = CheckRequest(paths=(repo,), cache=False, **flags)  # type: ignore[arg-type]
    return check_catalog(request, TODAY, get_engine("auto"))


def blocking(result: CheckResult) -> set[tuple[str, str]]:
    return {(f.rule, f.file) for f in result.checked.outcome.findings if f.blocking}


def add_pricey(repo: Path) -> None:
    hubspot = (repo / "manifests" / "hubspot.yaml").read_text()
    text = hubspot.replace("name: hubspot", "name: pricey").replace(
        "annual: 48000", "annual: 250000"
    )
    text = text.replace("[email-marketing, landing-pages]", "[landing-pages]")
    (repo / "manifests" / "pricey.yaml").write_text(text.split("  provisioning:")[0])


def test_the_ref_judges_only_what_changed_and_its_own_exceptions_count(repo: Path) -> None:
    add_pricey(repo)
    exception = repo / "exceptions" / "pricey-waiver.yaml"
    exception.write_text(SELF_APPROVED.format(approver="finance-director@example.com"))
    (repo / "policies" / "data").mkdir(parents=True, exist_ok=True)
    (repo / "policies" / "data" / "cost.yaml").write_text("cost:\n  annual_threshold: 10000000\n")
    commit_all(repo, "PR: a pricey tool, its own waiver, a higher threshold")

    own = check(repo, changed_since="main")
    assert [m.file for m in own.reported] == ["manifests/pricey.yaml"]
    assert blocking(own) == set() and own.notes == ()

    judged = check(repo, changed_since="main", policies_ref="main")
    assert [m.file for m in judged.reported] == ["manifests/pricey.yaml"]
    assert blocking(judged) == {("COST-ANNUAL-THRESHOLD", "manifests/pricey.yaml")}
    assert judged.notes == (
        "exceptions/pricey-waiver.yaml is not used: with --policies-ref only the exceptions "
        "at main count (it applies once IT merges it)",
    )


def test_a_changed_exception_is_reported_unless_the_ref_supplies_exceptions(repo: Path) -> None:
    add_pricey(repo)
    (repo / "exceptions" / "pricey-waiver.yaml").write_text(
        SELF_APPROVED.format(approver="someone@example.com")  # not a cost approver
    )
    commit_all(repo, "PR: a waiver nobody allowed to approve it approved")
    own = check(repo, changed_since="main")
    assert ("EXC-UNAUTHORISED", "exceptions/pricey-waiver.yaml") in blocking(own)
    judged = check(repo, changed_since="main", policies_ref="main")
    assert {file for _, file in blocking(judged)} == {"manifests/pricey.yaml"}
    assert len(judged.notes) == 1 and "pricey-waiver.yaml is not used" in judged.notes[0]


def test_a_deleted_manifest_is_a_planned_removal_under_both_flags(repo: Path) -> None:
    (repo / "manifests" / "zoom.yaml").unlink()
    commit_all(repo, "PR: retire zoom")
    result = check(repo, changed_since="main", policies_ref="main")
    assert result.removed == ("manifests/zoom.yaml",)
    assert result.reported == () and blocking(result) == set()


def test_the_working_trees_manifests_folder_is_checked_under_the_refs_settings(
    repo: Path,
) -> None:
    (repo / "manifests").rename(repo / "tools")
    add_folder = "manifests: tools\n"
    (repo / "guardrails.yaml").write_text(add_folder + "max_file_bytes: 999999999\n")
    (repo / "tools" / "sso-none.yaml").write_text(
        (repo / "tools" / "zoom.yaml").read_text().replace("name: zoom", "name: sso-none")
        .replace("sso: saml", "sso: none")
    )  # fmt: skip
    commit_all(repo, "PR: move the manifests, add a tool without SSO")
    result = check(repo, changed_since="main", policies_ref="main")
    assert "tools/sso-none.yaml" in {m.file for m in result.reported}
    assert ("SEC-SSO-REQUIRED", "tools/sso-none.yaml") in blocking(result)
    assert result.checked.catalog.manifests[0].file.startswith("tools/")
    assert result.notes == (
        "guardrails.yaml differs from the one at main: only where manifests are (tools/) is "
        "taken from it; the rest applies once IT merges it",
    )
