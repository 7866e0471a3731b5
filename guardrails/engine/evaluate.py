"""Evaluate a catalog: judged manifest by manifest, in parts and only where it changed,
when that is sound; else the whole catalog in one engine call.

Each rule of the shipped library reports a manifest's violations from that manifest
and the tools its `spec.integrations` names (`lib.manifest` and `lib.in_catalog` look
them up), nothing else: the regex screens over the text only narrow which of the
judged manifests are then checked exactly (policies/lib.rego). So a manifest's
violations follow from the policy set (every module's text and the merged data), the
engine, `input.now`, the manifest's name, content and validity, and, for each tool it
names, that tool's content and validity or its absence. Two things follow:

* the catalog can be judged in parts, one per core: each part's input holds its
  manifests to judge, the tools they name as `neighbours` (looked up, not judged),
  and the names of both;
* the cache keeps, under a digest of the first three (the context) and a manifest's
  content, its violations with the name, validity and neighbours they were judged
  with; a re-check judges only the manifests for which any of that differs.

That reasoning only holds, and so neither is done, unless:

* every Rego module in force is a file of the shipped library, unchanged (an
  organisation's own rules may look anywhere in the catalog);
* the engine evaluates here and in a forked process (its registry entry names its
  `library`: regorus, regopy): an OPA server's policies may change between checks
  without anything here changing;
* no two manifests share a name (which document a name means depends on the others).

Otherwise the whole catalog is one input. `tests/engines/test_incremental.py` and the
parity suite hold all ways to the same answers.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guardrails.catalog.model import Catalog, Manifest
from guardrails.engine.interface import (
    VIOLATIONS_QUERY,
    Engine,
    Evaluator,
    PolicySet,
    Violation,
    violations_from,
)

if TYPE_CHECKING:
    from guardrails.catalog.cache import CatalogCache
    from guardrails.cores import SecondCore
    from guardrails.decided import KeptFindings

# From this many manifests to judge, they are judged in parts on every core.
PARTS_FROM = 1000
_log = logging.getLogger(__name__)


def engine_input(
    judged: Iterable[Manifest],
    names: Iterable[str],
    now: date,
    neighbours: Iterable[Manifest] = (),
) -> dict[str, Any]:
    """The input document every engine receives.

    `manifests` holds the schema-valid manifests to judge (an invalid one is already
    blocked, and its wrong types must not derail the policies), `invalid` those that
    break the schema, for the secrets rule alone. `names` lists the manifests of the
    catalog (valid or not) that a rule may ask about: all of them when the catalog is
    judged at once; when it is judged in parts, those of the part and the tools they
    name. `neighbours` holds schema-valid manifests only to be looked up, not judged:
    in parts, the tools a part's manifests integrate with.
    """
    valid: dict[str, Mapping[str, Any]] = {}
    invalid: dict[str, Mapping[str, Any]] = {}
    for manifest in judged:
        (valid if manifest.valid else invalid).setdefault(manifest.name, manifest.document)
    return {
        "now": now.isoformat(),
        "manifests": valid,
        "invalid": {n: d for n, d in invalid.items() if n not in valid},
        "names": sorted(set(names)),
        "neighbours": {m.name: m.document for m in neighbours if m.valid and m.name not in valid},
    }


def evaluate(
    catalog: Catalog,
    policies: PolicySet,
    engine: Engine,
    now: date,
    cache: CatalogCache | None = None,
    helper: SecondCore | None = None,
    kept: KeptFindings | None = None,
) -> list[Violation]:
    """Every violation the policies report for `catalog`.

    Judged manifest by manifest when that is sound: in parts on every core, and only
    the manifests whose verdict `cache` does not hold (a few: on the `helper`'s core);
    else the whole catalog at once. Whenever verdicts are reused, `kept` takes the
    decided findings of the manifests whose verdict is reused unchanged
    (`guardrails/decided.py`): their violations are left out (they need no deciding).
    """
    manifests, by_name = catalog.manifests, catalog.by_name
    whole = _whole_because(policies, engine) or (
        "two manifests share a name" if len(by_name) != len(manifests) else None
    )
    if whole is not None:
        _log.debug("the whole catalog in one engine call, no verdict cache: %s", whole)
        return _evaluate(manifests, [m.name for m in manifests], policies, engine, now)
    if cache is None or any(m.content is None for m in manifests):
        why = "no cache (--no-cache, or none can be kept here)" if cache is None else None
        _log.debug("no verdict cache: %s", why or "a manifest was read without its content")
        return _in_parts(manifests, by_name, policies, engine, now, helper)

    context = _context(policies, engine, now)
    remembered = cache.verdicts(context)
    if kept is not None:
        kept.under(context)
    used: dict[bytes, Any] = {}
    stamps = _stamps(manifests)
    found: list[Violation] = []
    pending: dict[str, tuple[bytes, tuple[str, bool, bytes]]] = {}  # name -> content, facts
    reasons = ("content new", "name changed", "validity changed", "named tools changed")
    misses = dict.fromkeys(reasons, 0)  # for the debug log: why each was judged again
    for manifest in manifests:
        content = manifest.content
        assert content is not None
        # Each tool it names, as its validity and content, or as absent ("-"). Which
        # tools it names follows from its own content; contents are fixed-size digests.
        neighbours = b"".join([stamps.get(tool, b"-") for tool in manifest.integrations])
        facts = (manifest.name, manifest.valid, neighbours)
        entry = remembered.get(content)
        if entry is None or entry[:3] != facts:
            pending[manifest.name] = (content, facts)
            if kept is not None:
                kept.judged(manifest, facts)
            if _log.isEnabledFor(logging.DEBUG):
                misses[_miss(entry, facts)] += 1
            continue
        used[content] = entry
        if kept is not None and kept.take(manifest, facts):
            continue
        found += [Violation(rule, manifest.name, path, text) for rule, path, text in entry[3]]
    new: dict[bytes, Any] = {}
    _log.debug(
        "verdict cache: %d of %d manifests' verdicts reused, %d judged (%s)",
        len(manifests) - len(pending),
        len(manifests),
        len(pending),
        ", ".join(f"{why}: {count}" for why, count in misses.items()),
    )
    if pending:  # else nothing changed that a rule can see: the engine is not even started
        fresh = _in_parts([by_name[n] for n in pending], by_name, policies, engine, now, helper)
        own: dict[str, list[tuple[str, tuple[str | int, ...], str]]] = {n: [] for n in pending}
        for violation in fresh:
            own[violation.manifest].append((violation.rule, violation.path, violation.message))
        for name, (content, facts) in pending.items():
            new[content] = (*facts, tuple(own[name]))
        found += fresh
    cache.keep_verdicts(context, used, new)
    return found


def _in_parts(
    judged: Sequence[Manifest],
    by_name: Mapping[str, Manifest],
    policies: PolicySet,
    engine: Engine,
    now: date,
    helper: SecondCore | None,
) -> list[Violation]:
    """Judge `judged`, each part with the tools it names as neighbours, on every core
    (one part: on the `helper`'s, when there is one)."""
    from guardrails.cores import on_all_cores, usable_cores

    count = usable_cores() if len(judged) >= PARTS_FROM else 1
    _log.debug(
        "judging %d manifests in %d part(s)%s",
        len(judged),
        count,
        (" on the second core (if it answers)" if helper else " here, no second core")
        if count == 1
        else f", one per core (from {PARTS_FROM} manifests)",
    )
    bounds = [len(judged) * i // count for i in range(count + 1)]
    parts = [judged[start:stop] for start, stop in itertools.pairwise(bounds)]

    def judge_part(part: Sequence[Manifest]) -> list[Violation]:
        inside = {m.name for m in part}
        named = {t for m in part for t in m.integrations if t in by_name}
        neighbours = [by_name[tool] for tool in sorted(named - inside)]
        # Names too: only those a rule can ask about from this part.
        document = engine_input(part, inside | named, now, neighbours)

        def here() -> list[Violation]:
            return judge(engine.prepare(policies), document)

        found = helper.run("judge", document, here) if helper and count == 1 else here()
        return [v for v in found if v.manifest in inside]  # a rule judges only its input's

    return [violation for found in on_all_cores(judge_part, parts, count) for violation in found]


def judge(evaluator: Evaluator, document: Mapping[str, Any]) -> list[Violation]:
    """The violations `evaluator`'s policies report for the input `document`."""
    return violations_from(evaluator.query(VIOLATIONS_QUERY, document))


def _evaluate(
    judged: Iterable[Manifest], names: Iterable[str], policies: PolicySet, engine: Engine, now: date
) -> list[Violation]:
    return judge(engine.prepare(policies), engine_input(judged, names, now))


def _whole_because(policies: PolicySet, engine: Engine) -> str | None:
    """Why a manifest's violations may depend on more than it and the tools it names;
    None when they cannot.

    None for the shipped library (every module one of its files, unchanged) evaluated
    here; an organisation's own rules may look anywhere in the catalog, and an OPA
    server's policies may change between checks without anything here changing.
    """
    from guardrails.engine import judging_library

    if judging_library(engine) is None:
        return f"engine {engine.name} does not judge in parts here"
    for module in policies.modules:
        if not module.shipped:
            return f"{module.file} is not a file of the shipped library as shipped"
    return None


def _miss(entry: Any, facts: tuple[str, bool, bytes]) -> str:
    """Why a kept verdict does not apply to a manifest (for the debug log)."""
    if entry is None:
        return "content new"
    if entry[0] != facts[0]:
        return "name changed"
    return "validity changed" if entry[1] != facts[1] else "named tools changed"


def _context(policies: PolicySet, engine: Engine, now: date) -> bytes:
    """Digest of all a verdict depends on beyond the manifests."""
    from guardrails.catalog.cache import libraries
    from guardrails.engine import judging_library

    digest = hashlib.sha256(b"guardrails verdicts v1\0")
    # The modules' text in load order, not their names: a name is shown relative to the
    # working directory, and a verdict never depends on it (a check of the same catalog
    # from another folder would otherwise set every kept verdict aside).
    for module in policies.modules:
        digest.update(f"{len(module.text)}\0{module.text}".encode())
    digest.update(json.dumps(policies.data, sort_keys=True, default=str).encode())
    digest.update(f"\0{engine.name}\0{now.isoformat()}\0".encode())
    digest.update(repr(libraries(judging_library(engine) or engine.name)).encode())
    digest.update(Path(__file__).read_bytes())  # the input's shape and this reasoning
    digest.update(repr(sys.version_info[:2]).encode())
    return digest.digest()


def _stamps(manifests: Iterable[Manifest]) -> dict[str, bytes]:
    """Each manifest's validity and content, as the manifests naming it remember it."""
    return {m.name: (b"+" if m.valid else b"!") + (m.content or b"") for m in manifests}
