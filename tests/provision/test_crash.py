"""One apply at a time, and an apply killed (kill -9) mid-write: the next one converges
and reconciles the intents the killed one left in the audit log. Applies run as real
processes against the test's sandbox; writes are slowed so kills land inside them."""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.provision.conftest import NOW, World, writes

GUARDRAILS = Path(sys.executable).parent / "guardrails"
HUBSPOT = {"alice@example.com", "jane.doe@example.com", "carol@example.com", "dan@example.com"}


def _start_apply(world: World) -> subprocess.Popen[str]:
    command = [str(GUARDRAILS), "apply", "-C", str(world.root), "--now", NOW]
    return subprocess.Popen(
        [*command, "--auto-approve", "--sandbox"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _audit(world: World) -> list[dict[str, str]]:
    path = world.root / ".guardrails" / "audit.jsonl"
    if not path.exists():
        return []
    entries = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):  # a line torn by the kill
            entries.append(json.loads(line))
    return entries


def _wait_for_intents(world: World, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 90
    while sum(e["event"] == "intent" for e in _audit(world)) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "apply made no progress"
        time.sleep(0.02)


def test_a_second_apply_while_one_runs_exits_2_and_changes_nothing(world: World) -> None:
    world.faults.delay = 0.3
    first = _start_apply(world)
    try:
        _wait_for_intents(world, 1, first)
        second = world.run("apply", "--auto-approve")
        assert second.exit_code == 2
        assert re.match(
            r"guardrails: error: another apply is running for this catalog \(pid \d+, since "
            r"[0-9T:+-]+; lock .*audit\.jsonl\.lock\): wait for it to finish, then run apply "
            r"again\n",
            second.output,
        ), second.output
        out, err = first.communicate(timeout=120)
    finally:
        first.kill()
    assert first.returncode == 0, out + err
    world.faults.delay = 0
    assert writes(world.run("apply", "--auto-approve", "--stats")) == 0  # lock released


def test_kill_9_at_random_points_then_apply_converges_and_reconciles(world: World) -> None:
    seed = int(os.environ.get("GUARDRAILS_TEST_SEED") or random.randrange(10**6))
    rng = random.Random(seed)
    print(f"seed {seed} (GUARDRAILS_TEST_SEED={seed} replays it)")
    world.faults.delay = 0.25
    intents = 0
    for _ in range(3):
        # the write is slowed before the server makes it, or after (made, not answered)
        world.faults.delay_after = rng.random() < 0.5
        process = _start_apply(world)
        intents += rng.randint(1, 6)
        _wait_for_intents(world, intents, process)
        time.sleep(rng.uniform(0, 0.2))
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        assert process.returncode == -signal.SIGKILL
        intents = sum(e["event"] == "intent" for e in _audit(world))
    open_ids = {e["id"] for e in _audit(world) if e["event"] == "intent"} - {
        e["id"] for e in _audit(world) if e["event"] == "outcome"
    }
    assert open_ids, f"seed {seed}: every kill landed between two writes"
    world.faults.delay = 0
    plan = world.run("plan")
    assert f"! {len(open_ids)} change(s) of an apply that did not finish" in plan.output
    resumed = world.run("apply", "--auto-approve")
    assert resumed.exit_code == 0, f"seed {seed}\n{resumed.output}"
    assert resumed.output.count("! reconciled: ") == len(open_ids)
    # every intent now has an outcome, and the reconciled ones say what became of them
    audit = _audit(world)
    outcomes = {e["id"]: e["outcome"] for e in audit if e["event"] == "outcome"}
    assert {e["id"] for e in audit if e["event"] == "intent"} <= set(outcomes)
    assert all(outcomes[i].startswith("reconciled: ") for i in open_ids)
    # converged: the state the manifests ask for, read back independently
    assert world.members("saas-hubspot") == HUBSPOT
    assert world.members("saas-zoom") == {
        "bob@example.com",
        "priya.nair@example.com",
        "hugo@example.com",
    }
    assert len(world.members("saas-salesforce")) == 6
    assert [g for g in world.store_groups() if g.startswith("saas-")].count("saas-hubspot") == 1
    assert world.scim_users("hubspot") == dict.fromkeys(HUBSPOT, True)
    assert world.scim_groups("hubspot") == {"saas-hubspot": HUBSPOT}
    assert world.assigned("HubSpot") == {"saas-hubspot"}
    again = world.run("apply", "--auto-approve", "--stats")
    assert writes(again) == 0 and "reconciled" not in again.output


def test_interrupted_intents_are_found_by_matching_lines_as_by_parsing_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit log is matched line by line rather than parsed where its lines are
    whole (it is read by every apply and grows by two lines a change); a line torn
    by a crash, even just after a quote in a value, still closes nothing."""
    from guardrails.provision.audit import AuditLog
    from guardrails.provision.model import Change

    monkeypatch.setenv("GUARDRAILS_ACTOR", 'ci "bot" é')
    log = AuditLog(tmp_path / "audit.jsonl")
    done = Change("scim", "zoom", "add-member", "alice@example.com", "saas-zoom")
    torn = Change("scim", "zoom", "add-member", "bob@example.com", "saas-zoom")
    open_ = Change("identity-center", "zoom", "create-group", "saas-zoom")
    log.outcome(log.intent(done), done, 'failed: {"detail": "x"}')
    log.outcome(log.intent(torn), torn, 'failed: {"detail": "x"}')
    log.intent(open_)
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    cut = lines[3].index('x\\"}') + len('x\\"}')  # bob's outcome, torn after `\"}`
    lines[3] = lines[3][:cut]
    (tmp_path / "audit.jsonl").write_text("\n".join(lines) + "\n")
    assert [i.change for i in log.interrupted()] == [torn, open_]
