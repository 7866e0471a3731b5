"""Time provisioning at scale against the sandbox: first apply, then a no-op apply.

For each size TOOLSxPEOPLE it writes a catalog of TOOLS generated manifests (each:
identity_center + scim; one team group of PEOPLE/2 people + PEOPLE/2 individual
users), a directory, and IT's bindings; starts `guardrails sandbox` (moto server +
scim2-server, its own process, as a user runs it); then times, as subprocesses,
`guardrails apply --sandbox --auto-approve --stats` twice: the first apply (creates
everything) and the second (a no-op). It prints wall time, the apply process's CPU
time, the sandbox process's CPU time over the same run, the load average (1 min)
before it, changes and the calls by service that `--stats` printed.

    .venv/bin/python bench/provision_bench.py [--sizes 200x20 1000x50] [--before REF]
        [--repeat N] [--latency SECONDS]

`--latency SECONDS` answers every request that late (bench/slow_sandbox.py), as a
network would (seeding too: large sizes start slowly). `--repeat N` makes the no-op
N times and keeps the run of median wall time (all N wall times are in the JSON): on
a shared machine one run varies by a third.

`--before REF` runs the same against the code of git REF (e.g. b325880, before the
provisioning work), extracted to a temporary directory, for the before/after table.
Results are also written to bench/results/provision.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
NOW = "2026-11-22"
TOKEN = "bench-token"

TEMPLATE = """\
apiVersion: guardrails/v1
kind: SaaSTool
metadata:
  name: {name}
  title: Bench tool {index}
  owner: owner{index}@example.com
  team: marketing-ops
spec:
  purpose: Benchmark tool number {index}
  capabilities: [bench-capability-{index}]
  vendor:
    name: Vendor {index}
    website: https://vendor{index}.example.com
    certifications:
      - {{name: soc2-type2, expires: 2030-12-31}}
    dpa_signed: true
  data:
    classification: internal
    categories: [brand-assets]
    residency: [eu]
  auth:
    sso: saml
    scim: true
    mfa: enforced
  access:
    groups: [{team}]
    users: [{users}]
    admins: [owner{index}@example.com]
  cost:
    currency: USD
    annual: 1000
    seats: {seats}
    term_months: 12
    renewal_date: 2030-01-31
  provisioning:
    identity_center:
      application: Bench App {index}
    scim:
      url: https://scim.vendor{index}.example.com/v2
"""
BINDING = """\
    tool-{index:03d}:
      identity_center: {{application: Bench App {index}}}
      scim: {{url: "https://scim.vendor{index}.example.com/v2", token_env: BENCH_SCIM_TOKEN}}
