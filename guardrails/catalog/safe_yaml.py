"""Safe YAML loading that remembers where every value came from.

Manifests are written by people, reviewed in pull requests and read by a program
that decides whether software may be bought. So the loader is strict, and every
refusal is a `LoadError` carrying a line and column, never a traceback:

* one document per file, UTF-8 only, a size limit;
* no tags at all beyond YAML's own core ones (no ``!!python/...``), no duplicate keys;
* YAML 1.2 core-schema scalars: only ``true``/``false`` are booleans (``no``, ``on``,
  ``off`` stay strings), and a date such as ``2027-03-01`` stays its ISO string;
* aliases are allowed but their expansion is bounded, so an alias bomb is refused
  after a few thousand nodes instead of exhausting memory;
* lines are YAML 1.2 lines: only LF and CR end one. PyYAML (YAML 1.1) also breaks
  lines at U+0085, U+2028 and U+2029, so a comment holding one would end early, and
  what a reviewer reads as comment would be a key; those characters are read as
  ordinary text here, and every line number is the one editors and git show;
* an integer too long to convert safely is refused at its line.

PyYAML's C parser builds the node tree (the fast part); this module turns nodes into
plain Python values and records, for every path, where its key and value start.

Most files of a large catalog never need a position (nothing is wrong with them), so
`load_value` builds only the value, with exactly the same checks, and `LazyPositions`
re-parses a file for its positions the first time a finding needs one. Any refusal
on the fast path is re-done by the full loader, so every error message and position
is the one `load_text` gives.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

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


class Mark(NamedTuple):
    """A 1-based position in a file (a named pair: made by the thousand per check)."""

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

    # The parser calls these for every node to support path-based resolvers, which
    # this loader never registers; doing nothing saves a few percent of parsing.
    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            return _PLAIN if implicit[0] else f"{_CORE}str"
        if kind is yaml.SequenceNode:
            return f"{_CORE}seq"
        return f"{_CORE}map"


def _mark(m: yaml.Mark) -> Mark:
    return Mark(m.line + 1, m.column + 1)


class _Refused(Exception):
    """The fast path saw something it will not accept; the full loader says why."""


class _NotFinite(_Refused):
    """A plain scalar that YAML reads as infinity or not-a-number."""


class _TooLong(_Refused):
    """A decimal integer with more digits than Python converts (quadratic work)."""


class _NotExact(_Refused):
    """A number beyond ±2^53, which not every Rego engine holds exactly."""


# regorus holds numbers as 64-bit floats (exact to 2^53), OPA as exact decimals: a
# larger number would be compared and shown differently by each (the policies' verdict
# must not depend on the engine).
_EXACT = 2**53


# A plain scalar can only be null, a boolean or a number when it starts with one of
# these; everything else is a string, which is most of a manifest, so skip the regexes.
_NOT_ALWAYS_TEXT = frozenset("0123456789+-.~nNtTfF")


def _plain_scalar(text: str) -> Any:
    if text and text[0] not in _NOT_ALWAYS_TEXT:
        return text
    if _NULL.match(text):
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT.match(text):
        if text.startswith("0o"):
            whole = int(text[2:], 8)
        elif text.startswith("0x"):
            whole = int(text[2:], 16)
        else:
            try:
                whole = int(text)
            except ValueError as cause:  # over `sys.get_int_max_str_digits()`
                raise _TooLong from cause
        if abs(whole) > _EXACT:
            raise _NotExact
        return whole
    if _FLOAT.match(text):
        number = float(text)
        if math.isinf(number):  # too large for a float (1e999)
            raise _NotFinite
        if abs(number) > _EXACT:
            raise _NotExact
        return number
    if _INF.match(text) or _NAN.match(text):
        raise _NotFinite  # YAML has them; JSON, and so the policies, do not
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
            if node.tag != _PLAIN:
                return node.value
            try:
                return _plain_scalar(node.value)
            except _NotFinite as cause:
                raise LoadError(
                    f"{node.value} is not a finite number (JSON cannot carry it); write a "
                    "number, or quote it to keep it as text",
                    _mark(node.start_mark),
                ) from cause
            except _TooLong as cause:
                raise LoadError(
                    f"a {len(node.value):,}-digit number is larger than any value the schema "
                    "allows; write the real amount",
                    _mark(node.start_mark),
                ) from cause
            except _NotExact as cause:
                raise LoadError(
                    f"{node.value} is beyond ±2^53 (9007199254740992): not every Rego engine "
                    "holds it exactly; write a smaller number, or quote it to keep it as text",
                    _mark(node.start_mark),
                ) from cause
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
        ) from err
    return text


_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # YAML 1.2's, and the only ones left to the parser
_NOT_BREAKS = "\x85\u2028\u2029"  # YAML 1.1 line breaks, ordinary characters in 1.2


def _lines(text: str) -> list[str]:
    return _LINE_BREAK.split(text)


def _char_at(text: str, line: int, column: int) -> str:
    lines = _lines(text)
    return lines[line][column : column + 1] if line < len(lines) else ""


def _compose(text: str) -> yaml.Node | None:
    """The node tree of the one document in `text` (None when it has none).

    Raises `yaml.YAMLError` (and `RecursionError` for absurd nesting) as PyYAML does.
    U+0085, U+2028 and U+2029 are handed to the parser as private-use characters it
    reads as text, then given back in every scalar: YAML 1.2 lines, columns unchanged.
    """
    if not any(char in text for char in _NOT_BREAKS):  # nearly always: no cost
        loader = _Loader(text)
        try:
            return loader.get_single_node()
        finally:
            loader.dispose()
    stand_ins: dict[str, str] = {}
    candidate = 0xE000
    for char in _NOT_BREAKS:
        if char in text:
            while chr(candidate) in text:
                candidate += 1
            stand_ins[char] = chr(candidate)
            candidate += 1
    loader = _Loader(text.translate({ord(k): v for k, v in stand_ins.items()}))
    try:
        root = loader.get_single_node()
    finally:
        loader.dispose()
    back = {ord(v): k for k, v in stand_ins.items()}
    seen: set[int] = set()
    pending = [root] if root is not None else []
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            node.value = node.value.translate(back)
        elif isinstance(node, yaml.SequenceNode):
            pending += node.value
        elif isinstance(node, yaml.MappingNode):
            pending += [part for pair in node.value for part in pair]
    return root


def _inside(text: str, mark: yaml.Mark) -> Mark:
    """`mark`, or the end of the last line with content when it points past it (EOF)."""
    lines = _lines(text)
    last = max((i for i, line in enumerate(lines) if line.strip()), default=0)
    if mark.line <= last:
        return _mark(mark)
    return Mark(last + 1, len(lines[last].rstrip()) + 1)


def load_text(text: str) -> Loaded:
    """Parse one YAML document from ``text``; raise `LoadError` on anything unsafe."""
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = err.problem or err.context or "invalid YAML"
        if "expected a single document" in str(err.context or ""):
            problem = "more than one YAML document; keep one per file (remove the '---')"
        elif mark and _char_at(text, mark.line, mark.column) == "\t":
            problem = "a tab character; indent with spaces, not tabs"
        raise LoadError(problem, _inside(text, mark) if mark else Mark(1, 1)) from err
    except yaml.YAMLError as err:  # pragma: no cover - unmarked errors are rare
        raise LoadError(f"invalid YAML: {err}", Mark(1, 1)) from err
    except RecursionError as cause:
        raise LoadError(f"nesting deeper than {MAX_DEPTH} levels", Mark(1, 1)) from cause
    if node is None:
        raise LoadError("the file is empty", Mark(1, 1))
    builder = _Builder()
    try:
        value = builder.build(node, ())
    except RecursionError as cause:
        raise LoadError("nesting too deep", _mark(node.start_mark)) from cause
    return Loaded(value, Positions(builder.values, builder.keys))


def _check_size(data: bytes, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise LoadError(
            f"file is {len(data):,} bytes, over the {max_bytes:,}-byte limit; "
            "a manifest should be a few kilobytes",
            Mark(1, 1),
        )


def load_bytes(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> Loaded:
    """Size-check and decode ``data``, then `load_text` it."""
    _check_size(data, max_bytes)
    return load_text(decode(data))


class _ValueBuilder:
    """`_Builder`'s checks (tags, duplicate keys, depth, recursion, alias budget), and
    where every node starts in the compact form `MarkedPositions` reads.

    `marks` gets three numbers per node, in document order (a mapping's key before its
    value, aliases expanded as the value is): the 1-based line and column `Positions`
    gives for it (a block collection under a key: the key's, as `_Builder`), and how
    many nodes its subtree holds (itself included). Taking them while the node tree is
    at hand costs a fraction of parsing the file again for positions, which a file with
    a finding would otherwise be (`bench/` on a findings-heavy catalog).
    """

    __slots__ = ("active", "budget", "marks")

    def __init__(self) -> None:
        self.budget = MAX_EXPANDED_NODES
        self.active: set[int] = set()
        self.marks: list[int] = []

    def build(self, node: yaml.Node, depth: int, shown: Any = None) -> Any:
        """The value of `node`; `shown` is the start mark to record for it (default:
        its own)."""
        self.budget -= 1
        if self.budget < 0 or depth > MAX_DEPTH or node.tag not in _ALLOWED_TAGS:
            raise _Refused
        marks = self.marks
        start = shown or node.start_mark
        if isinstance(node, yaml.ScalarNode):
            marks += (start.line + 1, start.column + 1, 1)
            return _plain_scalar(node.value) if node.tag == _PLAIN else node.value
        if id(node) in self.active:
            raise _Refused
        self.active.add(id(node))
        here = len(marks)
        marks += (start.line + 1, start.column + 1, 0)  # its size is known at the end
        # Scalars, three in four nodes, are built inline with the same checks: a call
        # per node is most of the cost of this loop.
        inner = depth + 1
        try:
            if isinstance(node, yaml.SequenceNode):
                items: list[Any] = []
                for item in node.value:
                    if item.__class__ is yaml.ScalarNode:
                        self.budget -= 1
                        if self.budget < 0 or inner > MAX_DEPTH or item.tag not in _ALLOWED_TAGS:
                            raise _Refused
                        mark = item.start_mark
                        marks += (mark.line + 1, mark.column + 1, 1)
                        items.append(
                            _plain_scalar(item.value) if item.tag == _PLAIN else item.value
                        )
                    else:
                        items.append(self.build(item, inner))
                marks[here + 2] = (len(marks) - here) // 3
                return items
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _ALLOWED_TAGS:
                    raise _Refused
                key = key_node.value
                if key in result:
                    raise _Refused
                key_mark = key_node.start_mark
                marks += (key_mark.line + 1, key_mark.column + 1, 1)
                if value_node.__class__ is yaml.ScalarNode:
                    self.budget -= 1
                    tag = value_node.tag
                    if self.budget < 0 or inner > MAX_DEPTH or tag not in _ALLOWED_TAGS:
                        raise _Refused
                    mark = value_node.start_mark
                    marks += (mark.line + 1, mark.column + 1, 1)
                    text = value_node.value
                    result[key] = _plain_scalar(text) if tag == _PLAIN else text
                else:
                    # A block collection under a key is shown at its key (as `_Builder`).
                    block = isinstance(value_node, yaml.CollectionNode) and not (
                        value_node.flow_style
                    )
                    result[key] = self.build(value_node, inner, key_mark if block else None)
            marks[here + 2] = (len(marks) - here) // 3
            return result
        finally:
            self.active.discard(id(node))


def load_value(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """The document in ``data`` as plain values, without positions.

    Accepts and refuses exactly what `load_bytes` does (a refusal is re-done by
    `load_bytes`, so the `LoadError` is the same, position included); it is faster
    because it records no position.
    """
    return load_marked(data, max_bytes)[0]


def load_marked(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[Any, list[int]]:
    """`load_value`, with where each node starts (`_ValueBuilder.marks`)."""
    _check_size(data, max_bytes)
    text = decode(data)
    builder = _ValueBuilder()
    try:
        node = _compose(text)
        value = builder.build(node, 0) if node is not None else None
        refused = node is None
    except (yaml.YAMLError, _Refused, RecursionError):
        refused = True
    if refused:
        load_text(text)  # raises the exact error
        raise AssertionError("the full loader accepted what the fast one refused")
    return value, builder.marks


class _Walked(Positions):
    """`Positions` that answer `value` and `key` by walking a path: `locate` from those."""

    __slots__ = ()

    def locate(self, path: Path) -> Mark:
        """The value at ``path``, else the key of the nearest existing ancestor."""
        found = self.value(path)
        if found is not None:
            return found
        probe = path[:-1]
        while probe:
            found = self.key(probe) or self.value(probe)
            if found is not None:
                return found
            probe = probe[:-1]
        return self.value(()) or Mark(1, 1)


class MarkedPositions(_Walked):
    """`Positions` of a document from the marks its first parse took (`load_marked`).

    Answers exactly as `_NodePositions` (which walks the node tree of a second parse):
    the path is walked through the document, whose mappings keep their keys in file
    order, to find the node's place among the marks. If the marks are ever taken or
    read differently from each other (or the document is not the one they were taken
    with), positions go wrong silently: `tests/catalog/test_fast_paths.py` holds them to
    the node walk on every fixture and on a findings-heavy generated catalog.
    """

    __slots__ = ("_document", "_marks")

    def __init__(self, document: Any, marks: Sequence[int]) -> None:
        self._document = document
        self._marks = marks

    def _find(self, path: Path) -> tuple[int | None, int] | None:
        """(index of the key's marks or None, index of the value's), or None."""
        marks, value = self._marks, self._document
        at, key_at = 0, None
        step: Any
        for step in path:
            if isinstance(value, dict):
                if not isinstance(step, str) or step not in value:
                    return None
                child = at + 3
                for key in value:  # each entry: its key's marks, then its value's subtree
                    if key == step:
                        break
                    child += 3 + 3 * marks[child + 5]
                key_at, at, value = child, child + 3, value[step]
            elif isinstance(value, list):
                if isinstance(step, float) and step.is_integer():
                    step = int(step)  # as `_NodePositions._find`
                if not (isinstance(step, int) and 0 <= step < len(value)):
                    return None
                child = at + 3
                for _ in range(step):
                    child += 3 * marks[child + 2]
                key_at, at, value = None, child, value[step]
            else:
                return None
        return key_at, at

    def _mark(self, index: int) -> Mark:
        return Mark(self._marks[index], self._marks[index + 1])

    def value(self, path: Path) -> Mark | None:
        """Position of the value at ``path``, if it exists."""
        found = self._find(path)
        return self._mark(found[1]) if found is not None else None

    def key(self, path: Path) -> Mark | None:
        """Position of the mapping key that holds ``path``, if it exists."""
        found = self._find(path) if path else None
        return self._mark(found[0]) if found is not None and found[0] is not None else None


Answer = tuple[str, Path]
"""A question asked of `Positions`: (`value`, `key` or `locate`, path)."""


class PositionsMemo(Protocol):
    """Somewhere to keep a file's answers about positions between checks (the cache)."""

    def recall(self) -> dict[Answer, Mark | None]:
        """The answers kept earlier (empty when none)."""
        ...

    def remember(self, answers: dict[Answer, Mark | None]) -> None:
        """Keep `answers` (the same dict, grown, may be passed again)."""
        ...


class _NodePositions(_Walked):
    """`Positions` read off PyYAML's node tree by walking each asked path through it.

    Answers exactly as the `Positions` that `_Builder` records (tested on every
    fixture), at a quarter of the cost: no value is built and no position recorded
    for paths nobody asks about.
    """

    __slots__ = ("_root",)

    def __init__(self, data: bytes) -> None:
        try:
            self._root: yaml.Node | None = _compose(decode(data))
        except (yaml.YAMLError, RecursionError):  # pragma: no cover - it loaded once
            self._root = None

    def _find(self, path: Path) -> tuple[yaml.Node | None, yaml.Node] | None:
        """(key node or None, value node) at `path`, or None when it does not exist."""
        node = self._root
        if node is None:
            return None
        key_node: yaml.Node | None = None
        step: Any
        for step in path:
            if isinstance(node, yaml.MappingNode):
                pair = next((p for p in node.value if p[0].value == step), None)
                if pair is None:
                    return None
                key_node, node = pair
            elif isinstance(node, yaml.SequenceNode):
                if isinstance(step, float) and step.is_integer():
                    step = int(step)  # a dict lookup would match 1.0 to index 1, too
                if not (isinstance(step, int) and 0 <= step < len(node.value)):
                    return None
                key_node, node = None, node.value[step]
            else:
                return None
        return key_node, node

    def value(self, path: Path) -> Mark | None:
        """Position of the value at ``path``, if it exists."""
        found = self._find(path)
        if found is None:
            return None
        key_node, node = found
        # As `_Builder`: a block collection under a key is shown at its key.
        block = isinstance(node, yaml.CollectionNode) and not node.flow_style
        return _mark((key_node if block and key_node is not None else node).start_mark)

    def key(self, path: Path) -> Mark | None:
        """Position of the mapping key that holds ``path``, if it exists."""
        found = self._find(path) if path else None
        return _mark(found[0].start_mark) if found and found[0] is not None else None


class LazyPositions(Positions):
    """`Positions` of a file, computed from its bytes the first time a finding asks.

    Most files of a catalog never need a position, so none are recorded while
    loading; a file with a finding is parsed again here, with the very parser that
    `load_text` uses, and the asked path walked through its nodes
    (`_NodePositions`), so the answers are exactly the recorded ones. The bytes are held,
    not re-read, so positions always describe the content that was checked (a file the
    cache knew unchanged is read when first asked, and only used if its bytes still
    match). A `memo` (the cache) keeps the answers, which depend only on the bytes and the question,
    so the next check of an unchanged file asks no parse at all.
    """

    __slots__ = ("_answers", "_data", "_full", "_memo")

    def __init__(
        self,
        data: bytes | Callable[[], bytes],
        memo: PositionsMemo | None = None,
        marked: MarkedPositions | None = None,
    ) -> None:
        self._data = data
        self._memo = memo
        self._answers: dict[Answer, Mark | None] | None = None
        # The marks of the parse that loaded the file, when it was loaded in this check:
        # answers without parsing it again.
        self._full: Positions | None = marked

    @property
    def at_hand(self) -> bool:
        """Whether answers need no parse (the marks of the loading parse are here)."""
        return self._full is not None

    def _answer(self, question: str, path: Path) -> Mark | None:
        if self._answers is None:
            self._answers = self._memo.recall() if self._memo is not None else {}
        asked = (question, path)
        if asked in self._answers:
            return self._answers[asked]
        if self._full is None:
            self._full = _NodePositions(self.data)
        full = self._full
        answer = {"value": full.value, "key": full.key, "locate": full.locate}[question](path)
        self._answers[asked] = answer
        if self._memo is not None:
            self._memo.remember(self._answers)
        return answer

    def value(self, path: Path) -> Mark | None:
        """Position of the value at ``path``, if it exists."""
        return self._answer("value", path)

    def key(self, path: Path) -> Mark | None:
        """Position of the mapping key that holds ``path``, if it exists."""
        return self._answer("key", path)

    def locate(self, path: Path) -> Mark:
        """The value at ``path``, else the key of the nearest existing ancestor."""
        return self._answer("locate", path) or Mark(1, 1)

    @property
    def data(self) -> bytes:
        """The bytes the positions are of (read now if they were left on disk)."""
        if not isinstance(self._data, bytes):
            self._data = self._data()
        return self._data

    def unknown(self, question: str, paths: Iterable[Path]) -> list[Path]:
        """Those of `paths` whose answer to `question` is not known yet (in order)."""
        if self._answers is None:
            self._answers = self._memo.recall() if self._memo is not None else {}
        known = self._answers
        return [p for p in dict.fromkeys(paths) if (question, p) not in known]

    def learn(self, answers: dict[Answer, Mark | None]) -> None:
        """Take answers worked out elsewhere (by `answer_all`, on other cores)."""
        if self._answers is None:
            self._answers = self._memo.recall() if self._memo is not None else {}
        self._answers.update(answers)
        if self._memo is not None:
            self._memo.remember(self._answers)


def answer_all(data: bytes, question: str, paths: list[Path]) -> list[Mark | None]:
    """What `LazyPositions(data)` would answer to `question` for each of `paths`."""
    positions = _NodePositions(data)
    ask = {"value": positions.value, "key": positions.key, "locate": positions.locate}[question]
    return [ask(path) for path in paths]


def is_mapping(value: Any) -> bool:
    """True for a YAML mapping (used to refuse a list or a scalar as a document root)."""
    return isinstance(value, Mapping)
