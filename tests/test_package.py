"""The package ships whole: built from a tagged clone, installed outside the repository.

Each test works on a clone of the committed repository tagged `v9.8.7`:
- `python -m build` (no isolation: the build tools are the test extra's) gives an
  sdist and a wheel named for the tag, holding the policies, their data, the schemas
  and the templates; `twine check --strict` accepts both;
- the wheel, installed into a fresh virtual environment with the dependencies of the
  hash-locked requirements/ci.txt, runs `check`, `new`, `explain` and `policy test` on
  a catalog outside the repository;
- `scripts/ci-install.sh` (what the action and the reusable workflow run) installs
  from a `git archive` of the tag, as GitHub's tarball of the action is, and gets the
  version from .git_archival.txt.

The wheels that requirements/ci.txt pins are downloaded once from the package index
(CI reaches it, as `make test` itself does), hash-checked, and both installs take
them from there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, REPO

TAG, VERSION = "v9.8.7", "9.8.7"
SHIPPED = {"policies": "policies", "schemas": "schemas", "templates": "docs/templates"}
ORG_RULE = """package guardrails.policies.org

import rego.v1

violation contains v if {
\tsome name, m in input.manifests
\tm.spec.cost.annual > 0
\tnot m.metadata.cost_center
\tv := {"rule": "ORG-COST-CENTER", "manifest": name,
\t      "path": ["metadata", "cost_center"], "message": "paid tools need a cost centre"}
}
"""
ORG_DATA = """rules:
  ORG-COST-CENTER:
    title: Paid tools name a cost centre
    category: cost
    severity: medium
    level: soft-mandatory
    rationale: Finance books every licence to a cost centre.
    remediation: Set metadata.cost_center.
"""
ORG_TEST = """package guardrails.policies.org_test

import rego.v1

