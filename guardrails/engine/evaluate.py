"""Evaluate a catalog's manifests: in one engine call, or only those a change can affect.

Each rule of the shipped library reports a manifest's violations from that manifest
and the tools its `spec.integrations` names (looked up by name in `input.manifests`
and `input.invalid`), nothing else: the regex screens over the catalog's text only
narrow which manifests are then checked exactly (policies/lib.rego). So a manifest's
violations follow from the policy set (every module's text and the merged data), the
engine, `input.now`, the manifest's name, content and validity, and, for each tool it
names, that tool's content and validity or its absence. The cache keeps, under a
digest of the first three (the context) and the manifest's content, its violations
with the name, validity and tools they were judged with. A re-check evaluates only
the manifests for which any of that differs, with just them and the tools they name
as input, and keeps only their own violations (a named tool, evaluated without its
own neighbours, is not judged there).

That reasoning only holds, and so a remembered verdict is only used, when:

* every Rego module in force is a file of the shipped library, unchanged (an
  organisation's own rules may look anywhere in the catalog);
* the engine evaluates here (regorus, regopy): an OPA server's policies may change
  between checks without anything here changing;
* no two manifests share a name (which document a name means depends on the others).

Otherwise the whole catalog is one input, as on a check without a cache.
`tests/engines/test_incremental.py` holds the two to the same answers.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guardrails.catalog.model import Catalog, Manifest
from guardrails.engine.interface import (
    VIOLATIONS_QUERY,
    Engine,
    PolicySet,
    Violation,
    violations_from,
)

if TYPE_CHECKING:
    from guardrails.catalog.cache import CatalogCache

LOCAL_ENGINES = ("regorus", "regopy")


def engine_input(manifests: Iterable[Manifest], names: Iterable[str], now: date) -> dict[str, Any]:
    """The input document every engine receives.

    Only schema-valid manifests are evaluated (an invalid one is already blocked, and
    its wrong types must not derail the policies); `names` lists every manifest so a
    rule asking "is this tool in the catalog?" still sees the invalid ones, and
    `invalid` holds those that break the schema, for the secrets rule alone.
    """
    valid: dict[str, Mapping[str, Any]] = {}
    invalid: dict[str, Mapping[str, Any]] = {}
    for manifest in manifests:
        (valid if manifest.valid else invalid).setdefault(manifest.name, manifest.document)
    return {
        "now": now.isoformat(),
        "manifests": valid,
        "invalid": {n: d for n, d in invalid.items() if n not in valid},
        "names": sorted(set(names)),
    }


def evaluate(
    catalog: Catalog,
    policies: PolicySet,
    engine: Engine,
    now: date,
    cache: CatalogCache | None = None,
) -> list[Violation]:
    """Every violation the policies report for `catalog`, reusing `cache`'s verdicts when sound."""
    names = [m.name for m in catalog.manifests]
    context = _context(policies, engine, now) if cache is not None else None
    if cache is None or context is None or len(set(names)) != len(names):
        return _evaluate(catalog.manifests, names, policies, engine, now)
    by_name = {m.name: m for m in catalog.manifests}
    found: list[Violation] = []
    pending: dict[str, tuple[bytes, tuple[str, bool, bytes]]] = {}  # name -> content, facts
    for manifest in catalog.manifests:
        if manifest.content is None:
            return _evaluate(catalog.manifests, names, policies, engine, now)
        facts = (manifest.name, manifest.valid, _neighbours(manifest, by_name))
        entry = cache.verdict(context, manifest.content)
        if entry is None or entry[:3] != facts:
            pending[manifest.name] = (manifest.content, facts)
            continue
        found += [Violation(rule, manifest.name, path, text) for rule, path, text in entry[3]]
    if not pending:
        return found  # nothing changed that a rule can see: the engine is not even started

    needed = {name: by_name[name] for name in pending}
    for name in pending:
        needed.update((t, by_name[t]) for t in by_name[name].integrations if t in by_name)
    # `names` too holds only what the rules can look up from here: the tools evaluated.
    fresh = _evaluate(needed.values(), list(needed), policies, engine, now)
    own: dict[str, list[tuple[str, tuple[str | int, ...], str]]] = {n: [] for n in pending}
    for violation in fresh:
        if violation.manifest in own:
            own[violation.manifest].append((violation.rule, violation.path, violation.message))
            found.append(violation)
    for name, (content, facts) in pending.items():
        cache.remember_verdict(context, content, (*facts, tuple(own[name])))
    return found


def _evaluate(
    manifests: Iterable[Manifest], names: list[str], policies: PolicySet, engine: Engine, now: date
) -> list[Violation]:
    evaluator = engine.prepare(policies)
    return violations_from(evaluator.query(VIOLATIONS_QUERY, engine_input(manifests, names, now)))


def _context(policies: PolicySet, engine: Engine, now: date) -> bytes | None:
    """Digest of all a verdict depends on beyond the manifests; None if verdicts cannot be kept."""
    from guardrails.catalog.cache import libraries
    from guardrails.shipped import shipped_dir

    if engine.name not in LOCAL_ENGINES:
        return None
    shipped = {p.read_text("utf-8") for p in shipped_dir("policies").glob("*.rego")}
    if any(module.text not in shipped for module in policies.modules):
        return None
    digest = hashlib.sha256(b"guardrails verdicts v1\0")
    for module in policies.modules:
        digest.update(f"{module.file}\0{len(module.text)}\0{module.text}".encode())
    digest.update(json.dumps(policies.data, sort_keys=True, default=str).encode())
    digest.update(f"\0{engine.name}\0{now.isoformat()}\0".encode())
    digest.update(repr(libraries(engine.name)).encode())
    digest.update(Path(__file__).read_bytes())  # the input's shape and this reasoning
    digest.update(repr(sys.version_info[:2]).encode())
    return digest.digest()


def _neighbours(manifest: Manifest, by_name: Mapping[str, Manifest]) -> bytes:
    """Each tool `manifest` names, as its validity and content, or as absent.

    Which tools it names follows from its own content, and contents are fixed-size
    digests: equal bytes mean the same neighbours.
    """
    parts = []
    for tool in manifest.integrations:
        target = by_name.get(tool)
        if target is None or target.content is None:
            parts.append(b"-")
        else:
            parts += [b"+" if target.valid else b"!", target.content]
    return b"".join(parts)
