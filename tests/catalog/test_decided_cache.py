"""Decided findings kept in the cache (`guardrails/decided.py`): a re-check takes an
unchanged manifest's findings as they were decided, and writes the very reports (text,
JSON, SARIF, byte for byte) that a check without the cache writes, whatever changed in
between that they were decided under: the exceptions in force (in the working tree or
at the base branch), the date they expire against, the rules' levels, the manifest's
file, the tools it names. A kept finding edited without the user's key is never
believed."""

from __future__ import annotations

import hmac
import marshal
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from guardrails.catalog import cache as catalog_cache
from guardrails.catalog.cache import FOLDER
from guardrails.log import configure
from tests.conftest import EXAMPLES, NOW, guardrails
from tests.security.conftest import GIT_ENV, commit_all, git

Reports = dict[str, bytes]


@pytest.fixture(autouse=True)
def _own_secret_debug_log_and_trusting_stat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    monkeypatch.setenv("GUARDRAILS_LOG", "debug")  # says how many findings were taken
    # Files written a moment ago count as unchanged when their signature says so (as
    # they would a few seconds later): the path that reads no unchanged file is tested.
    monkeypatch.setattr(catalog_cache, "RACY_NS", -60_000_000_000)
    yield
    configure({})  # the next test starts quiet, as a new process does


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The examples catalog (one valid exception: canva's SCIM waiver) with the bad
    examples' manifests, so that most manifests have findings."""
    catalog = tmp_path / "catalog"
    shutil.copytree(EXAMPLES, catalog, ignore=shutil.ignore_patterns("bad", FOLDER))
    for manifest in (EXAMPLES / "bad" / "manifests").glob("*.yaml"):
        shutil.copy(manifest, catalog / "manifests" / manifest.name)
    return catalog


def check(root: Path, out: Path, *flags: str) -> tuple[int, Reports, int]:
    """(exit code, the text, JSON and SARIF reports, manifests whose findings were
    taken from the cache) of one check."""
    out.mkdir(parents=True, exist_ok=True)
    json_file, sarif_file = out / "report.json", out / "report.sarif"
    run = guardrails(
        "check", root, "--now", NOW, "--json", json_file, "--sarif", sarif_file, *flags
    )
    assert run.exit_code in (0, 1), run.stderr
    reports = {
        "text": run.stdout.encode(),
        "json": json_file.read_bytes(),
        "sarif": sarif_file.read_bytes(),
    }
    taken = [
        int(line.split("decided findings: ")[1].split()[0])
        for line in run.stderr.splitlines()
        if "decided findings: " in line
    ]
    return run.exit_code, reports, sum(taken)


def same_as_uncached(root: Path, tmp_path: Path, *flags: str) -> tuple[int, Reports, int]:
    """A check with the cache, asserted to write what a check without it writes."""
    cached = check(root, tmp_path / "cached", *flags)
    uncached = check(root, tmp_path / "uncached", "--no-cache", *flags)
    assert cached[:2] == uncached[:2]
    assert uncached[2] == 0
    return cached


def findings_of(reports: Reports, file: str) -> list[str]:
    """The JSON report's lines about `file`."""
    lines = reports["json"].decode().splitlines()
    return [line for line in lines if '"file": ' in line and f"/{file}" in line]


def test_a_re_check_takes_the_kept_findings_and_writes_the_same_reports(
    root: Path, tmp_path: Path
) -> None:
    assert same_as_uncached(root, tmp_path)[2] == 0  # fills the cache
    code, reports, taken = same_as_uncached(root, tmp_path)
    assert code == 1 and taken >= 15  # the bad manifests' findings, all taken
    assert any(
        '"excepted"' in line or '"exception": {' in line
        for line in findings_of(reports, "canva.yaml")
    )
    # One manifest edited: its findings are decided again, the rest taken.
    sso = root / "manifests" / "sso-none.yaml"
    sso.write_text(sso.read_text("utf-8").replace("spec:\n", "spec:\n  # moved down\n", 1))
    assert same_as_uncached(root, tmp_path)[2] == taken - 1


def test_an_exception_changed_or_removed_reaches_the_findings_it_waived(
    root: Path, tmp_path: Path
) -> None:
    same_as_uncached(root, tmp_path)
    waiver = root / "exceptions" / "canva-scim-waiver.yaml"
    text = waiver.read_text("utf-8")
    waiver.write_text(text.replace("revisit at renewal", "revisit in March"), "utf-8")
    reports = same_as_uncached(root, tmp_path)[1]
    assert any("revisit in March" in line for line in findings_of(reports, "canva.yaml"))
    waiver.unlink()
    reports = same_as_uncached(root, tmp_path)[1]
    assert any(
        '"blocking": true' in line and "SEC-SCIM" in line
        for line in findings_of(reports, "canva.yaml")
    )


def test_an_exception_at_the_base_branch_is_the_one_that_counts(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    git(root, "init", "-q", "-b", "main")
    commit_all(root, "catalog")
    git(root, "checkout", "-q", "-b", "pr")
    assert same_as_uncached(root, tmp_path, "--policies-ref", "main")[2] == 0
    assert same_as_uncached(root, tmp_path, "--policies-ref", "main")[2]
    # IT withdraws the waiver on main; the pull request's working tree still has it.
    git(root, "checkout", "-q", "main")
    git(root, "rm", "-q", "exceptions/canva-scim-waiver.yaml")
    commit_all(root, "withdraw the waiver")
    git(root, "checkout", "-q", "pr")
    assert (root / "exceptions" / "canva-scim-waiver.yaml").is_file()
    reports = same_as_uncached(root, tmp_path, "--policies-ref", "main")[1]
    assert any(
        '"blocking": true' in line and "SEC-SCIM" in line
        for line in findings_of(reports, "canva.yaml")
    )


def test_an_exception_expiring_reaches_the_findings_it_waived(root: Path, tmp_path: Path) -> None:
    same_as_uncached(root, tmp_path)
    before = same_as_uncached(root, tmp_path)[1]
    after = same_as_uncached(root, tmp_path, "--now", "2027-04-01")[1]  # expired 2027-03-31
    assert findings_of(before, "canva.yaml") != findings_of(after, "canva.yaml")
    assert "EXC-EXPIRED" in after["json"].decode()


def test_a_level_changed_in_the_policy_data_reaches_every_kept_finding(
    root: Path, tmp_path: Path
) -> None:
    same_as_uncached(root, tmp_path)
    data = root / "policies" / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "levels.yaml").write_text(
        "rules:\n  SEC-SSO-REQUIRED:\n    level: soft-mandatory\n", "utf-8"
    )
    reports = same_as_uncached(root, tmp_path)[1]
    assert '"level": "soft-mandatory"' in "".join(findings_of(reports, "sso-none.yaml"))


def test_a_moved_file_gets_findings_that_name_it(root: Path, tmp_path: Path) -> None:
    same_as_uncached(root, tmp_path)
    moved = root / "manifests" / "moved"
    moved.mkdir()
    (root / "manifests" / "sso-none.yaml").rename(moved / "sso-none.yaml")
    reports = same_as_uncached(root, tmp_path)[1]
    assert findings_of(reports, "moved/sso-none.yaml")


def test_a_neighbour_changed_and_back_never_revives_findings_of_another_state(
    root: Path, tmp_path: Path
) -> None:
    """hubspot sends personal data to salesforce: while salesforce does not declare it,
    hubspot has a finding; once it does, none; kept findings of the first state must
    not come back when hubspot's verdict is reused in the second."""
    salesforce = root / "manifests" / "salesforce.yaml"
    text = salesforce.read_text("utf-8")
    declared = "[personal.contact, personal.purchase-history]"
    assert declared in text
    salesforce.write_text(text.replace(declared, "[]"), "utf-8")
    first = same_as_uncached(root, tmp_path)[1]
    assert "STD-PERSONAL-DATA-FLOW" in "".join(findings_of(first, "hubspot.yaml"))
    salesforce.write_text(text, "utf-8")
    second = same_as_uncached(root, tmp_path)[1]
    assert "STD-PERSONAL-DATA-FLOW" not in "".join(findings_of(second, "hubspot.yaml"))
    assert same_as_uncached(root, tmp_path)[1] == second  # hubspot's verdict reused


def test_a_kept_finding_edited_without_the_key_hides_nothing(root: Path, tmp_path: Path) -> None:
    """The decided findings are in the signed tables: every blocking one turned into a
    warning and signed with another key (a cache committed by a pull request, or
    written by another user) is never believed; signed with the user's key (which no
    pull request has) it would be, so it is the signature that guards them."""
    cold = check(root, tmp_path / "cold", "--no-cache")
    check(root, tmp_path / "filling")  # the tables now hold the decided findings
    tables = root / FOLDER / "catalog.v2"
    head = len(catalog_cache._MAGIC) + catalog_cache._HEADER.size
    loaded = list(marshal.loads(tables.read_bytes()[head:]))
    context, entries = loaded[6]
    forged = 0
    for key, entry in entries.items():
        forged += sum(row[5] for row in entry[5])
        entries[key] = (*entry[:5], tuple((*row[:5], False, *row[6:]) for row in entry[5]))
    assert forged
    loaded[6] = (context, entries)
    payload = marshal.dumps(tuple(loaded))

    def signed_with(key: bytes) -> None:
        mac = hmac.digest(key, payload, "sha256")
        tables.write_bytes(
            catalog_cache._MAGIC + catalog_cache._HEADER.pack(mac, len(payload)) + payload
        )

    signed_with(b"\x01" * 32)
    assert check(root, tmp_path / "forged")[:3] == (cold[0], cold[1], 0)
    user_key = catalog_cache._secret()
    assert user_key is not None
    signed_with(user_key)
    believed = check(root, tmp_path / "believed")
    assert believed[2] and believed[1]["json"] != cold[1]["json"]


def test_a_credential_in_a_kept_finding_stays_masked(root: Path, tmp_path: Path) -> None:
    """Findings are kept as reported: with credential-shaped text masked."""
    hubspot = (root / "manifests" / "hubspot.yaml").read_text("utf-8")
    leaky = hubspot.replace("name: hubspot", "name: leaky").replace(
        "  purpose:", "  AKIAIOSFODNN7EXAMPLE: rotated\n  purpose:"
    )
    (root / "manifests" / "leaky.yaml").write_text(leaky, "utf-8")
    same_as_uncached(root, tmp_path)
    _, reports, taken = same_as_uncached(root, tmp_path)
    assert taken
    assert "<redacted>" in "".join(findings_of(reports, "leaky.yaml"))
    for report in reports.values():
        assert b"AKIAIOSFODNN7EXAMPLE" not in report
