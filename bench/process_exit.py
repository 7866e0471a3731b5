"""What the two process-level tricks of `guardrails check` buy, measured on the real program.

    .venv/bin/python bench/process_exit.py [--manifests 10000] [--repeat 5]

`guardrails check` (1) turns the cyclic garbage collector off for the whole command
(`cli/check.py`; the loader's `memory.acyclic` is apart and stays on in every
variant) and (2) leaves with `os._exit` once its output is flushed (`cli.entry`),
skipping the interpreter's teardown. Each variant runs the installed entry point in
a subprocess, with one trick or both taken away by a two-line shim, on the bench
corpus (bench/corpus.py): a cold check (`--no-cache`) and a warm one (cache filled,
one manifest changed before each run). Variants are interleaved run by run so a busy
machine slows them alike; the median wall and CPU (user + system, workers included)
time of each is printed and written to `bench/results/process_exit.json`, with the
teardown os._exit skips, timed directly (less noisy than a difference of two runs).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import generate
from run import ENVIRONMENT, NOW, PYTHON, change_one_manifest, run

BENCH = Path(__file__).resolve().parent
# Each variant is `python -c VARIANT check ...`: the entry point, less a trick.
KEEP_GC = """
import gc, types
import guardrails.cli.check as command
command.gc = types.SimpleNamespace(
    isenabled=gc.isenabled, disable=lambda: None, enable=gc.enable, unfreeze=gc.unfreeze
)
"""
NO_EXIT = """
import os, sys, types
import guardrails.cli as cli
cli.os = types.ModuleType("os")
cli.os.__dict__.update(os.__dict__)
cli.os._exit = sys.exit  # the interpreter's teardown runs, as for any program
"""
# The variant without os._exit, saying when it starts the interpreter's teardown.
TIMED_EXIT = """
import resource, time
def leave(code):
    used = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = sum(u.ru_utime + u.ru_stime for u in used)
    sys.stderr.write(f"teardown from {time.monotonic()!r} {cpu!r}\\n")
    sys.stderr.flush()
    sys.exit(code)
cli.os._exit = leave
"""
ENTRY = "import sys\nsys.argv[0] = 'guardrails'\nfrom guardrails.cli import entry\nentry()\n"
VARIANTS = {
    "as shipped": ENTRY,
    "without gc.disable": KEEP_GC + ENTRY,
    "without os._exit": NO_EXIT + ENTRY,
    "without both": KEEP_GC + NO_EXIT + ENTRY,
}


def teardown(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds from `entry`'s last flush to the process's end without
    os._exit: what os._exit skips. The child says when it starts and the CPU it has
    used so far; both processes read the same monotonic clock."""
    process = subprocess.Popen(
        [PYTHON, "-c", NO_EXIT + TIMED_EXIT + ENTRY, *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=ENVIRONMENT,
    )
    assert process.stderr is not None
    said = process.stderr.read().decode()
    _, _, usage = os.wait4(process.pid, 0)
    end = time.monotonic()
    started, cpu = map(float, said.rsplit("teardown from ", 1)[1].split()[:2])
    return end - started, usage.ru_utime + usage.ru_stime - cpu


def main() -> int:
    """Measure every variant, cold and warm; print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifests", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--modes", nargs="+", choices=("cold", "warm"), default=["cold", "warm"])
    args = parser.parse_args()
    corpus = generate(BENCH / "corpus" / str(args.manifests), args.manifests)
    report = str(BENCH / "corpus" / f"{args.manifests}.json")
    check = ["check", str(corpus), "--now", NOW, "-f", "json", "-o", report]
    change = change_one_manifest(corpus)
    results: dict[str, dict[str, list[tuple[float, float]]]] = {
        mode: {name: [] for name in VARIANTS} for mode in args.modes
    }
    teardowns: dict[str, list[tuple[float, float]]] = {mode: [] for mode in args.modes}
    for mode in args.modes:
        flags = ["--no-cache"] if mode == "cold" else []
        if mode == "warm":
            run([PYTHON, "-c", ENTRY, *check])  # fills the cache
        for _ in range(args.repeat):
            if mode == "warm":
                change()
            teardowns[mode].append(teardown([*check, *flags]))
        for _ in range(args.repeat):
            for name, code in VARIANTS.items():
                if mode == "warm":
                    change()
                wall, cpu, exit_code, _ = run([PYTHON, "-c", code, *check, *flags])
                assert exit_code in (0, 1), f"{name}: exit {exit_code}"
                results[mode][name].append((wall, cpu))
    rows = [
        "| variant | " + " | ".join(f"{m} wall s | {m} CPU s" for m in args.modes) + " |",
        "| --- |" + " ---: | ---: |" * len(args.modes),
    ]
    summary: dict[str, dict[str, float]] = {}
    for name in VARIANTS:
        cells = []
        for mode in args.modes:
            walls, cpus = zip(*results[mode][name], strict=True)
            wall, cpu = statistics.median(walls), statistics.median(cpus)
            summary[f"{mode} {name}"] = {"seconds": wall, "cpu_seconds": cpu}
            cells += [f"{wall:.2f}", f"{cpu:.2f}"]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    for mode, measured in teardowns.items():
        wall, cpu = (statistics.median(column) for column in zip(*measured, strict=True))
        summary[f"{mode} teardown"] = {"seconds": wall, "cpu_seconds": cpu}
        rows.append(f"teardown skipped by os._exit ({mode}): {wall:.3f} s wall, {cpu:.3f} s CPU")
    print(f"{args.manifests} manifests, median of {args.repeat} interleaved runs:")
    print("\n".join(rows))
    out = BENCH / "results" / "process_exit.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
