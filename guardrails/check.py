"""The one pipeline: files -> catalog -> engine -> decide. Commands build on `run_check`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guardrails.catalog.examine import locate_all
from guardrails.catalog.load import SCHEMA_RULES, load_catalog
from guardrails.catalog.model import Catalog, Manifest
from guardrails.catalog.tree import Tree
from guardrails.config import Config
from guardrails.decide import EXCEPTION_RULES, decide
from guardrails.engine import get_engine
from guardrails.engine.evaluate import LOCAL_ENGINES, engine_input, evaluate, judge
from guardrails.engine.interface import Engine, PolicySet, Violation
from guardrails.engine.policy_set import load_policy_set
from guardrails.findings import Outcome, Rule

if TYPE_CHECKING:
    from guardrails.catalog.cache import CatalogCache
    from guardrails.cores import SecondCore


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
    by_name = catalog.by_name  # as `decide` picks a violation's file
    locate_all((by_name[v.manifest].positions, v.path) for v in violations if v.manifest in by_name)


def _open_cache(root: Path) -> CatalogCache | None:
    from guardrails.catalog.cache import CatalogCache

    return CatalogCache.open(root)


def _second_core(policies: PolicySet, engine: Engine, now: date) -> SecondCore | None:
    """A process on another core, ready to examine files and judge manifests."""
    from guardrails.cores import SecondCore

    if engine.name not in LOCAL_ENGINES:
        return None  # a server's engine needs no warming up here

    def warm_up() -> dict[str, Callable[[Any], Any]]:
        from guardrails.catalog.examine import examine
        from guardrails.catalog.schema import fast_validator

        for kind in ("manifest", "exception"):
            fast_validator(kind)
        evaluator = engine.prepare(policies)
        judge(evaluator, engine_input((), (), now))  # compiles the policies' regexes
        return {
            "examine": lambda files: [examine(*file) for file in files],
            "judge": lambda document: judge(evaluator, document),
        }

    return SecondCore.start(warm_up)


def run_check(
    catalog_tree: Tree,
    config: Config,
    now: date,
    *,
    engine: Engine | None = None,
    policy_tree: Tree | None = None,
    extra: tuple[str, ...] = (),
    only: frozenset[str] | None = None,
    cache_root: Path | None = None,
) -> Checked:
    """Load the catalog and policies, evaluate what changed (or everything), decide.

    `policy_tree` is where policies, policy data and exceptions come from (default:
    the catalog itself). `extra` adds manifest files outside the manifests folder;
    `only` restricts the report to those files while cross-manifest rules still see
    the whole catalog. `cache_root` is where `.guardrails-cache/` is kept (None: no
    cache): what unchanged files said, and each manifest's violations under everything
    they depend on (`engine/evaluate.py`).
    """
    policies = load_policy_set(policy_tree or catalog_tree, config)
    engine = engine or get_engine("regorus")
    # A re-check mostly reads the cache; what little it parses and judges is done on
    # the other core, which meanwhile loads the parser's validator and the engine. It
    # starts before the cache is read: the less memory the two processes share, the
    # fewer pages this one copies as it goes on.
    helper = None
    try:
        helper = _second_core(policies, engine, now) if cache_root is not None else None
        cache = _open_cache(cache_root) if cache_root is not None else None
        catalog = load_catalog(
            catalog_tree, config, extra, exceptions_from=policy_tree, cache=cache, helper=helper
        )
        violations = evaluate(catalog, policies, engine, now, cache, helper)
    finally:
        if helper is not None:
            helper.close()
    _locate_ahead(catalog, violations)
    outcome = decide(violations, policies, catalog, now, only)
    if cache is not None:
        cache.save()  # now that findings have asked for their positions
    return Checked(catalog, policies, outcome, only)
