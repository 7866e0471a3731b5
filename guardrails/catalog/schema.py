"""JSON Schema validation whose errors point at the key or value a person must change.

Two validators of the same 2020-12 schema: `jsonschema-rs` (compiled, in Rust) answers
"is this document valid?" in microseconds, and the reference `jsonschema` explains,
key by key, what is wrong with a document that is not. Only documents the fast one
does not pass are explained, and `validate` always returns the reference
validator's problems, so messages and positions are unchanged. Where the two could
disagree, the fast one is made the stricter (see `_fast_schema`): it can only send a
valid document to the slow path, never let an invalid one through.
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guardrails.catalog.safe_yaml import Path
from guardrails.findings import format_path
from guardrails.shipped import schema_path

_log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from jsonschema.protocols import Validator


@dataclass(frozen=True)
class SchemaProblem:
    """One schema violation, with where to point and what to do."""

    path: Path
    """Path to point at; `key` says whether the key or the value is meant."""
    key: bool
    """True to point at the key itself (unknown key), False for its value."""
    message: str
    """What is wrong."""
    remediation: str
    """What to write instead."""
    shown: Path | None = None
    """The path to report, when it must not be `path` (an unknown key is left out of
    it unless it is a near miss of a field name: it could be a pasted secret)."""


@functools.cache
def _schema(kind: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_path(kind).read_text(encoding="utf-8"))
    return schema


@functools.cache
def _date_checker() -> Any:
    from jsonschema import FormatChecker

    # Only `date` adds anything to the patterns (calendar validity); other formats
    # such as `email` are documentation, checked by their pattern.
    return FormatChecker(formats=("date",))


@functools.cache
def validator(kind: str) -> Validator:
    """The reference validator for `manifest`, `exception` or `config` (cached)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_schema(kind), format_checker=_date_checker())


# Python's `\s` also matches the separators U+001C-U+001F; the Rust regex engine's does
# not. Adding them keeps `\s` and `[^\s]` at least as strict in the fast validator.
_PYTHON_ONLY_SPACE = "\\x1c-\\x1f"


