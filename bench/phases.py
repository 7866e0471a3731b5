"""CPU seconds of each phase of one check, cold and re-checked after one edit, in-process.

    taskset -c 0 .venv/bin/python bench/phases.py [--manifests 10000] [--shape findings-heavy]

Pinned to one core (`taskset`), every phase runs in this process, so the CPU seconds
add up to the check (forked workers would hide theirs). Cold: no cache. Re-check: the
cache filled by an earlier check, one manifest changed since. The reports are rendered
after the check (JSON, as bench/run.py writes; text; SARIF).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import generate
from run import SHAPES

BENCH = Path(__file__).resolve().parent
NOW = date(2026, 11, 24)
PHASES = {
    "load_policy_set": "policies",
    "_open_cache": "read the cache",
    "load_catalog": "load the catalog",
    "evaluate": "engine",
    "_locate_ahead": "positions",
    "decide": "decide",
}


def timed(spent: dict[str, float]) -> None:
    """Wrap each phase of `guardrails.check` to add its CPU time to `spent`."""
    from guardrails import check

    def wrap(function: Callable[..., Any], label: str) -> Callable[..., Any]:
        def phase(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.process_time() - start

        return phase

    for name, label in PHASES.items():
        setattr(check, name, wrap(getattr(check, name), label))


def main() -> int:
    """Print the phases of a cold check and of a re-check."""
    from guardrails.check import CheckRequest, check_catalog
    from guardrails.engine import get_engine
    from guardrails.report import Report, render

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifests", type=int, default=10000)
    parser.add_argument("--shape", choices=list(SHAPES), default="findings-heavy")
    args = parser.parse_args()
    gc.disable()  # as a check runs
    root = generate(
        BENCH / "corpus" / f"phases-{args.manifests}", args.manifests, share=SHAPES[args.shape]
    )
    spent: dict[str, float] = {}
    timed(spent)
    columns: dict[str, dict[str, float]] = {}
    edited = root / "manifests" / "tool-00000.yaml"
    original = edited.read_text("utf-8")
    for run, cache in (("cold", False), ("filling", True), ("re-check", True)):
        if run == "re-check":
            edited.write_text(original.replace("  purpose: ", "  purpose: (edited) ", 1), "utf-8")
        spent.clear()
        start = time.process_time()
        result = check_catalog(CheckRequest(paths=(root,), cache=cache), NOW, get_engine("regorus"))
        spent["whole check"] = time.process_time() - start
        report = Report(result.checked.outcome, result.checked.rules, result.reported)
        for name in ("json", "text", "sarif"):
            start = time.process_time()
            render(name, report)
            spent[f"{name} report"] = time.process_time() - start
        columns[run] = dict(spent)
        findings = len(result.checked.outcome.findings)
    print(f"{args.shape}, {args.manifests:,} manifests, {findings:,} findings (CPU s)")
    print("| phase | cold | re-check |")
    print("|---|---:|---:|")
    for label in [*PHASES.values(), "whole check", "json report", "text report", "sarif report"]:
        cold, again = columns["cold"].get(label), columns["re-check"].get(label)
        shown = [f"{value:.3f}" if value is not None else "-" for value in (cold, again)]
        print(f"| {label} | {shown[0]} | {shown[1]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
