"""A pull request as CI sees it: a bare `origin`, a clone on the PR branch, the CI command.

`PullRequest.ci()` runs exactly the command the README tells CI to run (read from the
README itself), with `BASE_SHA` set as GitHub sets it, from the clone's root. Every
scenario also checks that nothing outside the catalog changed: `Outside` snapshots
every file around the clone (the bare origin, files a link points at, the planted
targets of cache links) and compares them byte for byte.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.ci.conftest import GIT_ENV, commit_all, git
from tests.conftest import EXAMPLES, NOW, REPO

BIN = Path(sys.executable).parent
BAD = EXAMPLES / "bad" / "manifests"


def readme_ci_step() -> tuple[str, dict[str, str]]:
    """The `run:` command and `env:` of the CI step the README documents."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## CI\n", 1)[1].split("\n## ", 1)[0]
    found = []
    for block in re.findall(r"```yaml\n(.*?)```", section, re.S):
        steps = yaml.safe_load(block)
        if isinstance(steps, list):
            found += [s for s in steps if "guardrails check" in s.get("run", "")]
    assert len(found) == 1, "the README's CI section shows one step running guardrails check"
    return found[0]["run"], found[0].get("env", {})


@dataclass(frozen=True)
class Ran:
    """What CI saw."""

    code: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class PullRequest:
    """A clone of `origin` on branch `pr`, base `origin/main`."""

    root: Path
    """The clone (the catalog root, the working directory in CI)."""
    user_cache: Path
    """XDG_CACHE_HOME for the runs (guardrails keeps its per-user key there)."""

    @property
    def base_sha(self) -> str:
        """What `github.event.pull_request.base.sha` is."""
        return git(self.root, "rev-parse", "refs/remotes/origin/main").strip()

    def commit(self, message: str = "PR") -> None:
        """Commit everything in the clone."""
        commit_all(self.root, message)

    def run(self, command: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Ran:
        """`command` in bash from the clone's root (or `cwd`), as a CI runner would."""
        full_env = {
            **os.environ,
            **GIT_ENV,
            "HOME": str(self.root.parent),
            "XDG_CACHE_HOME": str(self.user_cache),
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
            **(env or {}),
        }
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=cwd or self.root,
            env=full_env,
            capture_output=True,
            check=False,
            timeout=120,
        )
        out = done.stdout.decode("utf-8", "replace")
        err = done.stderr.decode("utf-8", "replace")
        assert "Traceback" not in out + err and "internal error" not in err, err
        return Ran(done.returncode, out, err)

    def ci(self, *extra: str) -> Ran:
        """The README's CI command (plus `--now` and any `extra` flags)."""
        command, env = readme_ci_step()
        assert command.startswith("guardrails check ")
        values = {"BASE_SHA": self.base_sha}
        assert set(env) == set(values), env
        flags = " ".join(("--now", NOW, *extra))
        return self.run(f"{command} {flags}", values)

    def guardrails(self, *args: str, cwd: Path | None = None) -> Ran:
        """`guardrails ARGS` from the clone's root (or `cwd`)."""
        quoted = " ".join(_quote(a) for a in args)
        return self.run(f"guardrails {quoted} --now {NOW}", cwd=cwd)


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"


class Outside:
    """Every file under a folder except the catalog clone: bytes, then compared."""

    def __init__(self, top: Path, catalog: Path, user_cache: Path) -> None:
        self.top, self.catalog, self.user_cache = top, catalog, user_cache
        self.before = self.snapshot()

    def again(self) -> None:
        """Take the snapshot anew (after the scenario itself pushed to origin)."""
        self.before = self.snapshot()

    def snapshot(self) -> dict[str, bytes | str]:
        """{path: bytes, or the target of a link} of everything outside the catalog."""
        found: dict[str, bytes | str] = {}
        for folder, dirs, files in os.walk(self.top):
            here = Path(folder)
            if here == self.catalog or here == self.user_cache:
                dirs[:] = []
                continue
            for name in files + [d for d in dirs if (here / d).is_symlink()]:
                path = here / name
                if path.is_symlink():
                    found[str(path)] = f"-> {os.readlink(path)}"
                elif path.is_file():
                    found[str(path)] = path.read_bytes()
        return found

    def assert_unchanged(self) -> None:
        """Byte-identical, nothing added, nothing removed."""
        after = self.snapshot()
        assert after.keys() == self.before.keys()
        for path, content in self.before.items():
            assert after[path] == content, f"{path} changed"


@pytest.fixture
def pr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PullRequest:
    """The compliant examples catalog on origin's `main`; a clone on branch `pr`."""
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    work = tmp_path / "it"
    shutil.copytree(EXAMPLES, work, ignore=shutil.ignore_patterns("bad", ".guardrails-cache"))
    git(work, "init", "-q", "-b", "main")
    commit_all(work, "catalog")
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(work), str(tmp_path / "origin.git")],
        check=True,
        env={**os.environ, **GIT_ENV},
    )
    shutil.rmtree(work)
    clone = tmp_path / "catalog"
    subprocess.run(
        ["git", "clone", "-q", str(tmp_path / "origin.git"), str(clone)],
        check=True,
        env={**os.environ, **GIT_ENV},
    )
    git(clone, "checkout", "-q", "-b", "pr")
    (tmp_path / "outside").mkdir()
    return PullRequest(clone, tmp_path / "user-cache")


@pytest.fixture
def outside(pr: PullRequest) -> Outside:
    """The files around the catalog, as they were before the check."""
    victim = pr.root.parent / "outside"
    (victim / "victim.txt").write_text("keep me\n", encoding="utf-8")
    (victim / "leak.yaml").write_text(
        "AKIAIOSFODNN7EXAMPLE: leaked\nghp_abcdefghijklmnopqrstuvwxyz0123456789: x\n",
        encoding="utf-8",
    )
    return Outside(pr.root.parent, pr.root, pr.user_cache)
