"""Each attack a pull request can make, run through the README's CI command.

The pull request adds a manifest the base commit's rules block (sso: none on
confidential data) and tries to get it past the check some other way. Every scenario
must end non-zero, with every file outside the catalog byte-identical.
"""

from __future__ import annotations

import os
import shutil

from tests.ci.conftest import git
from tests.conftest import REPO
from tests.security.conftest import BAD, Outside, PullRequest, readme_ci_step

SECRET_KEYS = ("AKIAIOSFODNN7EXAMPLE", "ghp_abcdefghijklmnopqrstuvwxyz0123456789")


def test_the_docs_tell_ci_the_same_command_as_the_readme() -> None:
    command, env = readme_ci_step()
    security = (REPO / "docs" / "security.md").read_text(encoding="utf-8")
    assert f"- run: {command}\n" in security
    assert "BASE_SHA: ${{ github.event.pull_request.base.sha }}" in security
    assert env == {"BASE_SHA": "${{ github.event.pull_request.base.sha }}"}
    workflow = (REPO / ".github" / "workflows" / "guardrails.yml").read_text(encoding="utf-8")
    assert "BASE_SHA: ${{ github.event.pull_request.base.sha ||" in workflow


def add_blocked_tool(pr: PullRequest, where: str = "manifests") -> None:
    """The manifest the base's rules block: SEC-SSO-REQUIRED (hard-mandatory)."""
    shutil.copy(BAD / "sso-none.yaml", pr.root / where / "sso-none.yaml")


def test_the_plain_pull_request_is_blocked(pr: PullRequest, outside: Outside) -> None:
    add_blocked_tool(pr)
    pr.commit()
    ran = pr.ci()
    assert ran.code == 1
    assert "manifests/sso-none.yaml:23:10: error: SEC-SSO-REQUIRED" in ran.stdout
    outside.assert_unchanged()
    assert git(pr.root, "status", "--porcelain") == ""  # nothing written in the checkout


# --- refs ---------------------------------------------------------------------------


def test_a_pushed_tag_shadowing_origin_main_is_refused(pr: PullRequest, outside: Outside) -> None:
    # The PR's own commit, with SSO turned advisory, tagged `origin/main` and pushed.
    add_blocked_tool(pr)
    (pr.root / "policies" / "data").mkdir(parents=True, exist_ok=True)
    (pr.root / "policies" / "data" / "levels.yaml").write_text(
        "rules:\n  SEC-SSO-REQUIRED: {level: advisory}\n"
    )
    pr.commit()
    git(pr.root, "tag", "origin/main")
    git(pr.root, "push", "-q", "origin", "pr", "refs/tags/origin/main")
    outside.again()
    # git itself resolves the tag first and only warns: the old way to pass.
    shadowed = pr.guardrails(
        "check", "--changed-since", "origin/main", "--policies-ref", "origin/main"
    )
    assert shadowed.code == 2
    assert "'origin/main' is ambiguous" in shadowed.stderr
    assert "refs/tags/origin/main" in shadowed.stderr
    assert "refs/remotes/origin/main" in shadowed.stderr
    # Named by its full ref, or by the base commit id (what CI uses), it is unambiguous.
    full = pr.guardrails(
        "check", "--changed-since", "refs/remotes/origin/main",
        "--policies-ref", "refs/remotes/origin/main",
    )  # fmt: skip
    assert full.code == 1 and "SEC-SSO-REQUIRED" in full.stdout
    assert pr.ci().code == 1
    outside.assert_unchanged()


def test_a_ref_named_like_the_base_commit_id_is_refused(pr: PullRequest) -> None:
    add_blocked_tool(pr)
    pr.commit()
    git(pr.root, "tag", pr.base_sha, "HEAD")  # a tag whose name is the base's id
    ran = pr.ci()
    assert ran.code == 2
    assert "is ambiguous" in ran.stderr


# --- links and odd files ---------------------------------------------------------


