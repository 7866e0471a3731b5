"""Manifest bytes as a pull request can write them: YAML 1.2 lines, the end of the file,
absurd numbers, secrets as keys; and a cache that knows when guardrails itself changed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from guardrails.catalog.examine import examine
from guardrails.catalog.safe_yaml import LoadError, load_bytes, load_text, load_value
from tests.conftest import EXAMPLES, NOW, REPO, guardrails

BAD = EXAMPLES / "bad"

SSO_NONE = (EXAMPLES / "bad" / "manifests" / "sso-none.yaml").read_text(encoding="utf-8")


def findings(root: Path, *flags: str) -> tuple[int, list[dict[str, Any]]]:
    run = guardrails("check", root, "--now", NOW, "-f", "json", *flags)
    assert run.exit_code in (0, 1), run.stderr
    return run.exit_code, run.json()["findings"]


@pytest.fixture
def one_manifest(tmp_path: Path) -> Path:
    """A catalog of the compliant examples (no cache), to which a test adds a file."""
    root = tmp_path / "catalog"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns("bad", ".guardrails-cache"))
    return root


# --- YAML 1.2 lines -------------------------------------------------------------------


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_unicode_line_separators_are_text_not_line_breaks(separator: str) -> None:
    # YAML 1.1 (PyYAML) ends the comment at the separator and reads `kind: Nope` as a
    # second `kind`; in YAML 1.2, and to a reviewer, it is all comment.
    text = f"kind: SaaSTool # was{separator}kind: Nope\nname: x\npurpose: 'a{separator}b'\n"
    loaded = load_text(text)
    assert loaded.value == {"kind": "SaaSTool", "name": "x", "purpose": f"a{separator}b"}
    assert loaded.positions.value(("name",)) == (2, 7)
    assert loaded.positions.value(("purpose",)) == (3, 10)
    assert load_value(text.encode()) == loaded.value


def test_a_line_separator_in_a_comment_shifts_no_finding(one_manifest: Path) -> None:
    text = SSO_NONE.replace(
        "apiVersion: guardrails/v1", "# reviewed\u2028by IT\napiVersion: guardrails/v1", 1
    )
    (one_manifest / "manifests" / "sso-none.yaml").write_text(text, encoding="utf-8")
    code, found = findings(one_manifest, "--no-cache")
    line = next(i for i, t in enumerate(text.split("\n"), 1) if t.startswith("    sso: none"))
    assert code == 1
    sso = [f for f in found if f["rule"] == "SEC-SSO-REQUIRED"]
    assert [(f["line"], f["column"]) for f in sso] == [(line, 10)]


# --- the end of the file --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("a: [1, 2\n", (1, 9)),
        ("a: [1, 2\n\n\n", (1, 9)),
        ("a: {b: 1", (1, 9)),
        ("a: 'open\n  quote\n", (2, 8)),
    ],
)
def test_a_parse_error_at_the_end_points_inside_the_file(text: str, where: tuple[int, int]) -> None:
    with pytest.raises(LoadError) as raised:
        load_bytes(text.encode())
    assert (raised.value.mark.line, raised.value.mark.column) == where
    lines = text.split("\n")
    assert raised.value.mark.line <= len([line for line in lines if line.strip()])


# --- numbers ------------------------------------------------------------------------------


def test_a_five_thousand_digit_integer_is_a_finding_at_its_line(one_manifest: Path) -> None:
    text = SSO_NONE.replace("sso: none", "sso: saml").replace(
        "annual: ", "annual: " + "9" * 5000 + "  # was: "
    )
    assert "9" * 5000 in text
    (one_manifest / "manifests" / "huge.yaml").write_text(text, encoding="utf-8")
    code, found = findings(one_manifest, "--no-cache")
    line = next(i for i, t in enumerate(text.split("\n"), 1) if "9" * 5000 in t)
    [finding] = [f for f in found if f["file"].endswith("huge.yaml")]
    assert code == 1
    assert (finding["rule"], finding["line"]) == ("SCHEMA-PARSE", line)
    assert "5,000-digit number is larger than any value the schema allows" in finding["message"]


def test_an_absurd_amount_is_refused_at_its_line(one_manifest: Path) -> None:
    """Beyond 2^53 no engine holds a number alike: never judged, blocking at its line."""
    hubspot = one_manifest / "manifests" / "hubspot.yaml"
    text = hubspot.read_text().replace("annual: 48000", "annual: 123456789012345678901234567890")
    hubspot.write_text(text)
    code, found = findings(one_manifest, "--no-cache")
    line = text.split("\n").index("    annual: 123456789012345678901234567890") + 1
    [finding] = [f for f in found if f["file"].endswith("hubspot.yaml")]
    assert code == 1
    assert (finding["rule"], finding["line"]) == ("SCHEMA-PARSE", line)
    assert finding["message"].startswith("123456789012345678901234567890 is beyond ±2^53")


def test_the_largest_amount_the_schema_allows_is_judged(one_manifest: Path) -> None:
    hubspot = one_manifest / "manifests" / "hubspot.yaml"
    text = hubspot.read_text().replace("annual: 48000", "annual: 1000000000001")
    hubspot.write_text(text)
    code, found = findings(one_manifest, "--no-cache")
    line = text.split("\n").index("    annual: 1000000000001") + 1
    [finding] = [f for f in found if f["rule"] == "SCHEMA-INVALID"]
    assert code == 1
    assert (finding["line"], finding["path"]) == (line, "spec.cost.annual")
    assert finding["message"] == "spec.cost.annual: 1000000000001 must be at most 1,000,000,000,000"


# --- secrets as keys ------------------------------------------------------------------


def test_an_unknown_key_is_repeated_only_when_it_is_a_typo_of_a_field() -> None:
    base = (EXAMPLES / "manifests" / "hubspot.yaml").read_text()
    typo = examine(base.replace("classification:", "clasification:").encode(), "manifest", 1 << 20)
    [problem] = [p for p in typo.problems if p.message.startswith("unknown key")]
    assert problem.message == "unknown key 'clasification' in spec.data"
    assert problem.path == ("spec", "data", "clasification")
    for key in ("AKIAIOSFODNN7EXAMPLE", "hunter2-and-more", "xoxb-1234567890-abcdefghij"):
        text = base.replace("classification:", f"{key}: x\n    classification:")
        [problem] = examine(text.encode(), "manifest", 1 << 20).problems
        assert key not in problem.message + problem.remediation + repr(problem.path)
        assert problem.message.startswith("unknown key in spec.data (not repeated here")
        assert problem.path == ("spec", "data")
        line = text.split("\n").index(f"    {key}: x") + 1
        assert (problem.line, problem.column) == (line, 5)  # still at the key itself


def test_credential_text_is_masked_in_every_finding(one_manifest: Path) -> None:
    # Through a value too: an integration named like a token appears in messages.
    hubspot = one_manifest / "manifests" / "hubspot.yaml"
    token = "xoxb-1234567890-abcdefghijkl"
    hubspot.write_text(hubspot.read_text().replace("- tool: salesforce", f"- tool: {token}"))
    for fmt in ("text", "json", "sarif", "junit", "github", "markdown"):
        run = guardrails("check", one_manifest, "--now", NOW, "-f", fmt, "--no-cache")
        assert run.exit_code == 1
        assert token not in run.stdout + run.stderr, fmt
        assert "SEC-NO-SECRETS" in run.stdout
    text = guardrails("check", one_manifest, "--now", NOW, "--no-cache").stdout
    assert "integration target '<redacted>' is neither a catalog tool" in text


def test_a_credential_pattern_with_its_own_flags_masks_too(one_manifest: Path) -> None:
    """An org pattern with an inline flag (`(?i)`) cannot be joined with the others into
    one expression: it is used on its own, and the check still ends in findings."""
    data = one_manifest / "policies" / "data" / "secrets.yaml"
    data.write_text("secrets:\n  patterns:\n    staff token: '(?i)staff-tok-[a-z0-9]{8}'\n")
    hubspot = one_manifest / "manifests" / "hubspot.yaml"
    token = "STAFF-TOK-abcd1234"
    hubspot.write_text(hubspot.read_text().replace("- tool: salesforce", f"- tool: {token}"))
    run = guardrails("check", one_manifest, "--now", NOW, "--no-cache")
    assert run.exit_code == 1, run.stdout + run.stderr
    assert token not in run.stdout + run.stderr
    assert "integration target '<redacted>' is neither a catalog tool" in run.stdout


# --- the cache knows the code it was written by --------------------------------------------


def test_an_edit_anywhere_in_guardrails_invalidates_the_cache(tmp_path: Path) -> None:
    """A copy of the package, run twice with its cache; an edit outside the loader's own
    modules (the path format findings.py writes into messages) must show at once."""
    package = tmp_path / "package"
    shutil.copytree(REPO / "guardrails", package / "guardrails",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    for shipped in ("policies", "schemas"):
        shutil.copytree(REPO / shipped, package / shipped)
    catalog = tmp_path / "catalog"
    shutil.copytree(BAD, catalog, ignore=shutil.ignore_patterns(".guardrails-cache"))
    typo = catalog / "manifests" / "typo.yaml"
    typo.write_text(
        (EXAMPLES / "manifests" / "hubspot.yaml")
        .read_text()
        .replace("name: hubspot", "name: typo")
        .replace("classification:", "clasification:")
    )
    env = {**os.environ, "PYTHONPATH": str(package), "XDG_CACHE_HOME": str(tmp_path / "cache")}

    def check() -> str:
        done = subprocess.run(
            [sys.executable, "-m", "guardrails", "check", str(catalog), "--now", NOW],
            env=env, capture_output=True, text=True, check=False, cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 1, done.stderr
        return done.stdout

    assert "unknown key 'clasification' in spec.data" in check()
    assert (catalog / ".guardrails-cache" / "catalog.v2").is_file()
    findings_py = package / "guardrails" / "findings.py"
    source = findings_py.read_text()
    findings_py.write_text(
        source.replace('out += f".{part}" if out else part', 'out += f"/{part}"')
    )
    assert "unknown key 'clasification' in /spec/data" in check()
