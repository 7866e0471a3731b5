"""Bad input to `guardrails report`: exit 2 with one line saying where and what to do.

The discovery results are a file like any other input; the policy data's currency
section is IT's, but a typo there must not turn into wrong totals either.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.overview.conftest import DISCOVERY, report


def refused(run_stderr: str, exit_code: int) -> str:
    """The one error line (no traceback)."""
    assert exit_code == 2, run_stderr
    lines = run_stderr.strip().splitlines()
    assert len(lines) == 1, run_stderr
    assert "Traceback" not in run_stderr
    assert lines[0].startswith("guardrails: error: ")
    return lines[0].removeprefix("guardrails: error: ")


SOUND = json.loads(DISCOVERY.read_text(encoding="utf-8"))


def with_first(**changes: object) -> dict[str, object]:
    """The fixture discovery document with its first undeclared item changed."""
    first = {**SOUND["undeclared"][0], **changes}
    return {**SOUND, "undeclared": [first, *SOUND["undeclared"][1:]]}


@pytest.mark.parametrize(
    ("document", "where", "says"),
    [
        ({**SOUND, "version": 2}, "2:14: ", "version must be 1 (found 2)"),
        ({**SOUND, "version": True}, "2:14: ", "version must be 1 (found true)"),
        ({"version": 1, "unused": []}, "1:1: ", "undeclared must be a list"),
        ({**SOUND, "undeclared": {"tool": "x"}}, "4:17: ", "undeclared must be a list"),
        (with_first(people="many"), "8:17: ", "undeclared[0].people must be a whole number"),
        (with_first(people=-1), "L:C", "undeclared[0].people must be a whole number"),
        (with_first(people=2.5), "L:C", "undeclared[0].people must be a whole number"),
        (with_first(people=True), "L:C", "undeclared[0].people must be a whole number"),
        (with_first(tool="Not A Slug"), "L:C", "undeclared[0].tool must be a tool slug"),
        (with_first(title=None), "L:C", "undeclared[0].title must be the tool's name"),
        (with_first(first_seen="2026-13-01"), "L:C", "undeclared[0].first_seen must be a YYYY"),
        (with_first(last_seen="yesterday"), "L:C", "undeclared[0].last_seen must be a YYYY"),
        (with_first(spend={"amount": -5, "currency": "USD"}), "L:C", "spend.amount must be"),
        (with_first(spend={"amount": "5", "currency": "USD"}), "L:C", "spend.amount must be"),
        (with_first(spend={"amount": 5, "currency": "usd"}), "L:C", "spend.currency must be"),
        (with_first(spend=12), "L:C", "undeclared[0].spend must be an object"),
        (with_first(sources="okta"), "L:C", "undeclared[0].sources must be a list of texts"),
        (with_first(tool="miro"), "L:C", "undeclared[2].tool lists 'miro' twice"),
        ({**SOUND, "unused": [{"tool": 7}]}, "L:C", "unused[0].tool must be a tool slug"),
        ({**SOUND, "unused": ["gamma"]}, "L:C", "unused[0] must be an object"),
        ([SOUND], "1:1: ", "must be one JSON object"),
    ],
)
def test_bad_discovery_results_are_refused_at_their_place(
    report_catalog: Path, tmp_path: Path, document: object, where: str, says: str
) -> None:
    path = tmp_path / "discovery.json"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    run = report(report_catalog, "-f", "json", "--discovery", path)
    line = refused(run.stderr, run.exit_code)
    # where: that exact line:column, or "L:C" for any (the message names the path)
    place = re.escape(where) if where != "L:C" else r"[0-9]+:[0-9]+: "
    assert re.match(rf"{re.escape(str(path))}:{place}", line), line
    assert says in line, line
    assert "give the JSON that `guardrails discover --format json` prints" in line
    assert run.stdout == ""


def test_a_missing_key_points_at_its_item(report_catalog: Path, tmp_path: Path) -> None:
    document = with_first()
    del document["undeclared"][0]["spend"]  # type: ignore[index]
    path = tmp_path / "discovery.json"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    line = refused(*_run(report_catalog, path))
    # line 5 is the first item's opening brace, where the key belongs
    assert line.startswith(f"{path}:5:5: undeclared[0].spend is missing"), line


def _run(root: Path, path: Path) -> tuple[str, int]:
    run = report(root, "-f", "json", "--discovery", path)
    return run.stderr, run.exit_code


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b'{"version": 1, "undeclared": [}', ":1:31: not JSON (Expecting value)"),
        (b'{"version": 1, "version": 1, "undeclared": []}', "key 'version' appears twice"),
        (b'{"version": 1, "undeclared": [], "x": NaN}', "NaN is not a number JSON allows"),
        (b'{"version": 1, "undeclared": [], "x": "\xff"}', "not UTF-8 text"),
        (b"", ":1:1: not JSON (Expecting value)"),
    ],
)
def test_a_discovery_file_that_is_not_json_is_refused(
    report_catalog: Path, tmp_path: Path, content: bytes, says: str
) -> None:
    path = tmp_path / "discovery.json"
    path.write_bytes(content)
    line = refused(*_run(report_catalog, path))
    assert line.startswith(str(path)) and says in line, line


def test_a_huge_discovery_file_is_refused_unread(report_catalog: Path, tmp_path: Path) -> None:
    path = tmp_path / "discovery.json"
    with path.open("wb") as file:
        file.truncate(33 * 1024 * 1024)  # sparse: nothing to parse, only its size
    line = refused(*_run(report_catalog, path))
    assert line == f"{path}: larger than 32 MiB: not a discovery result"


@pytest.mark.parametrize(
    ("data", "where", "says"),
    [
        ("currency:\n  base: Euro\n", "2:9", "currency.base must be an ISO 4217 code"),
        ("currency:\n  base: EUR\n  date: 2026-02-30\n", "3:9", "currency.date must be"),
        ("currency:\n  base: EUR\n", "1:1", "currency.date must be"),
        (
            "currency:\n  base: EUR\n  date: 2026-05-01\n  rates:\n    USD: -1\n",
            "5:10",
            "currency.rates.USD must be a positive number: units of EUR for one USD",
        ),
        (
            "currency:\n  base: EUR\n  date: 2026-05-01\n  rates:\n    USD: '0.8'\n",
            "5:10",
            "currency.rates.USD must be a positive number",
        ),
        (
            "currency:\n  base: EUR\n  date: 2026-05-01\n  rates:\n    usd: 0.8\n",
            "5:10",
            "'usd' is not an ISO 4217 code",
        ),
        (
            "currency:\n  base: EUR\n  date: 2026-05-01\n  rates:\n    EUR: 2\n",
            "5:10",
            "the base currency is 1",
        ),
        ("currency: [EUR]\n", "1:11", "currency must be a mapping"),
        ("report:\n  tco_months: 0\n", "2:15", "report.tco_months must be a whole number"),
        ("report:\n  horizon_days: 7\n", "2:17", "report.horizon_days must be a whole number"),
        ("report:\n  tco_month: 36\n", "2:14", "unknown key report.tco_month"),
    ],
)
def test_bad_currency_or_report_settings_point_at_the_policy_data_line(
    report_catalog: Path, data: str, where: str, says: str
) -> None:
    (report_catalog / "policies" / "data" / "rates.yaml").write_text(data, encoding="utf-8")
    run = report(report_catalog, "-f", "json")
    line = refused(run.stderr, run.exit_code)
    shown = report_catalog / "policies" / "data" / "rates.yaml"
    assert line.startswith(f"{_display(shown)}:{where}: "), line
    assert says in line, line


def _display(path: Path) -> str:
    from guardrails.catalog.tree import display_path

    return display_path(path)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("-f", "csv"), "csv is one file per table: give -o FOLDER, or --table NAME"),
        (("-f", "html", "--table", "renewals"), "--table picks one CSV table"),
        (("-f", "csv", "--table", "nonsense"), "no table 'nonsense'; the tables are: "),
    ],
)
def test_flags_that_cannot_work_are_refused(
    report_catalog: Path, args: tuple[str, ...], says: str
) -> None:
    run = report(report_catalog, *args)
    assert says in refused(run.stderr, run.exit_code)


def test_two_different_catalogs_are_refused(report_catalog: Path, tmp_path: Path) -> None:
    run = report(report_catalog, "-C", tmp_path)
    assert "give the catalog once" in refused(run.stderr, run.exit_code)


def test_an_output_that_cannot_be_written_is_exit_2(report_catalog: Path, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "report.html"
    run = report(report_catalog, "-o", target)
    line = refused(run.stderr, run.exit_code)
    assert line == f"{target}: cannot write the report: No such file or directory"
