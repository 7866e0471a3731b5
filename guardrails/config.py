"""The optional `guardrails.yaml` at the root of a catalog repository."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guardrails.catalog.safe_yaml import DEFAULT_MAX_BYTES, LoadError, load_bytes
from guardrails.catalog.tree import catalog_folder, display_path, read_regular
from guardrails.errors import GuardrailsError

CONFIG_FILE = "guardrails.yaml"


@dataclass(frozen=True)
class Config:
    """Catalog settings; every field has the default the README documents."""

    root: Path
    """The catalog repository's root folder."""
    manifests: str = "manifests"
    """Folder of SaaSTool manifests, relative to `root`."""
    exceptions: str = "exceptions"
    """Folder of PolicyException files."""
    policies: str = "policies"
    """Folder of org Rego policies; `<policies>/data` holds org policy data."""
    default_policies: bool = True
    """Whether the shipped policy library runs beneath the org's policies."""
    max_file_bytes: int = DEFAULT_MAX_BYTES
    """Largest YAML file accepted."""
    audit_log: str = ".guardrails/audit.jsonl"
    """Where `apply` appends its audit log."""
    directory: str = "directory.yaml"
    """Sandbox seed: users and groups."""
    provisioning: Mapping[str, Any] = field(default_factory=dict)
    """Provider settings for plan/apply."""
    discover: Mapping[str, Any] = field(default_factory=dict)
    """Source settings for `guardrails discover` (exports, endpoints, CSV columns)."""


def load_config(root: Path) -> Config:
    """Read `root/guardrails.yaml` if present; raise `GuardrailsError` if it is unusable."""
    path = root / CONFIG_FILE
    shown = display_path(path)
    try:
        data = read_regular(path)
    except OSError as err:
        raise GuardrailsError(f"{shown}: cannot read: {err.strerror or err}") from err
    if data is None:
        return Config(root=root)
    return parse_config(data, root, shown)


def parse_config(data: bytes, root: Path, shown: str) -> Config:
    """The settings in `data` (the bytes of a `guardrails.yaml` shown as `shown`)."""
    from guardrails.catalog.schema import validate

    try:
        loaded = load_bytes(data)
    except LoadError as err:
        raise GuardrailsError(f"{shown}:{err}") from err
    if loaded.value is None:
        return Config(root=root)
    for problem in validate("config", loaded.value):
        mark = (
            loaded.positions.key(problem.path) if problem.key else None
        ) or loaded.positions.locate(problem.path)
        raise GuardrailsError(
            f"{shown}:{mark.line}:{mark.column}: {problem.message}. {problem.remediation}"
        )
    for key in ("manifests", "exceptions", "policies"):
        if key in loaded.value:
            try:
                catalog_folder(loaded.value[key])
            except GuardrailsError as err:
                mark = loaded.positions.locate((key,))
                raise GuardrailsError(f"{shown}:{mark.line}:{mark.column}: {err}") from err
    return Config(root=root, **loaded.value)
