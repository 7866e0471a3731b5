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
    assert "make test PYTHON=python LOCK=requirements/test.txt" in runs
    assert "sarif-schema-2.1.0.json" in runs
    makefile = (REPO / "Makefile").read_text()
    tools = ("ruff check", "ruff format --check", "mypy", "zizmor --offline", "pytest")
    assert all(tool in makefile for tool in tools)
    assert "--require-hashes -r $(LOCK)" in makefile


def test_reusable_workflow_checks_prs_by_the_base_branch_applies_and_rechecks_nightly() -> None:
    workflow = load(REPO / ".github" / "workflows" / "guardrails.yml")
    assert "workflow_call" in on(workflow)
    jobs = workflow["jobs"]
    pr = jobs["pull-request"]
    assert "pull_request" in pr["if"]
    pr_runs = "\n".join(step.get("run", "") for step in pr["steps"])
    assert '--changed-since "$base" --policies-ref "$base"' in pr_runs
    # One check writes every report (it used to run three times).
    assert pr_runs.count("guardrails check") == 1
    assert '--format github --sarif guardrails.sarif --markdown "$GITHUB_STEP_SUMMARY"' in pr_runs
    checkout = next(s for s in pr["steps"] if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    uploads = [s for s in pr["steps"] if s.get("uses", "").startswith("github/codeql-action")]
    assert uploads and uploads[0]["uses"].startswith("github/codeql-action/upload-sarif@")
    assert pr["permissions"]["security-events"] == "write"
    # The base ref comes in through the environment, never pasted into the script.
    assert "${{" not in pr_runs
    apply = jobs["apply"]
    assert "push" in apply["if"] and "default_branch" in apply["if"]
    [keep] = [s for s in apply["steps"] if "upload-artifact" in s.get("uses", "")]
    assert keep["with"]["path"].endswith("/.guardrails/audit.jsonl")
    assert keep["with"]["include-hidden-files"] is True  # else the audit log is left out
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


# --- supply chain: what CI runs is exactly the code of the ref it names -----------

ACTIONS_AND_WORKFLOWS = [
    REPO / "action.yml",
    *sorted((REPO / ".github" / "workflows").glob("*.yml")),
]
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def steps_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    if "runs" in document:
        return list(document["runs"]["steps"])
    return [step for job in document["jobs"].values() for step in job.get("steps", [])]


def uses_of(document: dict[str, Any]) -> list[str]:
    """Every `uses:` of steps and of jobs that call a reusable workflow."""
    jobs = document.get("jobs", {}).values()
    return [s["uses"] for s in steps_of(document) if "uses" in s] + [
        job["uses"] for job in jobs if "uses" in job
    ]


def unpinned(path: Path) -> list[str]:
    """`uses:` references not pinned by a full commit id with the version in a comment."""
    text = path.read_text(encoding="utf-8")
    wrong = []
    for uses in uses_of(load(path)):
        if uses.startswith("./"):
            continue
        commented = re.search(re.escape(uses) + r"\s+#\s*v\d", text)
        if not PINNED.match(uses) or not commented:
            wrong.append(uses)
    return wrong


@pytest.mark.parametrize("path", ACTIONS_AND_WORKFLOWS, ids=lambda p: p.name)
def test_every_uses_is_pinned_by_full_commit_id(path: Path) -> None:
    assert uses_of(load(path)), "no uses: found: the test would prove nothing"
    assert unpinned(path) == []


def test_the_pin_check_catches_a_tag_a_branch_and_a_short_sha(tmp_path: Path) -> None:
    text = (REPO / ".github" / "workflows" / "ci.yml").read_text()
    for ref in ("v6", "main", "d23441a"):
        broken = tmp_path / "ci.yml"
        broken.write_text(text.replace("d23441a48e516b6c34aea4fa41551a30e30af803", ref, 1))
        assert unpinned(broken) == [f"actions/checkout@{ref}"]


def pip_installs(script: str) -> list[list[str]]:
    """The arguments after `install` of every pip install in a shell script."""
    joined = script.replace("\\\n", " ")
    found = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True) if "install" in line else []
        for i, word in enumerate(words):
            if word == "install" and i and ("pip" in words[i - 1] or words[i - 1].endswith("]}")):
                found.append(words[i + 1 :])
    return found


