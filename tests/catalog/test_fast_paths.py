"""The fast paths answer exactly as the careful ones: value-only loading, lazy positions,
the compiled schema validator, and examining files on several processes."""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import pytest

from guardrails.catalog.examine import examine, locate_all
from guardrails.catalog.load import load_catalog
from guardrails.catalog.safe_yaml import (
    LazyPositions,
    LoadError,
    MarkedPositions,
    load_bytes,
    load_marked,
    load_value,
)
from guardrails.catalog.schema import is_date, is_valid, rust_pattern, validate
from guardrails.catalog.tree import WorkTree
from guardrails.config import load_config
from guardrails.cores import on_all_cores
from tests.conftest import EXAMPLES, FIXTURES, REPO

YAML_FILES = sorted(
    p
    for folder in (EXAMPLES, FIXTURES)
    for p in folder.rglob("*.y*ml")
    if ".guardrails-cache" not in p.parts
)
TRICKY = [
    b"a: &x {b: [1, 2]}\nc: *x\nd: [*x, *x]\n",
    b"a:\n  - b: 1\n  - [x, {y: 2}]\n  -\n    - z\n",
    b"? complex\n: value\nplain: 0x1F\nflt: .5\nn: ~\n",
    b"a: 1\na: 2\n",
    b"!!python/object:os.system x\n",
    b"a: !custom 1\n",
    b"a: &a [*a]\n",
    b"- 1\n- 2\n",
    b"",
    b"a: 1\n---\nb: 2\n",
    b"a:\n\tb: 1\n",
    b"\xff\xfe bad",
    b"k: " + b"[" * 100 + b"]" * 100 + b"\n",
]


@pytest.mark.parametrize("data", [p.read_bytes() for p in YAML_FILES] + TRICKY)
def test_value_only_loading_accepts_and_refuses_as_the_full_loader(data: bytes) -> None:
    try:
        expected: Any = load_bytes(data).value
    except LoadError as err:
        expected = ("refused", str(err))
    try:
        got: Any = load_value(data)
    except LoadError as err:
        got = ("refused", str(err))
    assert got == expected or (got != got and expected != expected)  # NaN


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += [*paths(item, (*prefix, key)), (*prefix, key, "missing", 0)]
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
        found += [(*prefix, len(value)), (*prefix, -1), (*prefix, "0")]
    return found


@pytest.mark.parametrize("data", [p.read_bytes() for p in YAML_FILES] + TRICKY[:3])
def test_lazy_positions_match_the_recorded_ones(data: bytes) -> None:
    try:
        loaded = load_bytes(data)
    except LoadError:
        return
    lazy = LazyPositions(data)
    for path in [*paths(loaded.value), ("nowhere",), ()]:
        assert lazy.value(path) == loaded.positions.value(path), path
        assert lazy.key(path) == loaded.positions.key(path), path
        assert lazy.locate(path) == loaded.positions.locate(path), path


def heavy_corpus_files() -> list[bytes]:
    """Manifests of the findings-heavy bench corpus: every flaw it writes, aliases none."""
    import sys

    sys.path.insert(0, str(REPO / "bench"))
    from corpus import manifest

    rng = random.Random(7)
    return [manifest(index, 60, rng, 0.98).encode() for index in range(60)]


@pytest.mark.parametrize(
    "data", [p.read_bytes() for p in YAML_FILES] + TRICKY + heavy_corpus_files()
)
def test_marks_of_the_loading_parse_answer_as_the_recorded_positions(data: bytes) -> None:
    # A file with a finding is not parsed again: the marks its loading took answer.
    try:
        loaded = load_bytes(data)
    except LoadError:
        return
    value, marks = load_marked(data)
    marked = MarkedPositions(value, marks)
    asked = [*paths(loaded.value), ("nowhere",), (), (0,), (1.0,), (True,)]
    asked += [(*path, step) for path in paths(loaded.value) for step in (1.0, True, 0)]
    for path in asked:
        assert marked.value(path) == loaded.positions.value(path), path
        assert marked.key(path) == loaded.positions.key(path), path
        assert marked.locate(path) == loaded.positions.locate(path), path


def mutations(document: dict[str, Any], rng: random.Random) -> list[Any]:
    """Plausible mistakes: wrong types, odd strings, removed and added keys."""
    odd = [
        None, True, 1, 1.0, -1, 2.5, "", " ", "x\n", "UPPER", "a b", "https://a\x1cb",
        "2027-02-30", "2027-02-28", "not-an-email", "a@b.co", "é", [], {}, [1, 1.0], ["a", "a"],
    ]  # fmt: skip
    found: list[Any] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if isinstance(node, dict):
            for key in list(node):
                walk(node[key], (*path, key))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, (*path, index))
        for replacement in rng.sample(odd, 6):
            changed = copy.deepcopy(document)
            if not path:
                continue
            parent = changed
            for step in path[:-1]:
                parent = parent[step]
            parent[path[-1]] = replacement
            found.append(changed)
        if isinstance(node, dict) and path:
            extra = copy.deepcopy(document)
            target = extra
            for step in path:
                target = target[step]
            target["clasification"] = "public"
            found.append(extra)

    walk(document, ())
    return found


