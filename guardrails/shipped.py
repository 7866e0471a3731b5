"""Where the files shipped with guardrails live: the default policy library and schemas.

In a wheel they are packaged under `guardrails/_shipped/`; in a source checkout
(editable install, tests) they are the repository's top-level `policies/` and `schemas/`.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def shipped_dir(name: str) -> Path:
    """The shipped folder `name` (`policies` or `schemas`)."""
    packaged = _PACKAGE / "_shipped" / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / name


def schema_path(kind: str) -> Path:
    """The JSON Schema file for `manifest`, `exception` or `config`."""
    return shipped_dir("schemas") / f"{kind}-v1.schema.json"
