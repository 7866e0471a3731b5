"""The one error type that means "guardrails could not do its job" (exit code 2)."""

from __future__ import annotations


class GuardrailsError(Exception):
    """A problem with flags, configuration, policies or an engine: exit 2, never a pass.

    The message is one line a person can act on; when the problem is in a file it
    starts with `file:line:column:`. It must never contain a secret.
    """
