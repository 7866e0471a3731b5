"""The command line itself: fast help, exit codes, clear errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, NOW, REPO, guardrails

HEAVY = ("boto3", "botocore", "regorus", "regopy", "jsonschema", "opa_client", "scim2_client")


def test_help_imports_no_engine_and_no_cloud_sdk() -> None:
    probe = (
        "import sys\n"
        "from guardrails.cli import main\n"
        "try:\n"
        "    main(['--help'], prog_name='guardrails')\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert "Usage: guardrails" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_python_dash_m_runs_the_same_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "guardrails", "check", "examples", "--now", NOW],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "failed" in result.stdout.splitlines()[-1]


def test_bad_flag_exits_2() -> None:
    run = guardrails("check", EXAMPLES, "--format", "yaml")
    assert run.exit_code == 2
    assert "Invalid value for '-f' / '--format'" in run.stderr


def test_unknown_engine_exits_2() -> None:
    assert guardrails("check", EXAMPLES, "--engine", "nope").exit_code == 2


def test_unreadable_config_exits_2_with_file_line_column(tmp_path: Path) -> None:
    (tmp_path / "manifests").mkdir()
    (tmp_path / "guardrails.yaml").write_text("manifests: tools\nmanifest: typo\n")
    run = guardrails("check", tmp_path, "--now", NOW)
    assert run.exit_code == 2
    assert run.stderr.startswith("guardrails: error: ")
    assert "guardrails.yaml:2:1:" in run.stderr
    assert "Traceback" not in run.stderr


def test_broken_policy_exits_2_never_passes(tmp_path: Path) -> None:
    (tmp_path / "manifests").mkdir()
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "broken.rego").write_text("package guardrails.policies.x\nthis is {")
    run = guardrails("check", tmp_path, "--now", NOW)
    assert run.exit_code == 2
    assert "broken.rego" in run.stderr


def test_output_file_gets_the_report(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    run = guardrails("check", EXAMPLES, "--now", NOW, "--format", "json", "--output", out)
    assert run.exit_code == 0
    assert run.stdout == ""
    assert '"version": 1' in out.read_text()


def test_fail_on_warn_turns_warnings_into_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    bad = EXAMPLES / "bad"
    warned = (bad / "manifests" / "standard-tool.yaml").relative_to(REPO)
    args = ("check", warned, "--catalog", bad, "--now", NOW)
    assert guardrails(*args).exit_code == 0
    assert guardrails(*args, "--fail-on-warn").exit_code == 1


def test_a_reader_that_goes_away_is_no_internal_error() -> None:
    # `guardrails explain --list | head -1`: the pipe closes before guardrails writes.
    process = subprocess.Popen(
        [sys.executable, "-m", "guardrails", "explain", "--list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait() == 2
    assert "internal error" not in stderr
    assert "Traceback" not in stderr


def test_a_closed_stderr_does_not_change_the_verdict(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(EXAMPLES, catalog, ignore=shutil.ignore_patterns("bad"))
    command = [sys.executable, "-m", "guardrails", "check", str(catalog), "--now", NOW]
    # `guardrails check ... 2>&-`
    closed = subprocess.run(command, stdout=subprocess.DEVNULL, preexec_fn=lambda: os.close(2))
    assert closed.returncode == 0


@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_a_report_cut_short_never_passes(tmp_path: Path, unbuffered: str) -> None:
    """The reader goes away after a few bytes of a report larger than a pipe holds:
    exit 2, whether Python buffers stdout or not (PYTHONUNBUFFERED, as CI sets)."""
    from bench.corpus import generate

    catalog = generate(tmp_path / "corpus", 600, seed=5)
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        environment["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "guardrails", "check", str(catalog), "--now", NOW, "-f", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.read(10)
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait() == 2, stderr
    assert "Traceback" not in stderr