test_paid_tool_without_cost_centre if {
\tsome v in data.guardrails.policies.org.violation with input as {"manifests": {
\t\t"crm": {"metadata": {"name": "crm"}, "spec": {"cost": {"annual": 100}}}}}
\tv.rule == "ORG-COST-CENTER"
}
"""


def run(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of the committed repository with the release tag on HEAD."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout (an unpacked sdist): no commit to tag and build")
    clone = tmp_path_factory.mktemp("release") / "saas-guardrails"
    ok(run("git", "clone", "--quiet", "--no-hardlinks", REPO, clone, cwd=REPO))
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    ok(run("git", *identity, "tag", "-a", TAG, "-m", TAG, cwd=clone))
    return clone


@pytest.fixture(scope="module")
def dist(tagged: Path) -> Path:
    out = tagged.parent / "dist"
    ok(run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, tagged, cwd=tagged))
    return out


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """pip settings that install from the wheels of requirements/ci.txt, fetched once."""
    wheels = tmp_path_factory.mktemp("wheelhouse")
    lock = REPO / "requirements" / "ci.txt"
    download = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
    ok(
        run(
            *download,
            "--require-hashes",
            "--only-binary=:all:",
            "-r",
            lock,
            "-d",
            wheels,
            cwd=wheels,
        )
    )
    return {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels)}


def tracked(clone: Path, folder: str) -> set[str]:
    listed = ok(run("git", "ls-files", folder, cwd=clone))
    return {line.removeprefix(folder + "/") for line in listed.splitlines()}


def test_sdist_and_wheel_are_named_for_the_tag_and_pass_twine_check(dist: Path) -> None:
    names = sorted(p.name for p in dist.iterdir())
    assert names == [
        f"saas_guardrails-{VERSION}-py3-none-any.whl",
        f"saas_guardrails-{VERSION}.tar.gz",
    ]
    checked = ok(run(sys.executable, "-m", "twine", "check", "--strict", *dist.iterdir(), cwd=dist))
    assert checked.count("PASSED") == 2


def test_wheel_and_sdist_hold_policies_data_schemas_and_templates(dist: Path, tagged: Path) -> None:
    with zipfile.ZipFile(dist / f"saas_guardrails-{VERSION}-py3-none-any.whl") as wheel:
        in_wheel = set(wheel.namelist())
    with tarfile.open(dist / f"saas_guardrails-{VERSION}.tar.gz") as sdist:
        in_sdist = set(sdist.getnames())
    for shipped, folder in SHIPPED.items():
        files = tracked(tagged, folder)
        assert files, folder
        assert {f"guardrails/_shipped/{shipped}/{f}" for f in files} <= in_wheel, shipped
        assert {f"saas_guardrails-{VERSION}/{folder}/{f}" for f in files} <= in_sdist, folder
    assert any(name.startswith("guardrails/_shipped/policies/data/") for name in in_wheel)
    assert f"saas_guardrails-{VERSION}.dist-info/licenses/LICENSE" in in_wheel


def fresh_venv(where: Path, offline: dict[str, str]) -> Path:
    """A new virtual environment with only the hash-locked dependencies of CI installs."""
    ok(run(sys.executable, "-m", "venv", where, cwd=where.parent))
    pip = [where / "bin" / "python", "-m", "pip", "--disable-pip-version-check", "--quiet"]
    lock = REPO / "requirements" / "ci.txt"
    ok(
        run(
            *pip,
            "install",
            "--require-hashes",
            "--only-binary=:all:",
            "--no-compile",
            "-r",
            lock,
            cwd=where,
            env=offline,
        )
    )
    return where / "bin"


def outside_catalog(where: Path) -> Path:
    """The examples catalog, copied outside the repository, with an org rule and its test."""
    catalog = where / "catalog"
    shutil.copytree(EXAMPLES, catalog, ignore=shutil.ignore_patterns("bad"))
    (catalog / "policies").mkdir(exist_ok=True)
    (catalog / "policies" / "org.rego").write_text(ORG_RULE)
    (catalog / "policies" / "org_test.rego").write_text(ORG_TEST)
    (catalog / "policies" / "data").mkdir(exist_ok=True)
    (catalog / "policies" / "data" / "org.yaml").write_text(ORG_DATA)
    return catalog


def exercise(bin_dir: Path, catalog: Path) -> None:
    """check, new, explain and policy test, as a user would, from the catalog's root."""
    guardrails = bin_dir / "guardrails"
    where = ok(
        run(
            bin_dir / "python",
            "-c",
            "import guardrails.shipped as s; print(s.shipped_dir('policies'))",
            cwd=catalog,
        )
    ).strip()
    assert Path(where).is_relative_to(bin_dir.parent) and Path(where).name == "policies"
    assert not Path(where).is_relative_to(REPO)

    passed = run(guardrails, "check", "--now", "2026-11-22", cwd=catalog)
    assert passed.returncode == 1, passed.stdout + passed.stderr  # the org rule fires
    assert "ORG-COST-CENTER" in passed.stdout and "Traceback" not in passed.stderr
    (catalog / "policies" / "org.rego").unlink()
    (catalog / "policies" / "org_test.rego").rename(catalog / "org_test.rego.keep")
    passed = run(guardrails, "check", "--now", "2026-11-22", cwd=catalog)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert (
        "8 manifests: 7 passed, 0 failed, 0 warned, 1 excepted; 1 excepted finding — ok"
        in passed.stdout
    )

    shutil.copy(EXAMPLES / "bad" / "manifests" / "sso-none.yaml", catalog / "manifests")
    blocked = run(
        guardrails, "check", "manifests/sso-none.yaml", "--now", "2026-11-22", cwd=catalog
    )
    assert blocked.returncode == 1
    assert "manifests/sso-none.yaml:23:10: error: SEC-SSO-REQUIRED" in blocked.stdout

    ok(run(guardrails, "new", "webinar-tool", cwd=catalog))
    skeleton = catalog / "manifests" / "webinar-tool.yaml"
    assert skeleton.read_text().startswith("# yaml-language-server: $schema=")
    unfilled = run(guardrails, "check", skeleton, "--now", "2026-11-22", cwd=catalog)
    assert unfilled.returncode == 1 and "webinar-tool.yaml:" in unfilled.stdout

    explained = ok(run(guardrails, "explain", "SEC-SSO-REQUIRED", cwd=catalog))
    assert "SEC-SSO-REQUIRED" in explained and "saml" in explained

    (catalog / "policies" / "org.rego").write_text(ORG_RULE)
    (catalog / "org_test.rego.keep").rename(catalog / "policies" / "org_test.rego")
    org = ok(run(guardrails, "policy", "test", cwd=catalog))
    assert org.strip().endswith("1 passed, 0 failed"), org
    library = ok(run(guardrails, "policy", "test", where, cwd=catalog))
    assert library.strip().endswith(" passed, 0 failed") and int(library.split()[-4]) >= 90


