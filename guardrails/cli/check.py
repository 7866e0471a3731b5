"""`guardrails check`: load, validate and evaluate manifests; print findings; exit 0/1/2."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar

import click

from guardrails.cli.options import now_option
from guardrails.engine import engine_names, engines_help
from guardrails.errors import GuardrailsError
from guardrails.report import FORMATS
from guardrails.report.text_format import one_line, shown_name, undecodable_as_hex

F = TypeVar("F", bound=Callable[..., None])


def report_file_options(command: F) -> F:
    """`--sarif FILE`, `--markdown FILE`, ... : one option per format, so one check run
    writes every report CI wants (annotations on stdout, SARIF and the summary to files)."""
    for name in reversed(FORMATS):
        command = click.option(
            f"--{name}",
            f"{name}_file",
            type=click.Path(dir_okay=False, path_type=Path),
            metavar="FILE",
            help=f"Also write the {name} report to FILE (same check, same findings).",
        )(command)
    return command


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "-C",
    "--catalog",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Catalog repository root (default: found from the PATHs or the working directory).",
)
@click.option(
    "-f", "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the report here."
)
@click.option(
    "--engine",
    type=click.Choice(engine_names()),
    default="auto",
    show_default=True,
    help=f"Rego engine: {engines_help()}.",
)
@click.option("--opa-url", help="OPA server for --engine opa, e.g. http://localhost:8181.")
@click.option(
    "--opa-token-env",
    metavar="VAR",
    help="Environment variable holding a bearer token for OPA (never printed).",
)
@click.option(
    "--opa-timeout", type=float, default=10.0, show_default=True, help="Seconds per OPA request."
)
@click.option(
    "--changed-since",
    metavar="REF",
    help="Report only manifests added, modified or renamed since the merge-base with git "
    "REF (working tree included); cross-manifest rules still see the whole catalog, and "
    "deleted manifests are listed as planned removals.",
)
@click.option(
    "--policies-ref",
    metavar="REF",
    help="Take policies, policy data, exceptions and guardrails.yaml from git REF (e.g. "
    "the pull request's base), read through git: a change cannot weaken its own rules.",
)
@now_option
@click.option("--fail-on-warn", is_flag=True, help="Exit 1 on warnings too.")
@click.option(
    "--color/--no-color",
    default=None,
    help="Colour the text report (default: on a terminal, unless NO_COLOR is set).",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Do not read or write .guardrails-cache/ (what unchanged files said, and each "
    "manifest's violations under everything they depend on).",
)
@report_file_options
def check(
    paths: tuple[Path, ...],
    catalog: Path | None,
    fmt: str,
    output: Path | None,
    engine: str,
    opa_url: str | None,
    opa_token_env: str | None,
    opa_timeout: float,
    changed_since: str | None,
    policies_ref: str | None,
    now: datetime | None,
    fail_on_warn: bool,
    no_cache: bool,
    color: bool | None,
    **report_files: Path | None,
) -> None:
    """Check manifests against the policies; point at every line to change.

    PATH is a catalog root, or manifest files/folders to report on (rules that look
    across manifests still see the whole catalog). The catalog root is the nearest
    folder above with guardrails.yaml, else the top of the git repository (or -C).
    Exit 0 when nothing blocks, 1 when something does, 2 when the check could not run.
    """
    # A check builds hundreds of thousands of objects, none in a cycle, and soon exits:
    # cyclic garbage collection would only scan them over and over.
    collecting = gc.isenabled()
    gc.disable()
    try:
        from guardrails.check import CheckRequest, check_catalog
        from guardrails.engine import get_engine
        from guardrails.report import Report, render, write

        if output is None and sys.stdout is None:  # before any work: nowhere to report it
            raise GuardrailsError("standard output is closed: use --output FILE for the report")
        files = report_destinations(fmt, output, report_files)
        request = CheckRequest(
            paths=paths,
            catalog=catalog,
            changed_since=changed_since,
            policies_ref=policies_ref,
            cache=not no_cache,
        )
        result = check_catalog(
            request,
            now.date() if now else date.today(),
            get_engine(
                engine, opa_url=opa_url, opa_token_env=opa_token_env, opa_timeout=opa_timeout
            ),
        )
        checked, removed = result.checked, result.removed
        for note in result.notes:
            click.echo(f"guardrails: note: {one_line(note)}", err=True)
        report = Report(checked.outcome, checked.rules, result.reported, False, removed)
        for name, path in files:  # every format from this one check: the same findings
            write(path, as_written(name, render(name, report), removed))
        if output is None:
            color = fmt == "text" and _colour(color, sys.stdout.isatty())
            report = Report(checked.outcome, checked.rules, result.reported, color, removed)
            click.echo(as_written(fmt, render(fmt, report), removed), nl=False, color=color)
        outcome = checked.outcome
        blocked = outcome.blocking or (fail_on_warn and outcome.warnings)
        sys.exit(1 if blocked else 0)
    finally:
        gc.unfreeze()  # loading froze the catalog out of the collector's way: no longer
        if collecting:
            gc.enable()


def report_destinations(
    fmt: str, output: Path | None, report_files: dict[str, Path | None]
) -> list[tuple[str, Path]]:
    """(format, file) for every report written to a file; two reports never share one."""
    files = [(fmt, output)] if output is not None else []
    files += [(name.removesuffix("_file"), path) for name, path in report_files.items() if path]
    seen: dict[Path, str] = {}
    for name, path in files:
        key = path.resolve()
        if key in seen:
            raise GuardrailsError(
                f"{path}: both the {seen[key]} and the {name} report would be written there"
            )
        seen[key] = name
    return files


def as_written(fmt: str, text: str, removed: tuple[str, ...]) -> str:
    """A rendered report as it is written: valid UTF-8 in every format, and the text
    report ends with a note per deleted manifest (other formats carry them)."""
    if fmt == "text":
        text += "".join(
            f"note: {shown_name(file)} was deleted: planned removal (apply revokes its access)\n"
            for file in removed
        )
    return undecodable_as_hex(text)


def _colour(asked: bool | None, terminal: bool) -> bool:
    """`--color`/`--no-color` when given; else colour on a terminal unless NO_COLOR is set
    (https://no-color.org: any non-empty value)."""
    if asked is not None:
        return asked
    import os

    return terminal and not os.environ.get("NO_COLOR")
