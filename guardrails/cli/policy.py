"""`guardrails policy ...`: commands for the people who write the policies."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from guardrails.engine import engine_names, engines_help
from guardrails.errors import GuardrailsError

if TYPE_CHECKING:
    from guardrails.engine.interface import PolicyModule, PolicySet


@click.group()
def policy() -> None:
    """Work with the Rego policy library (test, bundle, push)."""


@policy.command("test")
@click.argument("folder", required=False, default="policies", type=click.Path(path_type=Path))
@click.option(
    "--engine",
    type=click.Choice(engine_names(local=True)),
    default="auto",
    show_default=True,
    help=f"Rego engine to run the tests on: {engines_help(local=True)}.",
)
def test(folder: Path, engine: str) -> None:
    """Run the Rego unit tests of FOLDER (default: policies).

    Every rule named `test_*` in a `*_test.rego` file under FOLDER is a test; it passes
    when it is true. The tests see FOLDER's policies and FOLDER/data on top of the
    shipped library (as `guardrails check` does), and set their own input with
    `with input as ...`. Prints one line per test and `N passed, N failed`; exits 1
    if any test fails, 2 if the tests cannot run.
    """
    from guardrails.engine import get_engine
    from guardrails.engine.rego_tests import run_tests, test_modules_in

    if not folder.is_dir():
        raise GuardrailsError(f"{folder}: no such policy folder (give the folder of *.rego files)")
    shown = folder.as_posix().rstrip("/") or "."
    tests = test_modules_in(folder, shown)
    if not tests:
        raise GuardrailsError(f"{shown}: no *_test.rego files: nothing to test")
    results = run_tests(get_engine(engine), _policies_for(folder), [*tests, *_helpers(tests)])
    if not results:
        raise GuardrailsError(f"{shown}: the *_test.rego files define no test_* rules")
    for result in results:
        where = f"{result.test.file}:{result.test.line}"
        if result.passed:
            click.echo(f"PASS  {where}: {result.test.name}")
        else:
            detail = result.detail.replace("\n", "\n      ")  # an engine error's excerpt
            click.echo(f"FAIL  {where}: {result.test.name}: {detail}")
    failed = sum(1 for r in results if not r.passed)
    click.echo(f"{len(results) - failed} passed, {failed} failed")
    if failed:
        click.get_current_context().exit(1)


def _helpers(tests: list[PolicyModule]) -> list[PolicyModule]:
    """The shipped test helpers (`data.guardrails.testing`: a compliant `tool`,
    `with_spec`, `catalog`, ...), for an organisation's tests to build their inputs
    with, unless FOLDER has its own file of that name (or is the shipped library)."""
    from guardrails.engine.interface import PolicyModule
    from guardrails.shipped import shipped_dir

    helpers = shipped_dir("policies") / "testing_test.rego"
    if any(Path(module.file).name == helpers.name for module in tests):
        return []
    try:
        text = helpers.read_text(encoding="utf-8")
    except OSError as err:
        raise GuardrailsError(f"{helpers}: cannot read the shipped test helpers: {err}") from err
    return [PolicyModule(f"(shipped) {helpers.name}", text, True)]


def _policies_for(folder: Path) -> PolicySet:
    """The policy set `guardrails check` would use with FOLDER as the policies folder."""
    from guardrails.catalog.tree import WorkTree
    from guardrails.config import load_config
    from guardrails.engine.policy_set import load_policy_set

    root = folder.resolve().parent
    config = replace(load_config(root), root=root, policies=folder.resolve().name)
    return load_policy_set(WorkTree(root), config)
