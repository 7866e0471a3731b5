"""The one pipeline: files -> catalog -> engine -> decide. Commands build on `run_check`.

`check_catalog` is what `guardrails check` asks for: it finds the catalog and the
manifests the command line names (`catalog/targets.py`), takes policies, data,
exceptions and settings from a git revision when asked (`--policies-ref`), narrows
the report to what changed (`--changed-since`), and runs `run_check`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guardrails.catalog.examine import locate_all
from guardrails.catalog.load import SCHEMA_RULES, load_catalog
from guardrails.catalog.model import Catalog, Manifest
from guardrails.catalog.tree import YAML_SUFFIXES, Tree, WorkTree
from guardrails.config import Config
from guardrails.decide import EXCEPTION_RULES, decide
from guardrails.engine import get_engine, judging_library
from guardrails.engine.evaluate import engine_input, evaluate, judge
from guardrails.engine.interface import Engine, PolicySet, Violation
from guardrails.engine.policy_set import load_policy_set
from guardrails.errors import GuardrailsError
from guardrails.findings import Outcome, Rule

if TYPE_CHECKING:
    from guardrails.catalog.cache import CatalogCache
    from guardrails.cores import SecondCore
    from guardrails.decided import KeptFindings

_log = logging.getLogger(__name__)


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


def _kept(cache: CatalogCache | None, policies: PolicySet, catalog: Catalog) -> KeptFindings | None:
    """The decided findings kept in `cache` (`guardrails/decided.py`), if there is one."""
    if cache is None:
        return None
    from guardrails.decided import KeptFindings

    return KeptFindings(cache, policies, catalog.exceptions)


def _second_core(policies: PolicySet, engine: Engine, now: date) -> SecondCore | None:
    """A process on another core, ready to examine files and judge manifests."""
    from guardrails.cores import SecondCore

    if judging_library(engine) is None:
        _log.debug("no second core: engine %s judges in this process only", engine.name)
        return None  # a server's engine needs no warming up here, nor can a Go runtime fork

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
    only: frozenset[str] | None = None,
    cache_root: Path | None = None,
) -> Checked:
    """Load the catalog and policies, evaluate what changed (or everything), decide.

    `policy_tree` is where policies, policy data and exceptions come from (default:
    the catalog itself). `only` restricts the report to those files while
    cross-manifest rules still see the whole catalog. `cache_root` is where
    `.guardrails-cache/` is kept (None: no cache): what unchanged files said, the
    policy data as parsed, each manifest's violations under everything they depend on
    (`engine/evaluate.py`) and the findings they were decided into (`decided.py`).
    """
    # The cache is read first: it holds the policy data as parsed (IT's bindings can
    # be thousands of entries). A re-check mostly reads the cache; what little it
    # parses and judges is done on the other core, which meanwhile loads the parser's
    # validator and the engine.
    cache = _open_cache(cache_root) if cache_root is not None else None
    remembered = cache.policy_data if cache is not None else None
    policies = load_policy_set(policy_tree or catalog_tree, config, remembered)
    engine = engine or get_engine("auto")
    helper = None
    try:
        helper = _second_core(policies, engine, now) if cache_root is not None else None
        catalog = load_catalog(
            catalog_tree, config, exceptions_from=policy_tree, cache=cache, helper=helper
        )
        kept = _kept(cache, policies, catalog)
        violations = evaluate(catalog, policies, engine, now, cache, helper, kept)
    finally:
        if helper is not None:
            helper.close()
    _locate_ahead(catalog, violations)
    outcome = decide(violations, policies, catalog, now, only, kept)
    if cache is not None:
        cache.save()  # now that findings have asked for their positions
    return Checked(catalog, policies, outcome, only)


@dataclass(frozen=True)
class CheckRequest:
    """What `guardrails check` was asked to do, as its command line says it."""

    paths: tuple[Path, ...] = ()
    """PATH arguments: the catalog root, or manifest files or folders to report on."""
    catalog: Path | None = None
    """`-C`: the catalog root (None: found from the PATHs or the working directory)."""
    changed_since: str | None = None
    """`--changed-since`: report only what changed since the merge-base with this ref."""
    policies_ref: str | None = None
    """`--policies-ref`: policies, data, exceptions and settings from this ref."""
    cache: bool = True
    """False for `--no-cache`."""


@dataclass(frozen=True)
class CheckResult:
    """A finished `guardrails check`: the check and what its report covers."""

    checked: Checked
    """The check (its outcome narrowed to the reported files)."""
    reported: tuple[Manifest, ...]
    """The manifests reported on, in file order."""
    removed: tuple[str, ...]
    """Manifest files deleted since `--changed-since`: planned removals."""
    notes: tuple[str, ...] = ()
    """What the check left aside on purpose, one line each (e.g. the exceptions a
    pull request adds, under `--policies-ref`)."""


def check_catalog(request: CheckRequest, now: date, engine: Engine) -> CheckResult:
    """Resolve what `request` names, check it, and narrow the outcome to what it asks."""
    from guardrails.catalog.targets import find_root, select
    from guardrails.config import load_config

    root = find_root(request.paths, request.catalog)
    tree = WorkTree(root)
    policy_tree = None
    notes: list[str] = []
    if request.policies_ref is not None:
        from guardrails.catalog.git_tree import GitTree, config_at

        # The settings too: they name the folders and switch the defaults.
        policy_tree = GitTree(root, request.policies_ref)
        config = _settings(tree, config_at(policy_tree), request.policies_ref, notes)
    else:
        config = load_config(root)
    if not (root / config.manifests).is_dir():
        raise GuardrailsError(
            f"{tree.display(config.manifests)}/: no manifests folder in the catalog at "
            f"{tree.display('.')} (the nearest folder above with guardrails.yaml, else the "
            "top of the git repository): name the catalog with -C, or give it a "
            "guardrails.yaml"
        )
    selected = select(request.paths, tree, config.manifests) if request.paths else None
    only = frozenset(tree.display(p) for p in selected) if selected is not None else None
    changes = None
    if request.changed_since is not None:
        from guardrails.catalog.git_tree import changes_since

        # Changed exception files are reported too, unless they are read from the ref.
        exceptions = None if policy_tree is not None else config.exceptions
        changes = changes_since(
            tree, request.changed_since, config.manifests, YAML_SUFFIXES, exceptions
        )
    checked = run_check(
        tree,
        config,
        now,
        engine=engine,
        policy_tree=policy_tree,
        only=only if changes is None else None,  # --changed-since narrows it below
        cache_root=root if request.cache else None,
    )
    removed: tuple[str, ...] = ()
    if changes is not None:
        from guardrails.catalog.git_tree import report_changes

        checked, removed = report_changes(checked, changes, tree, only)
        only = checked.reported
    reported = tuple(m for m in checked.catalog.manifests if only is None or m.file in only)
    if policy_tree is not None:
        notes += _unmerged_exceptions(tree, policy_tree, config, request.policies_ref or "")
    return CheckResult(checked, reported, removed, tuple(notes))


def _settings(tree: WorkTree, trusted: Config, ref: str, notes: list[str]) -> Config:
    """The settings a check under `--policies-ref REF` runs with.

    Those at REF (`trusted`), except that manifests are checked where the working
    tree's guardrails.yaml says they are: a pull request that moves the manifests
    folder has them checked there, never left out. The rest of a change to the
    settings applies once IT merges it (a note says so).
    """
    from guardrails.config import CONFIG_FILE, load_config

    try:
        here = load_config(tree.root)
    except GuardrailsError as err:
        raise GuardrailsError(
            f"{err} (the working tree's settings say where its manifests are; "
            f"{ref} judges them with its own)"
        ) from err
    if here == trusted:
        return trusted
    notes.append(
        f"{tree.display(CONFIG_FILE)} differs from the one at {ref}: only where "
        f"manifests are ({here.manifests}/) is taken from it; the rest applies once IT "
        "merges it"
    )
    return replace(trusted, manifests=here.manifests)


def _unmerged_exceptions(tree: WorkTree, policy_tree: Tree, config: Config, ref: str) -> list[str]:
    """A note for each exception file of the working tree that `ref` lacks as it is."""
    notes = []
    for path in tree.files(config.exceptions, YAML_SUFFIXES):
        try:
            unchanged = tree.read(path) == policy_tree.read(path)
        except OSError:  # absent at the ref, or refused here
            unchanged = False
        if not unchanged:
            notes.append(
                f"{tree.display(path)} is not used: with --policies-ref only the "
                f"exceptions at {ref} count (it applies once IT merges it)"
            )
    return notes
