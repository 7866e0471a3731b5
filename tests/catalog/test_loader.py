"""Bad input is a blocking `schema` finding at the right line, never a traceback.

Each fixture under tests/fixtures/loader/manifests marks the line a finding must
point at with `# expect: RULE`; the whole folder is one catalog, so one bad file
never hides the others.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from guardrails.catalog.safe_yaml import LoadError, load_bytes, load_text
from tests.conftest import FIXTURES, NOW, REPO, expectations, guardrails

LOADER = FIXTURES / "loader"
FILES = sorted((LOADER / "manifests").glob("*.yaml"))


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


@pytest.fixture(scope="module")
def report() -> dict[str, list[tuple[str, int]]]:
    run = guardrails("check", LOADER.relative_to(REPO), "--now", NOW, "--format", "json")
    assert run.exit_code == 1
    assert "Traceback" not in run.stdout + run.stderr
    found: dict[str, list[tuple[str, int]]] = {}
    for finding in run.json()["findings"]:
        assert finding["category"] == "schema"
        assert finding["blocking"] is True
        found.setdefault(finding["file"], []).append((finding["rule"], finding["line"]))
    return found


@pytest.mark.parametrize("fixture", FILES, ids=lambda p: p.stem)
def test_each_bad_file_is_refused_at_its_line(
    fixture: Path, report: dict[str, list[tuple[str, int]]]
) -> None:
    file = fixture.relative_to(REPO).as_posix()
    assert sorted(report.get(file, [])) == sorted(expectations(fixture))


def test_text_report_starts_each_finding_with_file_line_column() -> None:
    run = guardrails("check", LOADER.relative_to(REPO), "--now", NOW)
    assert run.exit_code == 1
    first_lines = [line for line in run.stdout.splitlines() if line.startswith("tests/")]
    assert "tests/fixtures/loader/manifests/tabs.yaml:8:1: error: SCHEMA-PARSE" in "\n".join(
        first_lines
    )
    assert any(
        line.startswith("tests/fixtures/loader/manifests/typo-key.yaml:12:5: error:")
        and "did you mean 'classification'" not in line
        for line in first_lines
    )
    assert "did you mean 'classification'?" in run.stdout


def test_a_single_good_file_passes_alone() -> None:
    good = (LOADER / "manifests" / "good-one.yaml").relative_to(REPO)
    run = guardrails("check", good, "--catalog", LOADER, "--now", NOW, "--format", "json")
    assert run.json()["summary"]["manifests"] == 1
    assert run.json()["findings"] == []
    assert run.exit_code == 0


def test_alias_bomb_is_refused_fast() -> None:
    data = (LOADER / "manifests" / "alias-bomb.yaml").read_bytes()
    # CPU time, not wall time: the bound is on the work done, whatever else the machine runs.
    started = time.process_time()
    with pytest.raises(LoadError, match="alias"):
        load_bytes(data)
    assert time.process_time() - started < 1.0


def test_five_mib_file_is_refused_fast_with_a_finding(tmp_path: Path) -> None:
    (tmp_path / "manifests").mkdir()
    huge = tmp_path / "manifests" / "huge.yaml"
    huge.write_bytes(b"apiVersion: guardrails/v1\n" + b"# padding\n" * (5 * 1024 * 1024 // 10))
    started = time.process_time()  # CPU time: the work done, however loaded the machine
    run = guardrails("check", tmp_path, "--now", NOW, "--format", "json")
    assert time.process_time() - started < 1.0
    assert run.exit_code == 1
    [finding] = run.json()["findings"]
    assert (finding["rule"], finding["line"], finding["column"]) == ("SCHEMA-PARSE", 1, 1)
    assert "limit" in finding["message"]


def test_yaml_12_scalars_norway_and_dates_stay_strings() -> None:
    loaded = load_text("a: no\nb: on\nc: off\nd: yes\ne: true\nf: 2027-03-01\ng: 0o17\nh: ~\n")
    assert loaded.value == {
        "a": "no",
        "b": "on",
        "c": "off",
        "d": "yes",
        "e": True,
        "f": "2027-03-01",
        "g": 15,
        "h": None,
    }


def test_positions_point_at_values_and_fall_back_to_the_enclosing_key() -> None:
    loaded = load_text("spec:\n  auth:\n    sso: none\n  data: {classification: public}\n")
    assert loaded.positions.locate(("spec", "auth", "sso")) == loaded.positions.value(
        ("spec", "auth", "sso")
    )
    sso = loaded.positions.locate(("spec", "auth", "sso"))
    assert (sso.line, sso.column) == (3, 10)
    missing = loaded.positions.locate(("spec", "auth", "mfa"))
    assert (missing.line, missing.column) == (2, 3)
    flow = loaded.positions.locate(("spec", "data", "classification"))
    assert (flow.line, flow.column) == (4, 26)


def test_recursive_alias_and_deep_nesting_are_refused() -> None:
    with pytest.raises(LoadError, match="nesting"):
        load_text("a: " + "[" * 200 + "]" * 200 + "\n")
