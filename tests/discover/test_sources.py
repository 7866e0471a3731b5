"""Each source's parser on records shaped as its vendor documents them (the sample
estate, tests/fixtures/discover), and on malformed ones: a clear error naming the file,
the line and the record, exit 2, nothing dropped silently."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from guardrails.config import Config
from guardrails.discover import SOURCES, get_source
from guardrails.discover.interface import Evidence, Money, SourceError, SourceSettings
from tests.conftest import EXAMPLES, FIXTURES
from tests.discover.conftest import ESTATE, discover

HERE = FIXTURES / "discover"


def read(source: str, path: Path, **options: object) -> list[Evidence]:
    """Evidence the source reads from `path`, with these `discover.<source>` settings."""
    settings = SourceSettings(source, options, Config(root=EXAMPLES))
    return list(get_source(source).read([path], settings))


def test_the_registry_names_every_source_and_each_imports() -> None:
    assert list(SOURCES) == ["google", "entra", "okta", "identity-center", "expenses"]
    for name in SOURCES:
        assert get_source(name).name == name


# --- Google Workspace --------------------------------------------------------------


def test_google_tokens_are_named_by_the_users_listing() -> None:
    found = read("google", ESTATE / "google" / "directory-tokens.json")
    notion = [e for e in found if e.app == "Notion"]
    assert sorted(e.person for e in notion) == [
        "alice@example.com",
        "carol@example.com",
        "erin@example.com",
    ]
    assert notion[0].kind == "oauth-grant"
    assert (
        notion[0].client_id
        == "862131853347-notion0000000000000000000000001.apps.googleusercontent.com"
    )
    assert "https://www.googleapis.com/auth/drive" in notion[0].scopes
    assert notion[0].origin.record == "[1].items[0]"  # the first token list of the file
    assert len(found) == 8  # every token of every list


def test_google_token_activity_reads_scope_multivalue_and_time() -> None:
    found = read("google", ESTATE / "google" / "token-activity.json")
    assert [(e.person, e.seen) for e in found if e.app == "PDF Docs Sync"] == [
        ("dan@example.com", date(2026, 9, 15)),
        ("erin@example.com", date(2026, 11, 3)),
    ]
    assert found[0].scopes == (
        "https://www.googleapis.com/auth/drive",
        "https://www.googleapis.com/auth/userinfo.email",
        "openid",
    )


def test_google_activity_scopes_from_scope_data_and_activity_events() -> None:
    found = read("google", HERE / "google" / "scope-data-activity.json")
    # authorize + activity are use; the revoke event is not evidence of use.
    assert [(e.person, e.scopes) for e in found] == [
        ("ann@example.com", ("https://www.googleapis.com/auth/drive",)),
        ("ben@example.com", ()),
    ]
    assert {e.app for e in found} == {"Acme Board"}


# --- Microsoft Entra ID --------------------------------------------------------------


def test_entra_grants_assignments_and_first_party_apps() -> None:
    found = read("entra", ESTATE / "entra" / "graph-replies.json")
    grants = [e for e in found if e.kind == "oauth-grant" and e.app == "Miro"]
    assert sorted(e.person for e in grants) == ["grace@example.com", "lee.chen@example.com"]
    assert grants[0].scopes == ("User.Read", "Files.Read.All", "offline_access")
    assert grants[0].domains == ("miro.com",)
    consented = [e for e in found if e.kind == "oauth-grant" and e.app == "Salesforce"]
    assert [e.person for e in consented] == [None]  # AllPrincipals: admin consent
    assigned = [e for e in found if e.kind == "assignment"]
    assert {(e.person, e.seen) for e in assigned} == {
        ("sam.rivera@example.com", date(2025, 6, 10)),
        ("erin@example.com", date(2025, 6, 10)),
    }
    graph = [e for e in found if e.app == "Microsoft Graph"]
    assert [e.first_party for e in graph] == [True]  # counted, never a tool to govern


# --- Okta ----------------------------------------------------------------------------


def test_okta_app_users_name_their_app_by_link() -> None:
    found = read("okta", ESTATE / "okta")
    calendly = [e for e in found if e.app == "Calendly" and e.kind == "assignment"]
    assert sorted(e.person for e in calendly) == ["hugo@example.com", "priya.nair@example.com"]
    assert calendly[0].client_id == "0oa1calendly000000005"
    apps = {e.app: e for e in found if e.kind == "application"}
    assert apps["Calendly"].domains == ("calendly.com",)
    assert apps["Okta Dashboard"].first_party
    assert apps["Slack"].seen == date(2024, 2, 1)


# --- IAM Identity Center -------------------------------------------------------------


def test_identity_center_expands_groups_and_reads_epoch_dates() -> None:
    found = read("identity-center", HERE / "identity-center" / "epoch-dates.json")
    assert [(e.kind, e.app, e.person) for e in found] == [
        ("application", "Acme Wiki", None),
        ("assignment", "Acme Wiki", "ann@example.com"),
        ("assignment", "Acme Wiki", "ben@example.com"),
    ]
    assert found[0].seen == date(2026, 1, 1)
    assert found[1].memo == "via a group"


# --- Expenses ------------------------------------------------------------------------


def test_expenses_with_a_column_mapping() -> None:
    found = read(
        "expenses",
        HERE / "expenses" / "mapped-columns.csv",
        columns={
            "merchant": "Description",
            "amount": "Amount (local)",
            "currency": "Cur",
            "date": "Transaction Date",
            "employee": "Cardholder",
            "category": "Expense Type",
            "memo": "Notes",
        },
        date_format="%d/%m/%Y",
        decimal_comma=True,
        delimiter=";",
    )
    assert [(e.app, e.spend, e.seen, e.origin.line) for e in found] == [
        ("ACME WIKI GMBH", Money(Decimal("1234.50"), "EUR"), date(2026, 2, 3), 2),
        ("SQ *ACME, WIKI", Money(Decimal("-10.00"), "EUR"), date(2026, 2, 4), 4),
        ("DELTA AIR LINES", Money(Decimal("450.00"), "USD"), date(2026, 2, 5), 6),
    ]
    assert found[1].memo == "Refund,\nsplit over two lines"
    assert found[0].category == "Software"


def test_expenses_of_the_estate_use_the_default_columns() -> None:
    found = read("expenses", ESTATE / "expenses")
    assert len(found) == 10
    assert found[0].person == "alice@example.com"


# --- Malformed records: one line, file:line:col, the record, what is wrong ------------

MALFORMED = [
    (
        "google",
        "google/token-without-client-id.json",
        "google/token-without-client-id.json:13:5: items[1].clientId: clientId must be a "
        "non-empty string, found nothing",
    ),
    (
        "google",
        "google/unknown-kind.json",
        "google/unknown-kind.json:7:13: [1].kind: not a Directory tokens "
        "(admin#directory#tokenList), users (admin#directory#users) or Reports "
        "token-activity (admin#reports#activities) reply: kind is 'admin#directory#groups'",
    ),
    (
        "google",
        "google/scopes-not-a-list.json",
        "google/scopes-not-a-list.json:8:17: items[0].scopes: scopes must be a list of "
        "strings, found the string 'openid email'",
    ),
    (
        "google",
        "google/activity-bad-time.json",
        "google/activity-bad-time.json:6:17: items[0].id.time: not an ISO 8601 date or time: "
        "'yesterday'",
    ),
    (
        "google",
        "google/authorize-without-client-id.json",
        "google/authorize-without-client-id.json:15:25: items[0].events[0].parameters: an "
        "authorize event needs a client_id parameter",
    ),
    (
        "entra",
        "entra/grant-of-unknown-app.json",
        "entra/grant-of-unknown-app.json:6:19: value[0].clientId: clientId 0000-missing names "
        "no service principal in the replies read: include the servicePrincipals listing",
    ),
    (
        "entra",
        "entra/bad-consent-type.json",
        "entra/bad-consent-type.json:17:7: [1].value[0]: consentType must be AllPrincipals or "
        "Principal, not 'Everyone'",
    ),
    (
        "entra",
        "entra/not-a-collection.json",
        "entra/not-a-collection.json:1:1: value: not a Microsoft Graph collection reply "
        "(no value list)",
    ),
    (
        "entra",
        "entra/unrecognised-record.json",
        "entra/unrecognised-record.json:3:5: value[0]: not a service principal, OAuth2 "
        "permission grant, app role assignment or user",
    ),
    (
        "okta",
        "okta/app-user-without-app-link.json",
        "okta/app-user-without-app-link.json:18:15: [1]._links: an application user must name "
        "its app in _links.app.href (save /api/v1/apps/{appId}/users replies as they come)",
    ),
    (
        "okta",
        "okta/app-user-of-unknown-app.json",
        "okta/app-user-of-unknown-app.json:10:15: [0]._links: app 0oaMISSING is not in the "
        "applications read: include the /api/v1/apps listing",
    ),
    (
        "okta",
        "okta/not-a-listing.json",
        "okta/not-a-listing.json:1:1: $: not an Okta listing (a JSON array of applications or "
        "app users)",
    ),
    (
        "identity-center",
        "identity-center/assignment-to-unknown-app.json",
        "identity-center/assignment-to-unknown-app.json:4:25: "
        "ApplicationAssignments[0].ApplicationArn: arn:aws:sso::1:application/ssoins-1/apl-9 "
        "is not among the applications read: include list_applications",
    ),
    (
        "identity-center",
        "identity-center/bad-principal-type.json",
        "identity-center/bad-principal-type.json:12:7: [1].ApplicationAssignments[0]: "
        "PrincipalType must be USER or GROUP, not 'ROLE'",
    ),
    (
        "identity-center",
        "identity-center/not-a-reply.json",
        "identity-center/not-a-reply.json:1:1: $: not an Identity Center reply: it has none "
        "of Applications, ApplicationAssignments, Users, GroupMemberships",
    ),
    (
        "expenses",
        "expenses/empty-merchant.csv",
        "expenses/empty-merchant.csv:3: the merchant is empty",
    ),
    (
        "expenses",
        "expenses/bad-amount.csv",
        "expenses/bad-amount.csv:3: amount 'twelve' is not a number",
    ),
    (
        "expenses",
        "expenses/bad-date.csv",
        "expenses/bad-date.csv:2: date '06/01/2026' does not match '%Y-%m-%d' "
        "(discover.expenses.date_format)",
    ),
    (
        "expenses",
        "expenses/unknown-currency.csv",
        "expenses/unknown-currency.csv:3: no exchange rate for XAU: add "
        "discovery.exchange_rates.XAU (value of 1 XAU in USD) to the policy data",
    ),
    (
        "expenses",
        "expenses/short-row.csv",
        "expenses/short-row.csv:2: 3 values, but the header has 5 columns",
    ),
    (
        "expenses",
        "expenses/missing-column.csv",
        "expenses/missing-column.csv:1: no column 'Merchant' for the merchant "
        "(discover.expenses.columns.merchant); the columns are: 'Date', 'Employee', 'Vendor', "
        "'Amount'",
    ),
    ("expenses", "expenses/not-utf8.csv", "expenses/not-utf8.csv: not UTF-8 (byte 60)"),
]


@pytest.mark.parametrize(("source", "fixture", "message"), MALFORMED, ids=[m[1] for m in MALFORMED])
def test_a_malformed_record_is_an_error_naming_file_line_and_record(
    source: str, fixture: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURES.parent.parent)  # file names as the user typed them
    run = discover(f"--from={source}=tests/fixtures/discover/{fixture}")
    assert run.exit_code == 2
    assert run.stdout == ""
    assert run.stderr == f"guardrails: error: tests/fixtures/discover/{message}\n"


def test_every_malformed_fixture_is_tested() -> None:
    files = {p.relative_to(HERE).as_posix() for p in HERE.rglob("*") if p.is_file()}
    good = {
        "google/scope-data-activity.json",
        "identity-center/epoch-dates.json",
        "expenses/mapped-columns.csv",
    }
    assert files - good == {fixture for _, fixture, _ in MALFORMED}


def test_a_source_error_is_raised_not_returned() -> None:
    with pytest.raises(SourceError, match="no such export file or folder"):
        read("okta", HERE / "okta" / "missing.json")


def test_an_export_nested_beyond_reason_is_refused(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    run = discover(f"--from=okta={deep}")
    assert run.exit_code == 2
    assert run.stderr.endswith("deep.json: nested too deeply to be an API reply\n")
