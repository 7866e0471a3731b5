"""API calls of a no-op `apply` for 200 tools x 20 people (reproducible).

Builds a catalog of TOOLS generated manifests (each: identity_center + scim, one team
group of 10 people + 10 individual users = 20 people), a directory of PEOPLE users
and TEAMS groups, starts the sandbox in-process, applies once (to converge), then
applies again and prints the calls the second (no-op) apply made, per operation.

    .venv/bin/python bench/provision_bench.py [--tools 200] [--people 20]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import date
from pathlib import Path

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
    seats: 20
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
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", type=int, default=200)
    parser.add_argument("--people", type=int, default=20)
    args = parser.parse_args()

    from guardrails.catalog.tree import WorkTree
    from guardrails.check import run_check
    from guardrails.config import load_config
    from guardrails.provision.apply import apply_plan
    from guardrails.provision.audit import AuditLog
    from guardrails.provision.bindings import load_bindings
    from guardrails.provision.calls import CallCounter
    from guardrails.provision.plan import Provisioner, wanted_access
    from guardrails.provision.sandbox import Sandbox, load_directory
    from guardrails.provision.settings import load_settings

    os.environ["BENCH_SCIM_TOKEN"] = "bench-token"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "catalog"
        build_catalog(root, args.tools, args.people)
        config = load_config(root)
        box = Sandbox(config, load_directory(root / "directory.yaml"))
        box.start()
        try:
            checked = run_check(WorkTree(root), config, date(2026, 11, 22))
            wanted = wanted_access(checked, load_bindings(checked.policies.data))
            assert len(wanted.tools) == 2 * args.tools, f"blocked: {wanted.blocked}"
            audit = AuditLog(Path(tmp) / "audit.jsonl")
            for label in ("first apply (converge)", "second apply (no-op)"):
                counter = CallCounter()
                started = time.perf_counter()
                provisioner = Provisioner(load_settings(config, use_sandbox=True), counter)
                plan = provisioner.plan(wanted)
                applied = apply_plan(plan, provisioner.apply, audit)
                assert applied.failed is None, applied.error
                seconds = time.perf_counter() - started
                print(f"== {label}: {len(plan.changes)} changes, {seconds:.1f}s")
                print(counter.summary())
            assert not plan.changes and counter.writes == 0
        finally:
            box.stop()
    print(f"({args.tools} tools x {args.people} people; identity_center + scim on every tool)")


if __name__ == "__main__":
    main()
