"""Generate a reproducible catalog of N realistic manifests for benchmarks.

    .venv/bin/python bench/corpus.py OUT_DIR --manifests 10000 [--seed 7]

Manifests are written block-style with comments, as people write them, in a
catalog folder (`OUT_DIR/manifests/`, plus `OUT_DIR/exceptions/`). About one in ten
breaks a rule (no SSO for confidential data, personal data outside the allowed
jurisdictions, no DPA, cost over the threshold, an unknown integration, an expired
certificate), and every tool integrates with others of the corpus, so rules that
look across manifests have real work to do. The same seed gives the same bytes.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from pathlib import Path

CAPABILITIES = (
    "webinars", "social-scheduling", "landing-pages", "surveys", "event-management",
    "video-hosting", "seo", "ab-testing", "digital-asset-management", "influencer-marketing",
    "affiliate-tracking", "session-replay", "chat-widget", "content-calendar", "podcasting",
)  # fmt: skip
CATEGORIES = (
    "personal.contact", "personal.marketing-preferences", "personal.behavioural",
    "brand-assets", "campaign-metrics", "content",
)  # fmt: skip
TEAMS = ("marketing-ops", "brand", "growth", "events", "content", "demand-gen")
FLAWS = ("sso", "residency", "dpa", "cost", "integration", "certificate")

TEMPLATE = """\
# yaml-language-server: $schema=https://saas-guardrails.example/schemas/manifest-v1.schema.json
apiVersion: guardrails/v1
kind: SaaSTool
metadata:
  name: {name}
  title: {title}
  owner: {owner}
  team: {team}
  cost_center: MKT-{cost_center}
spec:
  purpose: {purpose}
  capabilities: [{capabilities}]
  vendor:
    name: {vendor}
    website: https://www.{name}.example.com
    certifications:
      - {{name: soc2-type2, expires: {cert_expires}}}
      - name: iso27001
        expires: 2028-06-30
    dpa_signed: {dpa}
  data:
    classification: {classification}   # what the tool holds at worst
    categories: [{categories}]
    subjects: [customers, prospects]
    residency: [{residency}]
    retention_days: {retention}
  auth:
    sso: {sso}
    scim: true
    mfa: enforced
  access:
    groups: [{team}]
    users: [{users}]
    admins: [{owner}]
  integrations:
{integrations}
  cost:
    currency: USD
    annual: {annual}
    one_time: {one_time}
    seats: {seats}
    term_months: 12
    renewal_date: 2027-{month:02d}-01
{provisioning}"""

# Half the tools are provisioned, as in a real catalog, each through what IT bound to it
# (policies/data/provisioning.yaml, with the variable naming its SCIM token).
PROVISIONING = """\
  provisioning:
    identity_center:
      application: Tool {index}
    scim:
      url: https://api.tool-{index}.example/scim/v2
"""
BINDING = """\
    tool-{index:05d}:
      identity_center: {{application: Tool {index}, admin_group: true}}
      scim: {{url: "https://api.tool-{index}.example/scim/v2", token_env: TOOL_{index}_SCIM_TOKEN}}
"""


def manifest(index: int, total: int, rng: random.Random) -> str:
    """The text of manifest number `index` of `total`."""
    name = f"tool-{index:05d}"
    flaw = rng.choice(FLAWS) if rng.random() < 0.1 else None
    categories = sorted(rng.sample(CATEGORIES, rng.randint(1, 3)))
    personal = any(c.startswith("personal.") for c in categories)
    classification = "confidential" if personal else rng.choice(("internal", "confidential"))
    peers = sorted({rng.randrange(total) for _ in range(rng.randint(1, 3))} - {index})
    flows = [
        f"    - tool: tool-{peer:05d}\n      direction: inbound\n      data: [{categories[0]}]"
        for peer in peers
    ]
    if flaw == "integration":
        flows.append("    - tool: shadow-spreadsheet\n      direction: outbound\n      data: []")
    else:
        flows.append("    - tool: zapier\n      external: true\n      direction: outbound\n"
                     "      data: []")  # fmt: skip
    people = [f"user{rng.randrange(5000):04d}@example.com" for _ in range(rng.randint(0, 6))]
    owner = f"owner{index % 700:03d}@example.com"
    return TEMPLATE.format(
        name=name,
        title=f"Tool {index} for {rng.choice(CAPABILITIES).replace('-', ' ')}",
        owner=owner,
        team=rng.choice(TEAMS),
        cost_center=100 + index % 50,
        purpose=f"Campaign work stream {index} - {rng.choice(CAPABILITIES).replace('-', ' ')}",
        capabilities=", ".join(sorted(set(rng.sample(CAPABILITIES, 2)))),
        vendor=f"Vendor {index}, Inc.",
        cert_expires="2025-01-31" if flaw == "certificate" else "2027-12-31",
        dpa="false" if flaw == "dpa" else "true",
        classification=classification,
        categories=", ".join(categories),
        residency="global" if flaw == "residency" and personal else rng.choice(("eu", "us", "uk")),
        retention=rng.choice((365, 730, 1095)),
        sso="none" if flaw == "sso" else rng.choice(("saml", "oidc")),
        users=", ".join(sorted(set(people))),
        integrations="\n".join(flows),
        annual=250_000 if flaw == "cost" else rng.randrange(1_000, 90_000, 500),
        one_time=rng.randrange(0, 20_000, 1_000),
        seats=rng.randint(5, 200),
        month=rng.randint(1, 12),
        provisioning=PROVISIONING.format(index=index) if rng.random() < 0.5 else "",
    )


def generate(out: Path, count: int, seed: int = 7) -> Path:
    """Write a catalog of `count` manifests to `out` (replacing it); return `out`."""
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    folder = out / "manifests"
    folder.mkdir(parents=True)
    bound = []
    for index in range(count):
        text = manifest(index, count, rng)
        (folder / f"tool-{index:05d}.yaml").write_text(text, "utf-8")
        if "  provisioning:" in text:
            bound.append(BINDING.format(index=index))
    (out / "exceptions").mkdir()
    (out / "policies" / "data").mkdir(parents=True)
    bindings = "provisioning:\n  bindings:\n" + "".join(bound) if bound else ""
    (out / "policies" / "data" / "provisioning.yaml").write_text(bindings, "utf-8")
    return out


def main() -> int:
    """Command line: generate one corpus."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--manifests", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    generate(args.out, args.manifests, args.seed)
    print(f"{args.out}: {args.manifests} manifests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
