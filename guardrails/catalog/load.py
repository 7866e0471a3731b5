"""Load a catalog: every manifest and exception, parsed safely and schema-checked.

Nothing here raises for a bad file: a file that cannot be used becomes a blocking
`schema` finding at its line and column, and the rest of the catalog still loads.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from functools import partial
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from guardrails.catalog.examine import ExaminedFile, examine, on_all_cores, refused
from guardrails.catalog.model import Catalog, Manifest, PolicyException
from guardrails.catalog.safe_yaml import LazyPositions, Mark, Path, Positions
from guardrails.catalog.tree import YAML_SUFFIXES, Tree, WorkTree
from guardrails.config import Config
from guardrails.errors import GuardrailsError
from guardrails.findings import Finding, Rule, format_path

if TYPE_CHECKING:
    from guardrails.catalog.cache import CatalogCache

SCHEMA_RULES = {
    rule.id: rule
    for rule in (
        Rule(
            "SCHEMA-PARSE",
            "File is not safe, valid YAML",
            "schema",
            "high",
            "hard-mandatory",
            "Fix the YAML at the line shown.",
            rationale="Guardrails only decides on files it can read exactly as a person does.",
        ),
        Rule(
            "SCHEMA-INVALID",
            "Document does not match its JSON Schema",
            "schema",
            "high",
            "hard-mandatory",
            "Change the key or value shown to what the schema expects.",
            rationale="A typo such as `clasification` must never pass silently.",
        ),
        Rule(
            "SCHEMA-DUPLICATE-NAME",
            "Name used by more than one file",
            "schema",
            "high",
            "hard-mandatory",
            "Give each manifest (and each exception) a unique metadata.name.",
            rationale="Policies, exceptions and provisioning refer to tools by name.",
        ),
    )
}


def problem(
    rule_id: str,
    file: str,
    mark: Mark,
    path: Path,
    message: str,
    remediation: str = "",
    manifest: str | None = None,
) -> Finding:
    """A blocking finding of a built-in schema rule."""
    rule = SCHEMA_RULES[rule_id]
    return Finding(
        rule=rule.id,
        title=rule.title,
        category=rule.category,
        severity=rule.severity,
        level=rule.level,
        blocking=True,
        manifest=manifest,
        file=file,
        line=mark.line,
        column=mark.column,
        path=format_path(path),
        message=message,
        remediation=remediation or rule.remediation,
    )


def _examine(
    tree: Tree,
    paths: list[str],
    kind: str,
    max_bytes: int,
    cache: CatalogCache | None,
    workers: int | None,
) -> list[tuple[ExaminedFile, LazyPositions, bytes | None]]:
    """Examine every file, in order: (what it says, its positions, its content key).

    Without a cache everything per file (reading, parsing, validating) runs on all
    cores for a large catalog on disk. With one, a file on disk whose stat signature
    is unchanged is not even read, a file read is looked up by content, and only the
    files that changed are examined, on all cores.
    """

    def read(path: str) -> tuple[bytes, ExaminedFile | None]:
        try:
            size = tree.size(path)
            if size > max_bytes:
                # Refuse before reading: a huge file costs nothing.
                message = f"file is {size:,} bytes, over the {max_bytes:,}-byte limit"
                return b"", refused(message)
            return tree.read(path), None
        except OSError as err:
            return b"", refused(f"cannot read: {err}")

    def read_and_examine(path: str) -> tuple[bytes, ExaminedFile]:
        data, examined = read(path)
        return data, examined or examine(data, kind, max_bytes)

    disk = tree if isinstance(tree, WorkTree) else None
    if disk is None:
        workers = 1  # a git revision is read through one git process
    if cache is None:
        return [
            (e, LazyPositions(d), None) for d, e in on_all_cores(read_and_examine, paths, workers)
        ]

    files = cache.files(kind, max_bytes)
    found: list[tuple[bytes | _Unread, ExaminedFile | None, bytes | None]] = []
    for path in paths:
        stat = disk.signature(path) if disk is not None else None
        if stat is not None and stat[0] <= max_bytes:
            key = files.known(path, stat)
            if key is not None:
                unread = _Unread(tree, path, kind, max_bytes, cache, key)
                examined = cache.get(key, unread.document)
                if examined is not None:
                    found.append((unread, examined, key))
                    continue
        data, examined = read(path)
        key = cache.key(kind, max_bytes, data) if examined is None else None
        if key is not None:
            examined = cache.get(key, partial(_document_of, data, kind, max_bytes))
            if stat is not None:
                files.saw(path, stat, key)
        found.append((data, examined, key))

    changed = [(i, d) for i, (d, e, _) in enumerate(found) if e is None and isinstance(d, bytes)]
    fresh = on_all_cores(lambda d: examine(d, kind, max_bytes), [d for _, d in changed], workers)
    loaded: list[tuple[ExaminedFile, LazyPositions, bytes | None]] = []
    for (i, data), examined in zip(changed, fresh, strict=True):
        key = found[i][2]
        assert key is not None
        cache.put(key, examined)
        found[i] = (data, examined, key)
    for source, examined, key in found:
        assert examined is not None
        bytes_ = source if isinstance(source, bytes) else source.data
        loaded.append((examined, LazyPositions(bytes_, cache.memo(key) if key else None), key))
    return loaded


class _Unread:
    """A file the cache knew unchanged, so it was not read: read only if asked.

    Positions and documents must describe the bytes that were checked: if the file
    changed since, no position is given (a finding then points at its first line) and
    its document is refused (the check stops: run it again).
    """

    __slots__ = ("_cache", "_key", "_kind", "_max_bytes", "_path", "_tree")

    def __init__(
        self, tree: Tree, path: str, kind: str, max_bytes: int, cache: CatalogCache, key: bytes
    ) -> None:
        self._tree, self._path, self._kind = tree, path, kind
        self._max_bytes, self._cache, self._key = max_bytes, cache, key

    def data(self) -> bytes:
        """The file's bytes if they are still those checked, else nothing."""
        try:
            data = self._tree.read(self._path)
        except OSError:
            return b""
        return data if self._cache.key(self._kind, self._max_bytes, data) == self._key else b""

    def document(self) -> Any:
        """The document, examined again from the file (the cached copy was damaged)."""
        data = self.data()
        if not data:
            shown = self._tree.display(self._path)
            raise GuardrailsError(f"{shown}: changed during the check; run the check again")
        return _document_of(data, self._kind, self._max_bytes)


