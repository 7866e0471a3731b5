"""The `guardrails` command: thin wiring from flags to the pipeline, outcomes to exit codes.

Exit codes everywhere: 0 nothing blocks, 1 at least one blocking finding, 2 guardrails
could not do its job. Heavy modules are imported inside commands so `--help` is fast.
"""

from __future__ import annotations

import os
from typing import Any

import click

from guardrails import __version__
from guardrails.errors import GuardrailsError

EXIT_OK, EXIT_BLOCKED, EXIT_ERROR = 0, 1, 2


class _Group(click.Group):
    """Maps every failure to exit 2 with one readable line (fail closed, no traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GuardrailsError as err:
            click.echo(f"guardrails: error: {err}", err=True)
            ctx.exit(EXIT_ERROR)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("guardrails: interrupted", err=True)
            ctx.exit(EXIT_ERROR)
        except Exception as err:
            if os.environ.get("GUARDRAILS_DEBUG"):
                raise
            click.echo(
                f"guardrails: internal error: {type(err).__name__}: {err} "
                "(set GUARDRAILS_DEBUG=1 for a traceback, and please report it)",
                err=True,
            )
            ctx.exit(EXIT_ERROR)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="guardrails")
def main() -> None:
    """Check SaaS tool manifests against IT's policies, and provision approved ones.

    Marketing declares each tool in manifests/*.yaml; IT keeps rules as Rego in
    policies/. `guardrails check` points at the exact line that breaks a rule.
    """


def _register() -> None:
    # One module per command (or group); each imports its heavy dependencies lazily.
    from guardrails.cli import check, policy, provision

    main.add_command(check.check)
    main.add_command(policy.policy)
    for command in (provision.plan, provision.apply, provision.sandbox):
        main.add_command(command)
    from guardrails.cli import policy_bundle

    policy.policy.add_command(policy_bundle.bundle)
    policy.policy.add_command(policy_bundle.push)
    from guardrails.cli import explain, new

    main.add_command(explain.explain)
    main.add_command(new.new)


_register()
