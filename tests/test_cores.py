"""Work on other cores gives what working here gives, and a failure there is never a
wrong answer: it is raised (a user's error) or the work is done here."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import pytest

from guardrails.cores import SecondCore, on_all_cores
from guardrails.errors import GuardrailsError

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or len(os.sched_getaffinity(0)) < 2, reason="forks on Linux"
)


def _refuse(_: Any) -> None:
    raise GuardrailsError("policies/org.rego:3:1: not valid Rego")


def _break(_: Any) -> None:
    raise ValueError("a bug")


def here() -> str:
    """What the caller does itself when the second core cannot."""
    return "done here"


def _tasks() -> dict[str, Any]:
    return {"double": lambda x: 2 * x, "refuse": _refuse, "break": _break}


def test_on_all_cores_answers_in_order() -> None:
    items = list(range(1000))
    assert on_all_cores(lambda x: x * x, items, 2) == [x * x for x in items]


def test_the_second_core_answers_requests() -> None:
    helper = SecondCore.start(_tasks)
    assert helper is not None
    try:
        assert helper.run("double", 21, here) == 42
        assert helper.run("double", [1], here) == [1, 1]
    finally:
        helper.close()


def test_a_users_error_there_is_raised_here() -> None:
    helper = SecondCore.start(_tasks)
    assert helper is not None
    try:
        with pytest.raises(GuardrailsError, match="not valid Rego"):
            helper.run("refuse", None, here)
        assert helper.run("double", 1, here) == 2  # and it goes on serving
    finally:
        helper.close()


def test_a_failure_there_leaves_the_work_to_this_process() -> None:
    helper = SecondCore.start(_tasks)
    assert helper is not None
    try:
        assert helper.run("break", None, here) == "done here"
        assert helper.run("no such task", None, here) == "done here"
        os.kill(helper._pid, signal.SIGKILL)
        assert helper.run("double", 1, here) == "done here"
    finally:
        helper.close()
    helper.close()  # closing twice is harmless


def test_a_warm_up_that_fails_leaves_all_work_here() -> None:
    def broken() -> dict[str, Any]:
        raise ImportError("no engine here")

    helper = SecondCore.start(broken)
    assert helper is not None
    try:
        assert helper.run("double", 1, here) == "done here"
    finally:
        helper.close()
