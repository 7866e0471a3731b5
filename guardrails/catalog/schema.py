"""JSON Schema validation whose errors point at the key or value a person must change."""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guardrails.catalog.safe_yaml import Path
from guardrails.findings import format_path
from guardrails.shipped import schema_path

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


@functools.cache
def validator(kind: str) -> Validator:
    """The compiled validator for `manifest`, `exception` or `config` (cached)."""
    from jsonschema import Draft202012Validator, FormatChecker

    schema = json.loads(schema_path(kind).read_text(encoding="utf-8"))
    checker = FormatChecker(formats=("date",))
    return Draft202012Validator(schema, format_checker=checker)


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
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else f"allowed keys: {', '.join(allowed)}"
            yield SchemaProblem(
                (*path, key),
                True,
                f"unknown key '{key}' in {where}",
                f"Remove or rename it; {hint}",
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


def _shown(value: Any) -> str:
    """Quote a value only when it cannot be a secret: values are never echoed otherwise."""
    if isinstance(value, bool | int | float) or (isinstance(value, str) and _HARMLESS.match(value)):
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
        case _:
            return f"breaks the schema ({error.validator})"
