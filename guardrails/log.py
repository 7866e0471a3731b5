"""The package logger: `GUARDRAILS_LOG=debug` says which path a command took and why.

Every module logs to its own `logging.getLogger(__name__)`, a child of `guardrails`
(as pip-audit does with `PIP_AUDIT_LOGLEVEL`): the verdict cache used or discarded,
the second core used or not, the fast schema validator or the reference one, the
engine `auto` picked, and, for an error, the error it came from. Nothing is logged
by default; the level comes from `GUARDRAILS_LOG` (debug, info, warning, error, any
case). A value that is not a level is ignored with one warning: a typo in a logging
setting must not make a check fail, nor pass silently unnoticed.

Records go to standard error only, never standard output (which carries reports),
and every one passes through `redact` first. Credentials reach guardrails through the
environment (SCIM and OPA tokens by `token_env`, cloud keys), under names nobody can
list in advance, so the value of every environment variable is masked in a log line,
whatever exception text carried it, but for the few known to hold no secret (PATH,
HOME, the locale, ...).
"""

from __future__ import annotations

import logging
import os
import re
import sys
import traceback
from collections.abc import Mapping

VARIABLE = "GUARDRAILS_LOG"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
LEVELS["error"] = logging.ERROR
_LOGGER = logging.getLogger("guardrails")
# Environment variables known to hold no credential, shown as they are.
_PUBLIC = re.compile(
    r"PATH|HOME|PWD|OLDPWD|USER|LOGNAME|SHELL|HOSTNAME|TERM|LANG|LANGUAGE|LC_\w+|TZ|"
    r"TMPDIR|TEMP|TMP|XDG_\w+|VIRTUAL_ENV\w*|PYTHON\w*|GUARDRAILS_LOG|NO_COLOR|CI|"
    r"GITHUB_(WORKSPACE|REPOSITORY|REF|SHA|BASE_REF|HEAD_REF|EVENT_NAME)"
)
_SHORTEST = 6  # shorter values are not masked: they would mask ordinary words
_MASK = "<redacted>"


class _Stderr(logging.Handler):
    """Writes each record to the `sys.stderr` of the moment (a test may swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
            stream = sys.stderr
            if stream is not None:
                level = record.levelname.lower()
                stream.write(f"guardrails: {level}: {record.name}: {redact(text)}\n")
                stream.flush()
        except Exception:  # pragma: no cover - a log line must never stop a check
            self.handleError(record)


_HANDLER = _Stderr()
_warned: set[str] = set()


def configure(environ: Mapping[str, str] = os.environ) -> None:
    """Set the `guardrails` logger's level from `GUARDRAILS_LOG` (idempotent).

    Unset or empty: nothing is logged. Not a level: one warning on standard error,
    then as unset.
    """
    value = environ.get(VARIABLE, "").strip()
    level = LEVELS.get(value.lower())
    if value and level is None and value not in _warned:
        _warned.add(value)
        print(
            f"guardrails: warning: {VARIABLE}={value[:40]!r} is not a level "
            f"({', '.join(LEVELS)}): ignored",
            file=sys.stderr,
        )
    if level is None:
        _LOGGER.setLevel(logging.CRITICAL + 1)  # nothing, not even Python's last resort
        _LOGGER.removeHandler(_HANDLER)
        return
    _LOGGER.setLevel(level)
    _LOGGER.propagate = False  # ours alone: an application's root handlers stay quiet
    if _HANDLER not in _LOGGER.handlers:
        _LOGGER.addHandler(_HANDLER)


def redact(text: str, environ: Mapping[str, str] = os.environ) -> str:
    """`text` with the value of every environment variable masked, but the public ones'."""
    secrets = sorted(
        (v for k, v in environ.items() if len(v) >= _SHORTEST and not _PUBLIC.fullmatch(k)),
        key=len,
        reverse=True,
    )
    for secret in secrets:
        text = text.replace(secret, _MASK)
    return text
