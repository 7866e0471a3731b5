"""One engine registry: registering an engine makes it a choice of every `--engine`.

The registry is `guardrails.engine.REGISTRY`; the commands build their choices and
help from it when their module is imported. The probe registers two engines before
any command module is imported, as an entry added to the table would, then walks
every command of `guardrails` for an `--engine` option.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys

from tests.conftest import EXAMPLES, NOW, REPO

REGISTER = """
import json, sys
import click
from guardrails.engine import REGISTRY, EngineEntry

REGISTRY["toy"] = EngineEntry(
    "guardrails.engine.regorus", "RegorusEngine", "a toy engine here", library="regorus"
)
REGISTRY["toy-server"] = EngineEntry(
    "guardrails.engine.opa", "OpaEngine", "a toy server", local=False
)
from guardrails.cli import COMMANDS, entry, load_command

if sys.argv[1:]:
    entry()
found = {}

def walk(command, path):
    for param in command.params:
        if param.name == "engine":
            found[" ".join(path)] = {"choices": list(param.type.choices), "help": param.help}
    for name, sub in getattr(command, "commands", {}).items():
        walk(sub, [*path, name])

for name in COMMANDS:
    walk(load_command(name), [name])
print(json.dumps(found))
"""


def _probe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", REGISTER, *args], capture_output=True, text=True, timeout=120
    )


def test_a_registered_engine_is_a_choice_of_every_engine_option() -> None:
    done = _probe()
    assert done.returncode == 0, done.stderr
    options = json.loads(done.stdout)
    assert {"check", "discover", "policy test"} <= set(options)
    for command, option in options.items():
        assert option["choices"][0] == "auto", command
        assert "toy" in option["choices"], command
        assert "toy = a toy engine here" in option["help"], command
        # A server answers only its bundle: `policy test` offers engines evaluating here.
        assert ("toy-server" in option["choices"]) == (command != "policy test"), command


def test_a_registered_engine_runs_a_check() -> None:
    done = _probe("check", str(EXAMPLES), "--now", NOW, "--no-cache", "--engine", "toy")
    assert done.returncode == 0, done.stderr
    assert "8 manifests: 7 passed, 0 failed" in done.stdout


def test_no_module_but_the_registry_lists_engines() -> None:
    """A second list of engine names (a literal choice, a tuple of "local" engines) is
    what the registry replaced: no module names two engines in its string literals."""
    names = {"regorus", "regopy", "opa-lib", "opa"}
    lists = []
    for path in sorted((REPO / "guardrails").rglob("*.py")):
        if path == REPO / "guardrails" / "engine" / "__init__.py":
            continue
        literals = {
            node.value
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
        }
        if len(literals & names) > 1:
            lists.append(path.relative_to(REPO).as_posix())
    assert lists == []


def test_auto_help_follows_the_registry() -> None:
    from guardrails.engine import engines_help

    assert engines_help().startswith("auto = regorus where installed, else regopy; ")
    assert "opa = an OPA server" in engines_help()
    assert "opa = " not in engines_help(local=True)


def test_check_help_lists_every_registered_engine() -> None:
    from tests.conftest import guardrails

    shown = guardrails("check", "--help").stdout
    assert "[auto|regorus|regopy|opa-lib|opa]" in shown
