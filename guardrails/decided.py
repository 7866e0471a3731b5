"""Findings decided by an earlier check, kept for the manifests nothing they depend on
changed for: a re-check takes them as they were instead of deciding them again.

A manifest's findings follow from its violations (its verdict, which
`engine/evaluate.py` reuses only when the manifest's content, name and validity, the
tools it names, the policies, their data, the engine and the date are unchanged),
where they point in its file (its content), the file's name, the rules' metadata and
enforcement levels, the exceptions in force and the date they are judged against,
and the policy data's credential patterns that mask what a finding says (`decide`).
So the cache keeps, by the manifest's content key and under one context (the
verdicts' context, every rule's metadata, every exception in force), the findings
of each manifest with its file and the facts its verdict was judged with; a
re-check takes them for a manifest whose verdict it reuses with the same facts, in
the same file. An entry: (file, name, validity, named tools, the ids of the rules it
breaks (their exceptions are then used), its findings: each the `Finding`'s fields
in order, as plain values).

Not kept: the findings of the files themselves (parse and schema problems, which
the loader's cache keeps) and of the exception files (they depend on the whole
catalog's findings). A manifest is kept only when the verdict cache is used, so
never with an organisation's own Rego, an OPA server or two manifests sharing a
name.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from guardrails.findings import AppliedException, Category, Finding

if TYPE_CHECKING:
    from guardrails.catalog.cache import CatalogCache
    from guardrails.catalog.model import Manifest, PolicyException
    from guardrails.engine.interface import PolicySet

_log = logging.getLogger(__name__)
_FIELDS = tuple(f.name for f in fields(Finding))
_CATEGORIES = {c.value: c for c in Category}
Facts = tuple[str, bool, bytes]
"""What a manifest's verdict was judged with: its name, validity, named tools."""


class KeptFindings:
    """The decided findings a check takes from the cache, and those it leaves there.

    Inactive (takes nothing, keeps nothing) until `under` names the verdicts' context:
    `evaluate` does so only when it reuses verdicts.
    """

    def __init__(
        self,
        cache: CatalogCache,
        policies: PolicySet,
        exceptions: Sequence[PolicyException],
    ) -> None:
        self._cache = cache
        self._policies = policies
        self._exceptions = exceptions
        self._context: bytes | None = None
        self._remembered: Mapping[bytes, Any] = {}
        self._taken: dict[bytes, Any] = {}
        self._pending: dict[str, tuple[bytes, str, Facts]] = {}  # name -> content, file, facts

    def under(self, verdicts: bytes) -> None:
        """Start taking and keeping findings, for verdicts kept under `verdicts`."""
        digest = hashlib.sha256(b"guardrails decided findings v1\0")
        digest.update(verdicts)
        # Every field of every rule (levels after the organisation's overrides) and of
        # every exception but where its parts sit (only its own findings ask that).
        digest.update(repr(sorted(self._policies.rules.items())).encode())
        for exc in self._exceptions:
            fields_ = (exc.name, exc.file, exc.rule, exc.manifests, exc.justification)
            digest.update(repr((*fields_, exc.approved_by, exc.expires)).encode())
        self._context = digest.digest()
        self._remembered = self._cache.decided(self._context)

    def take(self, manifest: Manifest, facts: Facts) -> bool:
        """Whether `manifest`, whose verdict is reused with `facts`, has its findings
        kept (they are then taken, and it needs no deciding); else it is decided and
        its findings are kept for next time."""
        content = manifest.content
        assert content is not None and self._context is not None
        entry = self._remembered.get(content)
        if entry is not None and entry[0] == manifest.file and entry[1:4] == facts:
            self._taken[content] = entry
            return True
        self._pending[manifest.name] = (content, manifest.file, facts)
        return False

    def judged(self, manifest: Manifest, facts: Facts) -> None:
        """`manifest` was judged again (with `facts`): keep what it is decided into."""
        if self._context is not None:
            assert manifest.content is not None
            self._pending[manifest.name] = (manifest.content, manifest.file, facts)

    def findings(self) -> tuple[list[Finding], list[tuple[str, str]]]:
        """The findings taken, and (rule id, manifest) of each rule they break (an
        exception for it is used)."""
        new = object.__new__
        taken: list[Finding] = []
        broken: list[tuple[str, str]] = []
        for entry in self._taken.values():
            name = entry[1]
            broken += [(rule, name) for rule in entry[4]]
            for row in entry[5]:
                finding = new(Finding)
                values = finding.__dict__
                # Filled as `Rule.finding` would (half the cost of __init__'s setattrs).
                values.update(zip(_FIELDS, row, strict=True))
                values["category"] = _CATEGORIES[row[2]]
                if row[13] is not None:
                    values["exception"] = AppliedException(*row[13])
                taken.append(finding)
        return taken, broken

    def keep(self, decided: Mapping[str, Iterable[Finding]]) -> None:
        """Keep, for each manifest decided in this check, its `decided` findings (final:
        masked)."""
        if self._context is None:
            return
        new: dict[bytes, Any] = {}
        for name, (content, file, facts) in self._pending.items():
            found = tuple(decided.get(name, ()))
            if not found:
                continue  # nothing to decide next time either
            rules = tuple(dict.fromkeys(f.rule for f in found))
            new[content] = (file, *facts, rules, tuple(_row(f) for f in found))
        _log.debug(
            "decided findings: %d manifests' findings taken from the cache, %d manifests' "
            "decided and kept",
            len(self._taken),
            len(new),
        )
        self._cache.keep_decided(self._context, self._taken, new)


def _row(finding: Finding) -> tuple[Any, ...]:
    """`finding` as the cache keeps it: its fields, in order, as plain values."""
    values = finding.__dict__
    row = [values[name] for name in _FIELDS]
    row[2] = finding.category.value
    if finding.exception is not None:
        row[13] = tuple(finding.exception.__dict__[f.name] for f in fields(AppliedException))
    return tuple(row)
