"""The report stage: one module per output format, all rendering the same `Report`."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from guardrails.errors import GuardrailsError
from guardrails.findings import Outcome, Rule

FORMATS = ("text", "json", "sarif", "junit", "github", "markdown")


class ReportedManifest(Protocol):
    """A manifest that was reported on (for formats that list passes too)."""

    @property
    def name(self) -> str:
        """`metadata.name` (or the file stem)."""
        ...

    @property
    def file(self) -> str:
        """Its file."""
        ...


@dataclass(frozen=True)
class Report:
    """What every format renders."""

    outcome: Outcome
    """Findings and summary."""
    rules: Mapping[str, Rule]
    """Metadata of every rule a finding may carry."""
    manifests: tuple[ReportedManifest, ...] = ()
    """The manifests reported on, in file order."""
    color: bool = False
    """Whether ANSI colour is wanted (only ever on a terminal)."""
    removed: tuple[str, ...] = ()
    """Manifest files deleted since `--changed-since REF`: planned removals, never blocking."""


class Format(Protocol):
    """A report format module exposes `render`."""

    def render(self, report: Report) -> str:
        """The whole report as text, ending with a newline."""
        ...


def render(name: str, report: Report) -> str:
    """Render `report` in format `name` (the module is imported only when used)."""
    module: Format = importlib.import_module(f"guardrails.report.{name}_format")
    return module.render(report)


def write(path: Path, text: str) -> None:
    """Write a rendered report to `path`; a failure is one line naming the file (exit 2)."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise GuardrailsError(f"{path}: cannot write the report: {err.strerror}") from None
