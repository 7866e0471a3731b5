"""`guardrails --help` lists every command without importing any command module, and the
listing is exactly what the commands themselves would show."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from guardrails.cli import COMMANDS, load_command, main


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_listed_help_is_the_commands_own(name: str) -> None:
    command = load_command(name)
    listed = click.Command(name, help=COMMANDS[name][2])
    for limit in (30, 45, 74, 200):
        assert listed.get_short_help_str(limit) == command.get_short_help_str(limit)


def test_every_registered_command_is_in_the_table() -> None:
    ctx = click.Context(main)
    assert set(main.list_commands(ctx)) == set(COMMANDS) | set(main.commands)
    assert all(main.get_command(ctx, name) is not None for name in COMMANDS)


def test_help_imports_no_command_module() -> None:
    probe = (
        "import sys\n"
        "from guardrails.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('guardrails.cli.'))\n"
        "print('loaded:' + ','.join(loaded))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "Commands:" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "loaded:"