def bare_names(install: list[str]) -> list[str]:
    """Requirements installed by name from an index: anything but a lock file or a path."""
    takes_value = {"-r", "--requirement", "-c", "--constraint", "--only-binary"}
    names, skip = [], False
    for word in install:
        if skip:
            skip = False
        elif word in takes_value:
            skip = True
        elif not word.startswith(("-", "$", "/", ".")) and not word.startswith("=:"):
            names.append(word)
    locked = "--require-hashes" in install
    return names if not locked or names else []


def ci_scripts() -> dict[str, str]:
    """Every shell script the action and the workflows run, with the install script."""
    scripts = {
        f"{path.name}: {step.get('name', step.get('uses', ''))}": step["run"]
        for path in ACTIONS_AND_WORKFLOWS
        for step in steps_of(load(path))
        if "run" in step
    }
    scripts["scripts/ci-install.sh"] = (REPO / "scripts" / "ci-install.sh").read_text()
    return scripts


def test_no_step_installs_anything_by_bare_name() -> None:
    installs = {name: pip_installs(script) for name, script in ci_scripts().items()}
    assert len(installs["scripts/ci-install.sh"]) == 2
    for name, found in installs.items():
        for install in found:
            assert bare_names(install) == [], f"{name}: pip install {' '.join(install)}"
            assert "--require-hashes" in install or "--no-deps" in install, name


def test_the_bare_name_check_catches_the_old_install_step() -> None:
    old = (
        'python -m pip install --quiet "$PACKAGE"\npython -m pip install saas-guardrails[provision]'
    )
    [first, second] = pip_installs(old)
    assert bare_names(first) == [] and "--require-hashes" not in first  # unlocked
    assert bare_names(second) == ["saas-guardrails[provision]"]


def test_the_install_script_installs_the_lock_with_hashes_then_its_own_files() -> None:
    [locked, own] = pip_installs((REPO / "scripts" / "ci-install.sh").read_text())
    assert locked == [
        "--require-hashes",
        "--only-binary=:all:",
        "--no-compile",
        "-r",
        "$source_dir/requirements/ci.txt",
    ]
    assert own == ["--no-deps", "--no-build-isolation", "$source_dir"]


def test_the_action_installs_from_its_own_path() -> None:
    steps = load(REPO / "action.yml")["runs"]["steps"]
    install = next(s for s in steps if s.get("id") == "install")
    assert '"$GITHUB_ACTION_PATH/scripts/ci-install.sh"' in install["run"]
    setup = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    assert setup["with"]["update-environment"] is False  # the caller's python untouched
    run = next(s for s in steps if s.get("id") == "run")
    assert run["env"]["GUARDRAILS"] == "${{ steps.install.outputs.guardrails }}"
    assert "guardrails " not in run["run"].replace('"$GUARDRAILS" ', "")
    assert "package" not in load(REPO / "action.yml")["inputs"]


def test_the_reusable_workflow_installs_from_its_own_commit_in_every_job() -> None:
    workflow = load(REPO / ".github" / "workflows" / "guardrails.yml")
    assert workflow["permissions"] == {}
    assert "package" not in on(workflow)["workflow_call"]["inputs"]
    for name, job in workflow["jobs"].items():
        steps = job["steps"]
        names = [s.get("name", s.get("uses", "")) for s in steps]
        guard = names.index("Know the guardrails commit this workflow was called at")
        own = steps[guard + 1]
        assert own["uses"].startswith("actions/checkout@"), name
        assert own["with"] == {
            "repository": "${{ job.workflow_repository }}",
            "ref": "${{ job.workflow_sha }}",
            "path": "${{ env.GUARDRAILS_SOURCE }}",
            "persist-credentials": False,
        }, name
        install = next(i for i, s in enumerate(steps) if "ci-install.sh" in s.get("run", ""))
        assert '"$GUARDRAILS_SOURCE/scripts/ci-install.sh"' in steps[install]["run"]
        assert 'rm -rf "$GUARDRAILS_SOURCE"' in steps[install]["run"]
        first_use = min(i for i, s in enumerate(steps) if "guardrails " in s.get("run", ""))
        assert guard < install < first_use, name


