"""Safe YAML loading that remembers where every value came from.

Manifests are written by people, reviewed in pull requests and read by a program
that decides whether software may be bought. So the loader is strict, and every
refusal is a `LoadError` carrying a line and column, never a traceback:

* one document per file, UTF-8 only, a size limit;
* no tags at all beyond YAML's own core ones (no ``!!python/...``), no duplicate keys;
* YAML 1.2 core-schema scalars: only ``true``/``false`` are booleans (``no``, ``on``,
  ``off`` stay strings), and a date such as ``2027-03-01`` stays its ISO string;
* aliases are allowed but their expansion is bounded, so an alias bomb is refused
  after a few thousand nodes instead of exhausting memory.

PyYAML's C parser builds the node tree (the fast part); this module turns nodes into
plain Python values and records, for every path, where its key and value start.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

try:  # the C parser is ~10x faster; the pure-Python one has the same semantics
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

DEFAULT_MAX_BYTES = 1024 * 1024
# Expanded nodes allowed per file. A real manifest has a few hundred; an alias bomb
# asks for billions. The bound is on work done, so refusal is fast whatever the shape.
MAX_EXPANDED_NODES = 50_000
MAX_DEPTH = 64

Path = tuple[str | int, ...]

_PLAIN = "tag:guardrails:plain"
_CORE = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {_PLAIN, *(f"{_CORE}{t}" for t in ("str", "map", "seq"))}

# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"^[-+]?[0-9]+$|^0o[0-7]+$|^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")


@dataclass(frozen=True)
class Mark:
    """A 1-based position in a file."""

    line: int
    """Line number, starting at 1."""
    column: int
    """Column number, starting at 1."""


class LoadError(Exception):
    """A file that cannot be accepted, with where and why."""

    def __init__(self, message: str, mark: Mark) -> None:
        super().__init__(message, mark)
        self.message = message
        """What is wrong and what to do about it, in one sentence."""
        self.mark = mark
        """Where the problem is."""

    def __str__(self) -> str:
        return f"{self.mark.line}:{self.mark.column}: {self.message}"


class Positions:
    """Where each path of a loaded document sits in its file.

    ``locate(path)`` returns the position of the value at ``path``; when that value
    does not exist it walks up to the nearest enclosing key that does, which is where
    a person has to add the missing piece.
    """

    __slots__ = ("_keys", "_values")

    def __init__(self, values: dict[Path, Mark], keys: dict[Path, Mark]) -> None:
        self._values = values
        self._keys = keys

    def value(self, path: Path) -> Mark | None:
        """Position of the value at ``path``, if it exists."""
        return self._values.get(path)

    def key(self, path: Path) -> Mark | None:
        """Position of the mapping key that holds ``path``, if it exists."""
        return self._keys.get(path)

    def locate(self, path: Path) -> Mark:
        """The value at ``path``, else the key of the nearest existing ancestor."""
        found = self._values.get(path)
        if found is not None:
            return found
        probe = path[:-1]
        while probe:
            found = self._keys.get(probe) or self._values.get(probe)
            if found is not None:
                return found
            probe = probe[:-1]
        return self._values.get((), Mark(1, 1))


@dataclass(frozen=True)
class Loaded:
    """One YAML document: its value and the position of every part of it."""

    value: Any
    """The document as plain Python values (dict, list, str, int, float, bool, None)."""
    positions: Positions
    """Where each path sits in the file."""


class _Loader(_BaseLoader):
    """The C parser with no implicit typing: we resolve plain scalars ourselves."""

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            return _PLAIN if implicit[0] else f"{_CORE}str"
        if kind is yaml.SequenceNode:
            return f"{_CORE}seq"
        return f"{_CORE}map"


def _mark(m: yaml.Mark) -> Mark:
    return Mark(m.line + 1, m.column + 1)


def _plain_scalar(text: str) -> Any:
    if _NULL.match(text):
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT.match(text):
        if text.startswith("0o"):
            return int(text[2:], 8)
        if text.startswith("0x"):
            return int(text[2:], 16)
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.match(text):
        return math.nan
    return text


class _Builder:
    """Turns a node tree into values, recording positions and bounding alias expansion."""

    def __init__(self) -> None:
        self.values: dict[Path, Mark] = {}
        self.keys: dict[Path, Mark] = {}
        self.budget = MAX_EXPANDED_NODES
        self.active: set[int] = set()
        self.built: set[int] = set()
        self.alias_use: Path | None = None  # where the outermost alias being expanded is used

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.budget -= 1
        if self.budget < 0:
            # Point at the key where an alias made it explode, not at the anchor above.
            site = self.alias_use if self.alias_use is not None else path
            keys = (self.keys.get(site[:n]) for n in range(len(site), 0, -1))
            raise LoadError(
                "too many nodes after alias expansion (an alias bomb?); "
                "write the values out instead of repeating aliases",
                next((k for k in keys if k is not None), _mark(node.start_mark)),
            )
        if len(path) > MAX_DEPTH:
            raise LoadError(f"nesting deeper than {MAX_DEPTH} levels", _mark(node.start_mark))
        if node.tag not in _ALLOWED_TAGS:
            raise LoadError(
                f"tag {node.tag!r} is not allowed; remove it and write a plain value",
                _mark(node.start_mark),
            )
        # A block mapping or list starts on the line after its key; point at the key,
        # which is where a person reads and edits it.
        block = isinstance(node, yaml.CollectionNode) and not node.flow_style
        self.values[path] = (
            self.keys[path] if block and path in self.keys else _mark(node.start_mark)
        )
        if isinstance(node, yaml.ScalarNode):
            return _plain_scalar(node.value) if node.tag == _PLAIN else node.value
        if id(node) in self.active:
            raise LoadError("recursive alias: a value contains itself", _mark(node.start_mark))
        outermost_alias = id(node) in self.built and self.alias_use is None
        if outermost_alias:
            self.alias_use = path
        self.built.add(id(node))
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            assert isinstance(node, yaml.MappingNode)
            return self._mapping(node, path)
        finally:
            self.active.discard(id(node))
            if outermost_alias:
                self.alias_use = None

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise LoadError("a key must be a plain name", _mark(key_node.start_mark))
            if key_node.tag not in _ALLOWED_TAGS:
                raise LoadError(
                    f"tag {key_node.tag!r} is not allowed on a key", _mark(key_node.start_mark)
                )
            key = key_node.value
            if key in result:
                first = self.keys[(*path, key)]
                raise LoadError(
                    f"duplicate key {key!r} (first defined at line {first.line}); keep one of them",
                    _mark(key_node.start_mark),
                )
            self.keys[(*path, key)] = _mark(key_node.start_mark)
            result[key] = self.build(value_node, (*path, key))
        return result


def decode(data: bytes) -> str:
    """Decode UTF-8 (a BOM is tolerated), or raise `LoadError` at the first bad byte."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        offset = err.start
        before = data[:offset]
        line = before.count(b"\n") + 1
        column = offset - (before.rfind(b"\n") + 1) + 1
        raise LoadError(
            f"not UTF-8 (byte 0x{data[offset]:02x}); save the file as UTF-8",
            Mark(line, column),
        ) from None
    return text


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.splitlines()
    return lines[line][column : column + 1] if line < len(lines) else ""


