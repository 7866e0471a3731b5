"""One category enum (`guardrails.findings.Category`): every list of categories agrees.

The policy data's rules and approvers, the validation of an organisation's rules,
JUnit, SARIF, docs/rules.md and docs/writing-rules.md all take their categories
from the one enum; a second hand-written list is what this replaced.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from guardrails.catalog.load import SCHEMA_RULES
from guardrails.decide import EXCEPTION_RULES
from guardrails.engine.policy_set import shipped_data
from guardrails.findings import POLICY_CATEGORIES, Category
from guardrails.report.junit_format import EVALUATED_CATEGORIES
from guardrails.report.rules_doc import render, shipped_rules
from tests.conftest import EXAMPLES, NOW, REPO, guardrails


def test_the_shipped_policy_data_uses_exactly_the_policy_categories() -> None:
    data = shipped_data()
    assert set(data["approvers"]) == set(POLICY_CATEGORIES)
    used = {entry["category"] for entry in data["rules"].values()}
    assert used == set(POLICY_CATEGORIES)  # each has a rule; none is unknown


def test_built_in_rules_have_the_built_in_categories() -> None:
    assert {rule.category for rule in SCHEMA_RULES.values()} == {Category.SCHEMA}
    assert {rule.category for rule in EXCEPTION_RULES.values()} == {Category.EXCEPTION}
    assert set(POLICY_CATEGORIES) | {Category.SCHEMA, Category.EXCEPTION} == set(Category)
    assert (*POLICY_CATEGORIES, Category.SCHEMA) == EVALUATED_CATEGORIES


def test_docs_list_the_rules_in_category_order() -> None:
    rules = shipped_rules()
    order = [rules[heading].category for heading in re.findall(r"^## (\S+)$", render(rules), re.M)]
    seen = list(dict.fromkeys(order))
    assert seen == list(Category)
    text = (REPO / "docs" / "writing-rules.md").read_text(encoding="utf-8")
    *first, last = POLICY_CATEGORIES
    assert f"covers {', '.join(first)} and {last}." in text


def test_an_unknown_category_names_every_category(catalog: Path) -> None:
    data = catalog / "policies" / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "org.yaml").write_text(
        "rules:\n  ORG-X:\n    title: t\n    category: privacy\n    severity: low\n"
        "    level: advisory\n    remediation: r\n"
    )
    run = guardrails("check", catalog, "--now", NOW)
    assert run.exit_code == 2
    assert run.stderr.strip() == (
        "guardrails: error: policy data: rule ORG-X: category must be one of "
        "security, residency, standards, cost, access"
    )


def test_reports_carry_the_category_as_plain_text() -> None:
    run = guardrails("check", EXAMPLES / "bad", "--now", NOW, "-f", "sarif")
    sarif = json.loads(run.stdout)
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    categories = {rule["properties"]["category"] for rule in rules}
    assert categories <= {c.value for c in Category} and len(categories) > 3
    assert all(rule["properties"]["tags"][1] in categories for rule in rules)
    findings = guardrails("check", EXAMPLES / "bad", "--now", NOW, "-f", "json").json()
    assert {f["category"] for f in findings["findings"]} <= {c.value for c in Category}


def test_no_module_but_findings_lists_categories() -> None:
    """No tuple, list or set literal of the package holds three category names."""
    names = {c.value for c in POLICY_CATEGORIES}
    lists = []
    for path in sorted((REPO / "guardrails").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Tuple | ast.List | ast.Set):
                items = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                if len(items & names) >= 3:
                    lists.append(f"{path.relative_to(REPO).as_posix()}:{node.lineno}")
    assert lists == []
