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
from guardrails.errors import GuardrailsError
from guardrails.report import FORMATS


def resolve_targets(
    paths: tuple[Path, ...], catalog: Path | None
) -> tuple[Path, tuple[str, ...], frozenset[Path] | None]:
    """(catalog root, extra manifest files, files to report) from the command line.

    No PATH: the whole catalog at `--catalog` (default: the working directory). One
    PATH that is a catalog root (it has `manifests/` or `guardrails.yaml`): that
    catalog. Otherwise each PATH is a manifest file or a folder of them, reported on
    while cross-manifest rules still see the whole catalog.
    """
    if not paths:
        return (catalog or Path.cwd()), (), None
    if len(paths) == 1 and paths[0].is_dir() and catalog is None:
        candidate = paths[0]
        if (candidate / "manifests").is_dir() or (candidate / "guardrails.yaml").is_file():
            return candidate, (), None
    root = catalog or Path.cwd()
    selected: list[Path] = []
    for path in paths:
        if path.is_dir():
            selected += sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"})
        else:
            selected.append(path)
    extra = tuple(_relative(p, root) for p in selected)
    return root, extra, frozenset(p.absolute() for p in selected)


def _relative(path: Path, root: Path) -> str:
    import os

    return Path(os.path.relpath(path.absolute(), root.absolute())).as_posix()


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
    help="Catalog repository root (default: the working directory).",
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
    **report_files: Path | None,
) -> None:
    """Check manifests against the policies; point at every line to change.

    PATH is a catalog root, or manifest files/folders to report on (rules that look
    across manifests still see the whole catalog). Exit 0 when nothing blocks, 1 when
    something does, 2 when the check could not run.
    """
    # A check builds hundreds of thousands of objects, none in a cycle, and soon exits:
    # cyclic garbage collection would only scan them over and over.
    collecting = gc.isenabled()
    gc.disable()
    try:
        from guardrails.catalog.tree import WorkTree, display_path
        from guardrails.check import run_check
        from guardrails.config import load_config
        from guardrails.engine import get_engine
        from guardrails.report import Report, render, write

        if output is None and sys.stdout is None:  # before any work: nowhere to report it
            raise GuardrailsError("standard output is closed: use --output FILE for the report")
        files = report_destinations(fmt, output, report_files)
        root, extra, selected = resolve_targets(paths, catalog)
        tree = WorkTree(root)
        only = frozenset(display_path(p) for p in selected) if selected is not None else None
        policy_tree = None
        if policies_ref is not None:
            from guardrails.catalog.git_tree import GitTree, config_at

            # The settings too: they name the policy folders and switch the defaults.
            policy_tree = GitTree(root, policies_ref)
            config = config_at(policy_tree)
        else:
            config = load_config(root)
        changes = None
        if changed_since is not None:
            from guardrails.catalog.git_tree import changes_since
            from guardrails.catalog.tree import YAML_SUFFIXES

            # Changed exception files are reported too, unless they are read from the ref.
            exceptions = None if policies_ref is not None else config.exceptions
            changes = changes_since(
                root, changed_since, config.manifests, YAML_SUFFIXES, exceptions
            )
        checked = run_check(
            tree,
            config,
            now.date() if now else date.today(),
            engine=get_engine(
                engine, opa_url=opa_url, opa_token_env=opa_token_env, opa_timeout=opa_timeout
            ),
            policy_tree=policy_tree,
            extra=extra,
            only=only if changes is None else None,  # --changed-since narrows it below
            cache_root=None if no_cache else root,
        )
        removed: tuple[str, ...] = ()
        if changes is not None:
            from guardrails.catalog.git_tree import report_changes

            checked, removed = report_changes(checked, changes, root, only)
            only = checked.reported
        reported = tuple(m for m in checked.catalog.manifests if only is None or m.file in only)
        report = Report(checked.outcome, checked.rules, reported, False, removed)
        for name, path in files:  # every format from this one check: the same findings
            write(path, with_removals(name, render(name, report), removed))
        if output is None:
            color = fmt == "text" and sys.stdout.isatty()
            report = Report(checked.outcome, checked.rules, reported, color, removed)
            click.echo(with_removals(fmt, render(fmt, report), removed), nl=False, color=color)
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


def with_removals(fmt: str, text: str, removed: tuple[str, ...]) -> str:
    """The text report ends with a note per deleted manifest (other formats carry them)."""
    if fmt != "text":
        return text
    return text + "".join(
        f"note: {file} was deleted: planned removal (apply revokes its access)\n"
        for file in removed
    )
