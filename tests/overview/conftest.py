"""The report's fixture catalog (tests/fixtures/overview/catalog), copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, Run, guardrails

FIXTURE = FIXTURES / "overview" / "catalog"
DISCOVERY = FIXTURES / "overview" / "discovery.json"
NOW = "2026-06-01"


@pytest.fixture
def report_catalog(tmp_path: Path) -> Path:
    """A writable copy of the report's fixture catalog."""
    root = tmp_path / "catalog"
    shutil.copytree(FIXTURE, root)
    return root


def report(root: Path, *args: str | Path) -> Run:
    """`guardrails report ROOT --now NOW ARGS`, in-process."""
    return guardrails("report", root, "--now", NOW, *args)
