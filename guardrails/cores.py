"""Run independent work on every core: forked worker processes on Linux, else here."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Below this many items a second process costs more than it saves.
PARALLEL_FROM = 400
_log = logging.getLogger(__name__)


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
        if workers > 1:
            _log.debug("%d items here, not on %d cores: no fork off Linux", len(items), workers)
        return [work(item) for item in items]
    import multiprocessing  # here: a re-check of a few files never needs it

    if multiprocessing.current_process().daemon:  # a daemon process may not have any
        _log.debug("%d items here: a daemon process may not start workers", len(items))
        return [work(item) for item in items]
    _log.debug("%d items on %d cores", len(items), workers)
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


class SecondCore:
    """A forked process on another core that does heavy work of this check on request.

    Started early in a re-check, it loads what only changed files need (the JSON Schema
    validator, the Rego engine with the policies: tens of milliseconds of imports and
    compilation) while this process reads the catalog from the cache; then it examines
    the changed files and judges the changed manifests. If it cannot (no fork here, one
    core, it failed, it died), the work is done here: results are the same either way,
    only the time differs.
    """

    def __init__(self, pid: int, requests: int, answers: int) -> None:
        self._pid = pid
        self._requests = requests
        self._answers = answers

    @classmethod
    def start(cls, warm_up: Callable[[], dict[str, Callable[[Any], Any]]]) -> SecondCore | None:
        """Fork a process that runs `warm_up` (which returns its tasks by name), or None."""
        if sys.platform != "linux" or usable_cores() < 2:
            _log.debug("no second core: %s", "one core" if usable_cores() < 2 else "not Linux")
            return None
        requests_read, requests = os.pipe()
        answers, answers_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child's coverage is not collected
            os.close(requests)
            os.close(answers)
            _serve(warm_up, requests_read, answers_write)
        os.close(requests_read)
        os.close(answers_write)
        return cls(pid, requests, answers)

    def run(self, task: str, argument: Any, here: Callable[[], R]) -> R:
        """What `task` returns for `argument` there; what `here()` returns if it cannot.

        A `GuardrailsError` raised there is raised here.
        """
        import pickle

        try:
            _send(self._requests, pickle.dumps((task, argument), pickle.HIGHEST_PROTOCOL))
            outcome, value = pickle.loads(_receive(self._answers))
        except Exception as err:
            _log.debug("second core: %s not answered (%r): done here", task, err)
            return here()
        if outcome == "raised":
            raise value
        if outcome != "done":
            _log.debug("second core: %s failed there: done here", task)
            return here()
        _log.debug("second core: %s done there", task)
        done: R = value
        return done

    def close(self) -> None:
        """Stop the process (it may still be warming up: nothing it does is needed)."""
        import signal

        for descriptor in (self._requests, self._answers):
            with contextlib.suppress(OSError):
                os.close(descriptor)
        with contextlib.suppress(OSError):
            os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)


def _serve(
    warm_up: Callable[[], dict[str, Callable[[Any], Any]]], requests: int, answers: int
) -> None:  # pragma: no cover
    """The second core's loop: answer each request until the pipe closes, then exit."""
    import pickle

    from guardrails.errors import GuardrailsError

    code = 0
    try:
        tasks = warm_up()
        while True:
            try:
                task, argument = pickle.loads(_receive(requests))
            except EOFError:
                break
            try:
                answer: tuple[str, Any] = ("done", tasks[task](argument))
            except GuardrailsError as err:
                answer = ("raised", err)
            except Exception:
                answer = ("failed", None)
            _send(answers, pickle.dumps(answer, pickle.HIGHEST_PROTOCOL))
    except BaseException:
        code = 1
    finally:
        os._exit(code)  # never run the parent's exit handlers or flush its buffers


_FRAME = 8  # bytes of length before each pickled message


def _send(descriptor: int, message: bytes) -> None:
    data = memoryview(len(message).to_bytes(_FRAME, "big") + message)
    while data:
        data = data[os.write(descriptor, data) :]


def _receive(descriptor: int) -> bytes:
    length = int.from_bytes(_read_exactly(descriptor, _FRAME), "big")
    return _read_exactly(descriptor, length)


def _read_exactly(descriptor: int, size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(descriptor, min(size, 1 << 20))
        if not chunk:
            raise EOFError("the second core closed its pipe")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)
