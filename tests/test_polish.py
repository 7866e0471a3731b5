"""What a user notices first: colour they can turn off, and a summary line that tells the truth."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, NOW, REPO, guardrails

ANSI = "\x1b["


def on_a_terminal(*args: str, env: dict[str, str] | None = None) -> str:
    """Run `guardrails ARGS` with its stdout on a pseudo-terminal; return what it printed."""
    environment = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    environment.update(env or {})
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "guardrails", *args],
        stdout=follower,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=environment,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the program has exited
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=120) in (0, 1)
    return b"".join(chunks).decode("utf-8", "replace")


BAD_CHECK = ("check", "examples/bad", "--now", NOW)


def test_a_terminal_gets_colour_unless_no_color_is_set() -> None:
    assert ANSI in on_a_terminal(*BAD_CHECK)
    assert ANSI not in on_a_terminal(*BAD_CHECK, env={"NO_COLOR": "1"})


def test_no_color_flag_wins_on_a_terminal_and_color_flag_anywhere() -> None:
    assert ANSI not in on_a_terminal(*BAD_CHECK, "--no-color")
    assert ANSI in on_a_terminal(*BAD_CHECK, "--color", env={"NO_COLOR": "1"})
    piped = guardrails(*BAD_CHECK, "--color")  # not a terminal, but asked for
    assert ANSI in piped.stdout
    assert ANSI not in guardrails(*BAD_CHECK).stdout


def test_colour_never_reaches_machine_formats() -> None:
    for fmt in ("json", "sarif", "junit", "github", "markdown"):
        assert ANSI not in guardrails(*BAD_CHECK, "--color", "-f", fmt).stdout


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def summary(run_stdout: str) -> str:
    return run_stdout.rstrip("\n").splitlines()[-1]


def test_a_warning_on_a_failed_manifest_is_counted(catalog: Path) -> None:
    hubspot = catalog / "manifests" / "hubspot.yaml"
    text = hubspot.read_text()
    text = text.replace("sso: saml", "sso: none")  # an error ...
    text = text.replace("expires: 2027-09-30", "expires: 2026-12-01")  # ... and a warning
    hubspot.write_text(text)
    run = guardrails("check", hubspot, "-C", catalog, "--now", NOW)
    assert run.exit_code == 1
    assert "warning: SEC-CERT-EXPIRING" in run.stdout
    line = summary(run.stdout)
    assert line.startswith("1 manifest: 0 passed, 1 failed, 0 warned, 0 excepted; ")
    assert "1 error, 1 warning — blocked" in line


def test_an_error_in_an_exception_file_is_not_hidden_behind_passed_manifests(
    catalog: Path,
) -> None:
    waiver = catalog / "exceptions" / "canva-scim-waiver.yaml"
    waiver.write_text(waiver.read_text().replace("expires: 2027-03-31", "expires: 2026-01-31"))
    run = guardrails("check", catalog, "--now", NOW)
    assert run.exit_code == 1
    line = summary(run.stdout)
    # canva fails (its waiver no longer holds); the expired waiver is an error of its own
    assert line.endswith("2 errors, 1 finding in exception files — blocked"), line
    markdown = guardrails("check", catalog, "--now", NOW, "-f", "markdown").stdout
    assert "2 errors, 1 finding in exception files." in markdown


def test_a_clean_catalog_says_so() -> None:
    run = guardrails("check", EXAMPLES, "--now", NOW)
    assert summary(run.stdout) == (
        "8 manifests: 7 passed, 0 failed, 0 warned, 1 excepted; 1 excepted finding — ok"
    )
