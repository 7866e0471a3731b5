"""The catalog cache: a warm check says exactly what a cold one says, and a cache that
is stale, corrupt or forged is never believed."""

from __future__ import annotations

import hmac
import marshal
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from guardrails.catalog import cache as catalog_cache
from guardrails.catalog.cache import FOLDER, CatalogCache, _fingerprint
from guardrails.catalog.examine import examine
from guardrails.engine import policy_set
from tests.conftest import EXAMPLES, FIXTURES, NOW, guardrails

TABLES = Path(FOLDER) / "catalog.v2"
DOCUMENTS = Path(FOLDER) / "documents.v2"
JOURNAL = Path(FOLDER) / "journal.v2"


@pytest.fixture(autouse=True)
def _own_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The HMAC key lives in the user's cache directory; keep the test's apart.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))


@pytest.fixture
def compliant(catalog: Path) -> Path:
    """The writable examples catalog, without a cache a previous run may have left."""
    shutil.rmtree(catalog / FOLDER, ignore_errors=True)
    return catalog


@pytest.fixture
def bad_catalog(tmp_path: Path) -> Path:
    """A writable catalog with policy findings, parse errors and schema errors."""
    root = tmp_path / "bad"
    shutil.copytree(EXAMPLES / "bad", root, ignore=shutil.ignore_patterns(FOLDER))
    for fixture in (FIXTURES / "loader" / "manifests").glob("*.yaml"):
        shutil.copy(fixture, root / "manifests" / f"loader-{fixture.name}")
    return root


def check(root: Path, *flags: str) -> tuple[int, Any]:
    run = guardrails("check", root, "--now", NOW, "-f", "json", *flags)
    assert run.exit_code in (0, 1), run.stderr
    return run.exit_code, run.json()


def test_warm_check_reports_exactly_what_a_cold_one_does(bad_catalog: Path) -> None:
    cold = check(bad_catalog, "--no-cache")
    filling = check(bad_catalog)
    assert (bad_catalog / TABLES).is_file() and (bad_catalog / DOCUMENTS).is_file()
    warm = check(bad_catalog)
    assert cold == filling == warm
    assert cold[0] == 1 and {f["rule"] for f in cold[1]["findings"]} >= {
        "SCHEMA-PARSE",
        "SCHEMA-INVALID",
        "SEC-SSO-REQUIRED",
    }


def test_no_cache_writes_no_cache_folder(bad_catalog: Path) -> None:
    check(bad_catalog, "--no-cache")
    assert not (bad_catalog / FOLDER).exists()


def test_a_changed_manifest_is_read_again(compliant: Path) -> None:
    catalog = compliant
    assert check(catalog)[0] == 0
    manifest = catalog / "manifests" / "hubspot.yaml"
    text = manifest.read_text(encoding="utf-8")
    assert "sso: saml" in text
    manifest.write_text(text.replace("sso: saml", "sso: none"), encoding="utf-8")
    warm = check(catalog)
    assert warm == check(catalog, "--no-cache")
    assert warm[0] == 1
    assert any(
        f["rule"] == "SEC-SSO-REQUIRED" and f["file"].endswith("hubspot.yaml")
        for f in warm[1]["findings"]
    )