def run_guard(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    job = load(REPO / ".github" / "workflows" / "guardrails.yml")["jobs"]["pull-request"]
    guard = next(s for s in job["steps"] if s.get("name", "").startswith("Know the"))
    return subprocess.run(
        ["bash", "-e", "-c", guard["run"]],
        env={"PATH": "/usr/bin:/bin", "GUARDRAILS_SOURCE": ".never-there", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_without_the_workflows_own_commit_nothing_is_checked_out_or_installed() -> None:
    # An empty job.workflow_repository would make checkout fetch the catalog itself.
    sha = "d23441a48e516b6c34aea4fa41551a30e30af803"
    assert run_guard({"WORKFLOW_REPOSITORY": "o/r", "WORKFLOW_SHA": sha}).returncode == 0
    for env in (
        {"WORKFLOW_REPOSITORY": "", "WORKFLOW_SHA": sha},
        {"WORKFLOW_REPOSITORY": "o/r", "WORKFLOW_SHA": ""},
        {"WORKFLOW_REPOSITORY": "o/r", "WORKFLOW_SHA": "main"},
    ):
        refused = run_guard(env)
        assert refused.returncode == 2 and "::error title=guardrails::" in refused.stdout


def test_checkouts_keep_no_credentials_and_every_job_names_its_permissions() -> None:
    for path in ACTIONS_AND_WORKFLOWS[1:]:
        workflow = load(path)
        assert workflow["permissions"] == {}, path.name  # nothing unless a job asks
        for name, job in workflow["jobs"].items():
            assert job["permissions"], f"{path.name}: {name}"
            for step in job["steps"]:
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False, f"{path.name}: {name}"


def test_release_builds_once_attests_and_publishes_by_trusted_publishing() -> None:
    release = load(REPO / ".github" / "workflows" / "release.yml")
    assert on(release) == {"push": {"tags": ["v*"]}}
    jobs = release["jobs"]
    build_runs = "\n".join(s.get("run", "") for s in jobs["build"]["steps"])
    assert "--require-hashes" in build_runs and "-r requirements/release.txt" in build_runs
    assert "python -m build --no-isolation" in build_runs and "twine check --strict" in build_runs
    assert build_runs.count("python -m build") == 1
    build_uses = [s.get("uses", "") for s in jobs["build"]["steps"]]
    assert any(u.startswith("actions/attest-build-provenance@") for u in build_uses)
    assert jobs["build"]["permissions"] == {
        "contents": "read",
        "id-token": "write",
        "attestations": "write",
    }
    publish = jobs["pypi"]
    assert publish["needs"] == "build" and publish["environment"]["name"] == "pypi"
    assert publish["permissions"] == {"id-token": "write"}
    [step] = [s for s in publish["steps"] if "pypi-publish" in s.get("uses", "")]
    assert "with" not in step or not {"password", "user"} & set(step["with"])  # OIDC, no token
    assert all("python -m build" not in s.get("run", "") for s in publish["steps"])
    notes = "\n".join(s.get("run", "") for s in jobs["github-release"]["steps"])
    assert "/.github/workflows/guardrails.yml@$GITHUB_SHA" in notes


def zizmor(*inputs: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "zizmor"), "--offline", *map(str, inputs)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_zizmor_reports_nothing_and_catches_the_old_findings(tmp_path: Path) -> None:
    clean = zizmor(REPO / "action.yml", REPO / ".github" / "workflows")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    old = tmp_path / ".github" / "workflows" / "ci.yml"
    old.parent.mkdir(parents=True)
    text = (REPO / ".github" / "workflows" / "ci.yml").read_text()
    old.write_text(  # as on main before: a tag, and the token left in .git/config
        text.replace("d23441a48e516b6c34aea4fa41551a30e30af803  # v6.1.0", "v4").replace(
            "          persist-credentials: false\n", ""
        )
    )
    found = zizmor(old)
    assert found.returncode != 0
    assert "unpinned-uses" in found.stdout and "artipacked" in found.stdout


def test_readme_and_templates_show_the_pinned_usage() -> None:
    readme = (REPO / "README.md").read_text()
    ci = readme[readme.index("## CI") :]
    workflow = ".github/workflows/guardrails.yml"
    assert f"uses: saas-guardrails/saas-guardrails/{workflow}@RELEASE_COMMIT_ID  # vX.Y.Z" in ci
    assert "- uses: saas-guardrails/saas-guardrails@RELEASE_COMMIT_ID  # vX.Y.Z" in ci
    template = load(REPO / "docs" / "templates" / "guardrails-workflow.yml")
    [job] = template["jobs"].values()
    assert job["uses"].endswith("/guardrails.yml@RELEASE_COMMIT_ID")
    for text in (readme, (REPO / "docs" / "catalog-setup.md").read_text()):
        for uses in re.findall(r"uses: (\S+@\S+)", text):
            assert uses.endswith("@RELEASE_COMMIT_ID") or PINNED.match(uses), uses
