"""Options shared by several commands."""

from __future__ import annotations

import click

now_option = click.option(
    "--now",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Decide as of this date, YYYY-MM-DD (default: today). Policies never read the clock.",
)

sandbox_option = click.option(
    "--sandbox",
    is_flag=True,
    help="Use the local sandbox `guardrails sandbox` runs for this catalog (checked to be "
    "yours, alive and on loopback); never used unless asked for.",
)
