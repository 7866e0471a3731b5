"""`--changed-since REF`: only manifests changed since the merge-base are reported.

Every test runs on a real temporary git repository: the compliant examples catalog
committed on `main`, with the change made on a branch (or in the working tree).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.ci.conftest import commit_all, git
from tests.ci.test_formats import sarif_schema_errors
from tests.conftest import EXAMPLES, NOW, guardrails

BAD = EXAMPLES / "bad" / "manifests"
EMPTY_SUMMARY = {"manifests": 0, "passed": 0, "failed": 0, "warned": 0, "excepted": 0}


def reported(repo: Path, *args: str) -> tuple[int, set[str], dict[str, object]]:
    """(exit code, files with findings, JSON summary) of a --changed-since main check."""
    run = guardrails("check", "--changed-since", "main", "--now", NOW, "-f", "json", *args)
    assert run.exit_code in (0, 1), run.stderr
    document = run.json()
    return run.exit_code, {f["file"] for f in document["findings"]}, document["summary"]


def test_nothing_changed_reports_nothing(repo: Path) -> None:
    code, files, summary = reported(repo)
    assert (code, files, summary["manifests"]) == (0, set(), 0)


def test_added_manifest_is_the_only_one_reported(repo: Path) -> None:
    shutil.copy(BAD / "sso-none.yaml", repo / "manifests")
    commit_all(repo, "add sso-none")
    code, files, summary = reported(repo)
    assert code == 1
    assert files == {"manifests/sso-none.yaml"}
    assert summary["manifests"] == 1


def test_modified_manifest_is_reported_at_its_line(repo: Path) -> None:
    path = repo / "manifests" / "hubspot.yaml"
    path.write_text(path.read_text().replace("sso: saml", "sso: none"))
    commit_all(repo, "hubspot without sso")
    run = guardrails("check", "--changed-since", "main", "--now", NOW)
    assert run.exit_code == 1
    line = path.read_text().splitlines().index("    sso: none") + 1
    assert f"manifests/hubspot.yaml:{line}:10: error: SEC-SSO-REQUIRED" in run.stdout
    assert "1 manifest: 0 passed, 1 failed" in run.stdout


def test_renamed_manifest_is_reported_under_its_new_name(repo: Path) -> None:
    git(repo, "mv", "manifests/zoom.yaml", "manifests/zoom-webinars.yaml")
    commit_all(repo, "rename")
    code, _files, summary = reported(repo)
    assert (code, summary["manifests"], summary["passed"]) == (0, 1, 1)
    run = guardrails("check", "--changed-since", "main", "--now", NOW, "-f", "junit")
    assert 'classname="manifests/zoom-webinars.yaml"' in run.stdout
    assert "zoom.yaml" not in run.stdout.replace("zoom-webinars.yaml", "")


def test_deleted_manifest_is_a_planned_removal_not_a_failure(repo: Path) -> None:
    git(repo, "rm", "-q", "manifests/slack.yaml")
    commit_all(repo, "retire slack")
    run = guardrails("check", "--changed-since", "main", "--now", NOW)
    assert run.exit_code == 0, run.stdout
    assert "note: manifests/slack.yaml was deleted: planned removal" in run.stdout
    markdown = guardrails("check", "--changed-since", "main", "--now", NOW, "-f", "markdown")
    assert "### Planned removals" in markdown.stdout
    assert "manifests/slack.yaml was deleted" in markdown.stdout
    sarif = guardrails("check", "--changed-since", "main", "--now", NOW, "-f", "sarif")
    assert sarif.json()["runs"][0]["properties"]["plannedRemovals"] == ["manifests/slack.yaml"]
    assert sarif_schema_errors(sarif.json()) == []
    github = guardrails("check", "--changed-since", "main", "--now", NOW, "-f", "github")
    assert "::notice file=manifests/slack.yaml,title=Planned removal::" in github.stdout


def test_deletion_not_yet_committed_is_a_planned_removal(repo: Path) -> None:
    (repo / "manifests" / "slack.yaml").unlink()  # `rm`, not `git rm`: nothing staged
    run = guardrails("check", "--changed-since", "main", "--now", NOW)
    assert run.exit_code == 0, run.stdout
    assert run.stdout.splitlines()[-1] == (
        "note: manifests/slack.yaml was deleted: planned removal (apply revokes its access)"
    )


def test_file_moved_without_git_is_a_rename_not_a_removal(repo: Path) -> None:
    # `mv` leaves git a deleted file and an untracked one; the tool itself lives on.
    (repo / "manifests" / "zoom.yaml").rename(repo / "manifests" / "zoom-webinars.yaml")
    run = guardrails("check", "--changed-since", "main", "--now", NOW, "-f", "github")
    assert run.exit_code == 0, run.stdout
    assert "Planned removal" not in run.stdout
    assert run.stdout.splitlines()[-1].startswith("guardrails: 1 manifests: 1 passed")


def test_tool_renamed_inside_its_file_blocks_the_tools_that_integrate_with_it(
    repo: Path,
) -> None:
    path = repo / "manifests" / "salesforce.yaml"
    path.write_text(path.read_text().replace("name: salesforce", "name: salesforce-crm"))
    commit_all(repo, "rename the tool")
    run = guardrails("check", "--changed-since", "main", "--now", NOW, "-f", "json")
    assert run.exit_code == 1
    blocking = {(f["rule"], f["file"]) for f in run.json()["findings"] if f["blocking"]}
    # ... and the renamed tool asks for what IT bound to salesforce, not to it
    assert blocking == {
        ("STD-INTEGRATION-UNKNOWN", "manifests/hubspot.yaml"),
        ("SEC-PROVISIONING-BINDING", "manifests/salesforce.yaml"),
    }
    assert "planned removal" not in run.stdout


def test_deleting_a_tool_others_send_data_to_blocks_them(repo: Path) -> None:
    # Unchanged manifests are reported when the change breaks their integrations, so a
    # pull request cannot leave main with a dangling data flow.
    git(repo, "rm", "-q", "manifests/salesforce.yaml")
    commit_all(repo, "retire salesforce")
    run = guardrails("check", "--changed-since", "main", "--now", NOW)
    assert run.exit_code == 1
    hubspot = (repo / "manifests" / "hubspot.yaml").read_text().splitlines()
    line = hubspot.index("    - tool: salesforce") + 1
    assert f"manifests/hubspot.yaml:{line}:13: error: STD-INTEGRATION-UNKNOWN" in run.stdout
    assert "1 manifest: 0 passed, 1 failed" in run.stdout
    assert "note: manifests/salesforce.yaml was deleted: planned removal" in run.stdout


def test_receiver_dropping_a_category_blocks_the_unchanged_sender(repo: Path) -> None:
    path = repo / "manifests" / "salesforce.yaml"
    text = path.read_text()
    assert "[personal.contact, personal.purchase-history]" in text
    path.write_text(text.replace("[personal.contact, personal.purchase-history]", "[]"))
    commit_all(repo, "salesforce no longer holds contacts")
    run = guardrails("check", "--changed-since", "main", "--now", NOW, "-f", "json")
    assert run.exit_code == 1
    senders = {
        f["file"]
        for f in run.json()["findings"]
        if f["rule"] == "STD-PERSONAL-DATA-FLOW" and f["path"].startswith("spec.integrations")
    }
    assert "manifests/hubspot.yaml" in senders


def test_neighbours_left_intact_by_a_change_are_not_reported(repo: Path) -> None:
    # salesforce and zoom integrate with hubspot; editing hubspot does not break them.
    path = repo / "manifests" / "hubspot.yaml"
    path.write_text(path.read_text().replace("purpose: ", "purpose: Nurture emails. "))
    commit_all(repo, "reword the purpose")
    assert reported(repo) == (0, set(), {**EMPTY_SUMMARY, "manifests": 1, "passed": 1})


def test_uncommitted_and_untracked_changes_count(repo: Path) -> None:
    # What pre-commit and a person at a terminal see: the working tree, not just HEAD.
    shutil.copy(BAD / "sso-none.yaml", repo / "manifests")  # untracked
    path = repo / "manifests" / "zoom.yaml"
    path.write_text(path.read_text() + "# edited\n")  # modified, not committed
    _code, files, summary = reported(repo)
    assert files == {"manifests/sso-none.yaml"}
    assert summary["manifests"] == 2


def test_changes_on_main_after_branching_are_not_reported(repo: Path) -> None:
    # Merge-base semantics: a manifest added on main since the branch point is not ours.
    git(repo, "checkout", "-q", "main")
    shutil.copy(BAD / "no-dpa.yaml", repo / "manifests")
    commit_all(repo, "main moves on")
    git(repo, "checkout", "-q", "pr")
    git(repo, "merge", "-q", "--no-edit", "main")
    shutil.copy(BAD / "sso-none.yaml", repo / "manifests")
    commit_all(repo, "pr change")
    _code, files, _summary = reported(repo)
    assert files == {"manifests/sso-none.yaml"}


def test_cross_manifest_rules_still_see_the_whole_catalog(repo: Path) -> None:
    # The changed manifest integrates with unchanged catalog tools: no "unknown tool".
    hubspot = (
        (repo / "manifests" / "hubspot.yaml")
        .read_text()
        .replace("capabilities: [email-marketing, landing-pages]", "capabilities: [landing-pages]")
        .split("  provisioning:")[0]  # HubSpot's SSO is bound to hubspot only
    )
    (repo / "manifests" / "hubspot-eu.yaml").write_text(
        hubspot.replace("name: hubspot", "name: hubspot-eu")
    )
    commit_all(repo, "second hubspot")
    code, files, summary = reported(repo)
    assert (code, files, summary["manifests"]) == (0, set(), 1)
    # ... and a flow to an unchanged tool that does not declare the data is caught.
    (repo / "manifests" / "hubspot-eu.yaml").write_text(
        hubspot.replace("name: hubspot", "name: hubspot-eu").replace(
            "data: [personal.contact]", "data: [personal.contact, personal.financial]"
        )
    )
    run = guardrails("check", "--changed-since", "main", "--now", NOW, "-f", "json")
    rules = {(f["rule"], f["file"]) for f in run.json()["findings"]}
    assert ("STD-PERSONAL-DATA-FLOW", "manifests/hubspot-eu.yaml") in rules
    assert {file for _, file in rules} == {"manifests/hubspot-eu.yaml"}


def test_a_changed_exception_file_is_reported_with_its_problems(repo: Path) -> None:
    # Only an exception changes: its own problems are the pull request's findings.
    (repo / "exceptions" / "hubspot-cost-waiver.yaml").write_text(
        "apiVersion: guardrails/v1\nkind: PolicyException\nmetadata:\n"
        "  name: hubspot-cost-waiver\nspec:\n  rule: COST-ANNUAL-THRESHOLD\n"
        "  manifests: [hubspot]\n  justification: Nobody asked finance\n"
        "  approved_by: intern@example.com\n  expires: 2027-01-31\n"
    )
    commit_all(repo, "a waiver nobody approved")
    run = guardrails("check", "--changed-since", "main", "--now", NOW, "-f", "json")
    assert run.exit_code == 1, run.stdout
    document = run.json()
    files = {(f["rule"], f["file"]) for f in document["findings"] if f["blocking"]}
    assert files == {("EXC-UNAUTHORISED", "exceptions/hubspot-cost-waiver.yaml")}
    assert document["summary"]["manifests"] == 0
    # Judged by main's exceptions, the new file is not read at all.
    code, _files, _summary = reported(repo, "--policies-ref", "main")
    assert code == 0


def test_files_outside_the_manifests_folder_are_ignored(repo: Path) -> None:
    (repo / "README.md").write_text("# catalog\n")
    (repo / "manifests" / "notes.txt").write_text("not a manifest\n")
    commit_all(repo, "docs")
    code, files, summary = reported(repo)
    assert (code, files, summary["manifests"]) == (0, set(), 0)


def test_catalog_in_a_subfolder_of_the_repository(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tests.ci.conftest import GIT_ENV

    top = tmp_path / "mono"
    shutil.copytree(EXAMPLES, top / "it" / "saas", ignore=shutil.ignore_patterns("bad"))
    git(top, "init", "-q", "-b", "main")
    commit_all(top, "catalog")
    shutil.copy(BAD / "sso-none.yaml", top / "it" / "saas" / "manifests")
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(top)
    run = guardrails(
        "check", "-C", "it/saas", "--changed-since", "main", "--now", NOW, "-f", "json"
    )
    assert run.exit_code == 1, run.stderr
    assert {f["file"] for f in run.json()["findings"]} == {"it/saas/manifests/sso-none.yaml"}


def test_unknown_ref_cannot_run(repo: Path) -> None:
    run = guardrails("check", "--changed-since", "no-such-branch", "--now", NOW)
    assert run.exit_code == 2
    assert "unknown git revision 'no-such-branch'" in run.stderr


def test_option_like_ref_is_refused(repo: Path) -> None:
    run = guardrails("check", "--changed-since=--output=x", "--now", NOW)
    assert run.exit_code == 2
    assert "not a usable git revision" in run.stderr


def test_outside_a_git_repository_cannot_run(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "plain"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns("bad"))
    monkeypatch.chdir(root)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    run = guardrails("check", "--changed-since", "main", "--now", NOW)
    assert run.exit_code == 2
    assert "not inside a git repository" in run.stderr


def test_thousand_manifests_one_changed_reports_only_that_file(repo: Path) -> None:
    from bench.changed_since_bench import build_catalog

    build_catalog(repo, 1000)
    commit_all(repo, "1000 manifests")
    git(repo, "branch", "-f", "main")
    target = repo / "manifests" / "tool-0500.yaml"
    target.write_text(target.read_text().replace("sso: saml", "sso: none"))
    commit_all(repo, "one change")
    run = guardrails("check", "--changed-since", "main", "--now", NOW, "-f", "json")
    assert run.exit_code == 1, run.stderr
    document = run.json()
    assert document["summary"]["manifests"] == 1
    assert {f["file"] for f in document["findings"]} == {"manifests/tool-0500.yaml"}
    assert {f["rule"] for f in document["findings"]} == {"SEC-SSO-REQUIRED"}
