"""Time `guardrails check --changed-since main` on a 1,000-manifest catalog, one file changed.

    .venv/bin/python bench/changed_since_bench.py [--manifests 1000] [--repeat 5]

Builds a real git repository in a temporary folder (the examples catalog plus N
generated compliant manifests), commits it on `main`, changes one manifest on a
branch, then runs the CLI as a subprocess (start-up included) and prints the median
wall time of `--changed-since main` next to a full check of the same catalog.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "examples" / "manifests" / "hubspot.yaml"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def build_catalog(root: Path, count: int) -> list[Path]:
    """Write `count` compliant manifests `manifests/tool-NNNN.yaml` under `root`."""
    template = TEMPLATE.read_text(encoding="utf-8")
    folder = root / "manifests"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for number in range(count):
        path = folder / f"tool-{number:04d}.yaml"
        text = template.replace("name: hubspot", f"name: tool-{number:04d}")
        # Not a second email-marketing tool: that would warn (hubspot is the standard).
        text = text.replace("[email-marketing, landing-pages]", "[landing-pages]")
        # Nor asking for HubSpot's application: IT bound it to hubspot alone.
        text = text.split("  provisioning:")[0]
        path.write_text(text, "utf-8")
        written.append(path)
    return written


def _git(repo: Path, *args: str) -> None:
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def _time(command: list[str], cwd: Path, repeat: int) -> tuple[float, int, list[str]]:
    """(median seconds, exit code, files reported) of `repeat` runs of a JSON check."""
    times, code, reported = [], 0, []
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        code = done.returncode
        if code not in (0, 1):
            raise SystemExit(f"{' '.join(command)}: exit {code}: {done.stderr.decode()}")
        document = json.loads(done.stdout)
        reported = sorted({f["file"] for f in document["findings"]})
        reported.append(f"({document['summary']['manifests']} manifests in the summary)")
    return statistics.median(times), code, reported


def main() -> int:
    """Build, change one file, time both checks, print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifests", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    guardrails = str(Path(sys.executable).with_name("guardrails"))
    with tempfile.TemporaryDirectory(prefix="guardrails-bench-") as folder:
        repo = Path(folder) / "catalog"
        shutil.copytree(REPO / "examples", repo, ignore=shutil.ignore_patterns("bad"))
        build_catalog(repo, args.manifests)
        _git(repo, "init", "-q", "-b", "main")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", "catalog")
        _git(repo, "checkout", "-q", "-b", "pr")
        target = repo / "manifests" / f"tool-{args.manifests // 2:04d}.yaml"
        target.write_text(target.read_text().replace("sso: saml", "sso: none"))
        _git(repo, "commit", "-q", "-am", "one change")
        now = ["--now", "2026-11-22", "-f", "json"]
        changed, changed_code, changed_files = _time(
            [guardrails, "check", "--changed-since", "main", *now], repo, args.repeat
        )
        with_ref, _, _ = _time(
            [guardrails, "check", "--changed-since", "main", "--policies-ref", "main", *now],
            repo,
            args.repeat,
        )
        full, full_code, _ = _time([guardrails, "check", *now], repo, args.repeat)
    total = args.manifests + 6
    print(f"catalog: {total} manifests, 1 changed; median of {args.repeat} runs (subprocess)")
    print(f"check --changed-since main:                     {changed:.2f} s (exit {changed_code})")
    print(f"  reported: {' '.join(changed_files)}")
    print(f"check --changed-since main --policies-ref main: {with_ref:.2f} s")
    print(f"check (whole catalog):                          {full:.2f} s (exit {full_code})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
