"""`guardrails check`: load, validate and evaluate manifests; print findings; exit 0/1/2."""

from __future__ import annotations

import gc
import sys
from datetime import date, datetime
from pathlib import Path

import click

from guardrails.cli.options import now_option
from guardrails.errors import GuardrailsError
from guardrails.report import FORMATS
from guardrails.report.text_format import one_line, shown_name, undecodable_as_hex


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
    type=click.Choice(["auto", "regorus", "regopy", "opa"]),
    default="auto",
    show_default=True,
    help="Rego engine: auto = regorus where installed, else regopy; opa = an OPA server.",
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
    "--no-cache",
    is_flag=True,
    help="Do not read or write .guardrails-cache/ (what unchanged files said, and each "
    "manifest's violations under everything they depend on).",
)
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
        from guardrails.report import Report, render

        if output is None and sys.stdout is None:  # before any work: nowhere to report it
            raise GuardrailsError("standard output is closed: use --output FILE for the report")
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
        color = output is None and fmt == "text" and sys.stdout.isatty()
        report = Report(checked.outcome, checked.rules, result.reported, color, removed)
        text = render(fmt, report)
        if fmt == "text" and removed:
            text += "".join(
                f"note: {shown_name(file)} was deleted: planned removal (apply revokes its "
                "access)\n"
                for file in removed
            )
        text = undecodable_as_hex(text)  # valid UTF-8 in every format
        if output is not None:
            try:
                output.write_text(text, encoding="utf-8")
            except OSError as err:
                raise GuardrailsError(
                    f"{output}: cannot write the report: {err.strerror}"
                ) from None
        else:
            click.echo(text, nl=False, color=color)
        outcome = checked.outcome
        blocked = outcome.blocking or (fail_on_warn and outcome.warnings)
        sys.exit(1 if blocked else 0)
    finally:
        gc.unfreeze()  # loading froze the catalog out of the collector's way: no longer
        if collecting:
            gc.enable()
