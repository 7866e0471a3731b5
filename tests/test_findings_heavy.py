"""A findings-heavy catalog (a first import: nearly every manifest breaks rules) gets
byte for byte the same reports from the fast paths as from the slow reference ones:
positions from a second parse of each file, SARIF written by `json.dumps`, no cache;
and a re-check after an edit says what a check without the cache says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.corpus import generate
from guardrails.catalog import cache as catalog_cache
from guardrails.catalog import examine as examine_module
from guardrails.findings import AppliedException, Category, Finding
from guardrails.report import json_format, sarif_format
from tests.conftest import NOW, guardrails

# Enough files to examine and locate on every core (`cores.PARALLEL_FROM`).
MANIFESTS = 450


@pytest.fixture(autouse=True)
def _own_secret_and_trusting_stat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    # Files written a moment ago count as unchanged when their signature says so (as
    # they would a few seconds later): the re-check reads only the edited file.
    monkeypatch.setattr(catalog_cache, "RACY_NS", -60_000_000_000)


@pytest.fixture
def heavy(tmp_path: Path) -> Path:
    return generate(tmp_path / "catalog", MANIFESTS, share=0.98)


def reports(root: Path, out: Path, *flags: str) -> dict[str, bytes]:
    """The text report (stdout), and the JSON and SARIF reports of the same check."""
    out.mkdir(parents=True, exist_ok=True)
    json_file, sarif_file = out / "report.json", out / "report.sarif"
    run = guardrails(
        "check", root, "--now", NOW, "--json", json_file, "--sarif", sarif_file, *flags
    )
    assert run.exit_code == 1, run.stderr
    return {
        "text": run.stdout.encode(),
        "json": json_file.read_bytes(),
        "sarif": sarif_file.read_bytes(),
    }


def reference(root: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """The reports by the slow paths: every file with a finding parsed again for its
    positions, SARIF indented by the json module, nothing cached."""
    with monkeypatch.context() as slow:
        real = examine_module.load_marked
        slow.setattr(examine_module, "load_marked", lambda *a: (real(*a)[0], []))
        slow.setattr(
            sarif_format, "indented", lambda value: json.dumps(value, indent=2, ensure_ascii=False)
        )
        return reports(root, out, "--no-cache")


def test_the_fast_paths_write_the_reference_reports(
    heavy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = reference(heavy, tmp_path / "reference", monkeypatch)
    findings: list[Any] = json.loads(expected["json"])["findings"]
    # The shape it is meant to be: nearly every manifest, several rules each.
    assert len({f["file"] for f in findings}) > 0.95 * MANIFESTS
    assert len(findings) > 3.3 * MANIFESTS
    assert len({f["rule"] for f in findings}) >= 10
    assert reports(heavy, tmp_path / "cold", "--no-cache") == expected
    assert reports(heavy, tmp_path / "filling") == expected  # the cache is filled
    assert reports(heavy, tmp_path / "re-check") == expected  # and read back


def test_a_re_check_after_an_edit_says_what_a_full_check_says(
    heavy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports(heavy, tmp_path / "filling")
    first = heavy / "manifests" / "tool-00000.yaml"
    text = first.read_text("utf-8")
    assert "    sso: none\n" in text
    # Its findings move down two lines, and it no longer breaks the SSO rule.
    first.write_text(
        text.replace("spec:\n", "spec:\n  # two more lines\n  #\n", 1).replace(
            "    sso: none\n", "    sso: saml\n"
        ),
        "utf-8",
    )
    again = reports(heavy, tmp_path / "re-check")
    assert again == reference(heavy, tmp_path / "reference", monkeypatch)
    edited = [
        f for f in json.loads(again["json"])["findings"] if f["file"].endswith("tool-00000.yaml")
    ]
    assert edited and "SEC-SSO-REQUIRED" not in {f["rule"] for f in edited}


def test_indented_json_is_the_json_modules() -> None:
    values: list[Any] = [
        {"a": [1, 2.5, None, True, False, 'é\u2028"\\\n\x01', float("nan"), -(10**30)]},
        {"b": {}, "c": [], "d": {"e": [{"f": -0.0, "g": 1e300, "h": float("-inf")}]}},
        [],
        {},
        "text",
        0,
        None,
        [[[]]],
        {"": {"": [{}]}},
    ]
    for value in values:
        assert sarif_format.indented(value) == json.dumps(value, indent=2, ensure_ascii=False)
    with pytest.raises(TypeError):
        sarif_format.indented({1: "a key json would turn into text"})
    with pytest.raises(TypeError):
        sarif_format.indented((1, 2))


def test_a_findings_json_line_is_the_json_modules() -> None:
    odd = ['é\u2028"\\\n\x01\t', "\udcff lone surrogate", "", "\U0001f600", "</script>&"]
    waiver = AppliedException("w", "2027-01-01", "a@example.com", odd[0], odd[1])
    findings = [
        Finding(
            rule=text or "R",
            title=text,
            category=category,
            severity="high",
            level="soft-mandatory",
            blocking=blocking,
            manifest=manifest,
            file=f"manifests/{text}.yaml",
            line=line,
            column=7,
            path=f"spec.{text}[0]",
            message=text * 3,
            remediation=text,
            exception=exception,
        )
        for text in odd
        for category in (Category.SECURITY, Category.EXCEPTION)
        for blocking in (True, False)
        for manifest in (None, text)
        for exception in (None, waiver)
        for line in (1, 10**12)
    ]
    # Values of other types than the fields declare are written as json.dumps would.
    findings.append(Finding(**{**vars(findings[0]), "line": True, "message": 3.5}))
    findings.append(Finding(**{**vars(findings[1]), "title": None}))
    for finding in findings:
        expected = json.dumps(json_format.finding_dict(finding))
        assert json_format.line(finding) == expected
