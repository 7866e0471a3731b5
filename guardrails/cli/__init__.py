"""The `guardrails` command: thin wiring from flags to the pipeline, outcomes to exit codes.

Exit codes everywhere: 0 nothing blocks, 1 at least one blocking finding, 2 guardrails
could not do its job. Heavy modules are imported inside commands so `--help` is fast.
"""

from __future__ import annotations

import io
import os
import sys
from typing import Any

import click

from guardrails import __version__
from guardrails.errors import GuardrailsError

EXIT_OK, EXIT_BLOCKED, EXIT_ERROR = 0, 1, 2


# Every command, and the first paragraph of its help for `guardrails --help`. A
# command's module is imported only when that command runs, so `--help` and start-up
# cost no more than click itself (tests/catalog/test_cli_startup.py keeps this table true).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "apply": (
        "guardrails.cli.provision",
        "apply",
        "Bring the directory in line with the approved manifests (or apply PLANFILE exactly).",
    ),
    "check": (
        "guardrails.cli.check",
        "check",
        "Check manifests against the policies; point at every line to change.",
    ),
    "explain": (
        "guardrails.cli.explain",
        "explain",
        "Explain RULE: what it requires, why, how to comply, and a compliant example.",
    ),
    "new": (
        "guardrails.cli.new",
        "new",
        "Scaffold the manifest of a new tool called NAME (its metadata.name).",
    ),
    "plan": (
        "guardrails.cli.provision",
        "plan",
        "Show what apply would change: + create, ~ change, - remove, per tool and person.",
    ),
    "policy": (
        "guardrails.cli.policy",
        "policy",
        "Work with the Rego policy library (test, bundle, push).",
    ),
    "sandbox": (
        "guardrails.cli.provision",
        "sandbox",
        "Run a local AWS (moto) and SCIM (scim2-server) on loopback until stopped.",
    ),
    "discover": (
        "guardrails.cli.discover",
        "discover",
        "Find the SaaS in use that the catalog does not know, and catalog tools unused.",
    ),
    "report": (
        "guardrails.cli.report",
        "report",
        "Write the CIO-CMO report: spend, cost of ownership, renewals, seats and risk.",
    ),
    "init": (
        "guardrails.cli.init",
        "init",
        "Create a catalog repository in FOLDER (default: here), ready for `guardrails new`.",
    ),
}


def load_command(name: str) -> click.Command:
    """Import and return the command `name` of `COMMANDS`."""
    import importlib

    module, attribute, _ = COMMANDS[name]
    command: click.Command = getattr(importlib.import_module(module), attribute)
    if name == "policy" and isinstance(command, click.Group) and "bundle" not in command.commands:
        from guardrails.cli import policy_bundle

        command.add_command(policy_bundle.bundle)
        command.add_command(policy_bundle.push)
    return command


class _Group(click.Group):
    """Maps every failure to exit 2 with one readable line (fail closed, no traceback).

    Commands are loaded lazily from `COMMANDS`.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command, without importing any."""
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        """The command `name`, its module imported now that it is needed."""
        if name not in self.commands and name in COMMANDS:
            self.add_command(load_command(name), name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The listing of `--help`, written from COMMANDS so no command module is imported."""
        stand_ins = {
            name: click.Command(name, help=text) for name, (_, _, text) in COMMANDS.items()
        }
        shown = {**stand_ins, **self.commands}
        names = sorted(shown)
        limit = formatter.width - 6 - max((len(n) for n in names), default=0)
        rows = [(n, shown[n].get_short_help_str(limit)) for n in names if not shown[n].hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GuardrailsError as err:
            import logging

            # With GUARDRAILS_LOG=debug: where it was raised and the errors it came from.
            logging.getLogger(__name__).debug("the error's traceback", exc_info=err)
            click.echo(f"guardrails: error: {err}", err=True)
            ctx.exit(EXIT_ERROR)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("guardrails: interrupted", err=True)
            ctx.exit(EXIT_ERROR)
        except BrokenPipeError:
            # The reader went away (`guardrails explain --list | head`): stop quietly, and
            # point stdout at /dev/null so the interpreter's final flush cannot fail again.
            # Exit 2, not 0: a report nobody read must never count as a pass.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
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
    from guardrails.log import configure

    configure()  # GUARDRAILS_LOG: which path a command took and why, on stderr


def entry() -> None:
    """The `guardrails` program: run the command, then leave at once.

    Everything a command writes is written and closed by the time it returns; tearing
    the interpreter down object by object after a large check would only add to the
    wait. (Tests call `main` and keep their process.)
    """
    _buffer_stdout()
    try:
        main()
        code: Any = 0
    except SystemExit as done:
        code = done.code
    if code is not None and not isinstance(code, int):
        if sys.stderr is not None:
            print(code, file=sys.stderr)
        code = EXIT_BLOCKED
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            if stream is sys.stdout:
                code = code or EXIT_ERROR  # a report nobody read never counts as a pass
    os._exit(code or 0)


def _buffer_stdout() -> None:
    """Give an unbuffered stdout (PYTHONUNBUFFERED, `python -u`) a buffer again.

    Unbuffered, a write that a closing pipe cuts short is taken as whole, and a report
    nobody read could pass; a buffered writer writes every byte or raises.
    """
    stdout = sys.stdout
    if isinstance(stdout, io.TextIOWrapper) and isinstance(stdout.buffer, io.FileIO):
        sys.stdout = io.TextIOWrapper(
            io.BufferedWriter(stdout.buffer),
            encoding=stdout.encoding,
            errors=stdout.errors,
            line_buffering=True,
        )
