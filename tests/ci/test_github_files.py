"""`.github/` workflows, `action.yml` and `.pre-commit-hooks.yaml` are valid and do their job.

Workflows and the action are validated against SchemaStore's schemas as vendored
(offline) in check-jsonschema; the rest asserts what each file must do.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.conftest import EXAMPLES, NOW, REPO, guardrails

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
WORKFLOWS.append(REPO / "docs" / "templates" / "guardrails-workflow.yml")


def vendored_schema(name: str) -> dict[str, Any]:
    """A SchemaStore schema shipped inside check-jsonschema."""
    folder = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads(folder.joinpath(name).read_text(encoding="utf-8"))
    return schema


def load(path: Path) -> Any:
    """YAML 1.2, as GitHub reads it (PyYAML's YAML 1.1 would turn the key `on` into True)."""
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def schema_errors(document: Any, schema: dict[str, Any]) -> list[str]:
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def on(workflow: dict[Any, Any]) -> Any:
    return workflow["on"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_are_valid_against_schemastore(path: Path) -> None:
    assert schema_errors(load(path), vendored_schema("github-workflows.json")) == []


def test_action_is_valid_against_schemastore() -> None:
    action = load(REPO / "action.yml")
    assert schema_errors(action, vendored_schema("github-actions.json")) == []
    assert action["runs"]["using"] == "composite"


def check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    """Run the check-jsonschema CLI (offline: built-in SchemaStore schemas)."""
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_check_jsonschema_cli_accepts_the_workflows_and_the_action() -> None:
    # The command a contributor runs: its YAML loader and format checks, not just ours.
    workflows = check_jsonschema("vendor.github-workflows", *WORKFLOWS)
    assert workflows.returncode == 0, workflows.stdout + workflows.stderr
    action = check_jsonschema("vendor.github-actions", REPO / "action.yml")
    assert action.returncode == 0, action.stdout + action.stderr


def test_check_jsonschema_cli_rejects_a_broken_workflow(tmp_path: Path) -> None:
    text = (REPO / ".github" / "workflows" / "ci.yml").read_text()
    broken = tmp_path / "broken.yml"
    broken.write_text(text.replace("runs-on: ubuntu-latest", "runs-onn: ubuntu-latest"))
    run = check_jsonschema("vendor.github-workflows", broken)
    assert run.returncode == 1, run.stdout + run.stderr


def test_the_schemas_catch_a_broken_workflow() -> None:
    broken = load(REPO / ".github" / "workflows" / "ci.yml")
    broken["on"]["pushh"] = None  # a typo in a trigger
    assert schema_errors(broken, vendored_schema("github-workflows.json")) != []
    action = load(REPO / "action.yml")
    del action["runs"]["steps"][0]["uses"]  # a step that neither runs nor uses
    assert schema_errors(action, vendored_schema("github-actions.json")) != []


def test_project_ci_runs_make_test_on_three_pythons() -> None:
    ci = load(REPO / ".github" / "workflows" / "ci.yml")
    job = ci["jobs"]["test"]
    assert job["strategy"]["matrix"]["python-version"] == ["3.11", "3.12", "3.13"]
    runs = " ".join(step.get("run", "") for step in job["steps"])
    assert "make test" in runs and "sarif-schema-2.1.0.json" in runs
    makefile = (REPO / "Makefile").read_text()
    assert all(tool in makefile for tool in ("ruff check", "ruff format --check", "mypy", "pytest"))


def test_reusable_workflow_checks_prs_by_the_base_branch_applies_and_rechecks_nightly() -> None:
    workflow = load(REPO / ".github" / "workflows" / "guardrails.yml")
    assert "workflow_call" in on(workflow)
    jobs = workflow["jobs"]
    pr = jobs["pull-request"]
    assert "pull_request" in pr["if"]
    pr_runs = "\n".join(step.get("run", "") for step in pr["steps"])
    assert '--changed-since "$base" --policies-ref "$base"' in pr_runs
    assert "--format sarif" in pr_runs and "--format github" in pr_runs
    assert '--format markdown >> "$GITHUB_STEP_SUMMARY"' in pr_runs
    checkout = next(s for s in pr["steps"] if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    uploads = [s for s in pr["steps"] if s.get("uses", "").startswith("github/codeql-action")]
    assert uploads and uploads[0]["uses"].startswith("github/codeql-action/upload-sarif@")
    assert pr["permissions"]["security-events"] == "write"
    # The base ref comes in through the environment, never pasted into the script.
    assert "${{" not in pr_runs
    apply = jobs["apply"]
    assert "push" in apply["if"] and "default_branch" in apply["if"]
    assert "guardrails apply" in "\n".join(s.get("run", "") for s in apply["steps"])
    nightly = jobs["nightly"]
    assert "schedule" in nightly["if"]
    nightly_runs = "\n".join(s.get("run", "") for s in nightly["steps"])
    assert "guardrails check -C" in nightly_runs and "--changed-since" not in nightly_runs
    assert "guardrails plan" in nightly_runs


def test_every_failure_path_fails_the_job() -> None:
    # Fail closed: exit 1 and 2 (or a missing code) both fail; only 0 passes.
    workflow = load(REPO / ".github" / "workflows" / "guardrails.yml")
    for job in ("pull-request", "nightly"):
        final = workflow["jobs"][job]["steps"][-1]
        assert final["if"] == "always()"
        assert "0) echo" in final["run"] and "exit 1" in final["run"] and "exit 2" in final["run"]


def test_pre_commit_hook_checks_manifest_files() -> None:
    [hook] = load(REPO / ".pre-commit-hooks.yaml")
    assert hook["id"] == "guardrails-check"
    assert hook["entry"] == "guardrails check"
    pattern = re.compile(hook["files"])
    assert pattern.search("manifests/hubspot.yaml") and pattern.search("manifests/a/b.yml")
    assert not pattern.search("exceptions/waiver.yaml")
    assert not pattern.search("policies/data/cost.yaml")
    assert not pattern.search("manifests/notes.txt")


def test_pre_commit_hook_entry_reports_the_staged_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pre-commit runs `entry` + the matching file names from the repository root.
    root = tmp_path / "catalog"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns("bad"))
    shutil.copy(EXAMPLES / "bad" / "manifests" / "sso-none.yaml", root / "manifests")
    monkeypatch.chdir(root)
    [hook] = load(REPO / ".pre-commit-hooks.yaml")
    program, *args = shlex.split(hook["entry"])
    assert program == "guardrails"
    run = guardrails(*args, "manifests/sso-none.yaml", "manifests/zoom.yaml", "--now", NOW)
    assert run.exit_code == 1
    assert "manifests/sso-none.yaml:23:10: error: SEC-SSO-REQUIRED" in run.stdout
    assert "2 manifests: 1 passed, 1 failed" in run.stdout


def test_catalog_template_calls_the_reusable_workflow_with_its_permissions() -> None:
    template = load(REPO / "docs" / "templates" / "guardrails-workflow.yml")
    assert {"pull_request", "push", "schedule"} <= set(on(template))
    [job] = template["jobs"].values()
    assert job["uses"].startswith(
        "saas-guardrails/saas-guardrails/.github/workflows/guardrails.yml@"
    )
    assert job["permissions"]["security-events"] == "write"
    reusable = load(REPO / ".github" / "workflows" / "guardrails.yml")
    assert set(job["with"]) <= set(on(reusable)["workflow_call"]["inputs"])


def test_codeowners_template_gives_policies_and_exceptions_to_it() -> None:
    owners: dict[str, str] = {}
    for line in (REPO / "docs" / "templates" / "CODEOWNERS").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            pattern, *teams = line.split()
            owners[pattern] = " ".join(teams)
    it = owners["/policies/"]
    assert it == owners["/exceptions/"] == owners["/.github/"] == owners["/guardrails.yaml"]
    assert owners["/manifests/"] != it
