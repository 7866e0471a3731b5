"""Time `guardrails check` on generated catalogs, beside the PyYAML floor.

    .venv/bin/python bench/run.py [--sizes 100 1000 10000] [--repeat 3]
        [--shapes compliant findings-heavy]

For each shape and size it generates a corpus (bench/corpus.py, fixed seed) under
`bench/corpus/N/` (compliant: about 3 manifests in 10 with a finding) or
`bench/corpus/N-findings-heavy/` (98% with findings, about 4 each: a first import of
an existing inventory), then measures, as subprocesses so start-up is included:

* floor: PyYAML's C loader parsing every manifest in one process (nothing else);
* cold:  `guardrails check --no-cache -f json` on the whole catalog (shipped policy
         library, JSON report written to a file);
* warm:  the same check with its cache filled by an earlier run, after one manifest
         changed (a new value each time, so every run re-reads exactly one file);

in alternating rounds (floor, cold, warm; more warm rounds: at least 5), so that a
machine whose speed drifts slows all three alike, and prints the median wall time,
the ratios cold/floor and warm/cold, the CPU time (user + system, workers included:
on a busy machine wall time says less; the load average is printed before and after)
and the peak RSS of the cold check, with its growth per 1,000 manifests to show it
is linear.
`--help` start-up is timed against a bare `python -c pass`. Every run keeps compiled
bytecode, as an installed tool does.
Results are also written to `bench/results/check.json`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import generate

BENCH = Path(__file__).resolve().parent
PYTHON = sys.executable
GUARDRAILS = str(Path(PYTHON).with_name("guardrails"))
NOW = "2026-11-24"
FLOOR = """
import pathlib, sys, yaml
for path in sorted(pathlib.Path(sys.argv[1]).glob("manifests/*.yaml")):
    yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)
