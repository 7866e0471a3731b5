"""Matching evidence to tools: deterministic, explained, and the same on every engine."""

from __future__ import annotations

import pytest

from guardrails.discover.interface import Evidence, Origin
from guardrails.discover.match import Matcher, Vendor, match_all, normalise, parents, slug
from tests.discover.conftest import discover, estate_args


@pytest.mark.parametrize(
    ("name", "normalised"),
    [
        ("SQ *Notion Labs, Inc.", "notion labs"),
        ("PAYPAL *CANVA", "canva"),
        ("Typeform SL", "typeform sl"),
        ("HubSpot Marketing Hub", "hubspot marketing hub"),
        ("ZOOM.US 888-799-9666", "zoom us 888 799 9666"),
        ("Café Software GmbH", "cafe"),
    ],
)
def test_names_are_compared_without_case_punctuation_and_company_words(
    name: str, normalised: str
) -> None:
    assert normalise(name) == normalised


def test_tool_names_for_unknown_apps_are_valid_manifest_names() -> None:
    assert slug("PDF Docs Sync") == "pdf-docs-sync"
    assert slug("SQ *SURVEYPANEL PRO") == "surveypanel-pro"
    assert slug("!!!", "client-1").startswith("app-")  # nothing usable in the name
    assert len(slug("word " * 40)) <= 63


def test_parent_domains_stop_at_the_registrable_domain() -> None:
    assert list(parents("app.eu.hubspot.com")) == [
        "app.eu.hubspot.com",
        "eu.hubspot.com",
        "hubspot.com",
    ]
    assert list(parents("www.shop.example.co.uk")) == ["shop.example.co.uk", "example.co.uk"]


def _evidence(app: str, kind: str = "oauth-grant", **fields: object) -> Evidence:
    return Evidence(source="google", kind=kind, app=app, origin=Origin("x.json"), **fields)  # type: ignore[arg-type]


def test_each_rule_in_order_with_its_confidence() -> None:
    vendors = [
        Vendor(
            "notion",
            "Notion",
            domains=("notion.so",),
            aliases=("notion labs",),
            client_ids=("c-1",),
        ),
        Vendor("chrome", "Google Chrome", ignore=True),
    ]
    matcher = Matcher([], vendors, ["software"])
    found = match_all(
        matcher,
        [
            _evidence("Anything", client_id="c-1"),
            _evidence("Other", domains=("www.notion.so",)),
            _evidence("NOTION LABS", kind="expense"),
            _evidence("Notion Labs Team Plan", kind="expense"),
            _evidence("Google Chrome"),
            _evidence("Side Project", client_id="c-9"),
            _evidence("Side Project (beta)", client_id="c-9"),
            _evidence("SIDE PROJECT", kind="expense"),
            _evidence("ACME SURVEYS", kind="expense", category="Software"),
            _evidence("DELTA AIR LINES", kind="expense", category="Travel"),
        ],
    )
    assert [(m.tool, m.by, m.confidence) for _, m in found.matches] == [
        ("notion", "client id", 1.0),
        ("notion", "domain", 0.9),
        ("notion", "name", 0.9),
        ("notion", "name prefix", 0.7),
        ("side-project", "grouped", 0.5),  # one tool per client id, whatever its names
        ("side-project", "grouped", 0.5),
        ("side-project", "grouped", 0.5),  # an expense joins the app it names
        ("acme-surveys", "software expense", 0.4),
    ]
    assert [e.app for e in found.ignored] == ["Google Chrome"]
    assert [e.app for e in found.unmatched] == ["DELTA AIR LINES"]


def test_the_result_does_not_depend_on_the_order_of_records() -> None:
    records = [_evidence("Beta Name", client_id="c-2"), _evidence("Alpha Name", client_id="c-2")]
    one = match_all(Matcher([], []), records)
    other = match_all(Matcher([], []), list(reversed(records)))
    assert {m.tool for _, m in one.matches} == {m.tool for _, m in other.matches} == {"alpha-name"}


def test_every_engine_gives_the_same_findings() -> None:
    regorus = discover(*estate_args(), "--format", "json", "--engine", "regorus")
    regopy = discover(*estate_args(), "--format", "json", "--engine", "regopy")
    assert regorus.exit_code == regopy.exit_code == 1
    assert regorus.json()["findings"] == regopy.json()["findings"]