def test_a_manifests_folder_replaced_by_a_link_hides_nothing(
    pr: PullRequest, outside: Outside
) -> None:
    # git sees a deleted folder and one new link; the check reads the files behind it.
    os.rename(pr.root / "manifests", pr.root / "drafts")
    add_blocked_tool(pr, "drafts")
    (pr.root / "manifests").symlink_to("drafts", target_is_directory=True)
    pr.commit()
    ran = pr.ci()
    assert ran.code == 1
    assert "manifests/sso-none.yaml:23:10: error: SEC-SSO-REQUIRED" in ran.stdout
    outside.assert_unchanged()


def test_a_manifest_linking_to_a_changed_file_inside_the_catalog_is_judged_by_it(
    pr: PullRequest, outside: Outside
) -> None:
    # On main (IT allowed it): manifests/zoom.yaml is a link to shared/zoom.yaml.
    git(pr.root, "checkout", "-q", "main")
    (pr.root / "shared").mkdir()
    os.rename(pr.root / "manifests" / "zoom.yaml", pr.root / "shared" / "zoom.yaml")
    (pr.root / "manifests" / "zoom.yaml").symlink_to("../shared/zoom.yaml")
    pr.commit("main: zoom's manifest lives in shared/")
    git(pr.root, "push", "-q", "origin", "main")
    git(pr.root, "checkout", "-q", "-B", "pr")
    outside.again()
    # The PR edits only the file behind the link: git shows no change under manifests/.
    target = pr.root / "shared" / "zoom.yaml"
    target.write_text(target.read_text().replace("sso: saml", "sso: none"))
    pr.commit()
    assert "manifests/" not in git(pr.root, "diff", "--name-only", "origin/main")
    ran = pr.ci()
    assert ran.code == 1
    assert "manifests/zoom.yaml:" in ran.stdout and "SEC-SSO-REQUIRED" in ran.stdout
    outside.assert_unchanged()


def test_a_manifest_linking_outside_the_catalog_is_refused_unread(
    pr: PullRequest, outside: Outside
) -> None:
    leak = pr.root.parent / "outside" / "leak.yaml"
    (pr.root / "manifests" / "leak.yaml").symlink_to(leak)
    (pr.root / "manifests" / "etc.yaml").symlink_to("/etc/passwd")
    pr.commit()
    for fmt in ("text", "json", "sarif", "junit", "github", "markdown"):
        ran = pr.ci("--format", fmt)
        assert ran.code == 1, fmt
        assert "manifests/leak.yaml" in ran.stdout and "manifests/etc.yaml" in ran.stdout
        for key in SECRET_KEYS:
            assert key not in ran.stdout + ran.stderr, fmt
        assert "root:" not in ran.stdout
    text = pr.ci().stdout
    assert "manifests/leak.yaml:1:1: error: SCHEMA-PARSE [hard-mandatory] a link outside" in text
    outside.assert_unchanged()


def test_a_link_into_the_git_folder_is_refused(pr: PullRequest, outside: Outside) -> None:
    (pr.root / "manifests" / "config.yaml").symlink_to("../.git/config")
    pr.commit()
    ran = pr.ci()
    assert ran.code == 1
    assert (
        "manifests/config.yaml:1:1: error: SCHEMA-PARSE [hard-mandatory] a link into a hidden"
        in (ran.stdout)
    )
    outside.assert_unchanged()


# --- the cache ------------------------------------------------------------------------


def test_links_committed_in_the_cache_folder_write_nowhere(
    pr: PullRequest, outside: Outside
) -> None:
    victim = pr.root.parent / "outside" / "victim.txt"
    cache = pr.root / ".guardrails-cache"
    cache.mkdir()
    for name in ("catalog.v2", "documents.v2", "journal.v2"):
        (cache / name).symlink_to(victim)
    (cache / ".gitignore").symlink_to(pr.root.parent / "outside" / "created-by-the-check")
    for pid in range(os.getpid(), os.getpid() + 2000):  # the temporary files' names
        (cache / f".catalog.v2.{pid}.tmp").symlink_to(victim)
    add_blocked_tool(pr)
    pr.commit()
    assert pr.ci().code == 1
    assert pr.ci().code == 1
    outside.assert_unchanged()
    assert git(pr.root, "status", "--porcelain") == ""


