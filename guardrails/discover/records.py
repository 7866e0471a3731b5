"""Reading what the sources' vendors document: JSON replies (saved or live) and CSV rows.

Every record is read through a `Record`, whose getters check the documented type of
each field and raise a `SourceError` that names the file (or URL), the line where the
record starts and the record's JSON path. A JSON export is parsed by the C decoder;
lines are only looked for when something has to point at a record (an error, a
finding), by walking to it with the same decoder (`locate`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from guardrails.catalog.tree import display_path
from guardrails.discover.interface import Origin, SourceError

JsonPath = tuple[str | int, ...]

DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024
"""Largest export file read (a year of OAuth grants of a large company fits)."""


def format_path(path: JsonPath) -> str:
    """`("items", 3, "scopes")` -> `items[3].scopes` (`$` for the whole document)."""
    return Origin("", path).record


class Page:
    """One JSON document: a saved export file, or one live reply."""

    def __init__(self, label: str, value: Any, text: str | None = None) -> None:
        self.label = label
        """The file as reports name it, or the URL it was fetched from."""
        self.value = value
        """The parsed document."""
        self.text = text
        """The file's text (None for a live reply: nothing to point into)."""

    def origin(self, path: JsonPath) -> Origin:
        """Where the record at `path` is (its line is looked up on demand: `with_lines`)."""
        return Origin(self.label, path)

    def error(self, path: JsonPath, message: str) -> SourceError:
        """A `SourceError` pointing at `path` in this document."""
        where = self.label
        if self.text is not None:
            # The field may be missing: point at the nearest enclosing value there is.
            found = locate(self.text, [path[:i] for i in range(len(path) + 1)])
            line, column = found[max(found, key=len)] if found else (1, 1)
            where = f"{self.label}:{line}:{column}"
        return SourceError(f"{where}: {format_path(path)}: {message}")

    def records(self, at: JsonPath | str, what: str) -> Iterator[Record]:
        """The objects of the list at `at` (a key, or a path; `()` = the document itself).

        An absent or null list has no records; anything else that is not a list of
        objects is an error pointing at it.
        """
        path: JsonPath = (at,) if isinstance(at, str) else at
        container: Any = self.value
        for part in path:
            if isinstance(container, Mapping) and isinstance(part, str):
                container = container.get(part)
            elif isinstance(container, list) and isinstance(part, int) and part < len(container):
                container = container[part]
            else:
                container = None
            if container is None:
                return
        if not isinstance(container, list):
            raise self.error(path, f"expected a list of {what}, found {_kind(container)}")
        for index, item in enumerate(container):
            if not isinstance(item, Mapping):
                raise self.error(
                    (*path, index), f"expected {what} (an object), found {_kind(item)}"
                )
            yield Record(self, (*path, index), item)


class Record:
    """One object of a page, with getters that enforce the documented field types."""

    __slots__ = ("page", "path", "value")

    def __init__(self, page: Page, path: JsonPath, value: Mapping[str, Any]) -> None:
        self.page, self.path, self.value = page, path, value

    @property
    def origin(self) -> Origin:
        """Where this record is."""
        return self.page.origin(self.path)

    def error(self, message: str, key: str | None = None) -> SourceError:
        """A `SourceError` about this record (or its field `key`)."""
        return self.page.error(self.path if key is None else (*self.path, key), message)

    def text(self, key: str) -> str:
        """The required string field `key`."""
        value = self.value.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.error(f"{key} must be a non-empty string, found {_kind(value)}", key)
        return value.strip()

    def optional_text(self, key: str) -> str | None:
        """The string field `key`, or None when it is absent or null."""
        value = self.value.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error(f"{key} must be a string, found {_kind(value)}", key)
        return value.strip() or None

    def strings(self, key: str) -> tuple[str, ...]:
        """The list-of-strings field `key` (empty when absent)."""
        value = self.value.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(f"{key} must be a list of strings, found {_kind(value)}", key)
        return tuple(value)

    def mapping(self, key: str) -> Mapping[str, Any]:
        """The object field `key` (empty when absent)."""
        value = self.value.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.error(f"{key} must be an object, found {_kind(value)}", key)
        return value

    def flag(self, key: str) -> bool:
        """The boolean field `key` (false when absent)."""
        value = self.value.get(key, False)
        if not isinstance(value, bool):
            raise self.error(f"{key} must be true or false, found {_kind(value)}", key)
        return value

    def when(self, key: str) -> date | None:
        """The ISO 8601 timestamp (or date) field `key` as a date, or None when absent."""
        value = self.optional_text(key)
        return None if value is None else self.parse_date(value, key)

    def parse_date(self, value: str, key: str) -> date:
        """`value` (ISO 8601 date or date-time) as a date."""
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
        except ValueError as cause:
            raise self.error(f"not an ISO 8601 date or time: {value[:40]!r}", key) from cause


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    return "an object"


