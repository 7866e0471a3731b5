"""`guardrails check`: load, validate and evaluate manifests; print findings; exit 0/1/2."""

from __future__ import annotations

import gc
import sys
from datetime import date, datetime
from pathlib import Path

import click

from guardrails.cli.options import now_option
from guardrails.engine import ENGINES, ENGINES_HELP
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
    type=click.Choice(ENGINES),
    default="auto",
    show_default=True,
    help=ENGINES_HELP + ".",
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
        from guardrails.report import Report, render

        if output is None and sys.stdout is None:  # before any work: nowhere to report it
            raise GuardrailsError("standard output is closed: use --output FILE for the report")
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
        color = output is None and fmt == "text" and sys.stdout.isatty()
        text = render(fmt, Report(checked.outcome, checked.rules, reported, color, removed))
        if fmt == "text" and removed:
            text += "".join(
                f"note: {file} was deleted: planned removal (apply revokes its access)\n"
                for file in removed
            )
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
