"""`guardrails report`: the CIO-CMO view of a catalog, as HTML, Markdown, CSV or JSON.

Exit codes as everywhere: 0 written and nothing blocks, 1 written and at least one
finding blocks (the report shows it), 2 not written (bad flags, unreadable input).
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from guardrails.cli.options import now_option, sandbox_option
from guardrails.errors import GuardrailsError
from guardrails.overview.formats import FORMATS

if TYPE_CHECKING:
    from guardrails.overview.formats import Document


@click.command()
@click.argument(
    "path", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option(
    "-C",
    "--catalog",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Catalog repository root, as PATH (default: the working directory).",
)
@click.option(
    "-f", "--format", "fmt", type=click.Choice(list(FORMATS)), default="html", show_default=True
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write the report here (for csv: a folder, one file per table).",
)
@click.option("--table", metavar="NAME", help="csv only: print this one table to stdout.")
@click.option(
    "--discovery",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Shadow IT from FILE, the JSON that `guardrails discover --format json` prints.",
)
@click.option(
    "--with-plan",
    is_flag=True,
    help="Also read the live directory (the provisioning settings plan/apply use), read "
    "only: groups resolved there, and the people provisioned per tool.",
)
@sandbox_option
@now_option
@click.option("--no-cache", is_flag=True, help="Do not read or write .guardrails-cache/.")
def report(
    path: Path | None,
    catalog: Path | None,
    fmt: str,
    output: Path | None,
    table: str | None,
    discovery: Path | None,
    with_plan: bool,
    sandbox: bool,
    now: datetime | None,
    no_cache: bool,
) -> None:
    """Write the CIO-CMO report: spend, cost of ownership, renewals, seats and risk.

    PATH is the catalog root. Spend by team and cost centre (converted at the policy
    data's currency rates), total cost of ownership (year one against the years
    after), renewals with their notice deadlines, seats bought against people
    granted, certificates and exceptions expiring, findings per tool, and shadow IT
    with --discovery. HTML is one self-contained page; csv writes a file per table.
    """
    from guardrails.catalog.tree import WorkTree
    from guardrails.check import run_check
    from guardrails.config import load_config
    from guardrails.engine import get_engine
    from guardrails.overview.discovery import read_discovery
    from guardrails.overview.figures import compute
    from guardrails.overview.formats import render
    from guardrails.overview.people import file_directory, live_directory
    from guardrails.overview.settings import report_settings

    if path is not None and catalog is not None and path.resolve() != catalog.resolve():
        raise GuardrailsError("give the catalog once: as PATH or as --catalog, not both")
    if sandbox and not with_plan:
        raise GuardrailsError("--sandbox says where --with-plan reads: use them together")
    if table is not None and fmt != "csv":
        raise GuardrailsError("--table picks one CSV table: use it with --format csv")
    if fmt == "csv" and output is None and table is None:
        raise GuardrailsError(
            "csv is one file per table: give -o FOLDER, or --table NAME to print one"
        )
    if output is None and sys.stdout is None:
        raise GuardrailsError("standard output is closed: use --output FILE for the report")
    root = path or catalog or Path.cwd()
    today = now.date() if now else date.today()
    found = read_discovery(discovery) if discovery is not None else None
    config = load_config(root)
    tree = WorkTree(root)
    checked = run_check(
        tree,
        config,
        today,
        engine=get_engine("auto"),
        cache_root=None if no_cache else root,
    )
    settings = report_settings(checked.policies.data, tree, config)
    if with_plan:
        valid = (m for m in checked.catalog.manifests if m.valid)
        directory = live_directory(config, valid, use_sandbox=sandbox)
    else:
        directory = file_directory(config)
    overview = compute(checked, settings, today, directory, found, root.resolve().name)
    documents = render(fmt, overview)
    if table is not None:
        chosen = {d.name.removesuffix(".csv"): d for d in documents}
        if table not in chosen:
            raise GuardrailsError(f"no table {table!r}; the tables are: {', '.join(chosen)}")
        documents = (chosen[table],)
    if output is None or table is not None:
        click.echo(documents[0].text, nl=False)
    elif fmt == "csv":
        _write_folder(output, documents)
    else:
        _write(output, documents[0].text)
        click.echo(f"Report written to {output}")
    sys.exit(1 if checked.outcome.blocking else 0)


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise GuardrailsError(f"{path}: cannot write the report: {err.strerror}") from err


def _write_folder(folder: Path, documents: tuple[Document, ...]) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise GuardrailsError(f"{folder}: cannot make the folder: {err.strerror}") from err
    for document in documents:
        _write(folder / document.name, document.text)
        click.echo(f"Table written to {folder / document.name}")
