"""Carry out a plan: deletion guard first, then each step in order (the changes one
request makes), each change audited ahead (an intent before the write, its outcome
after it). Steps a provider allows side by side (one membership each, to the same
group) run a bounded number at a time, as one wave.

A failure stops the run after its wave: what was done is in the audit log and in the
live state, so the next `apply` plans only what is left; a crash leaves intents
without an outcome, which the next apply reconciles (`reconcile`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from guardrails.errors import GuardrailsError
from guardrails.provision.audit import AuditLog, Intent
from guardrails.provision.calls import in_parallel
from guardrails.provision.interface import PartlyDone
from guardrails.provision.model import Change, Plan

DEFAULT_MAX_DELETES = 10
PROGRESS_FROM = 20
"""Show a progress bar (on a terminal) from this many changes."""


@dataclass(frozen=True)
class Applied:
    """What an apply did."""

    done: tuple[Change, ...]
    """Changes carried out."""
    failed: Change | None
    """The change that failed (the run stopped there), or None."""
    error: str
    """Why it failed, one line; empty when nothing failed."""


def guard(plan: Plan, max_deletes: int) -> None:
    """Refuse a plan that revokes more accesses than `max_deletes`."""
    if plan.revocations > max_deletes:
        raise GuardrailsError(
            f"refusing to revoke {plan.revocations} accesses (more than --max-deletes "
            f"{max_deletes}); check the plan, then rerun with --max-deletes "
            f"{plan.revocations} if this is intended"
        )


def apply_plan(
    plan: Plan,
    waves: Sequence[Sequence[tuple[Change, ...]]],
    carry_out: Callable[[Sequence[Change]], None],
    audit: AuditLog,
    progress: bool = False,
    width: int = 1,
) -> Applied:
    """Carry out every wave in order (`waves` holds the plan's changes, grouped into
    the requests that make them, the requests into waves, see `Provisioner.waves`):
    the steps of a wave at most `width` at a time, each change's intent written before
    its wave starts, its outcome once the wave has ended.

    A failure stops the run after its wave: the steps of the wave that were under way
    end, and are audited as what they became (`ok` or `failed: …`); the run reports
    the first failed change in plan order with every change that was made, so the
    next apply plans exactly what is left."""
    import click

    def run(chosen: Iterable[Sequence[tuple[Change, ...]]]) -> Applied:
        done: list[Change] = []
        for wave in chosen:
            entries = [[audit.intent(change) for change in step] for step in wave]
            failures = _carry_out_all(carry_out, wave, width)
            stop: tuple[Change, str] | None = None
            unexpected: BaseException | None = None
            for step, ids, err in zip(wave, entries, failures, strict=True):
                if err is None:
                    for entry, change in zip(ids, step, strict=True):
                        audit.outcome(entry, change, "ok")
                    done += step
                elif isinstance(err, GuardrailsError):
                    made = set(err.done) if isinstance(err, PartlyDone) else set()
                    for entry, change in zip(ids, step, strict=True):
                        audit.outcome(entry, change, "ok" if change in made else f"failed: {err}")
                    done += [c for c in step if c in made]
                    if stop is None:
                        stop = (next(c for c in step if c not in made), str(err))
                else:
                    for entry, change in zip(ids, step, strict=True):
                        audit.outcome(entry, change, f"failed: {type(err).__name__}")
                    unexpected = unexpected or err
            if unexpected is not None:
                raise unexpected
            if stop is not None:
                return Applied(tuple(done), stop[0], stop[1])
        return Applied(tuple(done), None, "")

    held = sorted(c.key for w in waves for s in w for c in s)
    if held != sorted(c.key for c in plan.changes):
        raise RuntimeError("the steps do not hold the plan's changes")
    if progress and len(plan.changes) >= PROGRESS_FROM:
        with click.progressbar(waves, label="Applying", file=sys.stderr) as bar:
            return run(bar)
    return run(waves)


def _carry_out_all(
    carry_out: Callable[[Sequence[Change]], None],
    wave: Sequence[tuple[Change, ...]],
    width: int,
) -> list[Exception | None]:
    """Carry out every step of a wave, at most `width` at a time; what each raised
    (None: it succeeded), in the wave's order. Every step is run: all of a wave's
    intents are already in the audit log."""

    def attempt(step: tuple[Change, ...]) -> Exception | None:
        try:
            carry_out(step)
        except Exception as err:
            return err
        return None

    return in_parallel(attempt, wave, width)


def reconcile(interrupted: Iterable[Intent], plan: Plan, audit: AuditLog) -> list[str]:
    """Close every interrupted intent with what the live state, just read, says of it;
    one line per intent for the user. A change still in the plan was not made (it is
    made now); one no longer in it is in effect, or no longer wanted."""
    planned = {c.key for c in plan.changes}
    told = []
    for intent in interrupted:
        if intent.change.key in planned:
            outcome = "reconciled: not in effect; planned again"
        else:
            outcome = "reconciled: in effect or no longer wanted"
        audit.outcome(intent.id, intent.change, outcome)
        change = intent.change
        told.append(
            f"{change.tool} {change.provider}: {change.describe()} (started {intent.time} by "
            f"an apply that did not finish): {outcome.removeprefix('reconciled: ')}"
        )
    return told