def test_the_wheel_works_in_a_fresh_venv_outside_the_repository(
    dist: Path, offline: dict[str, str], tmp_path: Path
) -> None:
    bin_dir = fresh_venv(tmp_path / "venv", offline)
    wheel = dist / f"saas_guardrails-{VERSION}-py3-none-any.whl"
    pip = [bin_dir / "python", "-m", "pip", "--disable-pip-version-check", "--quiet"]
    ok(run(*pip, "install", "--no-deps", wheel, cwd=tmp_path))
    ok(run(*pip, "check", cwd=tmp_path))  # the lock holds every dependency the wheel declares
    assert ok(run(bin_dir / "guardrails", "--version", cwd=tmp_path)).split()[-1] == VERSION
    exercise(bin_dir, outside_catalog(tmp_path))


def test_the_ci_install_script_installs_a_git_archive_of_the_tag(
    tagged: Path, offline: dict[str, str], tmp_path: Path
) -> None:
    # GitHub hands the action to the runner as a tarball made by `git archive`: no .git.
    archive = tmp_path / "action"
    archive.mkdir()
    export = f'git archive --format=tar {TAG} | tar -x -C "$1"'
    ok(run("bash", "-o", "pipefail", "-c", export, "-", archive, cwd=tagged))
    assert not (archive / ".git").exists()
    assert "$Format" not in (archive / ".git_archival.txt").read_text()
    done = run(
        "bash",
        archive / "scripts" / "ci-install.sh",
        tmp_path / "venv",
        cwd=tmp_path,
        env={"PYTHON": sys.executable, **offline},
    )
    command = Path(ok(done).strip())
    assert command == tmp_path / "venv" / "bin" / "guardrails"
    assert f"guardrails, version {VERSION}" in done.stderr
    exercise(command.parent, outside_catalog(tmp_path))


def pinned(lock: Path) -> dict[str, str]:
    """name -> version of every requirement a lock file pins for this interpreter."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith((" ", "#")):
            requirement = Requirement(line.rstrip(" \\"))
            if requirement.marker is None or requirement.marker.evaluate():
                [spec] = requirement.specifier
                assert spec.operator == "==", line
                pins[canonicalize_name(requirement.name)] = spec.version
    return pins


def needs(*groups: str) -> list[str]:
    """The requirements pyproject.toml declares: dependencies, build-system, extras."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    found = list(project["build-system"]["requires"]) + project["project"]["dependencies"]
    for group in groups:
        found += project["project"]["optional-dependencies"][group]
    return found


@pytest.mark.parametrize(
    ("lock", "groups"),
    [("ci.txt", ("provision",)), ("test.txt", ("test", "provision", "sandbox", "opa"))],
)
def test_each_lock_pins_what_pyproject_asks_for(lock: str, groups: tuple[str, ...]) -> None:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = pinned(REPO / "requirements" / lock)
    for text in needs(*groups):
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        if name == "saas-guardrails" or (requirement.marker and not requirement.marker.evaluate()):
            continue
        assert name in pins, f"requirements/{lock} lacks {name}: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements/{lock} pins {name}=={pins[name]}, pyproject asks {text}: run `make lock`"
        )
    release = pinned(REPO / "requirements" / "release.txt")
    assert {"build", "twine", "hatchling", "hatch-vcs"} <= set(release)
