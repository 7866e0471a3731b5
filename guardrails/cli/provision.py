"""`guardrails plan`, `guardrails apply`, `guardrails sandbox`: provisioning commands.

plan/apply exit 0 when every tool with provisioning was approved, 1 when one is
blocked by a finding or asks for what IT did not bind to it (it is reported and gets
nothing new; its revocations and the other tools still are applied), 2 when the job
could not be done (unreachable provider, stale plan, deletion guard, lock, failure).
"""

from __future__ import annotations

import gc
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from guardrails.cli.options import now_option, sandbox_option
from guardrails.errors import GuardrailsError

if TYPE_CHECKING:
    from guardrails.catalog.tree import Tree
    from guardrails.config import Config
    from guardrails.provision.calls import CallCounter
    from guardrails.provision.model import Plan
    from guardrails.provision.plan import Provisioner, Wanted

catalog_option = click.option(
    "-C",
    "--catalog",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Catalog repository root (default: the working directory).",
)
stats_option = click.option(
    "--stats", is_flag=True, help="Print the API calls made, per service and operation."
)
policies_ref_option = click.option(
    "--policies-ref",
    metavar="REF",
    help="Take policies, policy data (IT's provisioning bindings included), exceptions and "
    "guardrails.yaml from git REF (e.g. the default branch), read through git.",
)


def _settings(catalog: Path | None, policies_ref: str | None) -> tuple[Config, Tree | None]:
    """The catalog's settings, and where policies come from: the work tree, or git REF
    (then guardrails.yaml too, so a change cannot point provisioning elsewhere)."""
    from guardrails.config import load_config

    root = catalog or Path.cwd()
    if policies_ref is None:
        return load_config(root), None
    from guardrails.catalog.git_tree import GitTree, config_at

    policy_tree = GitTree(root, policies_ref)
    return config_at(policy_tree), policy_tree


def _compute(
    catalog: Path | None, now: datetime | None, sandbox: bool, policies_ref: str | None
) -> tuple[Config, Wanted, Provisioner, CallCounter, Plan]:
    """Check the catalog, read the live state, and plan."""
    from guardrails.catalog.tree import WorkTree
    from guardrails.check import run_check
    from guardrails.provision.bindings import load_bindings
    from guardrails.provision.calls import CallCounter
    from guardrails.provision.plan import Provisioner, wanted_access
    from guardrails.provision.settings import load_settings

    config, policy_tree = _settings(catalog, policies_ref)
    checked = run_check(
        WorkTree(catalog or Path.cwd()),
        config,
        now.date() if now else date.today(),
        policy_tree=policy_tree,
    )
    # Loading froze the catalog out of the garbage collector's way (memory.acyclic),
    # which pays for a check that exits at once; plan/apply go on for minutes making
    # objects that are collected as usual, so the freeze ends here.
    gc.unfreeze()
    wanted = wanted_access(checked, load_bindings(checked.policies.data))
    counter = CallCounter()
    provisioner = Provisioner(load_settings(config, use_sandbox=sandbox), counter)
    return config, wanted, provisioner, counter, provisioner.plan(wanted)


@click.command()
@catalog_option
@click.option(
    "-o", "--out", type=click.Path(dir_okay=False, path_type=Path), help="Save the plan (JSON)."
)
@now_option
@stats_option
@sandbox_option
@policies_ref_option
def plan(
    catalog: Path | None,
    out: Path | None,
    now: datetime | None,
    stats: bool,
    sandbox: bool,
    policies_ref: str | None,
) -> None:
    """Show what apply would change: + create, ~ change, - remove, per tool and person.

    Only manifests with no blocking finding are granted access; revocations are
    planned for every tool. `--out` saves the plan for `guardrails apply PLANFILE`,
    which refuses it once the inputs have changed.
    """
    from guardrails.provision.audit import AuditLog
    from guardrails.provision.plan import render_plan

    config, wanted, _provisioner, counter, computed = _compute(catalog, now, sandbox, policies_ref)
    interrupted = AuditLog(config.root / config.audit_log).interrupted()
    if interrupted:
        click.echo(
            f"! {len(interrupted)} change(s) of an apply that did not finish will be "
            "reconciled by the next apply"
        )
    click.echo(render_plan(computed), nl=False)
    if out is not None:
        try:
            out.write_text(computed.to_json(), encoding="utf-8")
        except OSError as err:
            raise GuardrailsError(f"{out}: cannot write the plan: {err.strerror}") from err
        click.echo(f"Plan saved to {out}; apply it with: guardrails apply {out}")
    if stats:
        click.echo(counter.summary())
    sys.exit(_exit_code(wanted))


def _exit_code(wanted: Wanted) -> int:
    """1 when a manifest is blocked or does not parse (it was reported, not provisioned)."""
    return 1 if wanted.blocked or wanted.unreadable else 0


