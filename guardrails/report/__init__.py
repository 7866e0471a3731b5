"""The report stage: one module per output format, all rendering the same `Report`."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from guardrails.errors import GuardrailsError
from guardrails.findings import Category, Outcome, Rule

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


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def summary_line(outcome: Outcome) -> str:
    """`3 manifests: 1 passed, 1 failed, 1 warned, 0 excepted; 2 errors, 1 warning`.

    Each manifest is counted once, in its worst state; the findings are counted too,
    so a warning on a manifest that also failed, or an error in an exception file
    (which is no manifest), is never hidden behind a manifest count.
    """
    s = outcome.summary
    noun = "manifest" if s.manifests == 1 else "manifests"
    manifests = (
        f"{s.manifests} {noun}: {s.passed} passed, {s.failed} failed, {s.warned} warned, "
        f"{s.excepted} excepted"
    )
    statuses = [f.status for f in outcome.findings]
    counts = [
        _counted(statuses.count("blocking"), "error"),
        _counted(statuses.count("warning"), "warning"),
        _counted(statuses.count("excepted"), "excepted finding"),
    ]
    shown = [c for c in counts if not c.startswith("0 ")]
    elsewhere = sum(1 for f in outcome.findings if f.category == Category.EXCEPTION)
    if elsewhere:
        shown.append(_counted(elsewhere, "finding") + " in exception files")
    return f"{manifests}; {', '.join(shown) or 'no findings'}"


def render(name: str, report: Report) -> str:
    """Render `report` in format `name` (the module is imported only when used)."""
    module: Format = importlib.import_module(f"guardrails.report.{name}_format")
    return module.render(report)


def write(path: Path, text: str) -> None:
    """Write a rendered report to `path`; a failure is one line naming the file (exit 2)."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise GuardrailsError(f"{path}: cannot write the report: {err.strerror}") from err