"""


# As installed: Python keeps compiled bytecode (pip compiles it on install; a source
# checkout writes it on first run). A machine that sets PYTHONDONTWRITEBYTECODE (as
# CI images often do) would otherwise recompile guardrails' modules on every run.
ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(command: list[str]) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds, exit code, peak RSS in MiB) of one subprocess."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENVIRONMENT
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_utime + usage.ru_stime, process.returncode, usage.ru_maxrss // 1024


def summary(runs: list[tuple[float, float, int, int]]) -> dict[str, float]:
    """Median wall and CPU time, and peak RSS, of some runs (as `run` returns them)."""
    return {
        "seconds": statistics.median(r[0] for r in runs),
        "cpu_seconds": statistics.median(r[1] for r in runs),
        "rss_mib": max(r[3] for r in runs),
        "exit": runs[-1][2],
    }


def median(
    command: list[str], repeat: int, before: Callable[[], object] | None = None
) -> dict[str, float]:
    """`summary` of `repeat` runs of one command; `before` runs untimed before each."""
    runs = []
    for _ in range(repeat):
        if before:
            before()
        runs.append(run(command))
    return summary(runs)


def change_one_manifest(corpus: Path) -> Callable[[], object]:
    """A step that gives one manifest a purpose it never had (so its cache entry misses)."""
    manifest = corpus / "manifests" / "tool-00000.yaml"
    original = manifest.read_text("utf-8")
    edits = iter(range(1, 1_000_000))

    def change() -> None:
        changed = original.replace("  purpose: ", f"  purpose: (revision {next(edits)}) ", 1)
        assert changed != original
        manifest.write_text(changed, "utf-8")

    return change


# The two shapes of catalog measured: the share of manifests with findings that
# bench/corpus.py is given (None: its compliant default, about 3 in 10).
SHAPES = {"compliant": None, "findings-heavy": 0.98}


def bench_size(size: int, repeat: int, shape: str = "compliant") -> dict[str, object]:
    """Every measurement for one corpus size and shape."""
    name = str(size) if SHAPES[shape] is None else f"{size}-{shape}"
    corpus = generate(BENCH / "corpus" / name, size, share=SHAPES[shape])
    report = str(BENCH / "corpus" / f"{name}.json")
    check = [GUARDRAILS, "check", str(corpus), "--now", NOW, "-f", "json", "-o", report]
    subprocess.run(check, check=False, stdout=subprocess.DEVNULL)  # fills the cache
    change = change_one_manifest(corpus)
    # Floor, cold and warm runs alternate, so that a machine whose speed drifts (a
    # shared host) slows all three alike: their ratios are what the targets are about.
    floor, cold, warm = [], [], []
    for n in range(max(repeat, 5)):  # warm runs are cheap: at least 5
        if n < repeat:
            floor.append(run([PYTHON, "-c", FLOOR, str(corpus)]))
            cold.append(run([*check, "--no-cache"]))  # leaves the cache as it is
        change()
        warm.append(run(check))
    with open(report, encoding="utf-8") as written:
        findings = len(json.load(written)["findings"])
    return {
        "manifests": size,
        "shape": shape,
        "findings": findings,
        "floor": summary(floor),
        "cold": summary(cold),
        "warm": summary(warm),
    }


def table(rows: list[dict[str, Any]]) -> list[str]:
    """The scaling table, one line per size, as printed and pasted into the docs."""
    lines = [
        "| shape | manifests | findings | floor s | cold s | cold/floor | warm s | warm/cold "
        "| floor CPU s | cold CPU s | warm CPU s | peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        floor, cold, warm = row["floor"], row["cold"], row["warm"]
        lines.append(
            f"| {row['shape']} | {row['manifests']:,} | {row['findings']:,} "
            f"| {floor['seconds']:.2f} | {cold['seconds']:.2f} "
            f"| {cold['seconds'] / floor['seconds']:.3f} | {warm['seconds']:.2f} "
            f"| {warm['seconds'] / cold['seconds']:.3f} | {floor['cpu_seconds']:.2f} "
            f"| {cold['cpu_seconds']:.2f} "
            f"| {warm['cpu_seconds']:.2f} | {cold['rss_mib']} |"
        )
    return lines


def memory_growth(rows: list[dict[str, Any]]) -> str:
    """Peak RSS growth per 1,000 manifests between consecutive sizes (flat = linear)."""
    steps = []
    rows = [row for row in rows if row["shape"] == "compliant"]
    for small, large in itertools.pairwise(rows):
        added = (large["manifests"] - small["manifests"]) / 1000
        grown = (large["cold"]["rss_mib"] - small["cold"]["rss_mib"]) / added
        steps.append(f"{small['manifests']:,}->{large['manifests']:,}: {grown:.1f} MiB")
    return "peak RSS growth per 1,000 manifests: " + "; ".join(steps)


def write_docs(lines: list[str]) -> None:
    """Replace the results between the markers in docs/performance.md."""
    docs = BENCH.parent / "docs" / "performance.md"
    text = docs.read_text("utf-8")
    start, end = "<!-- bench:table -->\n", "<!-- /bench:table -->\n"
    before, _, rest = text.partition(start)
    _, _, after = rest.partition(end)
    command = f"`.venv/bin/python bench/run.py {' '.join(sys.argv[1:])}`"
    shown = [f"- {line}" if line and not line.startswith("|") else line for line in lines]
    block = f"Printed by {command}:\n\n" + "\n".join(shown) + "\n"
    docs.write_text(before + start + block + end + after, "utf-8")


def main() -> int:
    """Run every size and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--shapes",
        nargs="+",
        choices=list(SHAPES),
        default=list(SHAPES),
        help="catalog shapes to measure (default: both)",
    )
    parser.add_argument(
        "--docs", action="store_true", help="also write the results into docs/performance.md"
    )
    args = parser.parse_args()
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(BENCH.parent / "guardrails")], check=True)
    load = os.getloadavg()[0]
    bare = median([PYTHON, "-c", "pass"], 9)["seconds"]
    helps = median([GUARDRAILS, "--help"], 9)["seconds"]
    rows: list[dict[str, Any]] = [
        bench_size(size, args.repeat, shape) for shape in args.shapes for size in args.sizes
    ]
    after = os.getloadavg()[0]
    lines = [
        f"guardrails --help: {helps:.3f} s; bare python: {bare:.3f} s; ratio {helps / bare:.1f}x",
        f"machine: {os.cpu_count()} cores; load average before: {load:.2f}, after: {after:.2f}",
        "",
        *table(rows),
    ]
    if len(rows) > 1:
        lines += ["", memory_growth(rows)]
    print("\n".join(lines))
    if args.docs:
        write_docs(lines)
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    document = {
        "help": helps,
        "bare_python": bare,
        "load_average": [load, after],
        "sizes": rows,
    }
    (results / "check.json").write_text(json.dumps(document, indent=2), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
