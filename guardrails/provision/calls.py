"""Counting API calls (`--stats`, the benchmark): botocore event hooks and SCIM requests;
and running reads side by side, a bounded number at a time."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

WRITE_PREFIXES = ("Create", "Delete", "Update", "Put")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class CallCounter:
    """API calls made, keyed by (service, operation), and the HTTP requests they took:
    a call retried twice is one call and three requests."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self.requests: Counter[str] = Counter()
        self.lock = threading.Lock()  # reads run in parallel: `+=` is not atomic

    def watch(self, client: Any, service: str) -> None:
        """Count a botocore client's calls (`before-call`, once per call) and HTTP
        requests (`before-send`, once per attempt)."""

        def on_call(model: Any, **_: Any) -> None:
            self.record(service, str(model.name))

        def on_send(**_: Any) -> None:
            self.record_request(service)  # returns None: the request is still sent

        client.meta.events.register("before-call", on_call)
        client.meta.events.register("before-send", on_send)

    def record(self, service: str, operation: str) -> None:
        """Count one call made outside botocore (SCIM: operation = HTTP method)."""
        with self.lock:
            self.calls[(service, operation)] += 1

    def record_request(self, service: str) -> None:
        """Count one HTTP request made outside botocore (each SCIM attempt)."""
        with self.lock:
            self.requests[service] += 1

    @property
    def total(self) -> int:
        """All calls."""
        return sum(self.calls.values())

    @property
    def writes(self) -> int:
        """Calls that change something."""
        return sum(n for (_, op), n in self.calls.items() if _is_write(op))

    def summary(self) -> str:
        """One line per service, then the total:
        `identitystore: 12 calls, 0 writes (ListGroups 1, ...)`."""
        lines = []
        for service in sorted({s for s, _ in self.calls}):
            mine = {op: n for (s, op), n in self.calls.items() if s == service}
            writes = sum(n for op, n in mine.items() if _is_write(op))
            detail = ", ".join(f"{op} {n}" for op, n in sorted(mine.items()))
            lines.append(f"{service}: {sum(mine.values())} calls, {writes} writes ({detail})")
        requests = sum(self.requests.values())
        lines.append(
            f"total: {self.total} calls, {self.writes} writes "
            f"({requests} HTTP requests, retries included)"
        )
        return "\n".join(lines)


def _is_write(operation: str) -> bool:
    return operation.startswith(WRITE_PREFIXES) or operation in WRITE_METHODS


def in_parallel(read: Callable[[Item], Result], items: Sequence[Item], width: int) -> list[Result]:
    """`[read(i) for i in items]`, at most `width` at a time (reads only: each one is
    independent, and throttling is handled per client by its retries). The first
    failure is raised once the reads under way have ended; no new one starts."""
    if width <= 1 or len(items) <= 1:
        return [read(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(width, len(items))) as pool:
        futures = [pool.submit(read, item) for item in items]
        try:
            return [future.result() for future in futures]
        finally:
            for future in futures:
                future.cancel()