def read_bytes(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> bytes:
    """The bytes of an export file, refused past `max_bytes`."""
    shown = display_path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SourceError(f"{shown}: {size} bytes, more than the limit of {max_bytes}")
        with path.open("rb") as file:
            return file.read(max_bytes + 1)
    except OSError as err:
        raise SourceError(f"{shown}: cannot read: {err.strerror}") from err


def read_json(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Page:
    """An export file holding one JSON document."""
    shown = display_path(path)
    data = read_bytes(path, max_bytes)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise SourceError(f"{shown}: not UTF-8 (byte {err.start})") from err
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise SourceError(f"{shown}:{err.lineno}:{err.colno}: not JSON: {err.msg}") from err
    except RecursionError as cause:
        raise SourceError(f"{shown}: nested too deeply to be an API reply") from cause
    return Page(shown, value, text)


def export_files(paths: Sequence[Path], suffixes: tuple[str, ...]) -> list[Path]:
    """The files named, and those with one of `suffixes` in the folders named, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in suffixes)
        elif path.is_file():
            found.append(path)
        else:
            raise SourceError(f"{display_path(path)}: no such export file or folder")
    if not found:
        shown = ", ".join(display_path(p) for p in paths)
        raise SourceError(f"{shown}: no export files ({', '.join(suffixes)}) found")
    return found


def saved_replies(paths: Sequence[Path]) -> list[Page]:
    """The API replies saved in the JSON export files at `paths` (files or folders): each
    file holds one reply, or a JSON list of them."""
    return [
        sub_page(page, path)
        for file in export_files(paths, (".json",))
        for page, path in replies(read_json(file))
    ]


def replies(page: Page) -> Iterator[tuple[Page, JsonPath]]:
    """The API replies in an export: the document itself, or each object of a list of them."""
    if isinstance(page.value, Mapping):
        yield page, ()
    elif isinstance(page.value, list):
        for index, item in enumerate(page.value):
            if not isinstance(item, Mapping):
                raise page.error(
                    (index,), f"expected an API reply (an object), found {_kind(item)}"
                )
            yield page, (index,)
    else:
        raise page.error(
            (), f"expected an API reply (an object) or a list of them, found {_kind(page.value)}"
        )


def sub_page(page: Page, path: JsonPath) -> Page:
    """The reply at `path` of a saved list of replies, as a page that keeps its place."""
    if not path:
        return page
    value = page.value
    for part in path:
        value = value[part]
    return _SubPage(page, path, value)


class _SubPage(Page):
    """A reply inside a saved list of replies: paths are prefixed with its place."""

    def __init__(self, parent: Page, prefix: JsonPath, value: Any) -> None:
        super().__init__(parent.label, value, parent.text)
        self.parent, self.prefix = parent, prefix

    def origin(self, path: JsonPath) -> Origin:
        return self.parent.origin((*self.prefix, *path))

    def error(self, path: JsonPath, message: str) -> SourceError:
        return self.parent.error((*self.prefix, *path), message)


def hosts(urls: Iterable[str | None]) -> tuple[str, ...]:
    """The distinct lower-case host names of `urls` (loopback and blanks left out)."""
    found: list[str] = []
    for url in urls:
        if not url:
            continue
        host = (urlsplit(url if "//" in url else f"//{url}").hostname or "").lower()
        if host and host not in found and host not in {"localhost", "127.0.0.1"}:
            found.append(host)
    return tuple(found)


# --- Finding a record's line -------------------------------------------------------


def with_lines(origins: Iterable[Origin]) -> dict[Origin, Origin]:
    """Each origin with its line and column, for records of JSON export files.

    Each file is read again and walked once for all its records (only the few records
    that findings point at are ever looked for). Live replies and CSV lines are
    returned as they are.
    """
    by_file: dict[str, list[Origin]] = {}
    for origin in origins:
        if origin.line == 0 and origin.path and Path(origin.file).is_file():
            by_file.setdefault(origin.file, []).append(origin)
    found: dict[Origin, Origin] = {}
    for file, wanted in by_file.items():
        try:
            text = Path(file).read_bytes().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError):
            continue  # changed since it was read: the record's path still names it
        places = locate(text, [o.path for o in wanted])
        for origin in wanted:
            if origin.path in places:
                line, column = places[origin.path]
                found[origin] = replace(origin, line=line, column=column)
    return found


_decoder = json.JSONDecoder()
_WHITESPACE = " \t\n\r"


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def locate(text: str, paths: Iterable[JsonPath]) -> dict[JsonPath, tuple[int, int]]:
    """(line, column), 1-based, of the value at each of `paths` in the JSON `text`.

    One walk for all paths: containers on the way are entered, every other value is
    skipped by the C decoder. A path that does not exist is left out.
    """
    wanted = set(paths)
    inner = {p[:i] for p in wanted for i in range(len(p))}  # containers to enter
    offsets: dict[JsonPath, int] = {}
    try:
        if text.startswith("\ufeff"):
            text = " " + text[1:]  # keep offsets, drop the byte-order mark
        _walk(text, _skip(text, 0), (), wanted, inner, offsets)
    except (ValueError, IndexError):
        pass  # the text is not what was parsed before: point at what was found
    found: dict[JsonPath, tuple[int, int]] = {}
    line, counted = 1, 0  # lines are counted once, from one offset to the next
    for path, offset in sorted(offsets.items(), key=lambda item: item[1]):
        line += text.count("\n", counted, offset)
        counted = offset
        found[path] = (line, offset - (text.rfind("\n", 0, offset) + 1) + 1)
    return found


def _walk(
    text: str,
    index: int,
    here: JsonPath,
    wanted: set[JsonPath],
    inner: set[JsonPath],
    offsets: dict[JsonPath, int],
) -> int:
    """Walk the value starting at `index` (at `here`); return the index after it."""
    if here in wanted:
        offsets[here] = index
    if here not in inner:
        return _decoder.raw_decode(text, index)[1]
    opening = text[index]
    if opening == "{":
        index = _skip(text, index + 1)
        if text[index] == "}":
            return index + 1
        while True:
            key, index = json.decoder.scanstring(text, index + 1)  # type: ignore[attr-defined]
            index = _skip(text, index)
            index = _skip(text, index + 1)  # past ':'
            index = _skip(text, _walk(text, index, (*here, key), wanted, inner, offsets))
            if text[index] == "}":
                return index + 1
            index = _skip(text, index + 1)  # past ','
    if opening == "[":
        index = _skip(text, index + 1)
        if text[index] == "]":
            return index + 1
        position = 0
        while True:
            index = _skip(text, _walk(text, index, (*here, position), wanted, inner, offsets))
            position += 1
            if text[index] == "]":
                return index + 1
            index = _skip(text, index + 1)
    return _decoder.raw_decode(text, index)[1]
