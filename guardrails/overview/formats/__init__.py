"""The report's formats: one module per format, each rendering the same `Overview`.

Adding a format is adding a module with `render(overview) -> tuple[Document, ...]`
and one entry in `FORMATS` (the CLI's `--format` choices come from it).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from guardrails.overview.model import Overview

FORMATS: dict[str, str] = {
    "html": "guardrails.overview.formats.html_format",
    "markdown": "guardrails.overview.formats.markdown_format",
    "csv": "guardrails.overview.formats.csv_format",
    "json": "guardrails.overview.formats.json_format",
}
"""Format name -> the module that renders it (imported only when used)."""


@dataclass(frozen=True)
class Document:
    """One file of a rendered report."""

    name: str
    """Its file name (`report.html`, `renewals.csv`, ...)."""
    text: str
    """Its whole text, ending with a newline."""


class Format(Protocol):
    """A format module exposes `render`."""

    def render(self, overview: Overview) -> tuple[Document, ...]:
        """The report as one document (html, markdown, json) or one per table (csv)."""
        ...


def render(name: str, overview: Overview) -> tuple[Document, ...]:
    """Render `overview` in format `name`."""
    module: Format = importlib.import_module(FORMATS[name])
    return module.render(overview)