def test_a_cache_folder_tracked_by_git_is_left_alone(pr: PullRequest, outside: Outside) -> None:
    cache = pr.root / ".guardrails-cache"
    cache.mkdir()
    (cache / "catalog.v2").write_bytes(b"guardrails catalog cache v2\n" + b"\0" * 64)
    (cache / "journal.v2").write_bytes(b"forged")
    add_blocked_tool(pr)
    pr.commit()
    assert pr.ci().code == 1
    assert git(pr.root, "status", "--porcelain") == ""  # the committed files untouched
    outside.assert_unchanged()


# --- settings and exceptions -----------------------------------------------------------


def test_moving_the_manifests_folder_in_guardrails_yaml_hides_nothing(
    pr: PullRequest, outside: Outside
) -> None:
    # The base's settings say manifests/; the PR moves them and says tools/.
    os.rename(pr.root / "manifests", pr.root / "tools")
    add_blocked_tool(pr, "tools")
    (pr.root / "guardrails.yaml").write_text("manifests: tools\n")
    pr.commit()
    ran = pr.ci()
    assert ran.code == 1
    assert "tools/sso-none.yaml:23:10: error: SEC-SSO-REQUIRED" in ran.stdout
    assert "guardrails.yaml differs from the one at" in ran.stderr
    outside.assert_unchanged()


def test_exceptions_the_pull_request_adds_are_ignored_and_named(
    pr: PullRequest, outside: Outside
) -> None:
    add_blocked_tool(pr)
    (pr.root / "exceptions" / "sso-waiver.yaml").write_text(
        "apiVersion: guardrails/v1\nkind: PolicyException\nmetadata:\n  name: sso-waiver\n"
        "spec:\n  rule: SEC-SSO-REQUIRED\n  manifests: [sso-none-tool]\n"
        "  justification: trust me\n  approved_by: security-lead@example.com\n"
        "  expires: 2027-01-31\n"
    )
    waiver = pr.root / "exceptions" / "canva-scim-waiver.yaml"
    waiver.write_text(waiver.read_text().replace("2027-03-31", "2027-04-30"))
    pr.commit()
    ran = pr.ci()
    assert ran.code == 1
    notes = [line for line in ran.stderr.splitlines() if "is not used" in line]
    assert notes == [
        "guardrails: note: exceptions/canva-scim-waiver.yaml is not used: with --policies-ref "
        f"only the exceptions at {pr.base_sha} count (it applies once IT merges it)",
        "guardrails: note: exceptions/sso-waiver.yaml is not used: with --policies-ref "
        f"only the exceptions at {pr.base_sha} count (it applies once IT merges it)",
    ]
    outside.assert_unchanged()


# --- secrets ----------------------------------------------------------------------------


def test_a_credential_used_as_a_key_is_a_finding_and_never_echoed(
    pr: PullRequest, outside: Outside
) -> None:
    hubspot = (pr.root / "manifests" / "hubspot.yaml").read_text()
    leaky = hubspot.replace("name: hubspot", "name: leaky").replace(
        "  purpose:", "  AKIAIOSFODNN7EXAMPLE: rotated\n  purpose:"
    )
    (pr.root / "manifests" / "leaky.yaml").write_text(leaky)
    pr.commit()
    line = leaky.splitlines().index("  AKIAIOSFODNN7EXAMPLE: rotated") + 1
    for fmt in ("text", "json", "sarif", "junit", "github", "markdown"):
        ran = pr.ci("--format", fmt)
        assert ran.code == 1
        assert "AKIAIOSFODNN7EXAMPLE" not in ran.stdout + ran.stderr, fmt
        assert "SEC-NO-SECRETS" in ran.stdout, fmt
    text = pr.ci().stdout
    assert f"manifests/leaky.yaml:{line}:" in text
    assert "a key looks like a credential (AWS access key)" in text
    outside.assert_unchanged()
