"""One `guardrails check` writes every report CI wants: `--format github --sarif FILE
--markdown FILE` gives exactly what three separate checks would, from one run."""

from __future__ import annotations

from pathlib import Path

import pytest

from guardrails.report import FORMATS
from tests.conftest import EXAMPLES, NOW, REPO, guardrails


@pytest.fixture(autouse=True)
def at_repository_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("GUARDRAILS_LINK_BASE", raising=False)


def single(catalog: str, fmt: str) -> tuple[int, str]:
    run = guardrails("check", catalog, "--now", NOW, "--format", fmt)
    return run.exit_code, run.stdout


@pytest.mark.parametrize(("catalog", "code"), [("examples", 0), ("examples/bad", 1)])
def test_one_check_writes_every_format_as_separate_checks_would(
    tmp_path: Path, catalog: str, code: int
) -> None:
    others = [name for name in FORMATS if name != "github"]
    files = {name: tmp_path / f"report.{name}" for name in others}
    options = [arg for name in others for arg in (f"--{name}", str(files[name]))]
    run = guardrails("check", catalog, "--now", NOW, "--format", "github", *options)
    assert run.exit_code == code, run.stderr
    assert (run.exit_code, run.stdout) == single(catalog, "github")
    for name in others:
        assert files[name].read_text(encoding="utf-8") == single(catalog, name)[1], name


def test_output_and_report_files_together(tmp_path: Path) -> None:
    # --output takes the main format; --sarif adds another file; stdout stays empty.
    out, sarif = tmp_path / "report.json", tmp_path / "report.sarif"
    run = guardrails(
        "check", "examples/bad", "--now", NOW, "-f", "json", "-o", out, "--sarif", sarif
    )
    assert run.exit_code == 1 and run.stdout == ""
    assert out.read_text(encoding="utf-8") == single("examples/bad", "json")[1]
    assert sarif.read_text(encoding="utf-8") == single("examples/bad", "sarif")[1]


def test_two_reports_into_one_file_is_refused_before_checking(tmp_path: Path) -> None:
    target = tmp_path / "report"
    run = guardrails(
        "check", "examples", "--now", NOW, "--sarif", target, "--markdown", f"{tmp_path}/./report"
    )
    assert run.exit_code == 2
    assert "both the sarif and the markdown report would be written there" in run.stderr
    assert "Traceback" not in run.stderr and not target.exists()


def test_a_report_that_cannot_be_written_never_passes(tmp_path: Path) -> None:
    # The compliant catalog passes, but a lost SARIF file must fail the job (exit 2).
    missing = tmp_path / "no-such-folder" / "guardrails.sarif"
    run = guardrails("check", EXAMPLES, "--now", NOW, "--format", "github", "--sarif", missing)
    assert run.exit_code == 2
    assert run.stderr.strip().splitlines() == [
        f"guardrails: error: {missing}: cannot write the report: No such file or directory"
    ]
