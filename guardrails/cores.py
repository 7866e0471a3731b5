"""Run independent work on every core: forked worker processes on Linux, else here."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Below this many items a second process costs more than it saves.
PARALLEL_FROM = 400


# Set just before the pool forks, so workers inherit the work and its inputs (bytes,
# the open cache) instead of being sent them.
_PENDING: tuple[Callable[[Any], Any], Sequence[Any]] | None = None


def _run_slice(start: int, stop: int) -> list[Any]:
    assert _PENDING is not None
    work, items = _PENDING
    return [work(item) for item in items[start:stop]]


def usable_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def on_all_cores(work: Callable[[T], R], items: Sequence[T], workers: int | None) -> list[R]:
    """`[work(item) for item in items]`, shared among up to `workers` processes.

    `workers=None` picks: one per usable core for a large catalog, else just this
    process. `work` must depend only on its item (each file's result depends only on
    the file), so the answer is the same either way. Workers are forked: they start
    at once and share memory; off Linux everything runs here.
    """
    if workers is None:
        workers = usable_cores() if len(items) >= PARALLEL_FROM else 1
    workers = min(workers, len(items))
    # Fork only where it is the platform's own way (Linux): elsewhere forking a process
    # that has loaded system frameworks is unsafe.
    if workers <= 1 or sys.platform != "linux":
        return [work(item) for item in items]
    import multiprocessing  # here: a re-check of a few files never needs it

    if multiprocessing.current_process().daemon:  # a daemon process may not have any
        return [work(item) for item in items]
    global _PENDING
    _PENDING = (work, items)
    try:
        # This process takes the first share itself while the others work.
        bounds = [len(items) * i // workers for i in range(workers + 1)]
        with multiprocessing.get_context("fork").Pool(workers - 1) as pool:
            others = [
                pool.apply_async(_run_slice, (bounds[i], bounds[i + 1])) for i in range(1, workers)
            ]
            results: list[R] = _run_slice(bounds[0], bounds[1])
            for share in others:
                results += share.get()
        return results
    finally:
        _PENDING = None
