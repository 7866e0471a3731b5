"""Time the engine alone: the shipped policies judging a whole generated catalog at once.

    .venv/bin/python bench/engine_time.py [--sizes 1000 10000] [--repeat 5]
        [--engines regorus regopy opa-lib]

The catalog (bench/corpus.py, fixed seed) is loaded and the policies compiled first;
then each run is one `judge` call on the whole catalog as one input, as the check
does for a catalog with organisation rules or on an OPA server. It prints, per size
and engine, the median wall and CPU seconds of that call (CPU time says more on a
busy machine). Compiling the regexes of the screens happens in the first call, so
the first call is also shown apart.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import generate

BENCH = Path(__file__).resolve().parent
NOW = date(2026, 11, 24)


def main() -> None:
    """Print one table row per catalog size and engine."""
    from guardrails.catalog.load import load_catalog
    from guardrails.catalog.tree import WorkTree
    from guardrails.config import load_config
    from guardrails.engine import get_engine
    from guardrails.engine.evaluate import engine_input, judge
    from guardrails.engine.policy_set import load_policy_set

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--engines", nargs="+", default=["regorus"])
    args = parser.parse_args()
    print("| manifests | engine | first call s | median wall s | median CPU s | violations |")
    print("|---:|---|---:|---:|---:|---:|")
    for size in args.sizes:
        root = BENCH / "corpus" / str(size)
        if not (root / "manifests").is_dir():
            generate(root, size)
        config = load_config(root)
        catalog = load_catalog(WorkTree(root), config)
        policies = load_policy_set(WorkTree(root), config)
        document = engine_input(catalog.manifests, [m.name for m in catalog.manifests], NOW)
        for name in args.engines:
            evaluator = get_engine(name).prepare(policies)
            start = time.perf_counter()
            found = judge(evaluator, document)
            first = time.perf_counter() - start
            walls, cpus = [], []
            for _ in range(args.repeat):
                start, cpu = time.perf_counter(), time.process_time()
                judge(evaluator, document)
                walls.append(time.perf_counter() - start)
                cpus.append(time.process_time() - cpu)
            print(
                f"| {size:,} | {name} | {first:.3f} | {statistics.median(walls):.3f} "
                f"| {statistics.median(cpus):.3f} | {len(found):,} |"
            )


if __name__ == "__main__":
    main()
