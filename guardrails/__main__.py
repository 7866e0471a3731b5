"""`python -m guardrails` runs the command line."""

from guardrails.cli import entry

if __name__ == "__main__":  # not when a spawned process imports it as __mp_main__
    entry()
