"""The shell the reusable workflow and the action run, executed here on a real git repo.

GitHub Actions cannot run in a test, but the `run:` scripts can: with the same
environment variables the runner sets (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, inputs),
in a catalog repository whose pull-request branch tampers with a policy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.ci.conftest import commit_all, git
from tests.ci.test_github_files import load
from tests.conftest import EXAMPLES, REPO

BIN = Path(sys.executable).parent


def run_script(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **env}
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
    )


def step(steps: list[dict[str, Any]], name_start: str) -> dict[str, Any]:
    return next(s for s in steps if s.get("name", "").startswith(name_start))


@pytest.fixture
def tampering_pr(repo: Path) -> Path:
    """origin/main holds the rules; the PR lowers SSO to advisory and adds a tool without SSO."""
    git(repo, "update-ref", "refs/remotes/origin/main", "main")
    shutil.copy(EXAMPLES / "bad" / "manifests" / "sso-none.yaml", repo / "manifests")
    (repo / "policies" / "data").mkdir(parents=True, exist_ok=True)
    (repo / "policies" / "data" / "levels.yaml").write_text(
        "rules:\n  SEC-SSO-REQUIRED: {level: advisory}\n"
    )
    commit_all(repo, "PR")
    return repo


def test_reusable_workflow_pr_job_blocks_the_tampering_pr(
    tampering_pr: Path, tmp_path: Path
) -> None:
    job = load(REPO / ".github" / "workflows" / "guardrails.yml")["jobs"]["pull-request"]
    output, summary = tmp_path / "output", tmp_path / "summary.md"
    env = {
        "BASE_SHA": git(tampering_pr, "rev-parse", "main").strip(),  # base.sha of the event
        "CATALOG": ".",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GUARDRAILS_LINK_BASE": "https://github.com/acme/catalog/blob/abc",
    }
    check = run_script(step(job["steps"], "guardrails check")["run"], tampering_pr, env)
    assert check.returncode == 0, check.stderr  # the step records the code; a later one fails
    assert output.read_text() == "exit-code=1\n"
    assert check.stdout.startswith("::error file=manifests/sso-none.yaml,line=23,col=10,")
    assert "## Guardrails: ❌ blocked" in summary.read_text()
    assert "(https://github.com/acme/catalog/blob/abc/manifests/sso-none.yaml#L23)" in (
        summary.read_text()
    )
    sarif = (tampering_pr / "guardrails.sarif").read_text()
    assert '"ruleId": "SEC-SSO-REQUIRED"' in sarif
    final = step(job["steps"], "Fail when")["run"]
    assert run_script(final, tampering_pr, {"CODE": "1"}).returncode == 1
    assert run_script(final, tampering_pr, {"CODE": "2"}).returncode == 2
    assert run_script(final, tampering_pr, {"CODE": ""}).returncode == 2
    assert run_script(final, tampering_pr, {"CODE": "0"}).returncode == 0


def test_composite_action_check_blocks_and_reports(tampering_pr: Path, tmp_path: Path) -> None:
    action = load(REPO / "action.yml")
    script = step(action["runs"]["steps"], "guardrails ")["run"]
    output, summary = tmp_path / "output", tmp_path / "summary.md"
    env = {
        "COMMAND": "check",
        "CATALOG": ".",
        "BASE_REF": "origin/main",
        "SARIF": "out.sarif",
        "SUMMARY": "true",
        "FAIL_ON_WARN": "false",
        "ARGS": "",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GUARDRAILS": str(counting_guardrails(tmp_path)),
    }
    done = run_script(script, tampering_pr, env)
    assert done.returncode == 1, done.stderr
    assert (tmp_path / "calls").read_text().count("check") == 1  # one check, every report
    assert done.stdout.startswith("::error file=manifests/sso-none.yaml,line=23,col=10,")
    assert output.read_text().splitlines() == ["sarif=out.sarif", "exit-code=1"]
    assert (tampering_pr / "out.sarif").is_file()
    assert "SEC-SSO-REQUIRED" in summary.read_text()
    # Without the base ref the tampered level would let it through: the ref is what blocks.
    done = run_script(script, tampering_pr, {**env, "BASE_REF": ""})
    assert done.returncode == 0, done.stdout
    unknown = run_script(script, tampering_pr, {**env, "COMMAND": "deploy"})
    assert unknown.returncode == 2
    assert "::error title=guardrails::unknown command 'deploy'" in unknown.stdout


def counting_guardrails(folder: Path) -> Path:
    """The installed `guardrails`, behind a wrapper that notes each call in folder/calls."""
    wrapper = folder / "guardrails"
    wrapper.write_text(f'#!/bin/bash\necho "$1" >> {folder}/calls\nexec {BIN}/guardrails "$@"\n')
    wrapper.chmod(0o755)
    return wrapper
