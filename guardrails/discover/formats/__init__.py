"""How `guardrails discover` reports: one module per format, all taking one `Report`.

`json` is the contract the CIO report reads (`version: 1`); `markdown` is an issue
body (the nightly job opens or updates one issue with it); `text` is for a terminal.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from guardrails.discover.run import Discovery

FORMATS: dict[str, str] = {
    "text": "guardrails.discover.formats.text_format",
    "json": "guardrails.discover.formats.json_format",
    "markdown": "guardrails.discover.formats.markdown_format",
}


@dataclass(frozen=True)
class Report:
    """What a format renders."""

    discovery: Discovery
    """The finished discovery."""
    drafts: Mapping[str, str] = field(default_factory=dict)
    """Tool name -> the draft manifest written for it (as reports name the file)."""


def render(fmt: str, report: Report) -> str:
    """`report` in format `fmt`."""
    module = importlib.import_module(FORMATS[fmt])
    text: str = module.render(report)
    return text
