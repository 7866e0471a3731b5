"""A re-check after one edit as a user runs it, this checkout against an earlier one.

    .venv/bin/python bench/recheck.py [--baseline 72e795d] [--manifests 10000]
        [--shape findings-heavy] [--runs 5] [--rounds 2]

A process per check (start-up and second core included): `python -m guardrails check
CORPUS --now 2026-11-24 -f json -o FILE`, one manifest edited before each. For each
revision in turn (`--rounds` alternating rounds), one check fills its cache (each
revision discards the other's), then `--runs` re-checks; prints the median wall and
CPU seconds (this process's children: the check and its second core). The baseline
is `git archive`d into a temporary folder and run with `PYTHONPATH` naming it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import generate
from run import SHAPES

BENCH = Path(__file__).resolve().parent
PYTHON = str(BENCH.parent / ".venv" / "bin" / "python")


def recheck(checkout: Path, corpus: Path, report: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one re-check after one edit, by the code in `checkout`."""
    manifest = corpus / "manifests" / "tool-00003.yaml"
    text = manifest.read_text("utf-8")
    manifest.write_text(text.replace("  purpose: ", "  purpose: (edited) ", 1), "utf-8")
    command = [PYTHON, "-m", "guardrails", "check", str(corpus), "--now", "2026-11-24"]
    before, start = os.times(), time.perf_counter()
    subprocess.run(
        [*command, "-f", "json", "-o", str(report)],
        env={**os.environ, "PYTHONPATH": str(checkout)},
        cwd=tempfile.gettempdir(),  # never this checkout's package by accident
        stdout=subprocess.DEVNULL,
        check=False,
    )
    wall, after = time.perf_counter() - start, os.times()
    return wall, (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )


def main() -> int:
    """Print the medians for each revision and round."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="72e795d")
    parser.add_argument("--manifests", type=int, default=10000)
    parser.add_argument("--shape", choices=list(SHAPES), default="findings-heavy")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    name = f"recheck-{args.manifests}-{args.shape}"
    corpus = generate(BENCH / "corpus" / name, args.manifests, share=SHAPES[args.shape])
    report = BENCH / "corpus" / f"{name}.json"
    with tempfile.TemporaryDirectory() as folder:
        baseline = Path(folder)
        archive = subprocess.run(
            ["git", "archive", args.baseline], cwd=BENCH.parent, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(baseline)], input=archive, check=True)
        print(f"{args.shape}, {args.manifests:,} manifests; load average {os.getloadavg()[0]:.2f}")
        print("| revision | round | median wall s | median CPU s |")
        print("|---|---:|---:|---:|")
        for round_ in range(1, args.rounds + 1):
            for label, checkout in ((args.baseline, baseline), ("this checkout", BENCH.parent)):
                recheck(checkout, corpus, report)  # fills the cache for this revision
                runs = [recheck(checkout, corpus, report) for _ in range(args.runs)]
                wall = statistics.median(r[0] for r in runs)
                cpu = statistics.median(r[1] for r in runs)
                print(f"| {label} | {round_} | {wall:.2f} | {cpu:.2f} |")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
