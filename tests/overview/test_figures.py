"""The report's figures on the fixture catalog, each worked out by hand below.

tests/fixtures/overview/catalog, as of 2026-06-01. Its policy data sets base EUR,
USD 0.8, GBP 1.2 (rates of 2026-05-01), TCO over at least 24 months, a 120-day
horizon and rates older than 20 days flagged. Six schema-valid tools:

| tool    | team         | centre | cost                      | seats | term | renews     | notice |
|---------|--------------|--------|---------------------------|-------|------|------------|--------|
| alpha   | growth       | C-1    | 12,000 EUR + 3,000 once   | 10    | 12   | 2026-06-21 | 30, on |
| beta    | growth       | C-1    | 10,000 USD                | 5     | 36   | 2026-08-30 | 60     |
| gamma   | brand        | -      | 1,000 GBP + 500 GBP once  | 3     | 12   | 2026-12-01 | -      |
| delta   | brand        | C-2    | 5,000 CHF (no rate)       | 2     | -    | 2026-05-20 | -      |
| epsilon | brand        | -      | no cost block             | -     | -    | -          | -      |
| zeta    | it-workplace | -      | 0 EUR                     | 0     | -    | 2026-07-31 | -      |

("30, on": 30 days' notice, auto_renew true.) Plus `broken.yaml`, which breaks the
schema (and states 999,999 EUR a year that must count nowhere).
directory.yaml: g-one = u1, u2; g-two = u3, u4.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from tests.conftest import EXAMPLES, guardrails
from tests.overview.conftest import DISCOVERY, report


def figures(root: Path, *args: str | Path) -> dict[str, Any]:
    run = report(root, "-f", "json", *args)
    assert run.exit_code == 1, run.stderr  # written; beta, delta, zeta and broken block
    document: dict[str, Any] = json.loads(run.stdout)
    return document


def by_name(items: list[dict[str, Any]], key: str = "name") -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


def test_annual_spend_is_converted_at_the_policy_datas_rates(report_catalog: Path) -> None:
    found = figures(report_catalog)
    assert found["rates"]["base"] == "EUR" and found["rates"]["date"] == "2026-05-01"
    # The organisation's currency section replaced the shipped one whole: no shipped
    # rate (GBP 1.27 against USD, EUR 1.08) is left behind under base EUR.
    assert found["rates"]["per_unit"] == {"EUR": 1, "USD": 0.8, "GBP": 1.2}
    tools = by_name(found["tools"])
    assert tools["alpha"]["cost"]["annual"] == 12000
    assert tools["beta"]["cost"]["annual"] == 8000  # 10,000 USD x 0.8
    assert tools["gamma"]["cost"]["annual"] == 1200  # 1,000 GBP x 1.2
    assert tools["delta"]["cost"]["annual"] is None  # CHF: no rate, not zero
    assert tools["epsilon"]["cost"]["annual"] is None  # no cost stated
    assert "broken" not in tools
    # 12,000 + 8,000 + 1,200 + 0 (zeta); delta, epsilon and broken left out
    assert found["totals"]["annual"] == 21200
    assert found["totals"]["tools"] == 6
    notes = "\n".join(found["notes"])
    assert "1 amount(s) in CHF (5,000 CHF) are left out of the totals" in notes
    assert "add currency.rates.CHF" in notes
    assert "1 tool(s) state no annual cost" in notes
    assert "1 manifest file(s) break the schema" in notes
    assert "from 2026-05-01, 31 days before this report" in notes


def test_spend_by_team_and_by_cost_centre(report_catalog: Path) -> None:
    found = figures(report_catalog)
    teams = [(s["name"], s["tools"], s["annual"]) for s in found["by_team"]]
    # growth: alpha 12,000 + beta 8,000; brand: gamma 1,200 (+ delta, epsilon unknown)
    assert teams == [("growth", 2, 20000), ("brand", 3, 1200), ("it-workplace", 1, 0)]
    centres = [(s["name"], s["tools"], s["annual"]) for s in found["by_cost_center"]]
    assert centres == [("C-1", 2, 20000), ("(none)", 3, 1200), ("C-2", 1, 0)]


def test_cost_of_ownership_splits_year_one_from_the_years_after(report_catalog: Path) -> None:
    found = figures(report_catalog)
    costs = {name: tool["cost"] for name, tool in by_name(found["tools"]).items()}
    # alpha: 12-month term, counted over 24 months: 3,000 + 12,000 then 12,000
    assert (costs["alpha"]["months"], costs["alpha"]["year_one"], costs["alpha"]["later"]) == (
        24,
        15000,
        12000,
    )
    assert costs["alpha"]["total"] == 27000
    # beta: 36-month term (longer than 24): 8,000 a year -> 8,000 then 16,000
    assert (costs["beta"]["months"], costs["beta"]["year_one"], costs["beta"]["later"]) == (
        36,
        8000,
        16000,
    )
    # gamma: one-time 500 GBP = 600 EUR, plus 1,200; then 1,200
    assert (costs["gamma"]["one_time"], costs["gamma"]["year_one"], costs["gamma"]["later"]) == (
        600,
        1800,
        1200,
    )
    assert costs["delta"]["total"] is None and costs["epsilon"]["total"] is None
    totals = found["totals"]
    assert (totals["year_one"], totals["later"], totals["tco"]) == (24800, 29200, 54000)
    assert totals["later_share"] == 0.5407  # 29,200 / 54,000


def test_renewals_fall_in_windows_with_their_notice_deadlines(report_catalog: Path) -> None:
    found = figures(report_catalog)
    renewals = [
        (r["tool"], r["days"], r["window"], r["notice_by"], r["days_to_notice"], r["auto_renew"])
        for r in found["renewals"]
    ]
    assert renewals == [
        ("delta", -12, None, None, None, None),  # passed, still listed
        ("alpha", 20, 30, "2026-05-22", -10, True),  # notice deadline passed: it renews
        ("zeta", 60, 60, None, None, None),
        ("beta", 90, 90, "2026-07-01", 30, False),
    ]  # gamma renews in 183 days: beyond the 120-day horizon
    assert found["totals"]["renewals_90"] == 3
    assert found["totals"]["renewals_90_annual"] == 20000  # alpha 12,000 + zeta 0 + beta 8,000
    # beta's deadline is 30 days away: due; alpha's passed 10 days ago: missed
    assert (found["totals"]["notices_due"], found["totals"]["notices_missed"]) == (1, 1)


def test_seats_bought_against_people_granted_through_the_directory(report_catalog: Path) -> None:
    found = figures(report_catalog)
    seats = {n: t["seats"] for n, t in by_name(found["tools"]).items()}
    # alpha: u1 + g-one (u1, u2) = 2 of 10; beta: g-one + g-two = 4 of 5
    assert (seats["alpha"]["granted"], seats["alpha"]["unused"]) == (2, 8)
    assert (seats["beta"]["granted"], seats["beta"]["unused"]) == (4, 1)
    assert (seats["gamma"]["granted"], seats["gamma"]["unused"]) == (2, 1)
    # zeta bought no seat and grants two people
    assert (seats["zeta"]["granted"], seats["zeta"]["short"]) == (2, 2)
    # delta names a group the directory does not have: unknown, not zero
    assert seats["delta"]["granted"] is None and seats["delta"]["unresolved"] == ["g-missing"]
    assert (found["totals"]["seats_bought"], found["totals"]["seats_unused"]) == (20, 10)
    assert any("g-missing" in note for note in found["notes"])


def test_without_a_directory_groups_are_unknown_and_users_still_count(
    report_catalog: Path,
) -> None:
    (report_catalog / "directory.yaml").unlink()
    found = figures(report_catalog)
    seats = {n: t["seats"] for n, t in by_name(found["tools"]).items()}
    assert seats["alpha"]["granted"] is None and seats["alpha"]["unresolved"] == ["g-one"]
    assert seats["gamma"]["granted"] == 2  # users only
    assert any("no directory resolves the manifests' groups" in n for n in found["notes"])


def test_certificates_and_exceptions_expiring(report_catalog: Path) -> None:
    found = figures(report_catalog)
    expiring = [(e["kind"], e["name"], e["tools"], e["days"]) for e in found["expiring"]]
    # epsilon's iso27001 (2027-01-01) and zeta's soc2 (2027-03-01) are beyond 120 days
    assert expiring == [
        ("certificate", "soc2-type2", ["epsilon"], 30),
        ("exception", "beta-cost-waiver", ["beta"], 44),
    ]


def test_findings_per_file_are_the_checks_findings(report_catalog: Path) -> None:
    found = figures(report_catalog)
    checked = guardrails("check", report_catalog, "--now", "2026-06-01", "-f", "json").json()
    expected: dict[str, list[int]] = {}
    for finding in checked["findings"]:
        counts = expected.setdefault(finding["file"], [0, 0, 0])
        counts[("blocking", "warning", "excepted").index(_status(finding))] += 1
    rows = {f["file"]: [f["blocking"], f["warnings"], f["excepted"]] for f in found["findings"]}
    assert {file: counts for file, counts in rows.items() if any(counts)} == expected
    zeta = next(f for f in found["findings"] if f["name"] == "zeta")
    assert "SEC-SSO-REQUIRED" in zeta["rules"] and zeta["blocking"] >= 1
    broken = next(f for f in found["findings"] if f["name"] == "broken")
    assert broken["rules"] == ["SCHEMA-INVALID"]
    assert found["findings"][0]["blocking"] >= found["findings"][-1]["blocking"]
    totals = found["totals"]
    assert totals["blocking"] == sum(1 for f in checked["findings"] if f["blocking"])
    assert by_name(found["tools"])["zeta"]["status"] == "failed"


def _status(finding: dict[str, Any]) -> str:
    if finding["blocking"]:
        return "blocking"
    return "excepted" if finding["exception"] else "warning"


def test_inventory_by_capability_classification_and_residency(report_catalog: Path) -> None:
    found = figures(report_catalog)
    assert [(c["name"], c["tools"]) for c in found["capabilities"]] == [
        ("design", ["delta", "gamma"]),  # two tools: a consolidation candidate
        ("email-marketing", ["alpha", "beta"]),
        ("analytics", ["epsilon"]),
        ("surveys", ["beta"]),
        ("team-chat", ["zeta"]),
    ]
    assert [(c["name"], len(c["tools"])) for c in found["classifications"]] == [
        ("public", 1),
        ("internal", 4),
        ("confidential", 1),
    ]
    assert [(c["name"], len(c["tools"])) for c in found["residency"]] == [
        ("eu", 5),
        ("global", 1),
        ("us", 1),
    ]


def test_shadow_it_from_the_discovery_results(report_catalog: Path) -> None:
    found = figures(report_catalog, "--discovery", DISCOVERY)
    shadow = [(s["tool"], s["people"], s["spend"]) for s in found["shadow_it"]]
    # most people first; 100 USD x 0.8 = 80, 50 GBP x 1.2 = 60, none seen for miro;
    # alpha is declared in the catalog, so it is not shadow IT
    assert shadow == [("miro", 20, None), ("notion", 14, 80), ("calendly", 3, 60)]
    assert (found["totals"]["shadow_tools"], found["totals"]["shadow_spend"]) == (3, 140)
    assert found["unused"] == ["gamma"]
    assert by_name(found["tools"])["gamma"]["unused"] is True
    notes = "\n".join(found["notes"])
    assert "discovery lists alpha as undeclared, but the catalog declares it" in notes
    assert "(ghost)" in notes


def test_without_discovery_shadow_it_is_not_measured(report_catalog: Path) -> None:
    found = figures(report_catalog)
    assert found["shadow_it"] is None and found["totals"]["shadow_tools"] is None


def test_the_shipped_rates_convert_the_examples_eur_tool() -> None:
    run = guardrails("report", EXAMPLES, "--now", "2026-11-22", "-f", "json", "--no-cache")
    assert run.exit_code == 0, run.stderr
    found = run.json()
    assert found["rates"]["base"] == "USD"
    hootsuite = by_name(found["tools"])["hootsuite"]["cost"]
    assert (hootsuite["currency"], hootsuite["annual"]) == ("EUR", 4536)  # 4,200 x 1.08
    # 3,000 + 7,200 + 0 + 4,536 + 48,000 + 96,000 + 42,000 + 18,000
    assert found["totals"]["annual"] == 218736


def test_csv_tables_hold_the_same_figures_as_plain_numbers(
    report_catalog: Path, tmp_path: Path
) -> None:
    out = tmp_path / "tables"
    run = report(report_catalog, "-f", "csv", "-o", out, "--discovery", DISCOVERY)
    assert run.exit_code == 1, run.stderr
    written = sorted(p.name for p in out.iterdir())
    assert "renewals.csv" in written and "shadow-it.csv" in written and "cost.csv" in written
    assert f"Table written to {out / 'renewals.csv'}" in run.stdout
    with (out / "cost.csv").open(newline="", encoding="utf-8") as file:
        cost = {row["Tool"]: row for row in csv.DictReader(file)}
    assert cost["beta"]["Annual (listed)"] == "10000.00"
    assert cost["beta"]["Annual (EUR)"] == "8000.00"
    assert cost["alpha"]["Total (EUR)"] == "27000.00"
    assert cost["delta"]["Annual (EUR)"] == ""  # unknown, not 0
    renewals = list(csv.reader(io.StringIO((out / "renewals.csv").read_text(encoding="utf-8"))))
    assert renewals[2] == [
        "alpha",
        "growth",
        "2026-06-21",
        "20",
        "30",
        "12000.00",
        "30",
        "2026-05-22",
        "-10",
        "true",
    ]


def test_markdown_gives_the_headline_figures_and_cuts_long_tables(report_catalog: Path) -> None:
    run = report(report_catalog, "-f", "markdown")
    assert run.exit_code == 1, run.stderr
    text = run.stdout
    assert "## SaaS report: catalog as of 2026-06-01" in text
    assert "| Annual spend (EUR) | 21,200 |" in text
    assert "| Cost of ownership (EUR) | 54,000 (year one 24,800, after 29,200; 54% after" in text
    assert "| Renewals within 90 days | 3 (20,000 EUR a year) |" in text
    row = "| alpha | growth | 2026-06-21 | 20 | 30 | 12,000 | 30 | 2026-05-22 | -10 | yes |"
    assert row in text
    assert "more rows" not in text  # every table fits


def test_markdown_cuts_a_table_past_fifteen_rows(tmp_path: Path) -> None:
    from bench.corpus import generate

    root = generate(tmp_path / "corpus", 20)
    run = guardrails("report", root, "--now", "2026-06-01", "-f", "markdown", "--no-cache")
    assert run.exit_code in (0, 1), run.stderr
    assert "_… and 5 more rows: every row is in the HTML and CSV reports._" in run.stdout


def test_a_currency_without_amounts_adds_nothing_to_the_notes(report_catalog: Path) -> None:
    epsilon = report_catalog / "manifests" / "epsilon.yaml"
    text = epsilon.read_text(encoding="utf-8")
    epsilon.write_text(text + "  cost:\n    currency: JPY\n    seats: 3\n", encoding="utf-8")
    notes = figures(report_catalog)["notes"]
    assert not any("JPY" in note for note in notes), notes
    assert any(note.startswith("1 amount(s) in CHF (5,000 CHF)") for note in notes)
