"""Load a catalog: every manifest and exception, parsed safely and schema-checked.

Nothing here raises for a bad file: a file that cannot be used becomes a blocking
`schema` finding at its line and column, and the rest of the catalog still loads.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from guardrails.catalog.examine import ExaminedFile, examine, on_all_cores, refused
from guardrails.catalog.model import Catalog, Manifest, PolicyException
from guardrails.catalog.safe_yaml import LazyPositions, Mark, Path, Positions
from guardrails.catalog.tree import YAML_SUFFIXES, Tree, WorkTree
from guardrails.config import Config
from guardrails.findings import Finding, Rule, format_path

if TYPE_CHECKING:
    from guardrails.catalog.cache import ExaminedCache

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
    cache: ExaminedCache | None,
    workers: int | None,
) -> list[tuple[ExaminedFile, LazyPositions]]:
    """Read and examine every file (from the cache where it is unchanged), in order.

    Without a cache everything per file (reading, parsing, validating) runs on all
    cores for a large catalog on disk. With one, files are read and looked up here
    (sending a cached document back from another process costs more than finding
    it), and only the files that changed are examined on all cores.
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

    if not isinstance(tree, WorkTree):
        workers = 1  # a git revision is read through one git process
    if cache is None:
        return [(e, LazyPositions(d)) for d, e in on_all_cores(read_and_examine, paths, workers)]

    found: list[tuple[bytes, ExaminedFile | None, bytes | None]] = []
    for path in paths:
        data, examined = read(path)
        key = None
        if examined is None:
            key = cache.key(kind, max_bytes, data)
            examined = cache.get(key)
            if examined is not None:
                cache.keep(key)
        found.append((data, examined, key))

    def examine_and_encode(item: tuple[bytes, bytes]) -> tuple[ExaminedFile, Any]:
        data, key = item
        examined = examine(data, kind, max_bytes)
        return examined, cache.entry(key, examined)

    changed = [(i, data, key) for i, (data, e, key) in enumerate(found) if key and e is None]
    fresh = on_all_cores(examine_and_encode, [(d, k) for _, d, k in changed], workers)
    for (i, data, key), (examined, entry) in zip(changed, fresh, strict=True):
        cache.keep(key, entry)
        found[i] = (data, examined, key)
    loaded: list[tuple[ExaminedFile, LazyPositions]] = []
    for data, examined, key in found:
        assert examined is not None
        loaded.append((examined, LazyPositions(data, cache.memo(key) if key else None)))
    return loaded


def _report(examined: ExaminedFile, file: str, problems: list[Finding]) -> Mapping[str, Any] | None:
    """Turn a file's problems into findings; its document when it is a mapping."""
    document = examined.document
    name = _name_of(document) if document is not None else None
    for item in examined.problems:
        problems.append(
            problem(
                item.rule,
                file,
                Mark(item.line, item.column),
                item.path,
                item.message,
                item.remediation,
                name if item.rule == "SCHEMA-INVALID" else None,
            )
        )
    return document if isinstance(document, Mapping) else None


def _name_of(document: Mapping[str, Any]) -> str | None:
    metadata = document.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    return name if isinstance(name, str) and name else None


def _flag_duplicates(
    named: Iterable[tuple[str, str, Positions]], what: str, problems: list[Finding]
) -> set[str]:
    """Report every file whose name another file also uses; return the files flagged."""
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
    cache: ExaminedCache | None = None,
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
    cache: ExaminedCache | None,
    workers: int | None,
) -> Catalog:
    problems: list[Finding] = []
    files = tree.files(config.manifests, YAML_SUFFIXES)
    files += [f for f in extra if f not in files]

    manifests: list[Manifest] = []
    examined = _examine(tree, files, "manifest", config.max_file_bytes, cache, workers)
    shown_files = [tree.display(path) for path in files]
    for path, shown, (result, positions) in zip(files, shown_files, examined, strict=True):
        document = _report(result, shown, problems)
        if document is None:
            continue
        name = _name_of(document) or PurePosixPath(path).stem
        manifests.append(Manifest(name, shown, document, positions, result.valid))
    _flag_duplicates(((m.name, m.file, m.positions) for m in manifests), "manifest", problems)

    exceptions: list[PolicyException] = []
    source = exceptions_from or tree
    exception_files = source.files(config.exceptions, YAML_SUFFIXES)
    examined = _examine(source, exception_files, "exception", config.max_file_bytes, cache, 1)
    for path, (result, positions) in zip(exception_files, examined, strict=True):
        shown = source.display(path)
        doc = _report(result, shown, problems)
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
