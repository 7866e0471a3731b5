"""Carry out a plan: deletion guard first, then each step in order (the changes one
request makes), each change audited ahead (an intent before the write, its outcome
after it).

A failure stops the run at once: what was done is in the audit log and in the live
state, so the next `apply` plans only what is left; a crash leaves an intent without
an outcome, which the next apply reconciles (`reconcile`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from guardrails.errors import GuardrailsError
from guardrails.provision.audit import AuditLog, Intent
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
    steps: Sequence[tuple[Change, ...]],
    carry_out: Callable[[Sequence[Change]], None],
    audit: AuditLog,
    progress: bool = False,
) -> Applied:
    """Carry out every step in order (`steps` holds the plan's changes, grouped into
    the requests that make them): each change's intent is written before its step
    runs, its outcome after."""
    import click

    def run(chosen: Iterable[tuple[Change, ...]]) -> Applied:
        done: list[Change] = []
        for step in chosen:
            entries = [audit.intent(change) for change in step]
            try:
                carry_out(step)
            except GuardrailsError as err:
                made = set(err.done) if isinstance(err, PartlyDone) else set()
                for entry, change in zip(entries, step, strict=True):
                    audit.outcome(entry, change, "ok" if change in made else f"failed: {err}")
                done += [c for c in step if c in made]
                failed = next(c for c in step if c not in made)
                return Applied(tuple(done), failed, str(err))
            except Exception as err:
                for entry, change in zip(entries, step, strict=True):
                    audit.outcome(entry, change, f"failed: {type(err).__name__}")
                raise
            for entry, change in zip(entries, step, strict=True):
                audit.outcome(entry, change, "ok")
            done += step
        return Applied(tuple(done), None, "")

    if sorted(c.key for s in steps for c in s) != sorted(c.key for c in plan.changes):
        raise RuntimeError("the steps do not hold the plan's changes")
    if progress and len(plan.changes) >= PROGRESS_FROM:
        with click.progressbar(steps, label="Applying", file=sys.stderr) as bar:
            return run(bar)
    return run(steps)


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