@pytest.fixture
def trusting_stat(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trust the stat signatures of files written a moment ago (normally they are read
    again, being too close to the last check to rule out a change within the clock's
    granularity), so that what is under test is the path that does not read them."""
    monkeypatch.setattr(catalog_cache, "RACY_NS", -60_000_000_000)


@pytest.mark.parametrize(
    "part", [TABLES, DOCUMENTS, JOURNAL], ids=["tables", "documents", "journal"]
)
@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b: b[: len(b) // 2], id="truncated"),
        pytest.param(lambda b: b[:-200] + bytes(x ^ 0xFF for x in b[-200:]), id="bit-flipped"),
        pytest.param(lambda b: b[:100] + b"true" + b[104:], id="edited"),
        pytest.param(lambda b: b"not a cache at all", id="garbage"),
        pytest.param(lambda b: b"", id="empty"),
    ],
)
@pytest.mark.usefixtures("trusting_stat")
def test_a_corrupt_cache_is_ignored(bad_catalog: Path, part: Path, damage: Any) -> None:
    check(bad_catalog)
    edit = bad_catalog / "manifests" / "sso-none.yaml"
    edit.write_text(edit.read_text("utf-8") + "# an edit the journal records\n", "utf-8")
    check(bad_catalog)
    damaged = bad_catalog / part
    assert damaged.is_file()
    damaged.write_bytes(damage(damaged.read_bytes()))
    cold = check(bad_catalog, "--no-cache")
    assert check(bad_catalog) == cold
    assert check(bad_catalog) == cold  # and the rewritten cache is sound


def test_a_forged_entry_never_lets_a_manifest_pass(bad_catalog: Path) -> None:
    """An entry made without this user's key (e.g. committed into the repository)."""
    cold = check(bad_catalog, "--no-cache")
    target = bad_catalog / "manifests" / "sso-none.yaml"
    compliant = examine((EXAMPLES / "manifests" / "hubspot.yaml").read_bytes(), "manifest", 1 << 20)
    assert compliant.valid
    forger = CatalogCache(bad_catalog / FOLDER, b"\x01" * 32, _fingerprint())
    forger.put(forger.key("manifest", 1 << 20, target.read_bytes()), compliant)
    forger.save()
    assert (bad_catalog / TABLES).is_file()
    assert check(bad_catalog) == cold


@pytest.mark.usefixtures("trusting_stat")
def test_an_edit_that_keeps_size_and_modification_time_is_still_seen(compliant: Path) -> None:
    """The stat signature holds the change time too, which no program can set back."""
    manifest = compliant / "manifests" / "hubspot.yaml"
    assert check(compliant)[0] == 0
    before = manifest.stat()
    text = manifest.read_text("utf-8")
    manifest.write_text(text.replace("sso: saml", "sso: none"), "utf-8")
    os.utime(manifest, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = manifest.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    warm = check(compliant)
    assert warm == check(compliant, "--no-cache")
    assert any(f["rule"] == "SEC-SSO-REQUIRED" for f in warm[1]["findings"])


@pytest.mark.usefixtures("trusting_stat")
def test_an_unchanged_catalog_is_answered_from_the_cache(compliant: Path) -> None:
    """Nothing to read, examine or evaluate: the cache is not even rewritten."""
    first = check(compliant)
    written = (compliant / TABLES).stat().st_mtime_ns
    assert check(compliant) == first
    assert check(compliant) == first
    assert (compliant / TABLES).stat().st_mtime_ns == written


def test_an_earlier_versions_cache_is_removed(compliant: Path) -> None:
    (compliant / FOLDER).mkdir()
    (compliant / FOLDER / "examined.v1").write_bytes(b"old")
    check(compliant)
    assert not (compliant / FOLDER / "examined.v1").exists()
    assert (compliant / TABLES).is_file()


def test_an_unwritable_catalog_still_checks(compliant: Path) -> None:
    catalog = compliant
    (catalog / FOLDER).write_text("a file where the cache folder would go", encoding="utf-8")
    assert check(catalog) == check(catalog, "--no-cache")


@pytest.mark.usefixtures("trusting_stat")
def test_a_damaged_journal_is_replaced_not_extended(compliant: Path) -> None:
    """Records after a bad one are never read: the next change rewrites the tables."""
    manifest = compliant / "manifests" / "hubspot.yaml"

    def edit_and_check() -> tuple[int, Any]:
        manifest.write_text(manifest.read_text("utf-8") + "# another edit\n", "utf-8")
        return check(compliant)

    check(compliant)
    edit_and_check()
    journal = compliant / JOURNAL
    one_record = journal.stat().st_size
    journal.write_bytes(b"X" + journal.read_bytes()[1:])
    assert edit_and_check() == check(compliant, "--no-cache")
    assert not journal.exists()  # written anew into the tables
    edit_and_check()
    assert journal.stat().st_size == one_record


@pytest.mark.usefixtures("trusting_stat")
def test_policy_data_is_parsed_once_then_taken_by_its_content(
    bad_catalog: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every policy data file (the shipped ones and the catalog's) is parsed by the
    first check, none by the next; an edited one is parsed again, and counts."""
    parsed: list[bytes] = []
    real = policy_set.load_marked

    def counting(data: bytes, *args: Any) -> Any:
        parsed.append(data)
        return real(data, *args)

    monkeypatch.setattr(policy_set, "load_marked", counting)
    cold = check(bad_catalog, "--no-cache")
    everything = len(parsed)
    assert everything >= 5
    parsed.clear()
    assert check(bad_catalog) == cold and len(parsed) == everything
    parsed.clear()
    assert check(bad_catalog) == cold and parsed == []
    data = bad_catalog / "policies" / "data" / "levels.yaml"
    data.write_text("rules:\n  SEC-SSO-REQUIRED:\n    level: advisory\n", "utf-8")
    warm = check(bad_catalog)
    assert parsed == [data.read_bytes()]
    assert warm == check(bad_catalog, "--no-cache") != cold
    data.write_text("rules:\n  SEC-SSO-REQUIRED:\n    level: lenient\n", "utf-8")
    refused = guardrails("check", bad_catalog, "--now", NOW)
    assert refused.exit_code == 2 and "levels.yaml:3:12: rule SEC-SSO-REQUIRED" in refused.stderr


def test_policy_data_kept_without_the_key_changes_nothing(bad_catalog: Path) -> None:
    """Policy data in the tables, every rule made advisory (its findings would stop
    blocking) and signed with another key, is never believed; signed with the user's
    key it would be: the signature is what guards it."""
    cold = check(bad_catalog, "--no-cache")
    assert cold[0] == 1
    check(bad_catalog)
    tables = bad_catalog / TABLES
    head = len(catalog_cache._MAGIC) + catalog_cache._HEADER.size
    loaded = list(marshal.loads(tables.read_bytes()[head:]))
    forged = {}
    for key, payload in loaded[7].items():
        value = marshal.loads(payload)
        for entry in (value.get("rules") or {}).values():
            entry["level"] = "advisory"
        forged[key] = marshal.dumps(value)
    loaded[7] = forged
    payload = marshal.dumps(tuple(loaded))

    def signed_with(key: bytes) -> None:
        mac = hmac.digest(key, payload, "sha256")
        header = catalog_cache._HEADER.pack(mac, len(payload))
        tables.write_bytes(catalog_cache._MAGIC + header + payload)

    signed_with(b"\x01" * 32)
    assert check(bad_catalog) == cold
    user_key = catalog_cache._secret()
    assert user_key is not None
    signed_with(user_key)
    believed = check(bad_catalog)[1]["findings"]
    sso = [f["blocking"] for f in believed if f["rule"] == "SEC-SSO-REQUIRED"]
    assert sso and not any(sso)
