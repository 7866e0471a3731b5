"""HTML: one self-contained page, readable on a laptop and printable.

Rendered by Jinja2 with autoescaping on, so every value from a manifest, the policy
data or the discovery results reaches the page as text, never as markup. Nothing is
loaded from anywhere: the stylesheet and the sorting script are inline, charts are
inline SVG, and the page's Content-Security-Policy allows exactly those two inline
blocks (by hash) and nothing else, so even a value that slipped through could fetch
nothing.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from pathlib import Path
from typing import Any

from guardrails import __version__
from guardrails.overview.charts import charts
from guardrails.overview.formats import Document
from guardrails.overview.model import Overview
from guardrails.overview.tables import NUMERIC, Table, raw, show, tables

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _digest(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@functools.cache
def _template() -> tuple[Any, str, str, str]:
    """(template, stylesheet, script, Content-Security-Policy), read once."""
    import jinja2
    from markupsafe import Markup

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    style = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    script = (TEMPLATES / "sort.js").read_text(encoding="utf-8")
    policy = (
        f"default-src 'none'; style-src {_digest(style)}; script-src {_digest(script)}; "
        "img-src 'none'; base-uri 'none'; form-action 'none'"
    )
    # Ours, shipped with the package: the only text inserted without escaping.
    return environment.get_template("report.html.j2"), Markup(style), Markup(script), policy


Cells = list[tuple[str, list[tuple[str, bool, str | None]]]]
"""Per row: the row header's text, then for each other cell its text, whether it is a
number (right-aligned), and the raw value to sort by when that differs from the text."""


def _cells(table: Table) -> Cells:
    """Every cell as shown, with what numeric columns sort by: worked out here once,
    because a template calling back into Python per cell is several times slower."""
    kinds = [(c.kind, c.kind in NUMERIC) for c in table.columns]
    first, rest = kinds[0][0], kinds[1:]
    rows: Cells = []
    for row in table.rows:
        cells = []
        for (kind, numeric), value in zip(rest, row[1:], strict=True):
            text = show(kind, value)
            sort = raw(kind, value) if numeric else None
            cells.append((text, numeric, None if sort == text else sort))
        rows.append((show(first, row[0]), cells))
    return rows


def render(overview: Overview) -> tuple[Document, ...]:
    """The report as one HTML page."""
    template, style, script, policy = _template()
    laid_out = tables(overview)
    text = template.render(
        o=overview,
        t=overview.totals,
        tables={table.key: table for table in laid_out},
        cells={table.key: _cells(table) for table in laid_out},
        charts={chart.key: chart for chart in charts(overview)},
        show=show,
        numeric=NUMERIC,
        style=style,
        script=script,
        csp=policy,
        version=__version__,
    )
    return (Document("report.html", text.rstrip("\n") + "\n"),)
