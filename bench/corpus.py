"""Generate a reproducible catalog of N realistic manifests for benchmarks.

    .venv/bin/python bench/corpus.py OUT_DIR --manifests 10000 [--seed 7] [--with-findings 0.98]

Manifests are written block-style with comments, as people write them, in a
catalog folder (`OUT_DIR/manifests/`, plus `OUT_DIR/exceptions/`). By default (the
*compliant* shape) about one in ten is flawed: it breaks one rule (no SSO for
confidential data, personal data outside the allowed jurisdictions, no DPA, cost over
the threshold, an unknown integration, an expired certificate); with a few rules
broken by chance (retention, a renewal soon) about 3 in 10 manifests have a finding.
`--with-findings SHARE` gives the *findings-heavy* shape of a first import of an
existing inventory: that share of manifests is flawed, each breaking 3 to 5 rules
of a wider set (also MFA, a multi-year term, a personal account): with 0.98, about
3.7 findings per manifest. Every tool integrates with others of the corpus, so rules
that look across manifests have real work to do. The same arguments give the same
bytes (the default shape is the one measured before the knob existed).
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
# The findings-heavy shape breaks several rules at once, of a wider set.
MORE_FLAWS = (*FLAWS, "mfa", "term", "personal-account")
COMPLIANT_SHARE = 0.1  # the default: flawed manifests, one flaw each

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
    mfa: {mfa}
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
    term_months: {term}
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


def manifest(index: int, total: int, rng: random.Random, share: float | None = None) -> str:
    """The text of manifest number `index` of `total`; `share` of manifests are flawed
    with several flaws each (None: the compliant shape, a tenth with one flaw)."""
    name = f"tool-{index:05d}"
    flawed = rng.random() < (COMPLIANT_SHARE if share is None else share)
    if share is None:  # the same draws as before the knob existed: the same bytes
        flaws = {rng.choice(FLAWS)} if flawed else set()
    else:
        flaws = set(rng.sample(MORE_FLAWS, rng.randint(3, 5))) if flawed else set()
    categories = sorted(rng.sample(CATEGORIES, rng.randint(1, 3)))
    personal = any(c.startswith("personal.") for c in categories)
    classification = "confidential" if personal else rng.choice(("internal", "confidential"))
    peers = sorted({rng.randrange(total) for _ in range(rng.randint(1, 3))} - {index})
    flows = [
        f"    - tool: tool-{peer:05d}\n      direction: inbound\n      data: [{categories[0]}]"
        for peer in peers
    ]
    if "integration" in flaws:
        flows.append("    - tool: shadow-spreadsheet\n      direction: outbound\n      data: []")
    else:
        flows.append("    - tool: zapier\n      external: true\n      direction: outbound\n"
                     "      data: []")  # fmt: skip
    people = [f"user{rng.randrange(5000):04d}@example.com" for _ in range(rng.randint(0, 6))]
    if "personal-account" in flaws:
        people.append(f"marketing.{index}@gmail.com")
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
        cert_expires="2025-01-31" if "certificate" in flaws else "2027-12-31",
        dpa="false" if "dpa" in flaws else "true",
        classification=classification,
        categories=", ".join(categories),
        residency="global" if "residency" in flaws and personal else rng.choice(("eu", "us", "uk")),
        retention=rng.choice((365, 730, 1095)),
        mfa="optional" if "mfa" in flaws else "enforced",
        sso="none" if "sso" in flaws else rng.choice(("saml", "oidc")),
        users=", ".join(sorted(set(people))),
        integrations="\n".join(flows),
        annual=250_000 if "cost" in flaws else rng.randrange(1_000, 90_000, 500),
        one_time=rng.randrange(0, 20_000, 1_000),
        seats=rng.randint(5, 200),
        month=rng.randint(1, 12),
        term=36 if "term" in flaws else 12,
        provisioning=PROVISIONING.format(index=index) if rng.random() < 0.5 else "",
    )


def generate(out: Path, count: int, seed: int = 7, share: float | None = None) -> Path:
    """Write a catalog of `count` manifests to `out` (replacing it); return `out`.

    `share`: the share of manifests with findings (None: the compliant shape)."""
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    folder = out / "manifests"
    folder.mkdir(parents=True)
    bound = []
    for index in range(count):
        text = manifest(index, count, rng, share)
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
    parser.add_argument(
        "--with-findings",
        type=float,
        metavar="SHARE",
        help="share of manifests that break rules, 3 to 5 each (e.g. 0.98: a first "
        "import); default: the compliant shape",
    )
    args = parser.parse_args()
    if args.with_findings is not None and not 0 <= args.with_findings <= 1:
        parser.error("--with-findings: a share between 0 and 1")
    generate(args.out, args.manifests, args.seed, args.with_findings)
    print(f"{args.out}: {args.manifests} manifests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
