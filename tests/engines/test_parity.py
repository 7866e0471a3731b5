"""One verdict across engines: regorus, regopy and real OPA give identical reports.

Runs `guardrails check --format json` on every catalog found at run time (examples/,
examples/bad/, every fixture catalog under tests/fixtures/, among them
engines/adversarial-catalog, and a generated catalog of 1,000 manifests, which
regorus judges in parts and OPA whole) and on examples/ and examples/bad/ again under the
adversarial policy data of that catalog (`&<>` in every list a screen reads, İ ı ß ẞ K,
numbers up to 2^53), through every engine, and compares exit code, stderr and the
whole JSON report with regorus's. Real OPA runs twice: in-process (`--engine
opa-lib`) and as a server (`--engine opa` against tests/engines/opa_double.py, which
puts OPA's REST API in front of OPA's Go engine), loaded with the bundle `guardrails
policy bundle` builds for that catalog, so the bundle path is covered too.

Real OPA comes from the opa-golib-python-bindings wheel, which `make test` installs;
where it is missing these tests fail (the OPA cases cannot run), they never skip.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.corpus import generate
from guardrails.engine.evaluate import PARTS_FROM
from tests.conftest import EXAMPLES, FIXTURES, NOW, REPO, Run, guardrails
from tests.engines.opa_double import OpaDouble, running

ADVERSARIAL = FIXTURES / "engines" / "adversarial-catalog"
ADVERSARIAL_DATA = ADVERSARIAL / "policies" / "data" / "adversarial.yaml"
# Catalogs judged under the adversarial policy data too (copied, with that file added).
UNDER_ADVERSARIAL_DATA = (EXAMPLES, EXAMPLES / "bad")
ENGINES = ("regopy", "opa-lib", "opa")


def _catalogs() -> list[Path]:
    found = [EXAMPLES]
    found += sorted(
        p.parent
        for p in FIXTURES.glob("**/manifests")
        if p.is_dir() and p.parent != EXAMPLES and (p.parent / "manifests").is_dir()
    )
    if (EXAMPLES / "bad" / "manifests").is_dir():
        found.insert(1, EXAMPLES / "bad")
    return found


# A generated catalog large enough to be judged in parts on the embedded engines (and
# whole on OPA), and for the screens to work block by block.
GENERATED = f"generated-{PARTS_FROM}"
CATALOGS = [path.relative_to(REPO).as_posix() for path in _catalogs()]
CATALOGS += [
    f"{path.relative_to(REPO).as_posix()}+adversarial-data" for path in UNDER_ADVERSARIAL_DATA
]
CATALOGS.append(GENERATED)


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


@pytest.fixture(scope="module")
def opa() -> Iterator[OpaDouble]:
    with running() as double:
        yield double


def build_catalogs(scratch: Path) -> dict[str, Path]:
    """Each catalog name of the suite -> the folder to check; the generated catalog and
    the copies under the adversarial data are made in `scratch` (bench/parity_table.py
    prints the suite's table from the same catalogs)."""
    found = {name: REPO / name for name in CATALOGS if "+" not in name and name != GENERATED}
    found[GENERATED] = generate(scratch / "generated" / "corpus", PARTS_FROM)
    for source in UNDER_ADVERSARIAL_DATA:
        name = f"{source.relative_to(REPO).as_posix()}+adversarial-data"
        copy = scratch / "adversarial" / name.replace("/", "_") / source.name
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("bad", ".guardrails-cache"))
        (copy / "policies" / "data").mkdir(parents=True, exist_ok=True)
        shutil.copy(ADVERSARIAL_DATA, copy / "policies" / "data" / ADVERSARIAL_DATA.name)
        found[name] = copy
    return found