def load_text(text: str) -> Loaded:
    """Parse one YAML document from ``text``; raise `LoadError` on anything unsafe."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = err.problem or err.context or "invalid YAML"
        if "expected a single document" in str(err.context or ""):
            problem = "more than one YAML document; keep one per file (remove the '---')"
        elif mark and _char_at(text, mark.line, mark.column) == "\t":
            problem = "a tab character; indent with spaces, not tabs"
        raise LoadError(problem, _mark(mark) if mark else Mark(1, 1)) from None
    except yaml.YAMLError as err:  # pragma: no cover - unmarked errors are rare
        raise LoadError(f"invalid YAML: {err}", Mark(1, 1)) from None
    finally:
        loader.dispose()
    if node is None:
        raise LoadError("the file is empty", Mark(1, 1))
    builder = _Builder()
    try:
        value = builder.build(node, ())
    except RecursionError:
        raise LoadError("nesting too deep", _mark(node.start_mark)) from None
    return Loaded(value, Positions(builder.values, builder.keys))


def load_bytes(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> Loaded:
    """Size-check and decode ``data``, then `load_text` it."""
    if len(data) > max_bytes:
        raise LoadError(
            f"file is {len(data):,} bytes, over the {max_bytes:,}-byte limit; "
            "a manifest should be a few kilobytes",
            Mark(1, 1),
        )
    return load_text(decode(data))


def is_mapping(value: Any) -> bool:
    """True for a YAML mapping (used to refuse a list or a scalar as a document root)."""
    return isinstance(value, Mapping)
