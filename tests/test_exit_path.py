"""The real program's exit path: `python -m guardrails` in a subprocess, not CliRunner.

`cli.entry` flushes what a command wrote and leaves with its exit code; these tests
hold it to what a CI job sees: 0/1/2 as documented, every byte of a large report on
stdout (to a file, through a pipe), report files complete, and a reader that went
away (a closed pipe) never turning into a pass.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.corpus import generate
from tests.conftest import EXAMPLES, NOW, guardrails

ENVIRONMENT = {k: v for k, v in os.environ.items() if not k.startswith("GUARDRAILS_")}


def program(*args: str | Path, stdout: int = subprocess.PIPE) -> subprocess.Popen[bytes]:
    """`guardrails ARGS` as a shell runs it (stderr captured)."""
    return subprocess.Popen(
        [sys.executable, "-m", "guardrails", *map(str, args)],
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=ENVIRONMENT,
    )


def finish(process: subprocess.Popen[bytes]) -> tuple[int, bytes, str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, out or b"", err.decode()


@pytest.fixture(scope="module")
def big_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,500 manifests, about one in ten breaking a rule: a report of some 100 kB (more
    than a pipe holds), judged in parts on every core (from 1,000 manifests)."""
    return generate(tmp_path_factory.mktemp("exit") / "catalog", 1500)


@pytest.mark.parametrize(
    ("catalog", "code"), [(EXAMPLES, 0), (EXAMPLES / "bad", 1)], ids=["passes", "blocks"]
)
def test_exit_code_and_report_match_the_in_process_command(catalog: Path, code: int) -> None:
    args = ("check", catalog, "--now", NOW, "--no-cache", "-f", "json")
    returncode, out, err = finish(program(*args))
    assert (returncode, err) == (code, "")
    assert json.loads(out) == guardrails(*args).json()


def test_could_not_run_is_exit_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "manifests").mkdir()
    (tmp_path / "guardrails.yaml").write_text("manifests: [oops\n")
    returncode, out, err = finish(program("check", tmp_path, "--now", NOW))
    assert (returncode, out) == (2, b"")
    [line] = err.splitlines()
    assert line.startswith("guardrails: error: ") and "guardrails.yaml:" in line


def test_a_large_report_and_every_report_file_are_complete(
    big_catalog: Path, tmp_path: Path
) -> None:
    sarif, markdown, junit = tmp_path / "r.sarif", tmp_path / "r.md", tmp_path / "r.xml"
    stdout = tmp_path / "stdout.json"
    with stdout.open("wb") as sink:
        process = program(
            "check", big_catalog, "--now", NOW, "--no-cache", "-f", "json",
            "--sarif", sarif, "--markdown", markdown, "--junit", junit, stdout=sink.fileno(),
        )  # fmt: skip
        returncode, _, err = finish(process)
    assert (returncode, err) == (1, "")
    findings = json.loads(stdout.read_text("utf-8"))["findings"]
    assert len(findings) > 100
    results = json.loads(sarif.read_text("utf-8"))["runs"][0]["results"]
    assert len(results) == len(findings)
    assert markdown.read_text("utf-8").endswith(
        "`guardrails explain RULE` for why each rule exists.\n"
    )
    from xml.etree import ElementTree

    assert ElementTree.parse(junit).getroot().tag == "testsuites"
    # Through a pipe, read to the end: the same bytes.
    returncode, piped, _ = finish(program("check", big_catalog, "--now", NOW, "-f", "json"))
    assert returncode == 1 and json.loads(piped)["findings"] == findings


def test_a_reader_that_went_away_is_never_a_pass(big_catalog: Path) -> None:
    for catalog in (EXAMPLES, big_catalog):  # nothing blocks in EXAMPLES: 0 unless unread
        read, write = os.pipe()
        os.close(read)  # the reader is gone before the first byte
        try:
            process = program("check", catalog, "--now", NOW, "--no-cache", stdout=write)
        finally:
            os.close(write)
        returncode, _, err = finish(process)
        assert returncode == 2, err
        assert "Traceback" not in err and "Exception ignored" not in err


def test_a_reader_that_stops_early_is_never_a_pass(big_catalog: Path) -> None:
    process = program("check", big_catalog, "--now", NOW, "--no-cache")
    assert process.stdout is not None
    process.stdout.readline()  # like `| head -1`
    process.stdout.close()
    _, err = process.communicate(timeout=300)
    assert process.returncode == 2, err
    assert b"Traceback" not in err and b"Exception ignored" not in err
