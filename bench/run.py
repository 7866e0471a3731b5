"""Time `guardrails check` on generated catalogs, beside the PyYAML floor.

    .venv/bin/python bench/run.py [--sizes 100 1000 10000] [--repeat 3]

For each size it generates a corpus (bench/corpus.py, fixed seed) under
`bench/corpus/N/`, then measures, as subprocesses so start-up is included:

* floor: PyYAML's C loader parsing every manifest in one process (nothing else);
* cold:  `guardrails check -f json` on the whole catalog (shipped policy library,
         JSON report written to a file);

and prints the median wall time, the ratio cold/floor and the peak RSS of the check.
`--help` start-up is timed against a bare `python -c pass`.
Results are also written to `bench/results/check.json`.
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

BENCH = Path(__file__).resolve().parent
PYTHON = sys.executable
GUARDRAILS = str(Path(PYTHON).with_name("guardrails"))
NOW = "2026-11-24"
FLOOR = """
import pathlib, sys, yaml
for path in sorted(pathlib.Path(sys.argv[1]).glob("manifests/*.yaml")):
    yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)
"""


def run(command: list[str]) -> tuple[float, int, int]:
    """(wall seconds, exit code, peak RSS in MiB) of one subprocess."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, process.returncode, usage.ru_maxrss // 1024


def median(command: list[str], repeat: int, before: list[str] | None = None) -> dict[str, float]:
    """Median wall time and peak RSS over `repeat` runs; `before` runs untimed first."""
    times, rss, code = [], [], 0
    for _ in range(repeat):
        if before:
            subprocess.run(before, check=True)
        elapsed, code, peak = run(command)
        times.append(elapsed)
        rss.append(peak)
    return {"seconds": statistics.median(times), "rss_mib": max(rss), "exit": code}


def bench_size(size: int, repeat: int) -> dict[str, object]:
    """Every measurement for one corpus size."""
    corpus = generate(BENCH / "corpus" / str(size), size)
    report = str(BENCH / "corpus" / f"{size}.json")
    check = [GUARDRAILS, "check", str(corpus), "--now", NOW, "-f", "json", "-o", report]
    floor = median([PYTHON, "-c", FLOOR, str(corpus)], repeat)
    cold = median(check, repeat)
    return {"manifests": size, "floor": floor, "cold": cold}


def main() -> int:
    """Run every size and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bare = median([PYTHON, "-c", "pass"], 5)["seconds"]
    helps = median([GUARDRAILS, "--help"], 5)["seconds"]
    rows = [bench_size(size, args.repeat) for size in args.sizes]
    print(f"guardrails --help: {helps:.3f} s; bare python: {bare:.3f} s; ratio {helps / bare:.1f}x")
    print(f"{'manifests':>9} {'floor s':>8} {'cold s':>8} {'cold/floor':>10} {'peak RSS MiB':>12}")
    for row in rows:
        floor, cold = row["floor"], row["cold"]
        assert isinstance(floor, dict) and isinstance(cold, dict)
        print(
            f"{row['manifests']:>9} {floor['seconds']:>8.2f} {cold['seconds']:>8.2f} "
            f"{cold['seconds'] / floor['seconds']:>10.2f} {cold['rss_mib']:>12}"
        )
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    document = {"help": helps, "bare_python": bare, "sizes": rows}
    (results / "check.json").write_text(json.dumps(document, indent=2), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
