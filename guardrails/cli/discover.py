"""`guardrails discover`: the SaaS in use that the catalog does not know, and back."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import click

from guardrails.cli.options import now_option, sandbox_option
from guardrails.discover import IDENTITY_SOURCES, SOURCES
from guardrails.engine import engine_names, engines_help
from guardrails.errors import GuardrailsError

FORMATS = ("text", "json", "markdown")  # guardrails.discover.formats.FORMATS, unimported


def _exports(values: tuple[str, ...]) -> list[tuple[str, list[Path]]]:
    """`--from SOURCE=PATH` values, checked."""
    found: list[tuple[str, list[Path]]] = []
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not path or name not in SOURCES:
            raise click.BadParameter(
                f"{value!r}: expected SOURCE=PATH with SOURCE one of {', '.join(SOURCES)}",
                param_hint="--from",
            )
        found.append((name, [Path(path)]))
    return found


@click.command()
@click.option(
    "-C",
    "--catalog",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Catalog repository root (default: the working directory).",
)
@click.option(
    "--from",
    "exports",
    multiple=True,
    metavar="SOURCE=PATH",
    help=f"Read an export: a file or folder of saved API replies or CSV. SOURCE: "
    f"{', '.join(SOURCES)}. Repeatable.",
)
@click.option(
    "--live",
    multiple=True,
    type=click.Choice([name for name in SOURCES if name in IDENTITY_SOURCES]),
    help="Fetch from the source's API, credentials from the environment. Repeatable.",
)
@click.option(
    "-f", "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the report here."
)
@click.option(
    "--write-drafts",
    "drafts_dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Write a draft manifest per undeclared tool into DIR (never overwriting a file).",
)
@click.option(
    "--engine",
    type=click.Choice(engine_names()),
    default="auto",
    show_default=True,
    help=f"Rego engine for the discovery rules: {engines_help()}.",
)
@click.option("--opa-url", help="OPA server for --engine opa.")
@click.option("--opa-token-env", metavar="VAR", help="Environment variable holding OPA's token.")
@sandbox_option
@now_option
@click.option("--fail-on-warn", is_flag=True, help="Exit 1 on warnings too.")
def discover(
    catalog: Path | None,
    exports: tuple[str, ...],
    live: tuple[str, ...],
    sandbox: bool,
    fmt: str,
    output: Path | None,
    drafts_dir: Path | None,
    engine: str,
    opa_url: str | None,
    opa_token_env: str | None,
    now: datetime | None,
    fail_on_warn: bool,
) -> None:
    """Find the SaaS in use that the catalog does not know, and catalog tools unused.

    Shadow IT (tools in use that no manifest declares), catalog tools nobody uses, and
    people using a tool beyond its manifest. Reads identity providers' app and
    OAuth-grant records and expense exports, from --from files or --live APIs (or what
    guardrails.yaml `discover:` configures). Exit 0 when nothing blocks, 1 when a
    discovery rule blocks, 2 when it could not run.
    """
    from dataclasses import replace

    from guardrails.config import load_config
    from guardrails.discover.drafts import write_drafts
    from guardrails.discover.formats import Report, render
    from guardrails.discover.run import run_discover, source_settings
    from guardrails.engine import get_engine

    if output is None and sys.stdout is None:
        raise GuardrailsError("standard output is closed: use --output FILE for the report")
    root = catalog or Path.cwd()
    config = load_config(root)
    settings = replace(source_settings(config), sandbox=sandbox)
    chosen = _exports(exports)
    if not chosen and not live:  # what guardrails.yaml configures
        chosen = [(name, settings.exports(name)) for name in SOURCES if settings.exports(name)]
        live = tuple(settings.live())
    discovery = run_discover(
        config,
        now.date() if now else date.today(),
        get_engine(engine, opa_url=opa_url, opa_token_env=opa_token_env),
        chosen,
        live,
        settings,
    )
    drafts: dict[str, str] = {}
    if drafts_dir is not None:
        drafts = write_drafts(
            list(discovery.usage.undeclared),
            drafts_dir,
            discovery.policies.data,
            discovery.now.isoformat(),
        )
    text = render(fmt, Report(discovery, drafts))
    if output is not None:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as err:
            raise GuardrailsError(f"{output}: cannot write the report: {err.strerror}") from err
    else:
        click.echo(text, nl=False)
    warned = any(f.status == "warning" for f in discovery.findings)
    sys.exit(1 if discovery.blocking or (fail_on_warn and warned) else 0)
