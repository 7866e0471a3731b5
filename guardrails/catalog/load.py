"""Load a catalog: every manifest and exception, parsed safely and schema-checked.

Nothing here raises for a bad file: a file that cannot be used becomes a blocking
`schema` finding at its line and column, and the rest of the catalog still loads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from guardrails.catalog.model import Catalog, Manifest, PolicyException
from guardrails.catalog.safe_yaml import Loaded, LoadError, Mark, Path, Positions, load_bytes
from guardrails.catalog.schema import validate
from guardrails.catalog.tree import YAML_SUFFIXES, Tree
from guardrails.config import Config
from guardrails.findings import Finding, Rule, format_path

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


@dataclass(frozen=True)
class _Parsed:
    """A file that parsed to a mapping, and the problems found in it."""

    file: str
    loaded: Loaded
    valid: bool


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


def _parse(
    tree: Tree, path: str, kind: str, max_bytes: int, problems: list[Finding]
) -> _Parsed | None:
    """Read, parse and validate one file; record problems; None when unusable."""
    shown = tree.display(path)
    try:
        if tree.size(path) > max_bytes:
            # Refuse before reading: a huge file costs nothing.
            raise LoadError(
                f"file is {tree.size(path):,} bytes, over the {max_bytes:,}-byte limit",
                Mark(1, 1),
            )
        loaded = load_bytes(tree.read(path), max_bytes)
    except LoadError as err:
        problems.append(problem("SCHEMA-PARSE", shown, err.mark, (), err.message))
        return None
    except OSError as err:
        problems.append(problem("SCHEMA-PARSE", shown, Mark(1, 1), (), f"cannot read: {err}"))
        return None
    if not isinstance(loaded.value, Mapping):
        problems.append(
            problem(
                "SCHEMA-PARSE",
                shown,
                loaded.positions.locate(()),
                (),
                f"the document is a {type(loaded.value).__name__}, not a mapping",
                "Start the file with `apiVersion: guardrails/v1` and `kind:`, as keys.",
            )
        )
        return None
    name = _name_of(loaded.value)
    found = validate(kind, loaded.value)
    for item in found:
        mark = (loaded.positions.key(item.path) if item.key else None) or loaded.positions.locate(
            item.path
        )
        problems.append(
            problem("SCHEMA-INVALID", shown, mark, item.path, item.message, item.remediation, name)
        )
    return _Parsed(shown, loaded, not found)


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
    tree: Tree, config: Config, extra: Iterable[str] = (), exceptions_from: Tree | None = None
) -> Catalog:
    """Load every manifest under `config.manifests` (plus `extra` files) and every exception.

    Exceptions come from `exceptions_from` when given (e.g. the pull request's base
    revision, so a pull request cannot approve its own waiver), else from `tree`.
    """
    problems: list[Finding] = []
    files = tree.files(config.manifests, YAML_SUFFIXES)
    files += [f for f in extra if f not in files]

    manifests: list[Manifest] = []
    for path in files:
        parsed = _parse(tree, path, "manifest", config.max_file_bytes, problems)
        if parsed is None:
            continue
        value = parsed.loaded.value
        name = _name_of(value) or PurePosixPath(path).stem
        manifests.append(Manifest(name, parsed.file, value, parsed.loaded.positions, parsed.valid))
    _flag_duplicates(((m.name, m.file, m.positions) for m in manifests), "manifest", problems)

    exceptions: list[PolicyException] = []
    source = exceptions_from or tree
    for path in source.files(config.exceptions, YAML_SUFFIXES):
        parsed = _parse(source, path, "exception", config.max_file_bytes, problems)
        if parsed is None or not parsed.valid:
            continue
        doc = parsed.loaded.value
        spec = doc["spec"]
        exceptions.append(
            PolicyException(
                name=doc["metadata"]["name"],
                file=parsed.file,
                rule=spec["rule"],
                manifests=tuple(spec["manifests"]),
                justification=spec["justification"],
                approved_by=spec["approved_by"],
                expires=spec["expires"],
                positions=parsed.loaded.positions,
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
        files=tuple(tree.display(f) for f in files),
    )
