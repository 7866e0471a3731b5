"""Examine one file from its bytes alone: parse it safely, validate it, say what is wrong.

What a file yields depends only on its bytes, its kind and the size limit, never on
the rest of the catalog, the policies or the date. That is what makes the result safe
to cache by content hash (`cache.py`) and to compute on several cores at once
(`guardrails/cores.py`). Positions are not part of it: they are re-derived from the bytes
only for files that have a finding (`LazyPositions`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from guardrails.catalog.safe_yaml import (
    LazyPositions,
    LoadError,
    Mark,
    Path,
    Positions,
    answer_all,
    load_marked,
    load_text,
)
from guardrails.catalog.schema import is_valid, placeholders, validate
from guardrails.cores import on_all_cores


@dataclass(frozen=True)
class FileProblem:
    """A reason a file is refused, already placed at its line and column."""

    rule: str
    """`SCHEMA-PARSE` (not safe, valid YAML or not a mapping), `SCHEMA-INVALID` or
    `SCHEMA-PLACEHOLDER` (a `<...>` value left from `guardrails new`)."""
    line: int
    """1-based line to point at."""
    column: int
    """1-based column to point at."""
    path: Path
    """Path in the document the problem is about (empty for the whole file)."""
    message: str
    """What is wrong."""
    remediation: str
    """What to do instead (empty: the rule's own remediation)."""


@dataclass(frozen=True)
class ExaminedFile:
    """Everything a file's bytes say, before the catalog around it is considered."""

    document: Any
    """The document as plain values when it parsed to a mapping, else None."""
    valid: bool
    """True when it parsed to a mapping and passed the JSON Schema."""
    problems: tuple[FileProblem, ...]
    """Parse or schema problems, in the order they are reported."""
    name: str | None = None
    """`metadata.name` when it is a non-empty string."""
    integrations: tuple[str, ...] = ()
    """The tools `spec.integrations` names, in order: whom the policies look up for it."""
    marks: tuple[int, ...] = ()
    """Where each node of `document` starts, as its parse took them (`load_marked`):
    positions without parsing the file again. Not kept in the cache (a re-check reads
    the positions findings asked for from there)."""

    @property
    def mapping(self) -> bool:
        """True when it parsed to a mapping (a document the catalog holds)."""
        return self.document is not None


def examined(
    document: Any, valid: bool, problems: tuple[FileProblem, ...], marks: tuple[int, ...] = ()
) -> ExaminedFile:
    """The `ExaminedFile` of a parsed `document` (`marks`: as `ExaminedFile.marks`)."""
    if not isinstance(document, Mapping):
        return ExaminedFile(None, valid, problems)
    return ExaminedFile(
        document, valid, problems, name_of(document), integrations_of(document), marks
    )


def name_of(document: Mapping[str, Any]) -> str | None:
    """`metadata.name` when it is a non-empty string."""
    metadata = document.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    # Interned, like the tools below: a name is written once in the cache, however many
    # manifests name it (and read back as one object).
    return sys.intern(name) if isinstance(name, str) and name else None


def integrations_of(document: Mapping[str, Any]) -> tuple[str, ...]:
    """The tool names under `spec.integrations[*].tool`, in order, each once."""
    spec = document.get("spec")
    flows = spec.get("integrations") if isinstance(spec, Mapping) else None
    if not isinstance(flows, list):
        return ()
    tools = (flow.get("tool") for flow in flows if isinstance(flow, Mapping))
    return tuple(dict.fromkeys(sys.intern(t) for t in tools if isinstance(t, str)))


_START = Mark(1, 1)


def refused(message: str, mark: Mark = _START) -> ExaminedFile:
    """A file that cannot be used at all (unreadable, too big, not YAML)."""
    return examined(None, False, (FileProblem("SCHEMA-PARSE", *_at(mark), (), message, ""),))


def _at(mark: Mark) -> tuple[int, int]:
    return mark.line, mark.column


def examine(data: bytes, kind: str, max_bytes: int) -> ExaminedFile:
    """Parse and validate `data` as a `kind` document (`manifest` or `exception`)."""
    try:
        document, taken = load_marked(data, max_bytes)
    except LoadError as err:
        return refused(err.message, err.mark)
    # A tuple of ints, which pickle (from a worker) and marshal copy in one go.
    marks = tuple(taken)
    if not isinstance(document, Mapping):
        positions = load_text(data.decode("utf-8-sig")).positions
        problem = FileProblem(
            "SCHEMA-PARSE",
            *_at(positions.locate(())),
            (),
            f"the document is a {type(document).__name__}, not a mapping",
            "Start the file with `apiVersion: guardrails/v1` and `kind:`, as keys.",
        )
        return examined(None, False, (problem,))
    # A placeholder needs a `<`: the bytes of most files have none, and are not walked.
    holes = placeholders(kind, document) if b"<" in data else []
    if not holes and is_valid(kind, document):
        return examined(document, True, (), marks)
    # A placeholder is one finding, whatever the schema also says about the same value.
    filled = {hole.path for hole in holes}
    found = [item for item in validate(kind, document) if item.path not in filled]
    if not found and not holes:  # the fast validator is the stricter one; this one decides
        return examined(document, True, (), marks)
    # Only now are positions worth their cost: every problem points at a line.
    positions = load_text(data.decode("utf-8-sig")).positions
    problems = tuple(
        FileProblem(
            rule,
            *_at((positions.key(item.path) if item.key else None) or positions.locate(item.path)),
            item.path if item.shown is None else item.shown,
            item.message,
            item.remediation,
        )
        for rule, items in (("SCHEMA-PLACEHOLDER", holes), ("SCHEMA-INVALID", found))
        for item in items
    )
    # A document with a placeholder is not finished: never judged, never applied.
    return examined(document, False, problems, marks)


def locate_all(asked: Iterable[tuple[Positions, Path]], workers: int | None = None) -> None:
    """Work out `positions.locate(path)` for every pair now, on all cores, for later.

    Finding positions is the one step after the engine that parses files again; done
    here for a whole catalog's findings at once, it runs on every core. The answers
    are the ones `locate` would give (same loader, same bytes); only files whose
    positions are lazy and not yet known are parsed.
    """
    wanted: dict[int, tuple[LazyPositions, list[Path]]] = {}
    for positions, path in asked:
        # A file whose loading marks are at hand answers at once, here.
        if isinstance(positions, LazyPositions) and not positions.at_hand:
            wanted.setdefault(id(positions), (positions, []))[1].append(path)
    work = [(p, p.unknown("locate", paths)) for p, paths in wanted.values()]
    work = [(p, paths) for p, paths in work if paths]
    found = on_all_cores(lambda item: answer_all(item[0].data, "locate", item[1]), work, workers)
    for (positions, paths), marks in zip(work, found, strict=True):
        positions.learn({("locate", path): mark for path, mark in zip(paths, marks, strict=True)})
