"""`guardrails discover` end to end on the sample estate: what it reports, its rules
(levels, exceptions, the organisation's overrides), drafts, and its settings."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLES, NOW, guardrails
from tests.discover.conftest import discover, estate_args, settings

RULES = yaml.safe_load((EXAMPLES.parent / "policies" / "data" / "rules.yaml").read_text())["rules"]
DISCOVERY_RULES = sorted(r for r, meta in RULES.items() if meta.get("applies_to") == "discovered")
CHECK_FINDING_KEYS = [
    "rule", "title", "category", "severity", "level", "blocking", "manifest", "file",
    "line", "column", "path", "message", "remediation", "exception",
]  # fmt: skip


def _tools(document: dict[str, object], key: str = "undeclared") -> dict[str, dict[str, object]]:
    return {t["tool"]: t for t in document[key]}  # type: ignore[attr-defined, index]


def test_the_sample_estate_shows_shadow_it_from_every_source() -> None:
    run = discover(*estate_args(), "--format", "json")
    assert run.exit_code == 1, run.stderr  # something blocks: a nightly job fails visibly
    document = run.json()
    assert document["version"] == 1
    assert document["sources"] == ["entra", "expenses", "google", "identity-center", "okta"]
    undeclared = _tools(document)
    assert set(undeclared) == {
        "calendly",  # okta
        "loom",  # identity-center
        "miro",  # entra
        "notion",  # google grants + expenses
        "pdf-docs-sync",  # only in OAuth grants, not in the vendor dictionary
        "surveypanel-pro",  # only a software expense
        "typeform",  # only in expenses
    }
    for tool in undeclared.values():  # the contract the CIO report reads
        assert isinstance(tool["people"], int)
        assert tool["spend"] is None or set(tool["spend"]) == {"amount", "currency"}
        assert tool["first_seen"] is None or len(tool["first_seen"]) == 10
        assert tool["sources"]


def test_a_tool_only_in_expenses_is_shadow_it_with_its_evidence() -> None:
    typeform = _tools(discover(*estate_args(), "--format", "json").json())["typeform"]
    assert typeform["sources"] == ["expenses"]
    assert typeform["spend"] == {"amount": 1616.76, "currency": "USD"}  # 3 x 499 EUR x 1.08
    assert (typeform["first_seen"], typeform["last_seen"]) == ("2026-02-03", "2026-08-03")
    assert typeform["paid_by"] == ["hugo@example.com", "priya.nair@example.com"]
    assert typeform["users"] == []
    assert typeform["matched"] == [
        {"by": "name prefix", "key": "typeform", "confidence": 0.7, "records": 3}
    ]
    assert typeform["evidence"] == [
        {
            "source": "expenses",
            "kind": "expense",
            "records": 3,
            "first": {"file": "examples/estate/expenses/card-2026.csv", "record": "line 4"},
        }
    ]


def test_a_tool_only_in_oauth_grants_is_shadow_it_with_its_evidence() -> None:
    run = discover(*estate_args(), "--format", "json")
    pdf = _tools(run.json())["pdf-docs-sync"]
    assert pdf["title"] == "PDF Docs Sync"
    assert pdf["sources"] == ["google"]
    assert pdf["users"] == ["dan@example.com", "erin@example.com"]
    assert pdf["scopes"][0] == {
        "scope": "https://mail.google.com/",
        "risk": "critical",
        "access": "read, send and permanently delete all mail",
        "people": 2,
    }
    assert pdf["matched"][0]["by"] == "grouped"  # unknown app: grouped by its client id
    assert {e["kind"] for e in pdf["evidence"]} == {"oauth-grant"}
    blocking = [
        f for f in run.json()["findings"] if f["manifest"] == "pdf-docs-sync" and f["blocking"]
    ]
    assert [(f["rule"], f["file"], f["line"]) for f in blocking] == [
        ("SEC-SHADOW-DATA-ACCESS", "examples/estate/google/directory-tokens.json", 141)
    ]
    assert list(blocking[0]) == CHECK_FINDING_KEYS  # the same shape as `check`'s findings


def test_catalog_tools_unused_and_used_beyond_their_manifest() -> None:
    document = discover(*estate_args(), "--format", "json").json()
    assert {u["tool"] for u in document["unused"]} == {"eventbrite", "hootsuite"}
    assert document["unlisted_users"] == [
        {
            "tool": "hubspot",
            "title": "HubSpot Marketing Hub",
            "file": "examples/manifests/hubspot.yaml",
            "users": ["bob@example.com", "hugo@example.com"],
        }
    ]
    in_use = _tools(document, "in_use")
    assert in_use["slack"]["users"] == ["alice@example.com", "bob@example.com"]
    assert in_use["salesforce"]["everyone"] is True  # an admin consented for all users
    # Identity providers' own apps and non-SaaS expense lines are counted, not tools.
    assert document["summary"]["ignored_records"] == 3
    assert document["summary"]["not_saas_expense_lines"] == 3


def test_every_discovery_rule_fires_on_the_sample_estate() -> None:
    fired = {f["rule"] for f in discover(*estate_args(), "--format", "json").json()["findings"]}
    assert len(DISCOVERY_RULES) == 5
    assert set(DISCOVERY_RULES) <= fired


def test_findings_point_at_the_evidence_or_the_manifest() -> None:
    run = discover(*estate_args())
    lines = run.stdout.splitlines()
    assert (
        "examples/estate/expenses/card-2026.csv:4:1: error: COST-UNDECLARED-SPEND "
        "[soft-mandatory] Typeform: 1616.76 USD spent without a manifest (more than 1000 USD)"
    ) in lines
    assert (
        "examples/manifests/hubspot.yaml:32:12: warning: ACC-UNLISTED-USERS [advisory] HubSpot "
        "Marketing Hub is used by people its manifest does not grant access: bob@example.com, "
        "hugo@example.com"
    ) in lines
    assert lines[-1] == "14 tools in use, 7 undeclared: 3 blocking, 10 warnings — blocked"


def _waiver(catalog: Path, name: str, rule: str, tools: list[str], approver: str) -> None:
    (catalog / "exceptions" / f"{name}.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "guardrails/v1",
                "kind": "PolicyException",
                "metadata": {"name": name},
                "spec": {
                    "rule": rule,
                    "manifests": tools,
                    "justification": "Owner is completing the manifest this month",
                    "approved_by": approver,
                    "expires": "2027-01-31",
                },
            }
        )
    )


def test_exceptions_waive_discovery_rules_and_check_ignores_them(catalog: Path) -> None:
    _waiver(
        catalog,
        "shadow-grants",
        "SEC-SHADOW-DATA-ACCESS",
        ["notion", "pdf-docs-sync"],
        "security-lead@example.com",
    )
    _waiver(
        catalog,
        "typeform-spend",
        "COST-UNDECLARED-SPEND",
        ["typeform", "miro"],
        "finance-director@example.com",
    )
    run = discover(*estate_args(), "--format", "json", catalog=catalog)
    assert run.exit_code == 0, run.stdout
    findings = run.json()["findings"]
    excepted = sorted((f["rule"], f["manifest"]) for f in findings if f["exception"])
    assert excepted == [
        ("COST-UNDECLARED-SPEND", "typeform"),
        ("SEC-SHADOW-DATA-ACCESS", "notion"),
        ("SEC-SHADOW-DATA-ACCESS", "pdf-docs-sync"),
    ]
    unused = [f for f in findings if f["rule"] == "EXC-UNUSED"]
    assert [f["message"] for f in unused] == [
        "typeform-spend waives COST-UNDECLARED-SPEND for miro, but miro has no "
        "COST-UNDECLARED-SPEND finding"
    ]
    # `check` judges manifests: waivers of discovery rules are not its to call unused.
    checked = guardrails("check", catalog, "--now", NOW, "--format", "json")
    assert checked.exit_code == 0
    assert "EXC-UNUSED" not in {f["rule"] for f in checked.json()["findings"]}


def test_an_exception_by_the_wrong_approver_does_not_waive(catalog: Path) -> None:
    _waiver(catalog, "shadow-grants", "SEC-SHADOW-DATA-ACCESS", ["notion"], "someone@example.com")
    run = discover(*estate_args(), "--format", "json", catalog=catalog)
    assert run.exit_code == 1
    rules = {(f["rule"], f["manifest"]): f for f in run.json()["findings"]}
    assert rules[("SEC-SHADOW-DATA-ACCESS", "notion")]["blocking"] is True
    assert ("EXC-UNAUTHORISED", None) in rules


def test_the_organisation_sets_levels_and_thresholds_in_policy_data(catalog: Path) -> None:
    (catalog / "policies" / "data").mkdir(parents=True, exist_ok=True)
    (catalog / "policies" / "data" / "discovery.yaml").write_text(
        "rules:\n  STD-UNDECLARED-TOOL: {level: soft-mandatory}\n"
        "discovery:\n  max_undeclared_spend: 5000\n  blocking_risks: [critical, high]\n"
    )
    document = discover(*estate_args(), "--format", "json", catalog=catalog).json()
    blocking = {(f["rule"], f["manifest"]) for f in document["findings"] if f["blocking"]}
    assert ("STD-UNDECLARED-TOOL", "calendly") in blocking
    assert ("SEC-SHADOW-DATA-ACCESS", "miro") in blocking  # Files.Read.All is high
    assert not any(rule == "COST-UNDECLARED-SPEND" for rule, _ in blocking)


def test_the_organisation_extends_the_vendor_dictionary(catalog: Path) -> None:
    (catalog / "policies" / "data").mkdir(parents=True, exist_ok=True)
    (catalog / "policies" / "data" / "vendors.yaml").write_text(
        "vendors:\n"
        "  docsync:\n"
        "    title: DocSync\n"
        "    vendor: DocSync Ltd\n"
        "    website: https://docsync.example\n"
        "    client_ids:\n"
        "      - 418273650912-pdfdocsync000000000000000000002.apps.googleusercontent.com\n"
        "  calendly: {title: Calendly, ignore: true}\n"
    )
    document = discover(*estate_args(), "--format", "json", catalog=catalog).json()
    undeclared = _tools(document)
    assert "pdf-docs-sync" not in undeclared and "calendly" not in undeclared
    assert undeclared["docsync"]["title"] == "DocSync"
    assert undeclared["docsync"]["vendor"] == "DocSync Ltd"
    assert undeclared["docsync"]["matched"][0] == {
        "by": "client id",
        "key": "418273650912-pdfdocsync000000000000000000002.apps.googleusercontent.com",
        "confidence": 1.0,
        "records": 4,
    }
    assert document["summary"]["ignored_records"] == 3 + 3  # Calendly's app and users


def test_drafts_are_written_prefilled_never_overwrite_and_fail_check(catalog: Path) -> None:
    drafts = catalog / "drafts"
    drafts.mkdir()
    (drafts / "miro.yaml").write_text("# someone's work in progress\n")
    run = discover(*estate_args(), "--write-drafts", drafts, "--format", "json", catalog=catalog)
    assert run.exit_code == 1
    written = {t["tool"]: t["draft"] for t in run.json()["undeclared"]}
    assert written["miro"] is None  # kept as it was
    assert (drafts / "miro.yaml").read_text() == "# someone's work in progress\n"
    assert sorted(p.name for p in drafts.iterdir()) == sorted(f"{t}.yaml" for t in written)
    notion = yaml.safe_load((drafts / "notion.yaml").read_text())
    assert notion["metadata"] == {
        "name": "notion",
        "title": "Notion",
        "owner": "<owner-email>",
        "team": "<team>",
    }
    assert notion["spec"]["vendor"]["name"] == "Notion Labs, Inc."
    assert notion["spec"]["vendor"]["website"] == "https://www.notion.so"
    assert notion["spec"]["access"]["users"] == [
        "alice@example.com",
        "carol@example.com",
        "erin@example.com",
    ]
    assert notion["spec"]["cost"]["annual"] == 192
    assert notion["spec"]["cost"]["seats"] == 3
    # A draft moved into the catalog fails check until its owner completes it.
    shutil.copy(drafts / "notion.yaml", catalog / "manifests" / "notion.yaml")
    checked = guardrails("check", catalog, "--now", NOW, "--format", "json")
    assert checked.exit_code == 1
    blocked = {f["file"] for f in checked.json()["findings"] if f["blocking"]}
    assert len(blocked) == 1 and blocked.pop().endswith("manifests/notion.yaml")
    # ... and once it is in the catalog, discovery no longer calls Notion shadow IT.
    again = discover(*estate_args(), "--format", "json", catalog=catalog).json()
    assert "notion" not in _tools(again)
    assert "notion" in _tools(again, "in_use")


def test_markdown_is_an_issue_body_that_escapes_what_sources_say(tmp_path: Path) -> None:
    okta = tmp_path / "okta.json"
    apps = json.loads((EXAMPLES / "estate" / "okta" / "apps.json").read_text())
    users = json.loads((EXAMPLES / "estate" / "okta" / "app-users.json").read_text())
    apps[4]["label"] = "<img src=x onerror=alert(1)> [win](https://evil.example) | col"
    apps[4]["settings"] = {"app": {}}  # no domain: only its (hostile) name is known
    okta.write_text(json.dumps(apps + users))
    run = discover(f"--from=okta={okta}", "--format", "markdown")
    assert run.exit_code == 0, run.stderr
    assert run.stdout.startswith("## SaaS discovery\n")
    assert not re.search(r"(?<!\\)<img", run.stdout)  # never raw HTML ...
    assert not re.search(r"(?<!\\)\]\(https://evil", run.stdout)  # ... nor a link
    assert "\\<img src=x onerror=alert(1)\\> \\[win\\](https://evil.example) \\| col" in run.stdout
    assert "### In the catalog and unused" in run.stdout


def test_sources_come_from_guardrails_yaml_with_a_csv_column_mapping(catalog: Path) -> None:
    card = catalog / "card.csv"
    card.write_text(
        "Posted;Who;Payee;Value;Kind\n02.03.2026;ann@example.com;TYPEFORM SL;1.499,00;Software\n"
    )
    settings(
        catalog,
        {
            "expenses": {
                "export": "card.csv",
                "columns": {
                    "date": "Posted",
                    "employee": "Who",
                    "merchant": "Payee",
                    "amount": "Value",
                    "category": "Kind",
                },
                "date_format": "%d.%m.%Y",
                "decimal_comma": True,
                "delimiter": ";",
                "currency": "EUR",
            },
            "okta": {"export": ["estate/okta"]},
        },
    )
    run = discover("--format", "json", catalog=catalog)
    assert run.exit_code == 1, run.stderr
    document = run.json()
    assert document["sources"] == ["expenses", "okta"]
    assert _tools(document)["typeform"]["spend"] == {"amount": 1618.92, "currency": "USD"}


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"gogle": {}}, "guardrails.yaml: discover.gogle: unknown; known: limits, entra, "),
        (
            {"okta": {"org_ur": "x"}},
            "guardrails.yaml: discover.okta.org_ur is not a setting of okta; known: export, "
            "live, org_url",
        ),
        (
            {"expenses": {"export": "x.csv", "columns": {"merchnt": "M"}}},
            "guardrails.yaml: discover.expenses.columns.merchnt: unknown field; fields are "
            "merchant",
        ),
        (
            {"limits": {"timeout": "soon"}},
            "guardrails.yaml: discover.limits.timeout: expected one of",
        ),
    ],
)
def test_bad_settings_are_an_error(catalog: Path, block: dict[str, object], message: str) -> None:
    settings(catalog, block)
    run = discover("--from", f"expenses={EXAMPLES / 'estate' / 'expenses'}", catalog=catalog)
    assert run.exit_code == 2
    assert run.stderr.startswith(f"guardrails: error: {message}"), run.stderr


def test_nothing_to_discover_from_is_an_error() -> None:
    run = discover()
    assert run.exit_code == 2
    assert "nothing to discover from: pass --from SOURCE=PATH or --live SOURCE" in run.stderr


def test_an_unknown_source_is_a_usage_error() -> None:
    run = discover("--from", "slack=exports/slack.json")
    assert run.exit_code == 2
    assert (
        "expected SOURCE=PATH with SOURCE one of google, entra, okta, identity-center, expenses"
        in run.stderr
    )


def test_fail_on_warn_and_a_quiet_estate(tmp_path: Path) -> None:
    okta = tmp_path / "okta.json"
    apps = json.loads((EXAMPLES / "estate" / "okta" / "apps.json").read_text())
    users = json.loads((EXAMPLES / "estate" / "okta" / "app-users.json").read_text())
    okta.write_text(json.dumps(apps + users))
    assert discover(f"--from=okta={okta}").exit_code == 0  # warnings only
    assert discover(f"--from=okta={okta}", "--fail-on-warn").exit_code == 1


def test_people_beyond_a_manifest_are_not_guessed_when_groups_are_unknown(catalog: Path) -> None:
    (catalog / "directory.yaml").unlink()  # group membership unknown here
    document = discover(*estate_args(), "--format", "json", catalog=catalog).json()
    assert document["unlisted_users"] == []


def test_the_organisation_adds_its_own_discovery_rule_in_rego(catalog: Path) -> None:
    (catalog / "policies" / "data").mkdir(parents=True, exist_ok=True)
    (catalog / "policies" / "ai_tools.rego").write_text(
        "package guardrails.discovered.ai_tools\n\nimport rego.v1\n\n"
        "violation contains v if {\n"
        "\tsome name, tool in input.tools\n"
        "\tnot tool.in_catalog\n"
        '\tcontains(lower(tool.title), "surveypanel")\n'
        '\tv := {"rule": "SEC-NO-PANEL-VENDORS", "manifest": name, "path": ["spend"],\n'
        '\t\t"message": concat("", [tool.title, " sells panel data"])}\n'
        "}\n"
    )
    (catalog / "policies" / "data" / "ai.yaml").write_text(
        "rules:\n  SEC-NO-PANEL-VENDORS:\n    title: No survey panel vendors\n"
        "    category: security\n    severity: high\n    level: hard-mandatory\n"
        "    applies_to: discovered\n    remediation: Cancel it.\n"
    )
    run = discover(*estate_args("expenses"), "--format", "json", catalog=catalog)
    assert run.exit_code == 1
    [finding] = [f for f in run.json()["findings"] if f["rule"] == "SEC-NO-PANEL-VENDORS"]
    assert (finding["manifest"], finding["blocking"], finding["line"]) == (
        "surveypanel-pro",
        True,
        7,
    )
    # Metadata that does not say the rule judges discovered tools is an error, not a pass.
    (catalog / "policies" / "data" / "ai.yaml").write_text(
        (catalog / "policies" / "data" / "ai.yaml").read_text().replace("discovered", "manifests")
    )
    wrong = discover(*estate_args("expenses"), catalog=catalog)
    assert wrong.exit_code == 2
    assert (
        "SEC-NO-PANEL-VENDORS, whose metadata does not say `applies_to: discovered`" in wrong.stderr
    )
