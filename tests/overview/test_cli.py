"""`guardrails report` as a user runs it: exit codes, where it writes, the CSV export
opened by a spreadsheet, and the nightly workflow step that publishes the page."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path

from tests.ci.test_github_files import load
from tests.ci.test_workflow_scripts import run_script
from tests.conftest import EXAMPLES, REPO, guardrails
from tests.overview.conftest import report


def test_a_blocked_catalog_is_reported_and_exits_1(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    run = guardrails("report", EXAMPLES / "bad", "--now", "2026-11-22", "-o", out, "--no-cache")
    assert run.exit_code == 1, run.stderr  # as `check`: at least one finding blocks
    assert out.stat().st_size > 10_000
    assert "SEC-SSO-REQUIRED" in out.read_text(encoding="utf-8")


def test_a_catalog_where_nothing_blocks_exits_0_and_prints_to_stdout() -> None:
    run = guardrails("report", EXAMPLES, "--now", "2026-11-22", "--no-cache")
    assert run.exit_code == 0, run.stderr
    assert run.stdout.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert run.stdout.endswith("</html>\n")


def test_the_catalog_can_be_named_with_C_as_plan_and_apply_do(tmp_path: Path) -> None:
    run = guardrails("report", "-C", EXAMPLES, "--now", "2026-11-22", "-f", "json", "--no-cache")
    assert run.exit_code == 0, run.stderr
    assert run.json()["catalog"] == "examples"


def test_the_csv_export_never_hands_a_spreadsheet_a_formula(
    report_catalog: Path, tmp_path: Path
) -> None:
    alpha = report_catalog / "manifests" / "alpha.yaml"
    text = alpha.read_text(encoding="utf-8")
    text = text.replace("title: Tool alpha", 'title: \'=HYPERLINK("http://x.example","y")\'')
    alpha.write_text(text.replace("cost_center: C-1", "cost_center: '+C-1'"), encoding="utf-8")
    run = report(report_catalog, "-f", "csv", "--table", "inventory")
    assert run.exit_code == 1, run.stderr
    rows = {row["Tool"]: row for row in csv.DictReader(io.StringIO(run.stdout))}
    assert rows["alpha"]["Title"] == '\'=HYPERLINK("http://x.example","y")'
    assert rows["alpha"]["Cost centre"] == "'+C-1"
    renewals = report(report_catalog, "-f", "csv", "--table", "renewals").stdout
    assert ",-10," in renewals  # a negative number stays a number


def test_report_is_listed_in_help() -> None:
    run = guardrails("--help")
    assert "report" in run.stdout
    assert "Write the CIO-CMO report" in run.stdout


NIGHTLY = load(REPO / ".github" / "workflows" / "guardrails.yml")["jobs"]["nightly"]["steps"]


def step(name_start: str) -> dict[str, object]:
    return next(s for s in NIGHTLY if str(s.get("name", "")).startswith(name_start))


def run_step(catalog: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The nightly report step's script, as the runner runs it (bash -e)."""
    return run_script(str(step("guardrails report")["run"]), cwd, {"CATALOG": str(catalog)})


def test_the_nightly_job_publishes_the_html_report(tmp_path: Path) -> None:
    publish = step("Publish the report")
    assert str(publish["uses"]).startswith("actions/upload-artifact@")  # pinned elsewhere
    assert publish["with"]["path"] == "guardrails-report.html"  # type: ignore[index]
    assert str(publish["if"]).startswith("always()")
    assert step("guardrails report")["if"] == "always()"
    for catalog, blocked in ((EXAMPLES, False), (EXAMPLES / "bad", True)):
        work = tmp_path / ("bad" if blocked else "good")
        shutil.copytree(catalog, work / "catalog", ignore=shutil.ignore_patterns("bad"))
        done = run_step(work / "catalog", work)
        assert done.returncode == 0, done.stderr  # a blocked catalog is still reported
        page = (work / "guardrails-report.html").read_text(encoding="utf-8")
        assert page.startswith("<!DOCTYPE html>")
    broken = tmp_path / "broken"
    shutil.copytree(EXAMPLES, broken / "catalog", ignore=shutil.ignore_patterns("bad"))
    (broken / "catalog" / "guardrails.yaml").write_text("manifests: [1]\n", encoding="utf-8")
    done = run_step(broken / "catalog", broken)
    assert done.returncode != 0  # could not run: the step fails, nothing is published
    assert not (broken / "guardrails-report.html").exists()
