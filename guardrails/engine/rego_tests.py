"""Rego unit tests, run the way `opa test` runs them, on an embedded engine.

Neither embedded engine has a test runner, so this is one: every rule named `test_*`
in a `*_test.rego` module is a test; the policies, the test modules and the policy
data are loaded together, and each test is the query `data.<package>.<test_name>`.
It passes when its value is `true`; `false`, undefined (a condition did not hold) or
an evaluation error fails it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from guardrails.engine.interface import UNDEFINED, Engine, EngineError, PolicyModule, PolicySet
from guardrails.errors import GuardrailsError

_PACKAGE = re.compile(r"^package\s+([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*$", re.M)
# A rule head at the start of a line; `test_x(...)` is a function, which OPA does not run.
_TEST_HEAD = re.compile(r"^(test_[A-Za-z0-9_]*)\b(?!\s*\()", re.M)


@dataclass(frozen=True)
class RegoTest:
    """One `test_*` rule of a test module."""

    file: str
    """The `*_test.rego` file, as reports name it."""
    line: int
    """1-based line of the rule's first definition."""
    package: str
    """Its Rego package, e.g. `guardrails.policies.security_test`."""
    name: str
    """The rule name, e.g. `test_sec_sso_required_fires_without_sso`."""

    @property
    def query(self) -> str:
        """The query whose value is the test's verdict."""
        return f"data.{self.package}.{self.name}"


@dataclass(frozen=True)
class TestResult:
    """What running one test gave."""

    __test__ = False  # not a pytest class, despite its name

    test: RegoTest
    """The test."""
    passed: bool
    """True when its value was `true`."""
    detail: str
    """Why it failed (empty when it passed)."""


def discover(module: PolicyModule) -> list[RegoTest]:
    """The tests of one test module, in source order (a rule defined twice counts once)."""
    package = _PACKAGE.search(module.text)
    if package is None:
        raise GuardrailsError(f"{module.file}:1:1: a Rego test module needs a `package` line")
    found: dict[str, RegoTest] = {}
    for head in _TEST_HEAD.finditer(module.text):
        line = module.text.count("\n", 0, head.start()) + 1
        found.setdefault(
            head.group(1), RegoTest(module.file, line, package.group(1), head.group(1))
        )
    return list(found.values())


def run_tests(
    engine: Engine, policies: PolicySet, test_modules: Sequence[PolicyModule]
) -> list[TestResult]:
    """Load `policies` plus `test_modules` into `engine` and run every test.

    Raises `EngineError` when the modules do not compile (nothing can be run).
    """
    tests = [test for module in test_modules for test in discover(module)]
    evaluator = engine.prepare(replace(policies, modules=(*policies.modules, *test_modules)))
    results: list[TestResult] = []
    for test in tests:
        try:
            value = evaluator.query(test.query)
        except EngineError as err:
            results.append(TestResult(test, False, f"error: {err}"))
            continue
        if value is True:
            results.append(TestResult(test, True, ""))
        elif value is UNDEFINED:
            results.append(
                TestResult(test, False, "undefined: a condition of the test did not hold")
            )
        else:
            results.append(TestResult(test, False, f"its value is {value!r}, not true"))
    return results


def test_modules_in(folder: Path, shown: str) -> list[PolicyModule]:
    """Every `*_test.rego` file under `folder` (outside `data/`), sorted by path."""
    modules: list[PolicyModule] = []
    for path in sorted(folder.rglob("*_test.rego")):
        relative = path.relative_to(folder)
        if relative.parts[0] == "data" or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise GuardrailsError(f"{shown}/{relative.as_posix()}: cannot read: {err}") from err
        modules.append(PolicyModule(f"{shown}/{relative.as_posix()}", text))
    return modules
