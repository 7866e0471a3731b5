"""What each saving for findings-heavy catalogs is worth, stage by stage (CPU seconds).

    .venv/bin/python bench/per_finding.py [--manifests 10000] [--baseline 5b4c3d5]

On the findings-heavy corpus (bench/corpus.py --with-findings 0.98), in this process,
median CPU seconds of 3 runs of each stage, as the code is and as it was before each
change (the loader of `--baseline`, read from git, for the first rows):

* loading every manifest: values only (baseline) against values and marks (now);
* positions in every file (4 paths, about its findings): a second parse (baseline)
  against the marks;
* the SARIF report: `json.dumps(indent=2)` against `indented`;
* the policy data with its bindings: `load_bytes` (every position) against values;
* the tool names `decide` gives exceptions: built for every file, or only when the
  catalog has exceptions (this corpus has none).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import generate

BENCH = Path(__file__).resolve().parent
NOW = date(2026, 11, 24)


def cpu(work: Callable[[], Any], repeat: int = 3) -> float:
    """Median CPU seconds of `work`."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return statistics.median(times)


def baseline_loader(revision: str) -> Any:
    """guardrails/catalog/safe_yaml.py as it was at `revision` (it imports only PyYAML)."""
    text = subprocess.run(
        ["git", "show", f"{revision}:guardrails/catalog/safe_yaml.py"],
        cwd=BENCH.parent,
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    copy = Path(tempfile.mkdtemp()) / "baseline_safe_yaml.py"
    copy.write_text(text, "utf-8")
    spec = importlib.util.spec_from_file_location("baseline_safe_yaml", copy)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def main() -> int:
    """Print one line per stage: before, after, saved."""
    import gc

    from guardrails.catalog import safe_yaml
    from guardrails.catalog.tree import WorkTree
    from guardrails.check import run_check
    from guardrails.config import load_config
    from guardrails.report import Report, sarif_format

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifests", type=int, default=10000)
    parser.add_argument("--baseline", default="5b4c3d5")
    args = parser.parse_args()
    gc.disable()  # as a check runs
    root = BENCH / "corpus" / f"per-finding-{args.manifests}"  # not run.py's: both may run
    if not (root / "manifests").is_dir():
        generate(root, args.manifests, share=0.98)
    files = [p.read_bytes() for p in sorted((root / "manifests").glob("*.yaml"))]
    old = baseline_loader(args.baseline)
    tree = WorkTree(root)
    checked = run_check(tree, load_config(root), NOW)
    findings = checked.outcome.findings
    print(f"{root.name}: {len(files):,} manifests, {len(findings):,} findings")
    rows = []

    loaded = [safe_yaml.load_marked(data) for data in files]
    rows.append(
        (
            "load every manifest (values; now also marks)",
            cpu(lambda: [old.load_value(data) for data in files]),
            cpu(lambda: [safe_yaml.load_marked(data) for data in files]),
        )
    )
    # About as many as a file of this corpus has findings (3.9), of the kinds they point at.
    paths = [
        ("spec", "auth", "sso"),
        ("spec", "cost", "annual"),
        ("spec", "vendor", "certifications", 0, "expires"),
        ("spec", "integrations", 9, "tool"),
    ]

    def reparse() -> None:
        for data in files:
            positions = old._NodePositions(data)
            for path in paths:
                positions.locate(path)

    def marked() -> None:
        for value, marks in loaded:
            positions = safe_yaml.MarkedPositions(value, marks)
            for path in paths:
                positions.locate(path)

    rows.append(("positions, 4 paths in every file", cpu(reparse), cpu(marked)))

    report = Report(checked.outcome, checked.rules, ())
    document = sarif_format.sarif_document(report)
    rows.append(
        (
            "SARIF report: indented JSON",
            cpu(lambda: json.dumps(document, indent=2, ensure_ascii=False)),
            cpu(lambda: sarif_format.indented(document)),
        )
    )

    bindings = (root / "policies" / "data" / "provisioning.yaml").read_bytes()
    rows.append(
        (
            f"policy data, {bindings.count(b'scim:'):,} bindings",
            cpu(lambda: safe_yaml.load_bytes(bindings)),
            cpu(lambda: safe_yaml.load_marked(bindings)),
        )
    )
    # decide: the tool names an exception may name, built only when there are any.
    shown = checked.catalog.files
    rows.append(
        (
            "tool names for exceptions (none here)",
            cpu(lambda: {*(PurePosixPath(file).stem for file in shown)}),
            cpu(lambda: set()),
        )
    )
    print("| stage | before CPU s | after CPU s | saved CPU s |")
    print("|---|---:|---:|---:|")
    for stage, before, after in rows:
        print(f"| {stage} | {before:.3f} | {after:.3f} | {before - after:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