"""


def build_catalog(root: Path, tools: int, people: int) -> None:
    """Write `tools` manifests and a directory; each tool reaches `people` people."""
    team_size = people // 2
    individuals = people - team_size
    directory_size = max(tools * individuals // 4, people * 5)
    teams = max(tools // 4, 1)
    users = [f"user{i:05d}@example.com" for i in range(directory_size)]
    (root / "manifests").mkdir(parents=True)
    lines = ["users:"] + [f"  - {{email: {u}, name: User {i}}}" for i, u in enumerate(users)]
    lines.append("groups:")
    for t in range(teams):
        members = [users[(t * team_size + k) % directory_size] for k in range(team_size)]
        lines.append(f"  team-{t:03d}: [{', '.join(members)}]")
    (root / "directory.yaml").write_text("\n".join(lines) + "\n")
    (root / "policies" / "data").mkdir(parents=True)
    (root / "policies" / "data" / "provisioning.yaml").write_text(
        "provisioning:\n  bindings:\n" + "".join(BINDING.format(index=i) for i in range(tools))
    )
    for index in range(tools):
        start = (index * individuals * 7) % directory_size
        chosen = [users[(start + k) % directory_size] for k in range(individuals)]
        (root / "manifests" / f"tool-{index:03d}.yaml").write_text(
            TEMPLATE.format(
                name=f"tool-{index:03d}",
                index=index,
                team=f"team-{index % teams:03d}",
                users=", ".join(chosen),
                seats=max(20, 2 * people),  # enough: ACC-SEATS-COUNT blocks fewer
            )
        )


def start_sandbox(root: Path, env: dict[str, str], latency: float = 0.0) -> subprocess.Popen[bytes]:
    """`guardrails sandbox -C root` in its own process, once its state file is written
    (with `latency`, bench/slow_sandbox.py: the same, each request answered late)."""
    command = [sys.executable, "-m", "guardrails", "sandbox", "-C", str(root)]
    if latency:
        command = [sys.executable, str(BENCH / "slow_sandbox.py"), str(root), str(latency)]
    process = subprocess.Popen(
        command,
        env=env,
        cwd=root,  # `-m` puts the working directory first on sys.path
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    state = root / ".guardrails" / "sandbox.json"
    deadline = time.monotonic() + 600  # seeding 6,250 users takes a while
    while not state.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            error = process.stderr.read().decode() if process.stderr else ""
            raise SystemExit(f"the sandbox did not start: {error[-2000:]}")
        time.sleep(0.5)
    return process


def cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) a running process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def apply(root: Path, env: dict[str, str], sandbox: int) -> dict[str, Any]:
    """One `guardrails apply --sandbox --stats`: wall seconds, CPU seconds of the apply
    process and of the sandbox (pid `sandbox`), the load average before, changes, calls
    by service."""
    command = [
        sys.executable, "-m", "guardrails", "apply", "-C", str(root), "--sandbox",
        "--auto-approve", "--stats", "--now", NOW, "--max-deletes", "0",
    ]  # fmt: skip
    load = os.getloadavg()[0]
    served = cpu_seconds(sandbox)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the sandbox is not reaped yet
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    server = cpu_seconds(sandbox)
    sandbox_cpu = None if served is None or server is None else round(server - served, 1)
    if done.returncode != 0:
        raise SystemExit(f"apply failed ({done.returncode}):\n{done.stderr[-3000:]}")
    applied = re.search(r"Applied (\d+) changes", done.stdout)
    services = {}
    for line in done.stdout.splitlines():
        found = re.match(r"([a-z-]+): (\d+) calls, (\d+) writes \((.*)\)$", line)
        if found and found.group(1) != "total":
            services[found.group(1)] = {
                "calls": int(found.group(2)),
                "writes": int(found.group(3)),
                "detail": found.group(4),
            }
    total = re.search(r"total: (\d+) calls, (\d+) writes \((\d+) HTTP", done.stdout)
    assert total, done.stdout[-2000:]
    return {
        "seconds": round(seconds, 1),
        "cpu": round(cpu, 1),
        "sandbox_cpu": sandbox_cpu,
        "load": round(load, 1),
        "changes": int(applied.group(1)) if applied else 0,
        "calls": int(total.group(1)),
        "writes": int(total.group(2)),
        "services": services,
    }


def measure(
    tools: int, people: int, code: Path | None, repeat: int = 1, latency: float = 0.0
) -> list[dict[str, Any]]:
    """First apply and no-op apply of one size, with the given code (None: this tree);
    the no-op `repeat` times, the run of median wall time kept."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["BENCH_SCIM_TOKEN"] = TOKEN
    env["GUARDRAILS_ACTOR"] = "bench"
    if code is not None:
        env["PYTHONPATH"] = str(code)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "catalog"
        build_catalog(root, tools, people)
        subprocess.run(["git", "init", "-q", str(root)], check=True)
        started = time.perf_counter()
        sandbox = start_sandbox(root, env, latency)
        seeded = round(time.perf_counter() - started, 1)
        print(f"sandbox seeded in {seeded} s", file=sys.stderr, flush=True)
        try:
            first = apply(root, env, sandbox.pid)
            runs = [apply(root, env, sandbox.pid) for _ in range(repeat)]
            runs.sort(key=lambda run: float(run["seconds"]))
            again = {**runs[len(runs) // 2], "walls": [r["seconds"] for r in runs]}
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=60)
    if again["writes"] or again["changes"]:
        raise SystemExit(f"the second apply was not a no-op: {again}")
    return [
        {"tools": tools, "people": people, "latency": latency, "run": "first apply", **first},
        {"tools": tools, "people": people, "latency": latency, "run": "no-op apply", **again},
    ]


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown: one row per run, calls by service."""
    lines = [
        "| code | tools x people | run | changes | identitystore | sso-admin | scim | "
        "calls | wall s | CPU s | sandbox CPU s | load |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        calls = [str(r["services"].get(s, {}).get("calls", 0)) for s in SERVICES]
        lines.append(
            f"| {r['code']} | {r['tools']:,} x {r['people']} | {r['run']} | {r['changes']:,} | "
            + " | ".join(f"{int(c):,}" for c in calls)
            + f" | {r['calls']:,} | {r['seconds']} | {r['cpu']} | {r.get('sandbox_cpu')} |"
            + f" {r.get('load')} |"
        )
    lines += ["", "Calls by operation:", ""]
    for r in rows:
        detail = "; ".join(f"{s}: {r['services'][s]['detail']}" for s in r["services"])
        lines.append(f"- {r['code']}, {r['tools']} x {r['people']}, {r['run']}: {detail}")
    return "\n".join(lines)


SERVICES = ("identitystore", "sso-admin", "scim")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["200x20", "1000x50"])
    parser.add_argument("--before", metavar="REF", help="also measure the code of git REF")
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="answer every sandbox request this late (bench/slow_sandbox.py)",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="no-op applies per size (the median is kept)"
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat: at least 1")
    sizes = [tuple(int(n) for n in size.split("x")) for size in args.sizes]
    codes: list[tuple[str, Path | None]] = [("this tree", None)]
    with tempfile.TemporaryDirectory() as old:
        if args.before:
            archive = subprocess.run(
                ["git", "-C", str(BENCH.parent), "archive", args.before],
                capture_output=True,
                check=True,
            )
            subprocess.run(["tar", "-x", "-C", old], input=archive.stdout, check=True)
            codes.insert(0, (args.before, Path(old)))
        rows = []
        for tools, people in sizes:
            print(f"load average before {tools}x{people}: {os.getloadavg()}", file=sys.stderr)
            for label, code in codes:
                for row in measure(tools, people, code, args.repeat, args.latency):
                    rows.append({"code": label, **row})
                    print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    out = BENCH / "results" / "provision.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(rows, indent=2) + "\n")
    print(table(rows))


if __name__ == "__main__":
    main()
