"""`python -m guardrails` runs the command line."""

from guardrails.cli import entry

entry()
