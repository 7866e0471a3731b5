"""The one pipeline: files -> catalog -> engine -> decide. Commands build on `run_check`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from guardrails.catalog.examine import locate_all
from guardrails.catalog.load import SCHEMA_RULES, load_catalog
from guardrails.catalog.model import Catalog, Manifest
from guardrails.catalog.tree import Tree
from guardrails.config import Config
from guardrails.decide import EXCEPTION_RULES, decide
from guardrails.engine import get_engine
from guardrails.engine.evaluate import evaluate
from guardrails.engine.interface import Engine, PolicySet, Violation
from guardrails.engine.policy_set import load_policy_set
from guardrails.findings import Outcome, Rule

if TYPE_CHECKING:
    from guardrails.catalog.cache import CatalogCache


@dataclass(frozen=True)
class Checked:
    """A finished check: what was loaded, which rules ran, and what was decided."""

    catalog: Catalog
    """Every manifest and exception loaded."""
    policies: PolicySet
    """The policy set in force."""
    outcome: Outcome
    """Findings and summary (restricted to the reported files)."""
    reported: frozenset[str] | None
    """Files reported on (None = the whole catalog)."""

    @property
    def rules(self) -> dict[str, Rule]:
        """Every rule a finding can carry: the policies' plus the built-in ones."""
        return {**SCHEMA_RULES, **EXCEPTION_RULES, **self.policies.rules}

    def approved(self) -> list[Manifest]:
        """Reported manifests that are schema-valid and have no blocking finding."""
        blocked = {f.file for f in self.outcome.findings if f.blocking}
        return [
            m
            for m in self.catalog.manifests
            if m.valid
            and m.file not in blocked
            and (self.reported is None or m.file in self.reported)
        ]


def _locate_ahead(catalog: Catalog, violations: Iterable[Violation]) -> None:
    """Find where each violation points, on all cores, before `decide` asks one by one."""
    by_name: dict[str, Manifest] = {}
    for manifest in catalog.manifests:
        by_name.setdefault(manifest.name, manifest)  # as `decide` picks a violation's file
    locate_all((by_name[v.manifest].positions, v.path) for v in violations if v.manifest in by_name)


def run_check(
    catalog_tree: Tree,
    config: Config,
    now: date,
    *,
    engine: Engine | None = None,
    policy_tree: Tree | None = None,
    extra: tuple[str, ...] = (),
    only: frozenset[str] | None = None,
    cache: CatalogCache | None = None,
) -> Checked:
    """Load the catalog and policies, evaluate what changed (or everything), decide.

    `policy_tree` is where policies, policy data and exceptions come from (default:
    the catalog itself). `extra` adds manifest files outside the manifests folder;
    `only` restricts the report to those files while cross-manifest rules still see
    the whole catalog. `cache` remembers parsed, validated files by content, and each
    manifest's violations under everything they depend on (`engine/evaluate.py`).
    """
    policies = load_policy_set(policy_tree or catalog_tree, config)
    catalog = load_catalog(catalog_tree, config, extra, exceptions_from=policy_tree, cache=cache)
    violations = evaluate(catalog, policies, engine or get_engine("regorus"), now, cache)
    _locate_ahead(catalog, violations)
    outcome = decide(violations, policies, catalog, now, only)
    if cache is not None:
        cache.save()  # now that findings have asked for their positions
    return Checked(catalog, policies, outcome, only)