def rust_pattern(pattern: str) -> str:
    r"""`pattern` with every `\s` widened to what Python's `\s` matches."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            escape = pattern[i : i + 2]
            if escape == "\\s":
                widened = "\\s" + _PYTHON_ONLY_SPACE
                escape = widened if in_class else f"[{widened}]"
            out.append(escape)
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)


def _fast_schema(node: Any) -> Any:
    """A copy of the schema whose patterns mean, in Rust, at least what they mean in Python."""
    if isinstance(node, dict):
        return {
            k: rust_pattern(v) if k == "pattern" and isinstance(v, str) else _fast_schema(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_fast_schema(v) for v in node]
    return node


def _formats(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["format"]} if isinstance(node.get("format"), str) else set()
        return found.union(*(_formats(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_formats(v) for v in node))
    return set()


def _always(_value: Any) -> bool:
    return True


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


def is_date(value: Any) -> bool:
    """The `date` format exactly as `jsonschema`'s FormatChecker checks it (tested so).

    Repeated here so that checking a valid catalog never imports `jsonschema` (a
    tenth of a small check's time); only an invalid document needs it.
    """
    if not isinstance(value, str):
        return True
    if not _ISO_DATE.fullmatch(value):
        return False
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


@functools.cache
def fast_validator(kind: str) -> Any:
    """The compiled `jsonschema-rs` validator for `kind`, or None when it is unavailable.

    Formats mean what they mean to the reference validator: `date` is checked the
    very same way, every other format is not checked.
    """
    schema = _fast_schema(_schema(kind))
    formats: dict[str, Callable[[Any], bool]] = {name: _always for name in _formats(schema)}
    formats["date"] = is_date
    try:
        import jsonschema_rs

        return jsonschema_rs.Draft202012Validator(
            schema, formats=formats, validate_formats=True, ignore_unknown_formats=True
        )
    except Exception as err:  # pragma: no cover - missing or changed: the reference one decides
        _log.debug("no fast %s validator (%r): jsonschema checks every document", kind, err)
        return None


def is_valid(kind: str, document: Any) -> bool:
    """True when `document` certainly passes the `kind` schema (the fast check)."""
    fast = fast_validator(kind)
    if fast is None:
        return not validate(kind, document)
    try:
        return bool(fast.is_valid(document))
    except Exception as err:  # a value Rust cannot take (NaN, huge int, lone surrogate)
        _log.debug("fast %s validator refused a value (%r): jsonschema decides", kind, err)
        return not validate(kind, document)


# A value `guardrails new` leaves for the requester: `<Display name>`, `<YYYY-MM-DD>`.
_PLACEHOLDER = re.compile(r"^\s*<[^<>\n]{1,80}>\s*$")


def placeholders(kind: str, document: Any) -> list[SchemaProblem]:
    """Every value of `document` that is still a `<...>` placeholder, whichever field
    it is in, with what belongs there (from the `kind` schema)."""
    found: list[SchemaProblem] = []

    def walk(node: Any, path: Path) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                walk(value, (*path, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, (*path, index))
        elif isinstance(node, str) and _PLACEHOLDER.match(node):
            where = format_path(path) or "the document"
            found.append(
                SchemaProblem(
                    path,
                    False,
                    f"{where} is still a placeholder from `guardrails new`",
                    f"Replace it: {_wanted(kind, path)}",
                )
            )

    walk(document, ())
    return found


def _wanted(kind: str, path: Path) -> str:
    """What the schema says belongs at `path`: its description and allowed values."""
    node: Any = _schema(kind)
    for part in path:
        if not isinstance(node, Mapping):
            return "the value this field needs."
        node = node.get("items") if isinstance(part, int) else node.get("properties", {}).get(part)
    if not isinstance(node, Mapping):
        return "the value this field needs (or remove the key)."
    text = str(node.get("description", "")).rstrip(".") or "the value this field needs"
    choices = node.get("enum")
    if isinstance(choices, list) and f"{', '.join(map(str, choices[:-1]))}" not in text:
        text += f"; one of: {', '.join(str(c) for c in choices)}"
    return text + "."


def validate(kind: str, document: Any) -> list[SchemaProblem]:
    """Every way `document` breaks the `kind` schema, sorted by path."""
    problems = [p for error in validator(kind).iter_errors(document) for p in _explain(error)]
    return sorted(problems, key=lambda p: [str(x) for x in p.path])


def _explain(error: Any) -> Iterator[SchemaProblem]:
    path: Path = tuple(error.absolute_path)
    where = format_path(path) or "the document"
    schema: Mapping[str, Any] = error.schema
    if error.validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        for key in error.instance:
            if key in allowed:
                continue
            import difflib  # here: only a file with an unknown key needs it

            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            if close and _FIELD_NAME.fullmatch(str(key)):
                # A typo of a field name: safe to repeat, and what the person looks for.
                yield SchemaProblem(
                    (*path, key),
                    True,
                    f"unknown key '{key}' in {where}",
                    f"Remove or rename it; did you mean '{close[0]}'?",
                )
                continue
            yield SchemaProblem(
                (*path, key),
                True,
                f"unknown key in {where} (not repeated here: it is no field name, and a "
                "pasted secret must not travel further)",
                f"Remove it; allowed keys: {', '.join(allowed)}",
                shown=path,
            )
        return
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        description = schema.get("properties", {}).get(missing, {}).get("description", "")
        yield SchemaProblem(
            path,
            True,
            f"missing required key '{missing}' in {where}",
            f"Add '{missing}': {description}",
        )
        return
    if error.validator == "format" and error.validator_value != "date":
        return  # patterns already check the shape; only `date` adds calendar validity
    message = f"{where}: {_shown(error.instance)}{_expected(error, schema)}"
    description = schema.get("description", "")
    yield SchemaProblem(path, False, message, description or "See the manifest schema.")


_HARMLESS = re.compile(r"^[a-z][a-z -]{0,19}$")
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,39}")


def _shown(value: Any) -> str:
    """Quote a value only when it cannot be a secret: values are never echoed otherwise."""
    if isinstance(value, bool) or (isinstance(value, int | float) and abs(value) < 1e15):
        return f"{json.dumps(value)} "
    if isinstance(value, str) and _HARMLESS.match(value):
        return f"{json.dumps(value)} "
    return "this value "


def _expected(error: Any, schema: Mapping[str, Any]) -> str:
    """What the schema wanted, in words."""
    wanted = error.validator_value
    match error.validator:
        case "type":
            return f"is not {'an' if str(wanted)[0] in 'aeiou' else 'a'} {wanted}"
        case "enum":
            return f"is not one of: {', '.join(str(v) for v in wanted)}"
        case "const":
            return f"must be {wanted}"
        case "format":
            return "is not a real date"
        case "pattern":
            return (
                "is not a valid email address"
                if schema.get("format") == "email"
                else ("does not have the expected form")
            )
        case "minItems":
            return f"needs at least {wanted} item{'s' if wanted != 1 else ''}"
        case "uniqueItems":
            return "has duplicate items"
        case "minLength":
            return "is empty"
        case "minimum":
            return f"must be at least {wanted}"
        case "maximum":
            return f"must be at most {wanted:,}"
        case _:
            return f"breaks the schema ({error.validator})"
