"""The examined-file cache: a warm check says exactly what a cold one says, and a cache
that is stale, corrupt or forged is never believed."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from guardrails.catalog.cache import FOLDER, ExaminedCache, _fingerprint
from guardrails.catalog.examine import ExaminedFile
from tests.conftest import EXAMPLES, FIXTURES, NOW, guardrails

PACK = Path(FOLDER) / "examined.v1"


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
    assert (bad_catalog / PACK).is_file()
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


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b: b[: len(b) // 2], id="truncated"),
        pytest.param(lambda b: b[:-200] + bytes(x ^ 0xFF for x in b[-200:]), id="bit-flipped"),
        pytest.param(lambda b: b.replace(b'"valid":false', b'"valid":true!'), id="edited"),
        pytest.param(lambda b: b"not a cache at all", id="garbage"),
        pytest.param(lambda b: b"", id="empty"),
    ],
)
def test_a_corrupt_cache_is_ignored(bad_catalog: Path, damage: Any) -> None:
    cold = check(bad_catalog, "--no-cache")
    check(bad_catalog)
    pack = bad_catalog / PACK
    pack.write_bytes(damage(pack.read_bytes()))
    assert check(bad_catalog) == cold
    assert check(bad_catalog) == cold  # and the rewritten cache is sound


def test_a_forged_entry_never_lets_a_manifest_pass(bad_catalog: Path, tmp_path: Path) -> None:
    """An entry made without this user's key (e.g. committed into the repository)."""
    cold = check(bad_catalog, "--no-cache")
    target = bad_catalog / "manifests" / "sso-none.yaml"
    good = (EXAMPLES / "manifests" / "hubspot.yaml").read_bytes()
    forger = ExaminedCache(bad_catalog / FOLDER, b"\x01" * 32, _fingerprint())
    _, (compliant, _) = check_one(good)
    key = forger.key("manifest", 1024 * 1024, target.read_bytes())
    forger.put(key, ExaminedFile(compliant, True, ()))
    forger.save()
    assert check(bad_catalog) == cold


def check_one(data: bytes) -> tuple[int, tuple[Any, bool]]:
    from guardrails.catalog.examine import examine

    examined = examine(data, "manifest", 1024 * 1024)
    return 0, (examined.document, examined.valid)


def test_an_unwritable_catalog_still_checks(compliant: Path) -> None:
    catalog = compliant
    (catalog / FOLDER).write_text("a file where the cache folder would go", encoding="utf-8")
    assert check(catalog) == check(catalog, "--no-cache")
