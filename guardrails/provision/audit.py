"""The audit log: one JSON line appended per change attempted by `apply`."""

from __future__ import annotations

import getpass
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from guardrails.errors import GuardrailsError
from guardrails.provision.model import Change


def actor() -> str:
    """Who runs apply: GUARDRAILS_ACTOR, else the CI user, else the login name."""
    for name in ("GUARDRAILS_ACTOR", "GITHUB_ACTOR"):
        if os.environ.get(name):
            return os.environ[name]
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


class AuditLog:
    """Appends `{time, actor, tool, provider, action, principal, target, outcome}` lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.who = actor()

    def record(self, change: Change, outcome: str) -> None:
        """Append one line, flushed at once so a crash loses nothing already done."""
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "actor": self.who,
            "tool": change.tool,
            "provider": change.provider,
            "action": change.action,
            "principal": change.principal,
            "target": change.target,
            "outcome": outcome,
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as log:
                log.write(json.dumps(entry, sort_keys=True) + "\n")
        except OSError as err:
            raise GuardrailsError(
                f"{self.path}: cannot append to the audit log: {err.strerror}"
            ) from None
