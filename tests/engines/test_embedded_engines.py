"""The in-process engines (regorus, regopy, real OPA) fail closed: bad Rego or a failing
built-in exits 2, never passes."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

from guardrails.engine import get_engine
from tests.conftest import FIXTURES, NOW, guardrails

PORTABLE = FIXTURES / "engines" / "portable-catalog"
EMBEDDED = [
    pytest.param(
        name,
        marks=pytest.mark.skipif(
            importlib.util.find_spec(name) is None, reason=f"no {name} wheel here"
        ),
    )
    for name in ("regorus", "regopy")
] + ["opa-lib"]  # real OPA: installed by `make test`, never skipped


def _catalog_with(tmp_path: Path, rego: str) -> Path:
    catalog = tmp_path / "catalog"
    shutil.copytree(PORTABLE, catalog)
    (catalog / "policies" / "extra.rego").write_text(rego)
    return catalog


@pytest.mark.parametrize("engine", EMBEDDED)
def test_syntax_error_names_file_line_and_column(tmp_path: Path, engine: str) -> None:
    catalog = _catalog_with(
        tmp_path, "package guardrails.policies.extra\n\nimport rego.v1\n\nx if { 1 = }\n"
    )
    run = guardrails("check", catalog, "--now", NOW, "--engine", engine)
    assert run.exit_code == 2
    assert run.stdout == ""
    assert "extra.rego:5:" in run.stderr
    assert run.stderr.startswith(f"guardrails: error: {engine}:")


@pytest.mark.parametrize("engine", EMBEDDED)
def test_failing_builtin_is_an_error_not_a_pass(tmp_path: Path, engine: str) -> None:
    # An invalid regex would make the rule silently undefined on a lenient engine.
    catalog = _catalog_with(
        tmp_path,
        "package guardrails.policies.extra\n\nimport rego.v1\n\n"
        'violation contains {"rule": "X", "manifest": n, "path": [], "message": "m"} if {\n'
        "\tsome n, m in input.manifests\n"
        '\tnot regex.match("([", m.metadata.name)\n'
        "}\n",
    )
    run = guardrails("check", catalog, "--now", NOW, "--engine", engine)
    assert run.exit_code == 2, run.stdout
    assert run.stdout == ""
    assert run.stderr.startswith(f"guardrails: error: {engine}:")


def test_auto_picks_an_installed_embedded_engine() -> None:
    expected = "regorus" if importlib.util.find_spec("regorus") else "regopy"
    assert get_engine("auto").name == expected


def test_auto_falls_back_to_regopy_where_regorus_does_not_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if importlib.util.find_spec("regopy") is None:
        pytest.skip("no regopy wheel here")
    reference = guardrails("check", PORTABLE, "--now", NOW, "-f", "json", "--engine", "regopy")
    monkeypatch.setitem(sys.modules, "regorus", None)  # `import regorus` now fails
    assert get_engine("auto").name == "regopy"
    run = guardrails("check", PORTABLE, "--now", NOW, "-f", "json")
    assert (run.exit_code, run.stdout) == (reference.exit_code, reference.stdout)


def test_auto_without_any_embedded_engine_cannot_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "regorus", None)
    monkeypatch.setitem(sys.modules, "regopy", None)
    run = guardrails("check", PORTABLE, "--now", NOW)
    assert run.exit_code == 2
    assert run.stdout == ""
    assert "no embedded Rego engine is installed" in run.stderr
    assert "--engine opa" in run.stderr