@pytest.mark.parametrize("name", ["hubspot", "salesforce", "canva"])
def test_the_fast_validator_never_passes_what_the_reference_refuses(name: str) -> None:
    document = load_bytes((EXAMPLES / "manifests" / f"{name}.yaml").read_bytes()).value
    rng = random.Random(name)
    checked = 0
    for candidate in mutations(document, rng):
        if is_valid("manifest", candidate):
            assert validate("manifest", candidate) == [], candidate
        checked += 1
    assert checked > 200


def test_patterns_keep_pythons_whitespace_in_rust() -> None:
    assert rust_pattern(r"^https://[^\s]+$") == r"^https://[^\s\x1c-\x1f]+$"
    assert rust_pattern(r"a\sb") == r"a[\s\x1c-\x1f]b"
    assert rust_pattern(r"^[a-z0-9]+$") == r"^[a-z0-9]+$"


def test_parallel_examining_gives_what_serial_gives() -> None:
    files = [p.read_bytes() for p in YAML_FILES] * 3
    serial = [examine(data, "manifest", 1 << 20) for data in files]
    assert on_all_cores(lambda data: examine(data, "manifest", 1 << 20), files, 2) == serial


@pytest.mark.parametrize("folder", [EXAMPLES, EXAMPLES / "bad", FIXTURES / "loader"])
def test_parallel_loading_gives_the_same_catalog(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    tree, config = WorkTree(folder), load_config(folder)

    def shape(workers: int) -> Any:
        catalog = load_catalog(tree, config, workers=workers)
        manifests = [(m.name, m.file, m.document, m.valid) for m in catalog.manifests]
        located = [m.positions.locate(("spec", "auth", "sso")) for m in catalog.manifests]
        exceptions = [(e.name, e.file, e.positions.locate(("spec",))) for e in catalog.exceptions]
        return manifests, located, catalog.problems, exceptions, catalog.files

    assert shape(1) == shape(2)


def test_examine_reports_a_list_root_at_its_position() -> None:
    examined = examine(b"# comment\n- a\n- b\n", "manifest", 1024)
    assert not examined.valid and examined.document is None
    (problem,) = examined.problems
    assert (problem.rule, problem.line, problem.column) == ("SCHEMA-PARSE", 2, 1)


def test_locating_ahead_on_all_cores_answers_as_asking_one_by_one() -> None:
    files = []
    for path in YAML_FILES:
        try:
            files.append((path.read_bytes(), load_bytes(path.read_bytes()).value))
        except LoadError:
            continue
    ahead = [(LazyPositions(data), value) for data, value in files]
    asked = [(lazy, path) for lazy, value in ahead for path in paths(value)]
    locate_all(asked, workers=2)
    for lazy, path in asked:
        fresh = LazyPositions(lazy.data)
        assert lazy.unknown("locate", [path]) == []
        assert lazy.locate(path) == fresh.locate(path)


@pytest.mark.parametrize(
    "value",
    ["2027-02-28", "2027-02-29", "2028-02-29", "2027-13-01", "2027-00-10", "2027-1-01",
     "2027-01-01\n", " 2027-01-01", "२०२७-०१-०१", "20270101", "2027-W01-1", "", 7, None],
)  # fmt: skip
def test_the_date_format_is_the_reference_ones(value: Any) -> None:
    from jsonschema import FormatChecker

    assert is_date(value) == FormatChecker(formats=("date",)).conforms(value, "date")


def test_listing_files_finds_what_rglob_finds(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    base = root / "manifests"
    for name in ("a.yaml", "b.yml", "c.txt", ".hidden.yaml", "sub/d.yaml", ".dot/e.yaml",
                 "sub/deeper/f.yaml", "g.yaml.bak"):  # fmt: skip
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_text("a: 1\n", encoding="utf-8")
    (base / "folder.yaml").mkdir()
    (base / "link.yaml").symlink_to(base / "a.yaml")
    (base / "broken.yaml").symlink_to(base / "missing.yaml")
    (base / "linked-dir").symlink_to(base / "sub", target_is_directory=True)
    expected = sorted(
        p.relative_to(root).as_posix()
        for p in base.rglob("*")
        if p.name.endswith((".yaml", ".yml")) and p.is_file() and not p.name.startswith(".")
    )
    # What rglob finds, plus the broken link: listed so that reading it is refused.
    tree = WorkTree(root)
    assert tree.files("manifests", (".yaml", ".yml")) == sorted(
        [*expected, "manifests/broken.yaml"]
    )
    assert "manifests/link.yaml" in expected and "manifests/.dot/e.yaml" in expected
    assert tree.linked == {"manifests/link.yaml": str((base / "a.yaml").resolve())}
    assert tree.refused.keys() == {"manifests/broken.yaml"}
    assert WorkTree(root).files("missing", (".yaml",)) == []
