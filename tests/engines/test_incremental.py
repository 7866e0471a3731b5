"""Incremental evaluation: a re-check that reuses remembered verdicts says exactly what a
check of the whole catalog without a cache says, whatever changed in between."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.corpus import generate
from guardrails import cores
from guardrails.catalog import cache as catalog_cache
from guardrails.catalog.cache import FOLDER
from guardrails.engine import evaluate as evaluate_module
from tests.conftest import EXAMPLES, FIXTURES, NOW, guardrails


@pytest.fixture(autouse=True)
def _own_secret_and_trusting_stat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    # Files a test wrote a moment ago are normally read again (their time stamps are
    # too close to the last check's to be trusted); here they are trusted, so the
    # path that does not read unchanged files is the one under test. Every edit below
    # changes a file's size or change time, as any edit does.
    monkeypatch.setattr(catalog_cache, "RACY_NS", -60_000_000_000)


def report(root: Path, *flags: str) -> tuple[int, Any]:
    run = guardrails("check", root, "--now", NOW, "-f", "json", *flags)
    assert run.exit_code in (0, 1), run.stderr
    return run.exit_code, run.json()


def same_as_full(root: Path, *flags: str) -> tuple[int, Any]:
    """Check with the cache, and assert it says what a check without one says."""
    warm = report(root, *flags)
    assert warm == report(root, "--no-cache", *flags)
    return warm


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), "utf-8")


def rules_of(result: tuple[int, Any], file: str) -> set[str]:
    return {f["rule"] for f in result[1]["findings"] if f["file"].endswith(file)}


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    root = tmp_path / "catalog"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns("bad", FOLDER))
    return root


def test_a_neighbours_change_reaches_an_unchanged_manifest(examples: Path) -> None:
    manifests = examples / "manifests"
    assert same_as_full(examples)[0] == 0
    # salesforce stops declaring personal.contact: hubspot (unchanged) now sends it
    # personal data salesforce may not hold.
    edit(manifests / "salesforce.yaml", "[personal.contact, personal.purchase-history]", "[]")
    result = same_as_full(examples)
    assert "STD-PERSONAL-DATA-FLOW" in rules_of(result, "hubspot.yaml")
    # salesforce disappears: hubspot's integration target is unknown.
    (manifests / "salesforce.yaml").rename(examples / "salesforce.yaml.away")
    result = same_as_full(examples)
    assert "STD-INTEGRATION-UNKNOWN" in rules_of(result, "hubspot.yaml")
    # It comes back as it was: the remembered verdicts apply again.
    (examples / "salesforce.yaml.away").rename(manifests / "salesforce.yaml")
    edit(manifests / "salesforce.yaml", "categories: []", "categories: [personal.contact]")
    assert same_as_full(examples)[0] == 0


def test_a_neighbour_that_breaks_the_schema_or_is_renamed(examples: Path) -> None:
    manifests = examples / "manifests"
    same_as_full(examples)
    edit(manifests / "salesforce.yaml", "  purpose:", "  purpse:")  # now schema-invalid
    result = same_as_full(examples)
    assert "SCHEMA-INVALID" in rules_of(result, "salesforce.yaml")
    edit(manifests / "salesforce.yaml", "  purpse:", "  purpose:")
    edit(manifests / "salesforce.yaml", "name: salesforce", "name: salesforce-crm")
    result = same_as_full(examples)
    assert "STD-INTEGRATION-UNKNOWN" in rules_of(result, "hubspot.yaml")
    # Two files with one name: the whole catalog is evaluated, and says so.
    shutil.copy(manifests / "hubspot.yaml", manifests / "hubspot-copy.yaml")
    result = same_as_full(examples)
    assert "SCHEMA-DUPLICATE-NAME" in rules_of(result, "hubspot-copy.yaml")


def test_policy_data_the_date_and_org_rules_are_part_of_every_verdict(examples: Path) -> None:
    same_as_full(examples)
    data = examples / "policies" / "data"
    data.mkdir(parents=True, exist_ok=True)  # examples/ has IT's bindings there
    (data / "cost.yaml").write_text("cost:\n  annual_threshold: 1000\n", "utf-8")
    result = same_as_full(examples)
    assert "COST-ANNUAL-THRESHOLD" in rules_of(result, "hubspot.yaml")
    assert same_as_full(examples, "--now", "2031-01-01")[0] == 1  # certificates expired
    # An organisation's own rule may look across the whole catalog: no verdict is reused.
    (examples / "policies" / "count.rego").write_text(
        "package guardrails.policies.count\n\nimport rego.v1\n\n"
        "violation contains v if {\n"
        "\tcount(input.manifests) > 8\n"
        "\tsome name, _ in input.manifests\n"
        '\tv := {"rule": "ORG-TOO-MANY", "manifest": name, "path": [], "message": "too many"}\n'
        "}\n",
        "utf-8",
    )
    (data / "org.yaml").write_text(
        "rules:\n  ORG-TOO-MANY:\n    title: Too many tools\n    category: cost\n"
        "    severity: low\n    level: advisory\n    remediation: Retire one.\n",
        "utf-8",
    )
    assert not rules_of(same_as_full(examples), "hubspot.yaml") & {"ORG-TOO-MANY"}
    shutil.copy(EXAMPLES / "bad" / "manifests" / "sso-none.yaml", examples / "manifests")
    assert "ORG-TOO-MANY" in rules_of(same_as_full(examples), "hubspot.yaml")


def test_the_bad_catalog_through_a_series_of_edits(tmp_path: Path) -> None:
    root = tmp_path / "bad"
    shutil.copytree(EXAMPLES / "bad", root, ignore=shutil.ignore_patterns(FOLDER))
    for fixture in (FIXTURES / "loader" / "manifests").glob("*.yaml"):
        shutil.copy(fixture, root / "manifests" / f"loader-{fixture.name}")
    manifests = root / "manifests"
    same_as_full(root)
    for step in _edits(manifests):
        step()
        same_as_full(root)


def _edits(manifests: Path) -> list[Callable[[], object]]:
    flow = manifests / "personal-data-flow.yaml"
    secret = manifests / "secret-value.yaml"
    return [
        lambda: edit(flow, "direction:", "direction: outbound\n      # was:"),
        lambda: secret.unlink(),
        lambda: shutil.copy(EXAMPLES / "bad" / "manifests" / "secret-value.yaml", secret),
        lambda: edit(manifests / "sso-none.yaml", "sso: none", "sso: saml"),
        lambda: (manifests / "weak-security.yaml").write_bytes(b"- not: a mapping\n"),
    ]


def test_random_edits_to_a_generated_catalog(tmp_path: Path) -> None:
    """Deletes, copies, renames and edits in a 60-tool catalog where every tool
    integrates with others: after each, the re-check equals the full check."""
    root = generate(tmp_path / "corpus", 60, seed=11)
    manifests = root / "manifests"
    rng = random.Random(5)
    same_as_full(root)
    for _ in range(12):
        files = sorted(manifests.glob("*.yaml"))
        target = rng.choice(files)
        action = rng.choice(("delete", "copy", "rename", "categories", "classification"))
        if action == "delete":
            target.unlink()
        elif action == "copy":  # a second file with the same name
            shutil.copy(target, manifests / f"copy-{rng.randrange(10**6)}.yaml")
        elif action == "rename":
            text = target.read_text("utf-8")
            target.write_text(text.replace("name: tool-", "name: renamed-", 1), "utf-8")
        elif action == "categories":
            text = target.read_text("utf-8")
            target.write_text(text.replace("personal.contact", "content"), "utf-8")
        else:
            text = target.read_text("utf-8")
            target.write_text(text.replace("classification: ", "classification: public #"), "utf-8")
        same_as_full(root)


@pytest.mark.parametrize("which", ["examples", "bad", "generated"])
def test_judging_in_parts_says_what_judging_all_at_once_says(
    which: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large catalog is judged in parts, one per core, each with the tools its
    manifests name as neighbours; here every catalog is, in three parts."""
    if which == "generated":
        root = generate(tmp_path / "corpus", 90, seed=3)
    else:
        root = tmp_path / which
        source = EXAMPLES / "bad" if which == "bad" else EXAMPLES
        shutil.copytree(source, root, ignore=shutil.ignore_patterns("bad", FOLDER))
    at_once = report(root, "--no-cache")
    monkeypatch.setattr(evaluate_module, "PARTS_FROM", 1)
    monkeypatch.setattr(cores, "usable_cores", lambda: 3)
    assert report(root, "--no-cache") == at_once
    assert report(root, "--no-cache", "--engine", "regopy") == at_once
