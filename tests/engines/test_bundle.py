"""`guardrails policy bundle`: the layout of OPA's documented bundle format, read back."""

from __future__ import annotations

import gzip
import io
import json
import re
import shutil
import tarfile
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLES, FIXTURES, REPO, guardrails
from tests.engines.opa_double import running

ORG = FIXTURES / "engines" / "org-catalog"


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def _build(tmp_path: Path, catalog: Path, name: str = "bundle.tar.gz") -> Path:
    out = tmp_path / name
    run = guardrails("policy", "bundle", "-o", out, "--catalog", catalog)
    assert run.exit_code == 0, run.stderr
    assert f"wrote {out}:" in run.stdout
    return out


def _read(bundle: Path) -> dict[str, bytes]:
    raw = bundle.read_bytes()
    assert raw[:2] == b"\x1f\x8b"  # gzip
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(raw))) as tar:
        for member in tar.getmembers():
            assert member.isfile()
            extracted = tar.extractfile(member)
            assert extracted is not None
            files[member.name] = extracted.read()
    return files


def test_layout_matches_opa_bundle_format(tmp_path: Path) -> None:
    files = _read(_build(tmp_path, ORG))
    manifest = json.loads(files["/.manifest"])
    assert manifest["roots"] == ["guardrails"]
    assert re.fullmatch(r"[0-9a-f]{64}", manifest["revision"])
    # data.json at the bundle root holds the whole tree under the root key.
    data = json.loads(files["/data.json"])
    assert list(data) == ["guardrails"]
    assert data["guardrails"]["org"] == {"frozen_teams": ["field-marketing"]}
    assert data["guardrails"]["rules"]["SEC-SCIM-REQUIRED"]["level"] == "advisory"
    shipped = yaml.safe_load((REPO / "policies" / "data" / "rules.yaml").read_text())
    assert set(shipped["rules"]) <= set(data["guardrails"]["rules"])
    # Every non-test Rego file in force, shipped and the organisation's, nothing else.
    rego = {name for name in files if name.endswith(".rego")}
    expected = {f"/guardrails/{p.name}" for p in (REPO / "policies").glob("*.rego")}
    expected = {p for p in expected if not p.endswith("_test.rego")} | {"/guardrails/org.rego"}
    assert rego == expected
    assert set(files) == {"/.manifest", "/data.json", *rego}
    assert files["/guardrails/org.rego"] == (ORG / "policies" / "org.rego").read_bytes()
    # Every package lies under the declared root, as OPA requires.
    for name in rego:
        package = re.search(rb"^package\s+([\w.]+)", files[name], re.MULTILINE)
        assert package and package.group(1).split(b".")[0] == b"guardrails", name


def test_same_policies_give_a_byte_identical_bundle(tmp_path: Path) -> None:
    first = _build(tmp_path, EXAMPLES, "one.tar.gz").read_bytes()
    second = _build(tmp_path, EXAMPLES, "two.tar.gz").read_bytes()
    assert first == second


def test_revision_changes_with_the_data(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(ORG, catalog)
    before = json.loads(_read(_build(tmp_path, catalog, "a.tar.gz"))["/.manifest"])
    data = catalog / "policies" / "data" / "org.yaml"
    data.write_text(data.read_text().replace("[field-marketing]", "[sales]"))
    after = json.loads(_read(_build(tmp_path, catalog, "b.tar.gz"))["/.manifest"])
    assert before["revision"] != after["revision"]


def test_the_double_loads_the_bundle_and_answers(tmp_path: Path) -> None:
    bundle = _build(tmp_path, ORG)
    with running() as double:
        double.load_bundle(bundle.read_bytes())
        revision = json.loads(_read(bundle)["/.manifest"])["revision"]
        assert double.revision == revision
        defined, value = double.evaluate(
            ["guardrails", "policies", "org", "violation"],
            {"now": "2026-11-22", "manifests": {"x": {"metadata": {"team": "field-marketing"}}}},
        )
    assert defined
    assert [v["rule"] for v in value] == ["ORG-TEAM-FROZEN"]


def test_bundle_of_a_catalog_with_broken_config_exits_2(tmp_path: Path) -> None:
    (tmp_path / "guardrails.yaml").write_text("default_policies: false\n")
    run = guardrails("policy", "bundle", "-o", tmp_path / "b.tar.gz", "-C", tmp_path)
    assert run.exit_code == 2
    assert "no Rego policies found" in run.stderr
    assert not (tmp_path / "b.tar.gz").exists()
