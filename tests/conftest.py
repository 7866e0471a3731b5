"""Shared test helpers: run the real CLI, read expectations written into fixture files."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from guardrails.cli import main

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
NOW = "2026-11-22"
_EXPECT = re.compile(r"#\s*expect:\s*([A-Z0-9, -]+?)\s*$")


@dataclass(frozen=True)
class Run:
    """What a person sees after running `guardrails ...`."""

    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """stdout parsed as JSON."""
        return json.loads(self.stdout)


def guardrails(*args: str | Path) -> Run:
    """Run the CLI in-process (like a shell would), capturing both streams."""
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


def expectations(path: Path) -> list[tuple[str, int]]:
    """(rule id, line) for every `# expect: RULE[, RULE]` comment in a fixture file."""
    found = []
    for number, line in enumerate(
        path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1
    ):
        match = _EXPECT.search(line)
        if match:
            found += [(rule.strip(), number) for rule in match.group(1).split(",")]
    return found


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    """A writable copy of the compliant examples catalog."""
    root = tmp_path / "catalog"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns("bad"))
    return root
