"""`guardrails policy ...`: commands for the people who write the policies."""

from __future__ import annotations

import click


@click.group()
def policy() -> None:
    """Work with the Rego policy library (test, bundle, push)."""
