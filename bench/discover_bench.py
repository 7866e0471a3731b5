"""Time `guardrails discover` on a generated estate against a generated catalog.

    .venv/bin/python bench/discover_bench.py [--grants 100000] [--expenses 50000]
                                             [--catalog 1000] [--repeat 3] [--docs]

Generates, with a fixed seed, under `bench/corpus/discover/`:

* a catalog of `--catalog` manifests (bench/corpus.py);
* a Google Workspace export (`users.list` and `tokens.list` replies) holding
  `--grants` OAuth tokens of 5,000 people: two thirds to catalog tools (named as
  their manifests), the rest to 40 dictionary vendors and 800 apps nobody knows,
  scopes drawn from risky and harmless ones;
* an expense export of `--expenses` card lines: catalog vendors, dictionary vendors,
  unknown software merchants and travel.

Then runs `guardrails discover --from google=... --from expenses=... -f json -o FILE`
as a subprocess (start-up included) and prints the median wall time, CPU time and
peak RSS; `--docs` writes them to docs/performance.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import generate
from run import GUARDRAILS, run

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "corpus" / "discover"
DOCS = BENCH.parent / "docs" / "performance.md"
NOW = "2026-11-24"
PEOPLE = 5000
SCOPES = (
    "openid",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/calendar.readonly",
    "https://www.googleapis.com/auth/drive.file",
    "https://www.googleapis.com/auth/drive",
    "https://mail.google.com/",
)
VENDORS = (
    "Notion", "Airtable", "Miro", "Mailchimp", "Typeform", "Calendly", "Loom", "Grammarly",
    "Semrush", "Hotjar", "Zapier", "Asana", "Trello", "Figma", "Dropbox", "Docusign",
)  # fmt: skip
TRAVEL = ("DELTA AIR LINES", "UNITED AIRLINES", "MARRIOTT HOTELS", "UBER *TRIP", "HILTON")


def estate(grants: int, expenses: int, catalog: int, seed: int = 11) -> tuple[Path, Path]:
    """Write the Google export and the expense CSV; return their paths."""
    rng = random.Random(seed)
    users = [
        {"id": f"1{n:020d}", "primaryEmail": f"user{n:04d}@example.com"} for n in range(PEOPLE)
    ]
    apps: list[tuple[str, str]] = []  # (client id, display name)
    for index in range(0, catalog, max(1, catalog // 700)):
        apps.append((f"{index}-catalog.apps.googleusercontent.com", f"Tool-{index:05d}"))
    apps += [(f"{i}-vendor.apps.googleusercontent.com", name) for i, name in enumerate(VENDORS)]
    apps += [(f"{i}-unknown.apps.googleusercontent.com", f"Side Project {i}") for i in range(800)]
    per_user: dict[str, list[dict[str, object]]] = {}
    for _ in range(grants):
        user = users[rng.randrange(PEOPLE)]
        client_id, name = apps[rng.randrange(len(apps))]
        per_user.setdefault(str(user["id"]), []).append(
            {
                "kind": "admin#directory#token",
                "clientId": client_id,
                "displayText": name,
                "scopes": sorted(rng.sample(SCOPES, rng.randint(1, 3))),
                "userKey": user["id"],
                "anonymous": False,
                "nativeApp": False,
            }
        )
    replies: list[dict[str, object]] = [{"kind": "admin#directory#users", "users": users}]
    replies += [
        {"kind": "admin#directory#tokenList", "items": items} for items in per_user.values()
    ]
    google = OUT / "google.json"
    google.write_text(json.dumps(replies))
    card = OUT / "card.csv"
    with card.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(("Date", "Employee", "Merchant", "Amount", "Currency", "Category", "Memo"))
        for _ in range(expenses):
            pick = rng.random()
            if pick < 0.4:
                merchant, category = f"TOOL-{rng.randrange(catalog):05d} INC", "Software"
            elif pick < 0.5:
                merchant, category = f"{rng.choice(VENDORS).upper()} INC", "Software"
            elif pick < 0.6:
                merchant, category = f"SQ *MICROSAAS {rng.randrange(300)}", "Software"
            else:
                merchant, category = rng.choice(TRAVEL), "Travel"
            writer.writerow(
                (
                    f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    f"user{rng.randrange(PEOPLE):04d}@example.com",
                    merchant,
                    f"{rng.randrange(500, 90000) / 100:.2f}",
                    rng.choice(("USD", "USD", "EUR", "GBP")),
                    category,
                    "subscription",
                )
            )
    return google, card


def main() -> int:
    """Generate the estate, time discovery, print (and optionally record) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grants", type=int, default=100_000)
    parser.add_argument("--expenses", type=int, default=50_000)
    parser.add_argument("--catalog", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--docs", action="store_true", help="write docs/performance.md")
    args = parser.parse_args()
    generate(OUT / "catalog", args.catalog)
    google, card = estate(args.grants, args.expenses, args.catalog)
    report = OUT / "report.json"
    command = [
        GUARDRAILS, "discover", "-C", str(OUT / "catalog"), "--now", NOW,
        f"--from=google={google}", f"--from=expenses={card}", "-f", "json", "-o", str(report),
    ]  # fmt: skip
    runs = []
    for _ in range(args.repeat):
        wall, cpu, code, rss = run(command)
        if code not in (0, 1):
            print(f"discover failed with exit code {code}", file=sys.stderr)
            return 2
        runs.append((wall, cpu, rss))
    summary = json.loads(report.read_text())["summary"]
    lines = [
        f"Printed by `.venv/bin/python bench/discover_bench.py --grants {args.grants} "
        f"--expenses {args.expenses} --catalog {args.catalog} --repeat {args.repeat} --docs`:",
        "",
        "| OAuth grants | expense lines | catalog tools | wall s | CPU s | peak RSS MiB |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {args.grants:,} | {args.expenses:,} | {args.catalog:,} | "
        f"{statistics.median(r[0] for r in runs):.2f} | "
        f"{statistics.median(r[1] for r in runs):.2f} | {max(r[2] for r in runs)} |",
        "",
        f"- found: {summary['tools']:,} tools in use, {summary['undeclared']:,} undeclared, "
        f"{summary['unused']:,} catalog tools unused, {summary['findings']:,} findings; "
        f"{summary['not_saas_expense_lines']:,} expense lines of no SaaS tool",
        f"- runs (wall s): {', '.join(f'{r[0]:.2f}' for r in runs)}",
    ]
    print("\n".join(lines))
    if args.docs:
        text = DOCS.read_text()
        block = "<!-- bench:discover -->\n" + "\n".join(lines) + "\n<!-- /bench:discover -->"
        pattern = re.compile(r"<!-- bench:discover -->.*?<!-- /bench:discover -->", re.S)
        DOCS.write_text(
            pattern.sub(lambda _: block, text)
            if pattern.search(text)
            else text + "\n" + block + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