def _document_of(data: bytes, kind: str, max_bytes: int) -> Any:
    return examine(data, kind, max_bytes).document


def _report(examined: ExaminedFile, file: str, problems: list[Finding]) -> None:
    """Turn a file's problems into findings."""
    for item in examined.problems:
        problems.append(
            problem(
                item.rule,
                file,
                Mark(item.line, item.column),
                item.path,
                item.message,
                item.remediation,
                examined.name if item.rule == "SCHEMA-INVALID" else None,
            )
        )


def _flag_duplicates(
    named: Iterable[tuple[str, str, Positions]], what: str, problems: list[Finding]
) -> set[str]:
    """Report every file whose name another file also uses; return the files flagged."""
    named = list(named)
    if len({name for name, _, _ in named}) == len(named):
        return set()  # the usual case, checked at a fraction of the cost
    by_name: dict[str, list[tuple[str, Positions]]] = {}
    for name, file, positions in named:
        by_name.setdefault(name, []).append((file, positions))
    flagged: set[str] = set()
    for name, owners in by_name.items():
        if len(owners) < 2:
            continue
        for file, positions in owners:
            others = ", ".join(f for f, _ in owners if f != file)
            problems.append(
                problem(
                    "SCHEMA-DUPLICATE-NAME",
                    file,
                    positions.locate(("metadata", "name")),
                    ("metadata", "name"),
                    f"{what} name '{name}' is also used by {others}",
                    manifest=name if what == "manifest" else None,
                )
            )
            flagged.add(file)
    return flagged


def load_catalog(
    tree: Tree,
    config: Config,
    extra: Iterable[str] = (),
    exceptions_from: Tree | None = None,
    *,
    cache: CatalogCache | None = None,
    workers: int | None = None,
) -> Catalog:
    """Load every manifest under `config.manifests` (plus `extra` files) and every exception.

    Exceptions come from `exceptions_from` when given (e.g. the pull request's base
    revision, so a pull request cannot approve its own waiver), else from `tree`.
    `cache` (optional) remembers examined files by content (the caller saves it,
    once positions have been asked for too); `workers` is how many
    processes examine files (None: as many as there are cores, for a large catalog).
    """
    # A catalog is a million small acyclic objects that live to the end of the check:
    # cyclic garbage collection while building it is wasted work (a quarter of the
    # load time at 10,000 manifests), and afterwards they are frozen out of its way.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _load_catalog(tree, config, extra, exceptions_from, cache, workers)
    finally:
        gc.freeze()
        if collecting:
            gc.enable()


def _load_catalog(
    tree: Tree,
    config: Config,
    extra: Iterable[str],
    exceptions_from: Tree | None,
    cache: CatalogCache | None,
    workers: int | None,
) -> Catalog:
    problems: list[Finding] = []
    files = tree.files(config.manifests, YAML_SUFFIXES)
    files += [f for f in extra if f not in files]

    manifests: list[Manifest] = []
    examined = _examine(tree, files, "manifest", config.max_file_bytes, cache, workers)
    shown_files = [tree.display(path) for path in files]
    for path, shown, (result, positions, key) in zip(files, shown_files, examined, strict=True):
        _report(result, shown, problems)
        if not result.mapping:
            continue
        manifests.append(
            Manifest(
                name=result.name or PurePosixPath(path).stem,
                file=shown,
                positions=positions,
                valid=result.valid,
                integrations=result.integrations,
                content=key,
                read_document=result.read_document,
            )
        )
    _flag_duplicates(((m.name, m.file, m.positions) for m in manifests), "manifest", problems)

    exceptions: list[PolicyException] = []
    source = exceptions_from or tree
    exception_files = source.files(config.exceptions, YAML_SUFFIXES)
    examined = _examine(source, exception_files, "exception", config.max_file_bytes, cache, 1)
    for path, (result, positions, _) in zip(exception_files, examined, strict=True):
        shown = source.display(path)
        _report(result, shown, problems)
        doc = result.document
        if doc is None or not result.valid:
            continue
        spec = doc["spec"]
        exceptions.append(
            PolicyException(
                name=doc["metadata"]["name"],
                file=shown,
                rule=spec["rule"],
                manifests=tuple(spec["manifests"]),
                justification=spec["justification"],
                approved_by=spec["approved_by"],
                expires=spec["expires"],
                positions=positions,
            )
        )
    flagged = _flag_duplicates(
        ((e.name, e.file, e.positions) for e in exceptions), "exception", problems
    )
    exceptions = [e for e in exceptions if e.file not in flagged]  # ambiguous: apply neither

    return Catalog(
        manifests=tuple(manifests),
        exceptions=tuple(exceptions),
        problems=tuple(problems),
        files=tuple(shown_files),
    )
