"""The audit log, written ahead: an intent before each write, its outcome after it.

One JSON line per event, appended and flushed at once (`.guardrails/audit.jsonl` by
default). A crash (kill -9, a lost runner) between the two leaves an intent without an
outcome; the next apply, under the same lock, finds it, compares it with the live
state it has just read, and appends the outcome it had (`reconciled: …`).

    {"event": "intent", "id": "<run>.<n>", "time": …, "actor": …, "tool": …,
     "provider": …, "action": …, "principal": …, "target": …}
    {"event": "outcome", "id": "<run>.<n>", …the same…, "outcome": "ok"}

Process crashes lose nothing written; the log is not fsynced per line (a power cut may
lose its last lines, which the next apply then cannot reconcile).
"""

from __future__ import annotations

import getpass
import json
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from guardrails.errors import GuardrailsError
from guardrails.provision.model import ACTIONS, Change


def actor() -> str:
    """Who runs apply: GUARDRAILS_ACTOR, else the CI user, else the login name."""
    for name in ("GUARDRAILS_ACTOR", "GITHUB_ACTOR"):
        if os.environ.get(name):
            return os.environ[name]
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


@dataclass(frozen=True)
class Intent:
    """A change an earlier apply started and never recorded the end of."""

    id: str
    """Its id in the log."""
    change: Change
    """What it was to do."""
    time: str
    """When it was started."""


class AuditLog:
    """Appends intents and outcomes of `apply`'s changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.who = actor()
        self.run = secrets.token_hex(4)
        self.count = 0

    def intent(self, change: Change) -> str:
        """Record that `change` is about to be made; its id, for `outcome`."""
        self.count += 1
        entry_id = f"{self.run}.{self.count}"
        self._append({"event": "intent", "id": entry_id, **_fields(change)})
        return entry_id

    def outcome(self, entry_id: str, change: Change, outcome: str) -> None:
        """Record how the change `entry_id` ended: `ok`, `failed: …`, `reconciled: …`."""
        self._append({"event": "outcome", "id": entry_id, **_fields(change), "outcome": outcome})

    def _append(self, entry: dict[str, Any]) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        entry = {"time": now, "actor": self.who, **entry}
        line = json.dumps(entry, sort_keys=True) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a+b") as log:
                _end_a_torn_line(log)
                log.write(line.encode("utf-8"))  # one write: one line, whole or not at all
        except OSError as err:
            raise GuardrailsError(
                f"{self.path}: cannot append to the audit log: {err.strerror}"
            ) from err

    def interrupted(self) -> list[Intent]:
        """Intents with no outcome: changes a crashed apply may or may not have made."""
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        except OSError as err:
            raise GuardrailsError(
                f"{self.path}: cannot read the audit log: {err.strerror}"
            ) from err
        # The log grows by two lines a change (304,800 after a first apply of 1,000
        # tools x 50 people) and every apply reads it: an intent's line is only parsed
        # if no outcome follows it, and a line this module wrote whole (`_WHOLE`: its
        # keys sorted, the id and event where json.dumps puts them) is matched, not
        # parsed. Anything else takes the JSON path.
        open_lines: dict[str, str] = {}
        for line in text.splitlines():
            whole = _WHOLE.match(line)
            if whole is not None and _END.search(line) is not None:
                event, entry_id = whole.group("event"), whole.group("id")
            else:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # a line torn by a crash: its write never completed
                if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                    continue
                event, entry_id = entry.get("event"), entry["id"]
            if event == "intent":
                open_lines[entry_id] = line
            elif event == "outcome":
                open_lines.pop(entry_id, None)
        found = (_intent(line) for line in open_lines.values())
        return [intent for intent in found if intent is not None]


_FIELDS = ("tool", "provider", "action", "principal", "target")
_WHOLE = re.compile(
    r'\{"action": "[a-z-]*", "actor": "(?:[^"\\]|\\.)*", '
    r'"event": "(?P<event>intent|outcome)", "id": "(?P<id>[0-9a-f]+\.[0-9]+)", '
)
"""The start of a line `_append` wrote (json.dumps, sorted keys): action, actor, event, id."""
_END = re.compile(r', "tool": "[^"\\]*"\}$')
"""Its end, the last key: a line torn by a crash lacks it (a quote in a value is `\"`)."""


def _intent(line: str) -> Intent | None:
    """The intent a log line records, or None when it is not a readable intent."""
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        return None
    try:
        tool, provider, action, principal, target = (str(entry[k]) for k in _FIELDS)
    except KeyError:
        return None
    change = Change(provider, tool, action, principal, target)
    if change.action not in ACTIONS:
        return None
    return Intent(entry["id"], change, str(entry.get("time")))


def _fields(change: Change) -> dict[str, str]:
    return {k: getattr(change, k) for k in _FIELDS}


def _end_a_torn_line(log: IO[bytes]) -> None:
    """Start on a new line if a crash left the last one unfinished."""
    log.seek(0, os.SEEK_END)
    if log.tell() == 0:
        return
    log.seek(-1, os.SEEK_END)
    if log.read(1) != b"\n":
        log.write(b"\n")


@contextmanager
def apply_lock(path: Path) -> Iterator[None]:
    """Hold the apply lock of a catalog (`<audit log>.lock`) or exit 2 at once.

    An OS lock (flock) is released by the OS when its holder dies, even by kill -9, so
    a crash never leaves a stale lock. It covers one machine; in CI, a concurrency
    group keeps two runs from applying at once (docs/provisioning.md)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no flock
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            raise GuardrailsError(
                f"another apply is running for this catalog ({holder}; lock {path}): wait "
                "for it to finish, then run apply again"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}, since {datetime.now(UTC).isoformat(timespec='seconds')}")
        lock.flush()
        try:
            yield
        finally:
            lock.seek(0)
            lock.truncate()
            fcntl.flock(lock, fcntl.LOCK_UN)