@pytest.fixture(scope="module")
def catalogs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each catalog name of the suite -> the folder to check (copies for the data overlay)."""
    return build_catalogs(tmp_path_factory.mktemp("catalogs"))


def _check(catalog: Path, *engine: str) -> Run:
    shown = catalog.relative_to(REPO).as_posix() if catalog.is_relative_to(REPO) else catalog
    return guardrails("check", shown, "--format", "json", "--now", NOW, "--no-cache", *engine)


def _on_engine(engine: str, catalog: Path, opa: OpaDouble, tmp_path: Path) -> Run:
    if engine == "opa":
        bundle = tmp_path / "bundle.tar.gz"
        built = guardrails("policy", "bundle", "-o", bundle, "--catalog", catalog)
        assert built.exit_code == 0, built.stderr
        opa.load_bundle(bundle.read_bytes())
        # One deadline per request: 1,000 manifests on a loaded 2-core machine can take
        # longer than the default 10 s, which fails closed (exit 2), not a verdict.
        return _check(catalog, "--engine", "opa", "--opa-url", opa.url, "--opa-timeout", "300")
    if engine == "regopy" and importlib.util.find_spec("regopy") is None:
        pytest.skip("regopy has no wheel on this platform")
    return _check(catalog, "--engine", engine)


def test_real_opa_is_installed() -> None:
    """The OPA cases need the wheel: say how to get it rather than fail obscurely."""
    assert importlib.util.find_spec("opa_bindings") is not None, (
        "real OPA is missing: pip install --no-deps --ignore-requires-python "
        "opa-golib-python-bindings==0.4.4 (make test does)"
    )


def test_the_suite_is_not_vacuous(catalogs: dict[str, Path]) -> None:
    """Catalogs yield blocking findings, among them every rule the adversarial data is
    about, so parity compares something."""
    outcomes = {name: _check(path, "--engine", "regorus") for name, path in catalogs.items()}
    assert all(r.exit_code in (0, 1) for r in outcomes.values()), [
        r.stderr for r in outcomes.values()
    ]
    adversarial = outcomes[ADVERSARIAL.relative_to(REPO).as_posix()].json()["findings"]
    fired = {(f["manifest"], f["rule"]) for f in adversarial}
    assert {
        ("ampersand", "SEC-VENDOR-DENYLIST"),
        ("ampersand", "SEC-NO-SECRETS"),
        ("ampersand", "ACC-PERSONAL-ACCOUNT"),
        ("ampersand", "STD-OWNER-TEAM"),
        ("angle-brackets", "SEC-VENDOR-DENYLIST"),
        ("angle-brackets", "STD-OWNER-TEAM"),
        ("dotted-i", "SEC-VENDOR-DENYLIST"),
        ("kelvin", "SEC-VENDOR-DENYLIST"),
        ("invalid-keys", "SEC-NO-SECRETS"),
        ("backslash", "SEC-NO-SECRETS"),
        ("fractions", "COST-ANNUAL-THRESHOLD"),
        ("large-numbers", "SEC-SCIM-REQUIRED"),
    } <= fired
    # Folding is ASCII (plus İ and K): ẞ and ı match only themselves.
    assert ("sharp-s", "SEC-VENDOR-DENYLIST") not in fired
    assert ("dotless-i", "SEC-VENDOR-DENYLIST") not in fired


def _cases() -> list[object]:
    # rego-cpp needs minutes for the generated catalog (about 0.1 s per manifest): it
    # is judged on real OPA only, every other catalog on every engine.
    return [
        pytest.param(catalog, engine, id=f"{catalog}-{engine}")
        for catalog in CATALOGS
        for engine in ENGINES
        if not (catalog == GENERATED and engine == "regopy")
    ]


@pytest.mark.parametrize(("catalog", "engine"), _cases())
def test_same_report_as_regorus(
    catalog: str, engine: str, catalogs: dict[str, Path], opa: OpaDouble, tmp_path: Path
) -> None:
    path = catalogs[catalog]
    reference = _check(path, "--engine", "regorus")
    other = _on_engine(engine, path, opa, tmp_path)
    assert other.stderr == reference.stderr
    assert other.exit_code == reference.exit_code
    assert other.json() == reference.json()


def test_auto_is_regorus_here(catalogs: dict[str, Path]) -> None:
    """The default engine gives the regorus verdict where regorus installs."""
    if importlib.util.find_spec("regorus") is None:
        pytest.skip("no regorus wheel on this platform")
    for path in catalogs.values():
        shown = path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else path
        default = guardrails("check", shown, "--format", "json", "--now", NOW, "--no-cache")
        assert default.stdout == _check(path, "--engine", "regorus").stdout


def test_numbers_beyond_2_53_are_refused_at_their_line(tmp_path: Path) -> None:
    """Beyond ±2^53 the engines no longer hold a number alike: never judged, on any engine."""
    catalog = tmp_path / "catalog"
    shutil.copytree(EXAMPLES, catalog, ignore=shutil.ignore_patterns("bad", ".guardrails-cache"))
    data = catalog / "policies" / "data" / "cost.yaml"
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text("cost:\n  annual_threshold: 12345678901234567890123\n")
    run = guardrails("check", catalog, "--now", NOW, "--engine", "opa-lib")
    assert run.exit_code == 2
    assert run.stderr.startswith("guardrails: error: ")
    assert run.stderr.strip().endswith(
        "policies/data/cost.yaml:2:21: 12345678901234567890123 is beyond ±2^53 "
        "(9007199254740992): not every Rego engine holds it exactly; write a smaller number, "
        "or quote it to keep it as text"
    )


def test_schema_valid_manifests_hold_only_lower_case_ascii_keys() -> None:
    """What the secrets rule's key screen relies on (policies/security.rego): every object
    of the manifest schema is closed, and its keys are lower-case ASCII but apiVersion
    (which the rule names), so the text of a schema-valid manifest needs no case folding
    to find a secret-looking key."""
    schema = json.loads((REPO / "schemas" / "manifest-v1.schema.json").read_text())

    def objects(node: object) -> Iterator[dict[str, object]]:
        if isinstance(node, dict):
            if node.get("type") == "object" or "properties" in node:
                yield node
            for value in node.values():
                yield from objects(value)
        elif isinstance(node, list):
            for value in node:
                yield from objects(value)

    found = list(objects(schema))
    assert found
    for node in found:
        assert node.get("additionalProperties") is False and "patternProperties" not in node
        properties = node.get("properties", {})
        assert isinstance(properties, dict)
        mixed = [k for k in properties if not re.fullmatch(r"[a-z0-9_]+", k)]
        assert mixed in ([], ["apiVersion"]), mixed