@click.command()
@click.argument(
    "planfile", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@catalog_option
@click.option("--auto-approve", is_flag=True, help="Apply without asking.")
@click.option(
    "--max-deletes",
    type=click.IntRange(min=0),
    default=None,
    help="Refuse to revoke more accesses than this (default 10).",
)
@now_option
@stats_option
@sandbox_option
@policies_ref_option
def apply(
    planfile: Path | None,
    catalog: Path | None,
    auto_approve: bool,
    max_deletes: int | None,
    now: datetime | None,
    stats: bool,
    sandbox: bool,
    policies_ref: str | None,
) -> None:
    """Bring the directory in line with the approved manifests (or apply PLANFILE exactly).

    Re-checks the manifests first: one with a blocking finding gets nothing new, but
    loses what it no longer lists. One apply at a time (a lock); safe to run again: a
    second apply changes nothing.
    """
    from guardrails.provision.apply import DEFAULT_MAX_DELETES, apply_plan, guard, reconcile
    from guardrails.provision.audit import AuditLog, apply_lock
    from guardrails.provision.plan import render_plan

    saved = _read_plan(planfile) if planfile is not None else None
    settings, _ = _settings(catalog, policies_ref)
    # Held from before the live state is read until the last write (and the audit
    # log's reconciling) is done.
    with apply_lock(settings.root / f"{settings.audit_log}.lock"):
        config, wanted, provisioner, counter, computed = _compute(
            catalog, now, sandbox, policies_ref
        )
        audit = AuditLog(config.root / config.audit_log)
        for line in reconcile(audit.interrupted(), computed, audit):
            click.echo(f"! reconciled: {line}")
        if saved is not None:
            if saved.fingerprint != computed.fingerprint:
                raise GuardrailsError(
                    f"{planfile} is stale: the manifests or the live directory changed since it "
                    "was made; run `guardrails plan` again"
                )
            if saved.changes != computed.changes:
                # Same inputs always give the same changes: this file was edited by hand.
                raise GuardrailsError(
                    f"{planfile}: its changes are not what its inputs give (edited by hand?); "
                    "run `guardrails plan` again"
                )
            chosen = saved
            click.echo(f"{planfile}: still current; applying its {len(chosen.changes)} changes.")
            click.echo("".join(f"! {n.tool}: {n.message}\n" for n in chosen.notices), nl=False)
        else:
            chosen = computed
            click.echo(render_plan(chosen), nl=False)
        if chosen.changes:
            guard(chosen, DEFAULT_MAX_DELETES if max_deletes is None else max_deletes)
            if planfile is None and not auto_approve:
                if not sys.stdin.isatty():
                    raise GuardrailsError("not a terminal: rerun with --auto-approve to apply")
                click.confirm(f"Apply these {len(chosen.changes)} changes?", abort=True)
            applied = apply_plan(
                chosen,
                provisioner.waves(provisioner.steps(chosen.changes)),
                provisioner.carry_out,
                audit,
                progress=sys.stderr.isatty(),
                width=provisioner.settings.max_concurrency,
            )
            for change in applied.done:
                click.echo(
                    f"  done: {change.sign} {change.tool} {change.provider}: {change.describe()}"
                )
            if applied.failed is not None:
                tool = applied.failed.tool
                click.echo(
                    f"guardrails: error: {tool}: {applied.failed.describe()}: "
                    f"{applied.error.removeprefix(f'{tool}: ')}",
                    err=True,
                )
                click.echo(
                    f"Applied {len(applied.done)} of {len(chosen.changes)} changes; run "
                    "`guardrails apply` again to finish.",
                    err=True,
                )
                if stats:
                    click.echo(counter.summary())
                sys.exit(2)
            click.echo(f"Applied {len(applied.done)} changes (audit log: {config.audit_log}).")
        else:
            click.echo("Nothing to do.")
        if stats:
            click.echo(counter.summary())
        sys.exit(_exit_code(wanted))


def _read_plan(planfile: Path) -> Plan:
    """A saved plan file, or one `GuardrailsError` line."""
    from guardrails.provision.model import Plan

    try:
        text = planfile.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise GuardrailsError(f"{planfile}: cannot read the plan: {reason}") from err
    return Plan.from_json(text, str(planfile))


@click.command()
@catalog_option
@click.option(
    "--directory",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Users and groups to seed (default: the catalog's directory.yaml).",
)
def sandbox(catalog: Path | None, directory: Path | None) -> None:
    """Run a local AWS (moto) and SCIM (scim2-server) on loopback until stopped.

    Seeds them from directory.yaml and the manifests, and writes
    .guardrails/sandbox.json in the catalog so plan/apply use it. No cloud account.
    """
    import os
    import signal
    import threading

    from guardrails.config import load_config
    from guardrails.provision.sandbox import Sandbox, load_directory
    from guardrails.provision.settings import process_alive, read_sandbox_state

    root = catalog or Path.cwd()
    config = load_config(root)
    previous = read_sandbox_state(root)
    if previous is not None and process_alive(previous.get("pid")):
        raise GuardrailsError(f"a sandbox already runs for this catalog (pid {previous['pid']})")
    seed = load_directory(directory or root / config.directory)
    box = Sandbox(config, seed)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        state = box.start()
        click.echo(
            f"Sandbox running (pid {os.getpid()}): AWS at {state.endpoint_url} (moto; the "
            "sso-admin application APIs, which moto lacks, by an in-memory stand-in), "
            f"SCIM at {state.scim_url}/<tool>/v2 (scim2-server); {len(seed.people)} users, "
            f"{len(seed.groups)} groups. Stop with Ctrl-C or SIGTERM.",
        )
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        box.stop()
    click.echo("Sandbox stopped.")
