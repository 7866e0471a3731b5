"""`GUARDRAILS_LOG=debug`: which path a check took and why, on stderr only.

Default output is unchanged; a value that is not a level is ignored with one
warning; an error's causes reach the debug log, never the one-line message; and
no environment value that may be a credential appears in a log line.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from guardrails.catalog import cache as catalog_cache
from guardrails.log import configure, redact
from tests.conftest import NOW, guardrails


@pytest.fixture(autouse=True)
def _own_cache_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    monkeypatch.setattr(catalog_cache, "RACY_NS", -60_000_000_000)  # trust fresh stamps
    yield
    configure({})  # the next test starts quiet, as a new process does


def debug_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("guardrails: debug: ")]


def test_a_cold_then_a_warm_check_say_why_the_cache_missed_and_hit(
    catalog: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.rmtree(catalog / catalog_cache.FOLDER, ignore_errors=True)  # one the suite left
    monkeypatch.setenv("GUARDRAILS_LOG", "debug")
    cold = guardrails("check", catalog, "--now", NOW)
    assert cold.exit_code == 0, cold.stderr
    logged = "\n".join(debug_lines(cold.stderr))
    assert "cache empty: no " in logged
    assert "--engine auto: regorus, the first installed of regorus, regopy" in logged
    assert "verdict cache: 0 of 8 manifests' verdicts reused, 8 judged (content new: 8" in logged
    assert "8 manifest files: 0 unchanged since the last check (not read)" in logged

    warm = guardrails("check", catalog, "--now", NOW)
    logged = "\n".join(debug_lines(warm.stderr))
    assert "8 manifest files: 8 unchanged since the last check (not read)" in logged
    assert "verdict cache: 8 of 8 manifests' verdicts reused, 0 judged" in logged
    assert warm.stdout == cold.stdout

    # A neighbour changes: the manifest naming it is judged again, and the log says why.
    salesforce = catalog / "manifests" / "salesforce.yaml"
    salesforce.write_text(salesforce.read_text().replace("purpose: ", "purpose: (new) ", 1))
    edited = "\n".join(debug_lines(guardrails("check", catalog, "--now", NOW).stderr))
    assert "6 of 8 manifests' verdicts reused, 2 judged (content new: 1" in edited
    assert "named tools changed: 1" in edited

    # Another date is another context: every kept verdict is set aside, and said so.
    later = "\n".join(debug_lines(guardrails("check", catalog, "--now", "2026-12-01").stderr))
    assert "verdicts were kept under another context" in later


def test_the_paths_not_taken_are_logged_too(catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARDRAILS_LOG", "DEBUG")  # any case
    logged = "\n".join(debug_lines(guardrails("check", catalog, "--now", NOW, "--no-cache").stderr))
    assert "no verdict cache: no cache (--no-cache" in logged
    assert "judging 8 manifests in 1 part(s) here, no second core" in logged
    (catalog / "policies" / "org.rego").write_text(
        "package guardrails.policies.org\n\nimport rego.v1\n\nviolation := set()\n"
    )
    logged = "\n".join(debug_lines(guardrails("check", catalog, "--now", NOW).stderr))
    assert "the whole catalog in one engine call, no verdict cache: " in logged
    assert "policies/org.rego is not a file of the shipped library as shipped" in logged


def test_default_output_is_unchanged(catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    quiet = guardrails("check", catalog, "--now", NOW, "--no-cache")
    assert quiet.stderr == ""
    monkeypatch.setenv("GUARDRAILS_LOG", "debug")
    loud = guardrails("check", catalog, "--now", NOW, "--no-cache")
    assert (loud.exit_code, loud.stdout) == (quiet.exit_code, quiet.stdout)
    assert loud.stderr and all(
        line.startswith("guardrails: debug: ") for line in loud.stderr.splitlines()
    )
    monkeypatch.setenv("GUARDRAILS_LOG", "warning")
    assert guardrails("check", catalog, "--now", NOW, "--no-cache").stderr == ""


def test_a_value_that_is_not_a_level_is_ignored_with_one_warning(
    catalog: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    quiet = guardrails("check", catalog, "--now", NOW, "--no-cache")
    monkeypatch.setenv("GUARDRAILS_LOG", "verbose")
    first = guardrails("check", catalog, "--now", NOW, "--no-cache")
    assert (first.exit_code, first.stdout) == (quiet.exit_code, quiet.stdout)
    assert first.stderr == (
        "guardrails: warning: GUARDRAILS_LOG='verbose' is not a level "
        "(debug, info, warning, error): ignored\n"
    )
    # Once per process: a long-running caller is not told again on every command.
    assert guardrails("check", catalog, "--now", NOW, "--no-cache").stderr == ""


def test_an_errors_causes_reach_the_debug_log_only(
    catalog: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (catalog / "guardrails.yaml").write_text("manifests: [not, a, folder\n")
    quiet = guardrails("check", catalog, "--now", NOW)
    assert quiet.exit_code == 2
    [message] = quiet.stderr.splitlines()
    assert message.startswith("guardrails: error: ")
    monkeypatch.setenv("GUARDRAILS_LOG", "debug")
    loud = guardrails("check", catalog, "--now", NOW)
    assert (loud.exit_code, loud.stderr.splitlines()[-1]) == (2, message)
    assert "The above exception was the direct cause of the following exception" in loud.stderr
    assert "LoadError" in loud.stderr  # the parser's own error, which the message rephrases


def test_no_credential_from_the_environment_reaches_a_log_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HUBSPOT_SCIM", "hs-7f3a9c1e5b")  # a token_env under any name
    monkeypatch.setenv("GUARDRAILS_LOG", "debug")
    configure()
    try:
        raise ValueError("Authorization: Bearer hs-7f3a9c1e5b refused")
    except ValueError as err:
        logging.getLogger("guardrails.test").debug("sent %s", "hs-7f3a9c1e5b", exc_info=err)
    logged = capsys.readouterr()
    assert logged.out == ""
    assert "hs-7f3a9c1e5b" not in logged.err
    assert "guardrails: debug: guardrails.test: sent <redacted>" in logged.err
    assert "Bearer <redacted> refused" in logged.err
    assert redact(f"{tmp_path}", {"HOME": str(tmp_path)}) == str(tmp_path)  # public: shown


def test_the_real_program_logs_to_stderr_only(catalog: Path, tmp_path: Path) -> None:
    shutil.rmtree(catalog / catalog_cache.FOLDER, ignore_errors=True)
    import os
    import subprocess
    import sys

    environment = {**os.environ, "GUARDRAILS_LOG": "debug", "XDG_CACHE_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "guardrails", "check", catalog, "--now", NOW, "-f", "json"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("{") and "guardrails: debug" not in done.stdout
    assert "verdict cache: 0 of 8 manifests' verdicts reused" in done.stderr


def test_a_check_from_another_folder_reuses_the_verdicts(
    catalog: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The verdict cache's context is the policies' text, not the names the working
    directory gives them: the same catalog checked from its parent and from inside it
    reuses every verdict (from `/` the shipped policies are named by a relative path,
    from deep inside the catalog by their absolute one)."""
    shutil.rmtree(catalog / catalog_cache.FOLDER, ignore_errors=True)
    monkeypatch.setenv("GUARDRAILS_LOG", "debug")
    monkeypatch.chdir("/")
    outside = guardrails("check", catalog, "--now", NOW)
    assert outside.exit_code == 0, outside.stderr
    monkeypatch.chdir(catalog / "manifests")
    inside = guardrails("check", "--now", NOW)
    logged = "\n".join(debug_lines(inside.stderr))
    assert "verdicts were kept under another context" not in logged
    assert "verdict cache: 8 of 8 manifests' verdicts reused, 0 judged" in logged
