"""The shipped library stays linear in the catalog size (a guard, not a benchmark).

The first library looked tools up by scanning a list and walked every value of every
manifest with a dozen regexes: ~2.8 s of engine time per 1,000 manifests, growing
quadratically. The library now evaluates 10,000 manifests in under a second; this
test only fails on a regression of that order, so it stays reliable on a busy machine.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest

from bench.corpus import generate
from guardrails.catalog.load import load_catalog
from guardrails.catalog.tree import WorkTree
from guardrails.check import engine_input
from guardrails.config import load_config
from guardrails.engine import get_engine
from guardrails.engine.interface import VIOLATIONS_QUERY, violations_from
from guardrails.engine.policy_set import load_policy_set


@pytest.mark.parametrize("engine", ["regorus"])
def test_two_thousand_manifests_evaluate_in_well_under_two_seconds(
    engine: str, tmp_path: Path
) -> None:
    root = generate(tmp_path / "corpus", 2000)
    tree, config = WorkTree(root), load_config(root)
    document = engine_input(load_catalog(tree, config), date(2026, 11, 24))
    evaluator = get_engine(engine).prepare(load_policy_set(tree, config))
    started = time.process_time()
    violations = violations_from(evaluator.query(VIOLATIONS_QUERY, document))
    elapsed = time.process_time() - started
    assert {v.rule for v in violations} >= {"SEC-SSO-REQUIRED", "STD-INTEGRATION-UNKNOWN"}
    assert elapsed < 2.0, f"{elapsed:.2f} s of engine time for 2,000 manifests"
