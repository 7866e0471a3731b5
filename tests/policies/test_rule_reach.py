"""The contract the verdict cache and the parts-per-core split rest on: a shipped rule
reads only the manifest it judges and the tools that manifest names (policies/lib.rego,
guardrails/engine/evaluate.py).

Every manifest of a varied catalog (the examples, every bad example, a bench corpus
whose tools integrate with each other) is judged alone, with only the tools it names
as neighbours, the smallest input a part or a re-check can give it; its violations
must be those of the whole catalog judged at once. A rule that reads another manifest,
counts the catalog or reads `input.names` directly answers differently alone, and
fails here: the test of that is `test_a_rule_reading_beyond_is_caught`.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from bench.corpus import generate
from guardrails.catalog.load import load_catalog
from guardrails.catalog.model import Catalog
from guardrails.catalog.tree import WorkTree
from guardrails.config import load_config
from guardrails.engine import get_engine
from guardrails.engine.evaluate import engine_input, judge
from guardrails.engine.interface import PolicySet, Violation
from guardrails.engine.policy_set import load_policy_set
from tests.conftest import EXAMPLES, NOW

TODAY = date.fromisoformat(NOW)


@pytest.fixture(scope="module")
def varied_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The examples, every bad example and 60 bench manifests, in one catalog."""
    root = tmp_path_factory.mktemp("reach") / "catalog"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns("bad"))
    corpus = generate(root.parent / "corpus", 60)
    for folder in (EXAMPLES / "bad" / "manifests", corpus / "manifests"):
        for file in folder.glob("*.yaml"):
            shutil.copy(file, root / "manifests")
    return root


def _load(root: Path) -> tuple[Catalog, PolicySet]:
    config = load_config(root)
    tree = WorkTree(root)
    return load_catalog(tree, config), load_policy_set(tree, config)


def reach_differences(
    catalog: Catalog, policies: PolicySet
) -> Iterator[tuple[str, set[Violation]]]:
    """Each manifest whose violations differ between it judged alone (with the tools it
    names as neighbours) and the whole catalog judged at once, with those violations."""
    evaluator = get_engine("auto").prepare(policies)
    names = [m.name for m in catalog.manifests]
    whole: dict[str, set[Violation]] = defaultdict(set)
    for violation in judge(evaluator, engine_input(catalog.manifests, names, TODAY)):
        whole[violation.manifest].add(violation)
    by_name = catalog.by_name
    for manifest in catalog.manifests:
        named = {tool for tool in manifest.integrations if tool in by_name}
        neighbours = [by_name[tool] for tool in sorted(named - {manifest.name})]
        document = engine_input([manifest], {manifest.name} | named, TODAY, neighbours)
        alone = {v for v in judge(evaluator, document) if v.manifest == manifest.name}
        if alone != whole[manifest.name]:
            yield manifest.name, alone ^ whole[manifest.name]


def test_every_shipped_rule_reads_only_its_manifest_and_the_tools_it_names(
    varied_catalog: Path,
) -> None:
    catalog, policies = _load(varied_catalog)
    assert all(module.shipped for module in policies.modules)  # the library alone
    assert len(catalog.by_name) == len(catalog.manifests) > 80
    assert sum(len(m.integrations) for m in catalog.manifests) > 100
    # Every rule that judges manifests fires somewhere here, so each one's reach is tried.
    fired = {v.rule for v in judge(get_engine("auto").prepare(policies), _whole(catalog))}
    judging = {rule for rule, meta in policies.rules.items() if meta.applies_to == "manifests"}
    assert judging <= fired
    assert dict(reach_differences(catalog, policies)) == {}


def _whole(catalog: Catalog) -> dict[str, object]:
    return engine_input(catalog.manifests, [m.name for m in catalog.manifests], TODAY)


OVERREACHING = {
    # Reads other manifests: who integrates with this tool (the reverse of what it names).
    "nobody-integrates": """
violation contains v if {
\tsome name, m in input.manifests
\tnot integrated_with[name]
\tv := {"rule": "ORG-REACH", "manifest": name, "path": ["metadata"], "message": "alone"}
}

integrated_with[tool] if {
\tsome _, other in input.manifests
\tsome flow in other.spec.integrations
\ttool := flow.tool
}
""",
    # Counts the catalog.
    "catalog-size": """
violation contains v if {
\tcount(input.names) > 50
\tsome name, _ in input.manifests
\tv := {"rule": "ORG-REACH", "manifest": name, "path": ["metadata"], "message": "big"}
}
""",
}


@pytest.mark.parametrize("rego", OVERREACHING.values(), ids=OVERREACHING)
def test_a_rule_reading_beyond_is_caught(varied_catalog: Path, tmp_path: Path, rego: str) -> None:
    root = tmp_path / "catalog"
    shutil.copytree(varied_catalog, root)
    header = "package guardrails.policies.reach\n\nimport rego.v1\n"
    (root / "policies" / "reach.rego").write_text(header + rego)
    catalog, policies = _load(root)
    _, differing = next(reach_differences(catalog, policies))
    assert {v.rule for v in differing} == {"ORG-REACH"}
