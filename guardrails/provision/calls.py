"""Counting API calls (`--stats`, the benchmark): botocore event hooks and SCIM requests."""

from __future__ import annotations

from collections import Counter
from typing import Any

WRITE_PREFIXES = ("Create", "Delete", "Update", "Put")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class CallCounter:
    """API calls made, keyed by (service, operation). Retried attempts count once."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()

    def watch(self, client: Any, service: str) -> None:
        """Count every call a botocore client makes (its `before-call` event)."""

        def on_call(model: Any, **_: Any) -> None:
            self.calls[(service, str(model.name))] += 1

        client.meta.events.register("before-call", on_call)

    def record(self, service: str, operation: str) -> None:
        """Count one call made outside botocore (SCIM: operation = HTTP method)."""
        self.calls[(service, operation)] += 1

    @property
    def total(self) -> int:
        """All calls."""
        return sum(self.calls.values())

    @property
    def writes(self) -> int:
        """Calls that change something."""
        return sum(n for (_, op), n in self.calls.items() if _is_write(op))

    def summary(self) -> str:
        """One line per service: `identitystore: 12 calls (0 writes)`."""
        lines = []
        for service in sorted({s for s, _ in self.calls}):
            mine = {op: n for (s, op), n in self.calls.items() if s == service}
            writes = sum(n for op, n in mine.items() if _is_write(op))
            detail = ", ".join(f"{op} {n}" for op, n in sorted(mine.items()))
            lines.append(f"{service}: {sum(mine.values())} calls, {writes} writes ({detail})")
        lines.append(f"total: {self.total} calls, {self.writes} writes")
        return "\n".join(lines)


def _is_write(operation: str) -> bool:
    return operation.startswith(WRITE_PREFIXES) or operation in WRITE_METHODS
