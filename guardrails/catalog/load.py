"""Load a catalog: every manifest and exception, parsed safely and schema-checked.

Nothing here raises for a bad file: a file that cannot be used becomes a blocking
`schema` finding at its line and column, and the rest of the catalog still loads.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from guardrails.catalog.examine import ExaminedFile, FileProblem, examine, refused
from guardrails.catalog.model import Catalog, Manifest, PolicyException
from guardrails.catalog.safe_yaml import LazyPositions, Mark, MarkedPositions, Path
from guardrails.catalog.tree import YAML_SUFFIXES, RefusedFile, Tree, WorkTree
from guardrails.config import Config
from guardrails.cores import PARALLEL_FROM, on_all_cores
from guardrails.errors import GuardrailsError
from guardrails.findings import Category, Finding, Rule
from guardrails.memory import acyclic

if TYPE_CHECKING:
    from guardrails.catalog.cache import CatalogCache, Stored
    from guardrails.cores import SecondCore

_log = logging.getLogger(__name__)

SCHEMA_RULES = {
    rule.id: rule
    for rule in (
        Rule(
            "SCHEMA-PARSE",
            "File is not safe, valid YAML",
            Category.SCHEMA,
            "high",
            "hard-mandatory",
            "Fix the YAML at the line shown.",
            rationale="Guardrails only decides on files it can read exactly as a person does.",
        ),
        Rule(
            "SCHEMA-INVALID",
            "Document does not match its JSON Schema",
            Category.SCHEMA,
            "high",
            "hard-mandatory",
            "Change the key or value shown to what the schema expects.",
            rationale="A typo such as `clasification` must never pass silently.",
        ),
        Rule(
            "SCHEMA-PLACEHOLDER",
            "A value is still a placeholder from `guardrails new`",
            Category.SCHEMA,
            "high",
            "hard-mandatory",
            "Replace the `<...>` placeholder with the real value.",
            rationale="A manifest or exception is only reviewed once it says what is true; "
            "a placeholder left in any field, even free text, means it is not finished.",
        ),
        Rule(
            "SCHEMA-DUPLICATE-NAME",
            "Name used by more than one file",
            Category.SCHEMA,
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
    return SCHEMA_RULES[rule_id].finding(
        file,
        mark.line,
        mark.column,
        path,
        message,
        blocking=True,
        manifest=manifest,
        remediation=remediation,
    )


def _examine(
    tree: Tree,
    paths: list[str],
    kind: str,
    max_bytes: int,
    cache: CatalogCache | None,
    workers: int | None,
    helper: SecondCore | None = None,
) -> LoadedFiles:
    """Examine every file, in order.

    Without a cache everything per file (reading, parsing, validating) runs on all
    cores for a large catalog on disk. With one, a file on disk whose stat signature
    is unchanged is not even read, a file read is looked up by content, and only the
    files that changed are examined, on all cores (a few: on the `helper`'s).
    """

    def read(path: str) -> tuple[bytes, ExaminedFile | None]:
        try:
            size = tree.size(path)
            if size > max_bytes:
                # Refuse before reading: a huge file costs nothing.
                message = f"file is {size:,} bytes, over the {max_bytes:,}-byte limit"
                return b"", refused(message)
            return tree.read(path), None
        except RefusedFile as err:
            return b"", refused(str(err))
        except OSError as err:
            return b"", refused(f"cannot read: {err.strerror or err}")

    def read_and_examine(path: str) -> tuple[bytes, ExaminedFile]:
        data, examined = read(path)
        return data, examined or examine(data, kind, max_bytes)

    loaded = LoadedFiles(tree, kind, max_bytes, cache)
    disk = tree if isinstance(tree, WorkTree) else None
    if disk is None:
        workers = 1  # a git revision is read through one git process
    if cache is None:
        for path, (data, examined) in zip(
            paths, on_all_cores(read_and_examine, paths, workers), strict=True
        ):
            loaded.examined(path, data, examined, None)
        return loaded

    files = cache.files(kind, max_bytes)
    unknown: list[tuple[int, bytes, bytes]] = []  # (index, bytes, content key)
    unread = 0
    for path in paths:
        stat = disk.signature(path) if disk is not None else None
        if stat is not None and stat[0] <= max_bytes:
            key = files.known(path, stat)
            stored = cache.stored(key) if key is not None else None
            if key is not None and stored is not None:
                loaded.stored(path, key, stored)
                unread += 1
                continue
        data, refusal = read(path)
        if refusal is not None:
            loaded.examined(path, data, refusal, None)
            continue
        key = cache.key(kind, max_bytes, data)
        if stat is not None:
            files.saw(path, stat, key)
        stored = cache.stored(key)
        if stored is not None:
            loaded.stored(path, key, stored, data)
        else:
            unknown.append((len(loaded.paths), data, key))
            loaded.examined(path, data, None, key)

    def here() -> list[ExaminedFile]:
        return on_all_cores(lambda item: examine(item[1], kind, max_bytes), unknown, workers)

    _log.debug(
        "%d %s files: %d unchanged since the last check (not read), %d read and known by "
        "content, %d examined",
        len(paths),
        kind,
        unread,
        len(paths) - unread - len(unknown),
        len(unknown),
    )
    if helper is not None and 0 < len(unknown) < PARALLEL_FROM:
        fresh = helper.run("examine", [(data, kind, max_bytes) for _, data, _ in unknown], here)
    else:
        fresh = here()
    for (index, _, key), examined in zip(unknown, fresh, strict=True):
        cache.put(key, examined)
        loaded.settle(index, examined)
    return loaded


class LoadedFiles:
    """The files of one kind, in order: what each says, and, when first asked, its
    document and positions.

    A file read in this check holds its bytes (and, when examined now, its document).
    A file the cache knew unchanged holds nothing: its document comes from the cache
    (or, should the cached copy be damaged, from the file, if its bytes are still
    those checked) and its positions from the cache's memo or from the file.
    Positions and documents always describe the bytes that were checked; if a file
    changed since, a finding points at its first line, and its document is refused.
    """

    def __init__(self, tree: Tree, kind: str, max_bytes: int, cache: CatalogCache | None) -> None:
        self._tree, self._kind, self._max_bytes, self._cache = tree, kind, max_bytes, cache
        self.paths: list[str] = []
        """The files, relative to the tree's root."""
        self.facts: list[Facts] = []
        """For each file: name, integrations, valid, mapping, problems (`ExaminedFile`'s,
        in the order the cache keeps them)."""
        self.keys: list[bytes | None] = []
        """For each file: its content key (None without a cache, or when refused)."""
        self._data: list[bytes | None] = []
        self._examined: list[ExaminedFile | None] = []

    def examined(
        self, path: str, data: bytes, examined: ExaminedFile | None, key: bytes | None
    ) -> None:
        """Add a file read now (`examined` None: to be settled once it is examined)."""
        self.paths.append(path)
        self.keys.append(key)
        self._data.append(data)
        self._examined.append(examined)
        self.facts.append(_facts(examined) if examined is not None else _UNSETTLED)

    def settle(self, index: int, examined: ExaminedFile) -> None:
        """What the file at `index`, added unexamined, turned out to say."""
        self._examined[index] = examined
        self.facts[index] = _facts(examined)

    def stored(self, path: str, key: bytes, stored: Stored, data: bytes | None = None) -> None:
        """Add a file the cache knows (its bytes too, if they were read)."""
        self.paths.append(path)
        self.keys.append(key)
        self._data.append(data)
        self._examined.append(None)
        name, integrations, valid, mapping, rows, _ = stored
        problems = tuple(FileProblem(*row) for row in rows) if rows else ()
        self.facts.append((name, integrations, valid, mapping, problems))

    def document(self, index: int) -> Any:
        """The document of the file at `index` (parsed to a mapping)."""
        examined = self._examined[index]
        if examined is not None:
            return examined.document
        key = self.keys[index]
        assert self._cache is not None and key is not None
        return self._cache.document(key, partial(self._examine_again, index))

    def positions(self, index: int) -> LazyPositions:
        """Where each path sits in the file at `index` (worked out when asked)."""
        data = self._data[index]
        key = self.keys[index]
        memo = self._cache.memo(key) if self._cache is not None and key is not None else None
        examined = self._examined[index]
        marked = (
            MarkedPositions(examined.document, examined.marks)
            if examined is not None and examined.marks
            else None
        )
        source = data if data is not None else partial(self._bytes, index)
        return LazyPositions(source, memo, marked)

    def _bytes(self, index: int) -> bytes:
        """The file's bytes if they are still those checked, else nothing."""
        path, key = self.paths[index], self.keys[index]
        assert self._cache is not None
        try:
            data = self._tree.read(path)
        except OSError:
            return b""
        return data if self._cache.key(self._kind, self._max_bytes, data) == key else b""

    def _examine_again(self, index: int) -> Any:
        data = self._bytes(index)
        if not data:
            shown = self._tree.display(self.paths[index])
            raise GuardrailsError(f"{shown}: changed during the check; run the check again")
        return examine(data, self._kind, self._max_bytes).document


Facts = tuple[str | None, tuple[str, ...], bool, bool, tuple[FileProblem, ...]]
_UNSETTLED: Facts = (None, (), False, False, ())


def _facts(examined: ExaminedFile) -> Facts:
    return (
        examined.name,
        examined.integrations,
        examined.valid,
        examined.mapping,
        examined.problems,
    )


def _report(
    problems: Iterable[FileProblem], name: str | None, file: str, findings: list[Finding]
) -> None:
    """Turn a file's problems into findings."""
    for item in problems:
        findings.append(
            problem(
                item.rule,
                file,
                Mark(item.line, item.column),
                item.path,
                item.message,
                item.remediation,
                name if item.rule in ("SCHEMA-INVALID", "SCHEMA-PLACEHOLDER") else None,
            )
        )


def _flag_duplicates(
    documents: Sequence[Manifest] | Sequence[PolicyException], what: str, problems: list[Finding]
) -> set[str]:
    """Report every file whose name another file also uses; return the files flagged."""
    if len({document.name for document in documents}) == len(documents):
        return set()  # the usual case, checked at a fraction of the cost
    by_name: dict[str, list[Manifest | PolicyException]] = {}
    for document in documents:
        by_name.setdefault(document.name, []).append(document)
    flagged: set[str] = set()
    for name, owners in by_name.items():
        if len(owners) < 2:
            continue
        for owner in owners:
            others = ", ".join(o.file for o in owners if o.file != owner.file)
            problems.append(
                problem(
                    "SCHEMA-DUPLICATE-NAME",
                    owner.file,
                    owner.positions.locate(("metadata", "name")),
                    ("metadata", "name"),
                    f"{what} name '{name}' is also used by {others}",
                    manifest=name if what == "manifest" else None,
                )
            )
            flagged.add(owner.file)
    return flagged


def load_catalog(
    tree: Tree,
    config: Config,
    exceptions_from: Tree | None = None,
    *,
    cache: CatalogCache | None = None,
    workers: int | None = None,
    helper: SecondCore | None = None,
) -> Catalog:
    """Load every manifest under `config.manifests` and every exception.

    Exceptions come from `exceptions_from` when given (e.g. the pull request's base
    revision, so a pull request cannot approve its own waiver), else from `tree`.
    `cache` (optional) remembers examined files by content (the caller saves it,
    once positions have been asked for too); `workers` is how many
    processes examine files (None: as many as there are cores, for a large catalog);
    `helper` examines a few changed files on another core.
    """
    with acyclic():  # a catalog is a million small objects in no cycle
        return _load_catalog(tree, config, exceptions_from, cache, workers, helper)


def _load_catalog(
    tree: Tree,
    config: Config,
    exceptions_from: Tree | None,
    cache: CatalogCache | None,
    workers: int | None,
    helper: SecondCore | None,
) -> Catalog:
    problems: list[Finding] = []
    files = tree.files(config.manifests, YAML_SUFFIXES)

    manifests: list[Manifest] = []
    loaded = _examine(tree, files, "manifest", config.max_file_bytes, cache, workers, helper)
    shown_files = [tree.display(path) for path in files]
    for index, (path, shown) in enumerate(zip(files, shown_files, strict=True)):
        name, integrations, valid, mapping, found = loaded.facts[index]
        _report(found, name, shown, problems)
        if mapping:
            stem = name or PurePosixPath(path).stem
            manifests.append(
                Manifest(stem, shown, valid, integrations, loaded.keys[index], loaded, index)
            )
    _flag_duplicates(manifests, "manifest", problems)

    exceptions: list[PolicyException] = []
    source = exceptions_from or tree
    exception_files = source.files(config.exceptions, YAML_SUFFIXES)
    loaded = _examine(source, exception_files, "exception", config.max_file_bytes, cache, 1, helper)
    for index, path in enumerate(exception_files):
        shown = source.display(path)
        name, _, valid, _, found = loaded.facts[index]
        _report(found, name, shown, problems)
        if not valid:
            continue
        doc = loaded.document(index)
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
                positions=loaded.positions(index),
            )
        )
    flagged = _flag_duplicates(exceptions, "exception", problems)
    exceptions = [e for e in exceptions if e.file not in flagged]  # ambiguous: apply neither

    return Catalog(
        manifests=tuple(manifests),
        exceptions=tuple(exceptions),
        problems=tuple(problems),
        files=tuple(shown_files),
    )
