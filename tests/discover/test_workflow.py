"""The reusable workflow's nightly discovery job, its `run:` scripts executed here.

GitHub Actions cannot run in a test, and neither can GitHub's issues: `gh` is a
stand-in on PATH that records what it was asked and remembers the issue it opened.
Everything else (guardrails, the report, the step's exit codes) is real.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.ci.test_github_files import load
from tests.ci.test_workflow_scripts import run_script, step
from tests.conftest import EXAMPLES, REPO
from tests.discover.conftest import settings

FAKE_GH = """#!/usr/bin/env bash
# Records each call; `issue list` answers with the issue `issue create` made, if any.
echo "$*" >> "$GH_LOG"
case "$1 $2" in
  "issue list") [ -f "$GH_STATE" ] && cat "$GH_STATE" ;;
  "issue create") echo 7 > "$GH_STATE"; cp "${@: -1}" "$GH_BODY" ;;
  "issue edit") cp "${@: -1}" "$GH_BODY" ;;
esac
exit 0
"""


def test_nightly_discovery_opens_then_updates_one_issue(tmp_path: Path) -> None:
    job = load(REPO / ".github" / "workflows" / "guardrails.yml")["jobs"]["discover"]
    assert "schedule" in job["if"] and "inputs.discover" in job["if"]
    assert job["permissions"]["issues"] == "write"
    catalog = tmp_path / "catalog"
    shutil.copytree(EXAMPLES, catalog, ignore=shutil.ignore_patterns("bad"))
    settings(catalog, {name: {"export": f"estate/{name}"} for name in ("google", "expenses")})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(FAKE_GH)
    (bin_dir / "gh").chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    env = {
        "CATALOG": str(catalog),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "DISCOVER_ENV": "",
        "GH_LOG": str(tmp_path / "gh.log"),
        "GH_STATE": str(tmp_path / "gh.state"),
        "GH_BODY": str(tmp_path / "body.md"),
        "RUN_URL": "https://github.example/org/catalog/actions/runs/1",
        "PATH_PREFIX": str(bin_dir),
    }
    discover = step(job["steps"], "guardrails discover")["run"]
    issue = 'export PATH="$PATH_PREFIX:$PATH"\n' + step(job["steps"], "Open or update")["run"]
    final = step(job["steps"], "Fail when")["run"]
    for _night in (1, 2):  # the first opens the issue, the second updates it
        ran = run_script(discover, work, env)
        assert ran.returncode == 0, ran.stderr
        assert (tmp_path / "output").read_text().splitlines()[-1] == "exit-code=1"
        filed = run_script(issue, work, env)
        assert filed.returncode == 0, filed.stderr
        verdict = run_script(final, work, {**env, "CODE": "1"})
        assert verdict.returncode == 1  # a blocking finding fails the nightly job visibly
    calls = (tmp_path / "gh.log").read_text().splitlines()
    creates = [c for c in calls if c.startswith("issue create")]
    edits = [c for c in calls if c.startswith("issue edit")]
    assert len(creates) == 1 and edits == ["issue edit 7 --body-file issue.md"]
    body = (tmp_path / "body.md").read_text()
    assert body.startswith("## SaaS discovery\n")
    assert "**Typeform** (`typeform`)" in body and "**PDF Docs Sync**" in body
    assert body.rstrip().endswith(
        "[Discovery run](https://github.example/org/catalog/actions/runs/1)"
    )
    report = json.loads((work / "discovery.json").read_text())
    assert {t["tool"] for t in report["undeclared"]} >= {"typeform", "pdf-docs-sync", "notion"}
    assert "## SaaS discovery" in (tmp_path / "summary.md").read_text()


def test_a_discovery_that_cannot_run_still_reports_and_fails(tmp_path: Path) -> None:
    job = load(REPO / ".github" / "workflows" / "guardrails.yml")["jobs"]["discover"]
    catalog = tmp_path / "catalog"
    shutil.copytree(EXAMPLES, catalog, ignore=shutil.ignore_patterns("bad", "estate"))
    settings(catalog, {"okta": {"export": "nowhere/okta.json"}})
    env = {
        "CATALOG": str(catalog),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "DISCOVER_ENV": "",
    }
    ran = run_script(step(job["steps"], "guardrails discover")["run"], tmp_path, env)
    assert ran.returncode == 0
    assert (tmp_path / "output").read_text().splitlines()[-1] == "exit-code=2"
    assert "Discovery could not run (exit 2)" in (tmp_path / "discovery.md").read_text()
    final = run_script(step(job["steps"], "Fail when")["run"], tmp_path, {"CODE": "2"})
    assert final.returncode == 2
