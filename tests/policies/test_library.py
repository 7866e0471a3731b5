"""The shipped policy library, through the CLI: its Rego tests, its coverage of examples/.

`guardrails policy test policies` must pass with a passing and a failing case for
every rule; every rule must fire somewhere in examples/ (the compliant catalog keeps
its one waived finding, examples/bad breaks every rule).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLES, NOW, REPO, guardrails

POLICIES = REPO / "policies"
METADATA = yaml.safe_load((POLICIES / "data" / "rules.yaml").read_text())["rules"]
RULES = sorted(METADATA)
# Rules over discovered tools fire on the sample estate (tests/discover), not in check.
CHECK_RULES = sorted(r for r in RULES if METADATA[r].get("applies_to") != "discovered")
_RESULT = re.compile(r"^(PASS|FAIL)  (\S+):(\d+): (test_\w+)")


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def _test_names(stdout: str) -> dict[str, str]:
    """{test name: PASS or FAIL} from `policy test` output."""
    found = {}
    for line in stdout.splitlines():
        match = _RESULT.match(line)
        if match:
            found[match.group(4)] = match.group(1)
    return found


def test_the_library_has_at_least_25_rules_in_every_category() -> None:
    assert len(RULES) >= 25
    assert {rule.split("-")[0] for rule in RULES} == {"SEC", "RES", "STD", "COST", "ACC"}


def test_policy_test_passes_with_a_passing_and_a_failing_case_per_rule() -> None:
    run = guardrails("policy", "test", "policies")
    assert run.exit_code == 0, run.stdout
    tests = _test_names(run.stdout)
    assert set(tests.values()) == {"PASS"}
    assert run.stdout.splitlines()[-1] == f"{len(tests)} passed, 0 failed"
    for rule in RULES:
        prefix = "test_" + rule.lower().replace("-", "_") + "_"
        own = [name for name in tests if name.startswith(prefix)]
        assert len(own) >= 2, f"{rule} has {len(own)} tests: {own}"
        assert any("_fires" in name for name in own), f"{rule} has no failing-case test"
        assert any("_passes" in name for name in own), f"{rule} has no passing-case test"


def test_every_rule_fires_somewhere_in_the_examples() -> None:
    bad = guardrails("check", EXAMPLES / "bad", "--now", NOW, "--format", "json")
    good = guardrails("check", EXAMPLES, "--now", NOW, "--format", "json")
    assert (bad.exit_code, good.exit_code) == (1, 0)
    fired = {f["rule"] for run in (bad, good) for f in run.json()["findings"]}
    assert set(CHECK_RULES) <= fired, sorted(set(CHECK_RULES) - fired)


def test_the_compliant_catalog_has_at_least_eight_integrated_marketing_tools() -> None:
    manifests = [yaml.safe_load(p.read_text()) for p in (EXAMPLES / "manifests").glob("*.yaml")]
    assert len(manifests) >= 8
    names = {m["metadata"]["name"] for m in manifests}
    flows = {
        (m["metadata"]["name"], flow["tool"])
        for m in manifests
        for flow in m["spec"].get("integrations", [])
        if flow["tool"] in names
    }
    assert len(flows) >= 5
    assert len({tool for flow in flows for tool in flow}) >= 6


def test_a_failing_rego_test_exits_1_and_names_the_test(tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "demo.rego").write_text(
        "package guardrails.policies.demo\n\nimport rego.v1\n\nlimit := 10\n"
    )
    (folder / "demo_test.rego").write_text(
        "package guardrails.policies.demo_test\n\nimport data.guardrails.policies.demo\n"
        "import rego.v1\n\ntest_limit_is_ten if demo.limit == 10\n\n"
        "test_limit_is_eleven if demo.limit == 11\n"
    )
    run = guardrails("policy", "test", folder)
    assert run.exit_code == 1
    lines = run.stdout.splitlines()
    assert f"PASS  {folder.as_posix()}/demo_test.rego:6: test_limit_is_ten" in lines
    assert any(
        line.startswith(f"FAIL  {folder.as_posix()}/demo_test.rego:8: test_limit_is_eleven: ")
        for line in lines
    )
    assert lines[-1] == "1 passed, 1 failed"


def test_policy_test_cannot_run_without_tests_or_with_broken_rego(tmp_path: Path) -> None:
    missing = guardrails("policy", "test", tmp_path / "nowhere")
    assert missing.exit_code == 2
    assert "no such policy folder" in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = guardrails("policy", "test", tmp_path / "empty")
    assert empty.exit_code == 2
    assert "no *_test.rego files" in empty.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "x_test.rego").write_text("package x_test\n\ntest_oops if {\n")
    run = guardrails("policy", "test", broken)
    assert run.exit_code == 2
    assert "x_test.rego" in run.stderr
    assert "Traceback" not in run.stderr
