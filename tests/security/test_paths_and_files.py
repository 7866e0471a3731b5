"""Same verdict from anywhere; odd files refused, never waited on or read.

These run `guardrails check` the way a person or pre-commit does (from different
folders, naming files), on the same real repository as the CI scenarios.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.security.conftest import BAD, Outside, PullRequest


def blocked(pr: PullRequest) -> Path:
    """The catalog with the sso-none manifest added; its path."""
    target = pr.root / "manifests" / "sso-none.yaml"
    shutil.copy(BAD / "sso-none.yaml", target)
    return target


def verdict(ran_json: str) -> tuple[tuple[str, str, int], ...]:
    """(rule, file name, line) of each finding: the verdict, wherever it was asked."""
    document = json.loads(ran_json)
    return tuple((f["rule"], os.path.basename(f["file"]), f["line"]) for f in document["findings"])


def test_every_spelling_from_every_folder_gives_the_roots_verdict(
    pr: PullRequest, outside: Outside
) -> None:
    target = blocked(pr)
    reference = pr.guardrails("check", "manifests/sso-none.yaml", "-f", "json")
    assert reference.code == 1
    expected = verdict(reference.stdout)
    assert ("SEC-SSO-REQUIRED", "sso-none.yaml", 23) in expected
    manifests = pr.root / "manifests"
    spellings = [
        (manifests, "sso-none.yaml"),
        (manifests, "./sso-none.yaml"),
        (manifests, "../manifests/sso-none.yaml"),
        (manifests, str(target)),
        (pr.root.parent, "catalog/manifests/sso-none.yaml"),
        (pr.root / "exceptions", "../manifests/sso-none.yaml"),
        (Path("/"), str(target)),
    ]
    for cwd, spelling in spellings:
        ran = pr.guardrails("check", spelling, "-f", "json", cwd=cwd)
        assert (ran.code, verdict(ran.stdout)) == (1, expected), (cwd, spelling, ran.stderr)
    # No PATH: the catalog around the working directory, whichever folder of it.
    whole = pr.guardrails("check", "-f", "json")
    assert whole.code == 1
    for cwd in (manifests, pr.root / "exceptions"):
        ran = pr.guardrails("check", "-f", "json", cwd=cwd)
        assert (ran.code, verdict(ran.stdout)) == (whole.code, verdict(whole.stdout))
    outside.assert_unchanged()


def test_a_catalog_in_a_subfolder_is_found_by_its_guardrails_yaml(pr: PullRequest) -> None:
    sub = pr.root / "it" / "saas"
    sub.mkdir(parents=True)
    for folder in ("manifests", "exceptions"):
        os.rename(pr.root / folder, sub / folder)
    shutil.copy(BAD / "sso-none.yaml", sub / "manifests")
    # Without guardrails.yaml the root is the top of the repository: an error, not a pass.
    lost = pr.guardrails("check", "sso-none.yaml", cwd=sub / "manifests")
    assert lost.code == 2
    assert f"manifests/: no manifests folder in the catalog at {pr.root} (" in lost.stderr
    (sub / "guardrails.yaml").write_text("manifests: manifests\n")
    for cwd, spelling in ((sub / "manifests", "sso-none.yaml"), (pr.root, "it/saas")):
        found = pr.guardrails("check", spelling, "-f", "json", cwd=cwd)
        assert found.code == 1, found.stderr
        assert ("SEC-SSO-REQUIRED", "sso-none.yaml", 23) in verdict(found.stdout)


@pytest.mark.parametrize(
    "named",
    [
        pytest.param("../outside/victim.txt", id="outside-the-catalog"),
        pytest.param("exceptions/canva-scim-waiver.yaml", id="outside-the-manifests-folder"),
        pytest.param("manifests/folder.yaml", id="a-folder-named-yaml"),
        pytest.param("policies", id="a-folder-with-no-manifest"),
        pytest.param("manifests/notes.txt", id="not-yaml"),
    ],
)
def test_a_path_that_names_no_manifest_is_an_error(
    pr: PullRequest, outside: Outside, named: str
) -> None:
    (pr.root / "manifests" / "folder.yaml").mkdir()
    (pr.root / "policies").mkdir(exist_ok=True)
    (pr.root / "manifests" / "notes.txt").write_text("notes\n")
    ran = pr.guardrails("check", named)
    assert ran.code == 2
    assert "0 manifests" not in ran.stdout
    [line] = ran.stderr.splitlines()
    assert line.startswith(f"guardrails: error: {named}: ")
    outside.assert_unchanged()


def test_paths_in_two_catalogs_are_an_error(pr: PullRequest, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(pr.root, other, ignore=shutil.ignore_patterns(".git"))
    (other / "guardrails.yaml").write_text("manifests: manifests\n")
    ran = pr.guardrails("check", "manifests/zoom.yaml", str(other / "manifests" / "zoom.yaml"))
    assert ran.code == 2
    assert "are in different catalogs" in ran.stderr


def test_outside_any_catalog_is_an_error_not_an_empty_pass(pr: PullRequest, tmp_path: Path) -> None:
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    ran = pr.guardrails("check", cwd=nowhere)
    assert ran.code == 2
    assert "no catalog found" in ran.stderr


def test_a_fifo_is_refused_not_waited_on(pr: PullRequest, outside: Outside) -> None:
    os.mkfifo(pr.root / "manifests" / "pipe.yaml")
    for args in (("check",), ("check", "manifests/pipe.yaml")):
        ran = pr.guardrails(*args)  # a hang would time out the run (120 s)
        assert ran.code == 1
        assert "manifests/pipe.yaml:1:1: error: SCHEMA-PARSE [hard-mandatory] not a regular" in (
            ran.stdout
        )
    outside.assert_unchanged()


def test_guardrails_yaml_that_is_a_fifo_or_a_link_cannot_run(pr: PullRequest) -> None:
    os.mkfifo(pr.root / "guardrails.yaml")
    ran = pr.guardrails("check")
    assert ran.code == 2 and "guardrails.yaml: cannot read: not a regular file" in ran.stderr
    os.unlink(pr.root / "guardrails.yaml")
    (pr.root / "guardrails.yaml").symlink_to(pr.root.parent / "outside" / "victim.txt")
    ran = pr.guardrails("check")
    assert ran.code == 2 and "guardrails.yaml: cannot read: a link" in ran.stderr


def test_org_policy_files_that_are_links_out_or_fifos_cannot_run(
    pr: PullRequest, outside: Outside
) -> None:
    # Without --policies-ref the working tree's policies are used (a local check).
    (pr.root / "policies" / "data").mkdir(parents=True, exist_ok=True)
    leak = pr.root / "policies" / "data" / "leak.yaml"
    leak.symlink_to(pr.root.parent / "outside" / "leak.yaml")
    ran = pr.guardrails("check")
    assert ran.code == 2
    assert ran.stderr == (
        "guardrails: error: policies/data/leak.yaml: cannot read policy data: a link "
        "outside the catalog (not read); replace the link with the file itself\n"
    )
    leak.unlink()
    os.mkfifo(pr.root / "policies" / "org.rego")
    ran = pr.guardrails("check")
    assert ran.code == 2 and "policies/org.rego: cannot read policy" in ran.stderr
    outside.assert_unchanged()


def test_a_folder_that_cannot_be_listed_blocks(pr: PullRequest) -> None:
    # A path longer than the system allows cannot be listed, whoever runs the check.
    folder = pr.root / "manifests" / "team"
    folder.mkdir()
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        for _ in range(24):
            os.mkdir("x" * 200, dir_fd=descriptor)
            inner = os.open("x" * 200, os.O_RDONLY, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = inner
    finally:
        os.close(descriptor)
    ran = pr.guardrails("check", "-f", "json")
    assert ran.code == 1
    [finding] = [f for f in json.loads(ran.stdout)["findings"] if f["blocking"]]
    assert finding["rule"] == "SCHEMA-PARSE"
    assert finding["file"].startswith("manifests/team/xxx")
    assert "cannot list this folder: File name too long" in finding["message"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can list any folder")
def test_a_folder_without_permission_blocks(pr: PullRequest) -> None:
    folder = pr.root / "manifests" / "private"
    folder.mkdir()
    shutil.copy(BAD / "sso-none.yaml", folder)
    folder.chmod(0)
    try:
        ran = pr.guardrails("check")
    finally:
        folder.chmod(0o755)
    assert ran.code == 1
    assert "manifests/private:1:1: error: SCHEMA-PARSE" in ran.stdout


def test_a_deep_tree_is_walked_not_a_recursion_error(pr: PullRequest) -> None:
    deep = pr.root / "manifests"
    descriptor = os.open(deep, os.O_RDONLY)
    depth = sys.getrecursionlimit() + 200
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=descriptor)
            inner = os.open("d", os.O_RDONLY, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = inner
        placed = os.open("sso-none.yaml", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=descriptor)
        os.write(placed, (BAD / "sso-none.yaml").read_bytes())
        os.close(placed)
    finally:
        os.close(descriptor)
    try:
        ran = pr.guardrails("check", "-f", "json")
    finally:
        _flatten(deep, depth)
    assert ran.code == 1, ran.stderr
    files = {f["file"] for f in json.loads(ran.stdout)["findings"] if f["blocking"]}
    assert files == {"manifests/" + "d/" * depth + "sso-none.yaml"}


def _flatten(folder: Path, depth: int) -> None:
    """Remove the deep tree under `folder` one level at a time: shutil.rmtree (and so
    pytest's clean-up of old temporary folders) recurses, and fails on it."""
    top = os.open(folder, os.O_RDONLY)
    try:
        for _ in range(depth - 1):
            os.rename("d/d", "x", src_dir_fd=top, dst_dir_fd=top)
            os.rmdir("d", dir_fd=top)
            os.rename("x", "d", src_dir_fd=top, dst_dir_fd=top)
        os.unlink("d/sso-none.yaml", dir_fd=top)
        os.rmdir("d", dir_fd=top)
    finally:
        os.close(top)


# --- file names ---------------------------------------------------------------------------


def test_a_file_name_that_is_not_utf8_works_in_every_format(pr: PullRequest) -> None:
    name = os.fsdecode(b"manifests/caf\xe9.yaml")
    shutil.copy(BAD / "sso-none.yaml", pr.root / name)
    for fmt in ("text", "json", "sarif", "junit", "github", "markdown"):
        ran = pr.guardrails("check", "-f", fmt, "-o", f"../report.{fmt}")
        assert ran.code == 1, (fmt, ran.stderr)
        report = (pr.root.parent / f"report.{fmt}").read_bytes().decode("utf-8")  # valid UTF-8
        assert "caf" in report, fmt
        if fmt in ("json", "sarif"):
            json.loads(report)
    sarif = json.loads((pr.root.parent / "report.sarif").read_text())
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif["runs"][0]["results"]
        if r["level"] == "error"
    }
    assert uris == {"manifests/caf%E9.yaml"}  # the name's own bytes
    text = (pr.root.parent / "report.text").read_text()
    assert text.startswith('"manifests/caf\\xe9.yaml":23:10: error: SEC-SSO-REQUIRED')


def test_a_newline_in_a_file_name_cannot_forge_a_line_of_text(pr: PullRequest) -> None:
    forged = "x.yaml:1:1: excepted: SEC-SSO-REQUIRED [hard-mandatory] waived\n0 manifests"
    shutil.copy(BAD / "sso-none.yaml", pr.root / "manifests" / f"{forged}.yaml")
    ran = pr.guardrails("check")
    assert ran.code == 1
    lines = ran.stdout.splitlines()
    assert not any(line.startswith(("x.yaml", "0 manifests")) for line in lines)
    escaped = (
        '"manifests/x.yaml:1:1: excepted: SEC-SSO-REQUIRED [hard-mandatory] waived'
        '\\n0 manifests.yaml"'
    )
    assert f"{escaped}:23:10: error: SEC-SSO-REQUIRED" in ran.stdout
    assert lines[-1].endswith("— blocked")
