"""Time `guardrails report` on generated catalogs, and weigh what it writes.

    .venv/bin/python bench/report_bench.py [--sizes 1000 10000] [--repeat 3]

For each size it generates a corpus (bench/corpus.py, fixed seed) under
`bench/corpus/N/` and runs, as subprocesses so start-up is included:

* check: `guardrails check --no-cache -f json` (the floor: the report checks first);
* html cold: `guardrails report --no-cache -o report.html` (check + figures + page);
* html warm: the same with `.guardrails-cache/` filled by an earlier run;
* markdown, json and csv (warm), for their sizes.

It prints the median wall time, CPU time (user + system, workers included) and peak
RSS of each, and the size of each output; results also go to
`bench/results/report.json`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import generate
from run import BENCH, ENVIRONMENT, GUARDRAILS, NOW, median


def size_of(path: Path) -> int:
    """Bytes of a file, or of every file in a folder."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir())
    return path.stat().st_size


def bench_size(size: int, repeat: int) -> dict[str, Any]:
    """Every measurement for one corpus size."""
    corpus = generate(BENCH / "corpus" / str(size), size)
    out = BENCH / "corpus" / f"{size}-report"
    out.mkdir(exist_ok=True)
    report = [GUARDRAILS, "report", str(corpus), "--now", NOW]
    check = [GUARDRAILS, "check", str(corpus), "--now", NOW, "-f", "json", "-o"]
    rows: dict[str, Any] = {
        "check": median([*check, str(out / "check.json"), "--no-cache"], repeat),
        "html cold": median([*report, "-o", str(out / "report.html"), "--no-cache"], repeat),
    }
    subprocess.run([*report, "-f", "json"], check=False, capture_output=True, env=ENVIRONMENT)
    rows["html warm"] = median([*report, "-o", str(out / "report.html")], repeat)
    rows["markdown"] = median([*report, "-f", "markdown", "-o", str(out / "report.md")], 1)
    rows["json"] = median([*report, "-f", "json", "-o", str(out / "report.json")], 1)
    rows["csv"] = median([*report, "-f", "csv", "-o", str(out / "csv")], 1)
    sizes = {
        "html cold": out / "report.html",
        "html warm": out / "report.html",
        "markdown": out / "report.md",
        "json": out / "report.json",
        "csv": out / "csv",
    }
    for name, path in sizes.items():
        rows[name]["bytes"] = size_of(path)
    return {"manifests": size, "runs": rows}


def table(results: list[dict[str, Any]]) -> list[str]:
    """One line per size and run, as printed and pasted into docs/performance.md."""
    lines = [
        "| manifests | run | wall s | CPU s | peak RSS MiB | output |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for result in results:
        for name, row in result["runs"].items():
            weight = "-"
            if "bytes" in row:
                large = row["bytes"] >= 1e6
                weight = f"{row['bytes'] / (1e6 if large else 1e3):.1f} {'MB' if large else 'kB'}"
            lines.append(
                f"| {result['manifests']:,} | {name} | {row['seconds']:.2f} "
                f"| {row['cpu_seconds']:.2f} | {row['rss_mib']} | {weight} |"
            )
    return lines


def main() -> int:
    """Command line: measure, print, save."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = [bench_size(size, args.repeat) for size in args.sizes]
    for result in results:
        for name, row in result["runs"].items():
            if row["exit"] not in (0, 1):
                print(f"{name} at {result['manifests']} exited {row['exit']}", file=sys.stderr)
                return 1
    print("\n".join(table(results)))
    saved = BENCH / "results" / "report.json"
    saved.parent.mkdir(exist_ok=True)
    saved.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
