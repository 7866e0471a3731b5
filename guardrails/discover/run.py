"""The discovery pipeline: sources -> evidence -> match -> usage -> rules -> findings.

`run_discover` is what `guardrails discover` (and the benchmark) call; drafts and
reports are written from its `Discovery`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from guardrails.catalog.load import load_catalog
from guardrails.catalog.model import Catalog
from guardrails.catalog.tree import WorkTree
from guardrails.config import Config
from guardrails.discover import SOURCES, get_source
from guardrails.discover.interface import Evidence
from guardrails.discover.match import Matcher, match_all, vendors_from
from guardrails.discover.rules import decide, evaluate
from guardrails.discover.settings import DiscoverSettings, load_discover_settings
from guardrails.discover.usage import Settings, Usage, summarise
from guardrails.engine.interface import Engine, PolicySet
from guardrails.engine.policy_set import load_policy_set
from guardrails.errors import GuardrailsError
from guardrails.findings import Finding, Rule


@dataclass(frozen=True)
class Discovery:
    """A finished discovery: what is in use, and what the rules say about it."""

    now: date
    """The date decisions were made as of."""
    usage: Usage
    """Tools in use, unused catalog tools, people beyond manifests."""
    findings: tuple[Finding, ...]
    """What the discovery rules report, levels and exceptions applied."""
    rules: Mapping[str, Rule]
    """The rules findings refer to."""
    catalog: Catalog
    """The catalog compared against."""
    policies: PolicySet
    """The policy set in force (vendor dictionary, scope risks, ...)."""

    @property
    def blocking(self) -> bool:
        """Whether any finding blocks."""
        return any(f.blocking for f in self.findings)


def source_settings(config: Config) -> DiscoverSettings:
    """`discover:` of `guardrails.yaml`, checked against every source's keys."""
    keys = {name: get_source(name).settings_keys for name in SOURCES}
    return load_discover_settings(config, keys)


def gather(
    settings: DiscoverSettings,
    exports: Sequence[tuple[str, Sequence[Path]]],
    live: Sequence[str],
) -> tuple[list[str], Iterator[Evidence]]:
    """(names of the sources read, their evidence) for the exports and live sources asked."""
    names = sorted({name for name, _ in exports} | set(live))
    for name in names:
        if name not in SOURCES:
            raise GuardrailsError(f"unknown source {name!r}; sources: {', '.join(SOURCES)}")

    def evidence() -> Iterator[Evidence]:
        for name, paths in exports:
            yield from get_source(name).read(paths, settings.source(name))
        for name in live:
            yield from get_source(name).fetch(settings.source(name), settings.limits)

    return names, evidence()


def directory_members(config: Config) -> dict[str, frozenset[str]] | None:
    """Members of each directory group, from the catalog's `directory.yaml` (if any)."""
    path = config.root / config.directory
    if not path.is_file():
        return None
    from guardrails.provision.sandbox import load_directory

    directory = load_directory(path)
    return {name: frozenset(members) for name, members in directory.groups.items()}


def run_discover(
    config: Config,
    now: date,
    engine: Engine,
    exports: Sequence[tuple[str, Sequence[Path]]],
    live: Sequence[str] = (),
    settings: DiscoverSettings | None = None,
) -> Discovery:
    """Read the sources, match their evidence to the catalog, apply the rules."""
    settings = settings or source_settings(config)
    tree = WorkTree(config.root)
    policies = load_policy_set(tree, config)
    catalog = load_catalog(tree, config)
    names, evidence = gather(settings, exports, live)
    if not names:
        raise GuardrailsError(
            "nothing to discover from: pass --from SOURCE=PATH or --live SOURCE, or "
            "configure discover.<source>.export / live in guardrails.yaml"
        )
    data = Settings.from_data(policies.data)
    matcher = Matcher(catalog.manifests, vendors_from(policies.data), data.software_categories)
    matched = match_all(matcher, evidence)
    usage = summarise(matcher, matched, data, names, directory_members(config))
    violations = evaluate(usage, policies, engine, now)
    findings = decide(violations, usage, policies, catalog.exceptions, now)
    return Discovery(now, usage, tuple(findings), policies.rules, catalog, policies)
