"""One verdict across engines: regorus, regopy and OPA give identical findings.

Runs `guardrails check --format json` on every catalog found at run time (examples/,
examples/bad/, and any fixture catalog under tests/fixtures/) through every engine
and compares exit code and the whole JSON report with regorus's. The OPA engine
talks to the OPA test double (tests/engines/opa_double.py), loaded with the bundle
`guardrails policy bundle` builds for that catalog, so the bundle path is covered too.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, FIXTURES, NOW, REPO, Run, guardrails
from tests.engines.opa_double import OpaDouble, running


def _catalogs() -> list[Path]:
    found = [EXAMPLES]
    found += sorted(
        p.parent
        for p in FIXTURES.glob("**/manifests")
        if p.is_dir() and p.parent != EXAMPLES and (p.parent / "manifests").is_dir()
    )
    if (EXAMPLES / "bad" / "manifests").is_dir():
        found.insert(1, EXAMPLES / "bad")
    return found


CATALOGS = _catalogs()


def _ids(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


@pytest.fixture(scope="module")
def opa() -> Iterator[OpaDouble]:
    with running() as double:
        yield double


def _check(catalog: Path, *engine: str) -> Run:
    return guardrails("check", _ids(catalog), "--format", "json", "--now", NOW, *engine)


def _on_engine(engine: str, catalog: Path, opa: OpaDouble, tmp_path: Path) -> Run:
    if engine == "opa":
        bundle = tmp_path / "bundle.tar.gz"
        built = guardrails("policy", "bundle", "-o", bundle, "--catalog", catalog)
        assert built.exit_code == 0, built.stderr
        opa.load_bundle(bundle.read_bytes())
        return _check(catalog, "--engine", "opa", "--opa-url", opa.url)
    if importlib.util.find_spec(engine) is None:
        pytest.skip(f"{engine} has no wheel on this platform")
    return _check(catalog, "--engine", engine)


def test_the_suite_is_not_vacuous() -> None:
    """At least one catalog yields blocking findings, so parity compares something."""
    outcomes = [_check(c, "--engine", "regorus") for c in CATALOGS]
    assert any(r.exit_code == 1 and r.json()["findings"] for r in outcomes)
    assert all(r.exit_code in (0, 1) for r in outcomes), [r.stderr for r in outcomes]


def _cases() -> list[object]:
    cases: list[object] = []
    for catalog in CATALOGS:
        cases.append(pytest.param(catalog, "regopy", id=f"{_ids(catalog)}-regopy"))
        cases.append(pytest.param(catalog, "opa", id=f"{_ids(catalog)}-opa"))
    return cases


@pytest.mark.parametrize(("catalog", "engine"), _cases())
def test_same_findings_as_regorus(
    catalog: Path, engine: str, opa: OpaDouble, tmp_path: Path
) -> None:
    reference = _check(catalog, "--engine", "regorus")
    other = _on_engine(engine, catalog, opa, tmp_path)
    assert other.stderr == reference.stderr
    assert other.exit_code == reference.exit_code
    assert other.json() == reference.json()


def test_auto_is_regorus_here(tmp_path: Path) -> None:
    """The default engine gives the regorus verdict where regorus installs."""
    if importlib.util.find_spec("regorus") is None:
        pytest.skip("no regorus wheel on this platform")
    for catalog in CATALOGS:
        default = guardrails("check", _ids(catalog), "--format", "json", "--now", NOW)
        assert default.stdout == _check(catalog, "--engine", "regorus").stdout
