"""Real OPA in-process (`--engine opa-lib`): the Rego unit tests and the checks run on it.

OPA v1.20.2's Go engine, from the opa-golib-python-bindings wheel that `make test`
installs; where it is missing these tests fail, they never skip.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import NOW, REPO, guardrails
from tests.engines.test_embedded_engines import PORTABLE


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def test_policy_tests_give_the_same_results_on_real_opa() -> None:
    on_regorus = guardrails("policy", "test", "--engine", "regorus")
    on_opa = guardrails("policy", "test", "--engine", "opa-lib")
    assert on_regorus.exit_code == on_opa.exit_code == 0, on_opa.stdout + on_opa.stderr
    assert on_opa.stdout == on_regorus.stdout
    summary = on_opa.stdout.strip().splitlines()[-1]
    passed = int(summary.split()[0])
    assert passed > 0 and summary == f"{passed} passed, 0 failed"


FAILING_TEST = """package guardrails.policies.extra_test

import rego.v1

test_holds if 1 == 1

test_does_not_hold if 1 == 2

test_errs if regex.match("(", "x")
"""


def test_a_failing_test_fails_alike_on_real_opa(tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "extra_test.rego").write_text(FAILING_TEST)
    runs = {e: guardrails("policy", "test", folder, "--engine", e) for e in ("regorus", "opa-lib")}
    for engine, run in runs.items():
        assert run.exit_code == 1, run.stdout + run.stderr
        lines = run.stdout.splitlines()
        assert lines[0].startswith("PASS") and lines[0].endswith("test_holds")
        assert lines[1].startswith("FAIL") and "test_does_not_hold: undefined" in lines[1]
        assert lines[2].startswith("FAIL") and f"test_errs: error: {engine}:" in lines[2]
        assert lines[-1] == "1 passed, 2 failed"


def test_without_the_wheel_the_engine_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "opa_bindings", None)  # `import opa_bindings` fails
    run = guardrails("check", PORTABLE, "--now", NOW, "--engine", "opa-lib")
    assert run.exit_code == 2
    assert "pip install --no-deps --ignore-requires-python opa-golib-python-bindings" in (
        run.stderr
    )
