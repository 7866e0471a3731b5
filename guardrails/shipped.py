"""Where the files shipped with guardrails live: the default policy library, schemas, templates.

In a wheel they are packaged under `guardrails/_shipped/` (pyproject.toml's
force-include); in a source checkout (editable install, tests) they are the
repository's folders named in `SOURCES`.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent

SOURCES = {"policies": "policies", "schemas": "schemas", "templates": "docs/templates"}
"""Each shipped folder's place in the repository (the wheel holds it as `_shipped/NAME`)."""


def shipped_dir(name: str) -> Path:
    """The shipped folder `name` (`policies`, `schemas` or `templates`)."""
    packaged = _PACKAGE / "_shipped" / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / SOURCES[name]


def schema_path(kind: str) -> Path:
    """The JSON Schema file for `manifest`, `exception` or `config`."""
    return shipped_dir("schemas") / f"{kind}-v1.schema.json"


def schema_url(kind: str) -> str:
    """Where the `kind` schema is published: its `$id`, an absolute URL, so a modeline
    naming it works in any catalog, wherever its files are copied."""
    import json

    published = json.loads(schema_path(kind).read_text(encoding="utf-8"))["$id"]
    return str(published)


def modeline(kind: str) -> str:
    """The first line of a `kind` YAML file: editors validate it against the schema.

    The same in `guardrails new`, `guardrails init` and the examples."""
    return f"# yaml-language-server: $schema={schema_url(kind)}"
