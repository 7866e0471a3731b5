"""Property-based fuzzing of the loader: whatever bytes a pull request commits.

Inputs are real manifests cut, spliced and salted with what breaks parsers (YAML
syntax, tabs, tags, anchors, YAML 1.1 line breaks, bytes that are not UTF-8, huge
numbers, credentials). Properties:

* examining never raises, and whatever it refuses points inside the file;
* the fast path agrees with the strict reference (`load_bytes` + the reference JSON
  Schema validator), and a file the reference rejects is never valid;
* through the CLI: exit 0, 1 or 2, never a traceback; cached and `--no-cache` reports
  are equal; a file the reference rejects never passes.

The budget is fixed (`derandomize`: the same examples on every run) so CI stays fast
and repeatable; raise `FUZZ_EXAMPLES` locally to search longer.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardrails.catalog.examine import examine
from guardrails.catalog.safe_yaml import LoadError, load_bytes, load_value
from guardrails.catalog.schema import validate
from tests.conftest import EXAMPLES, NOW, guardrails

SEEDS = [p.read_bytes() for p in sorted((EXAMPLES / "manifests").glob("*.yaml"))] + [
    p.read_bytes() for p in sorted((EXAMPLES / "bad" / "manifests").glob("*.yaml"))
]
SALT = [
    b"\n", b" ", b"  ", b"\t", b":", b": ", b"- ", b"[", b"]", b"{", b"}", b",", b"#", b"'",
    b'"', b"&a ", b"*a", b"<<: *a\n", b"!!python/object/apply:os.system ", b"!!binary ",
    b"---\n", b"...\n", b"?", b"|", b">", b"~", b"null", b"no", b"0o17", b"0x1F", b".inf",
    b"1e999", b"9" * 40, b"9" * 5000, "\u2028".encode(), "\u2029".encode(), "\x85".encode(),
    "\ufeff".encode(), b"\r", b"\r\n", b"\x00", b"\xff", b"\xc3", b"\xed\xa0\x80",
    b"AKIAIOSFODNN7EXAMPLE", b"AKIAIOSFODNN7EXAMPLE: x\n", b"clasification: x\n",
    b"    sso: none\n", b"apiVersion: guardrails/v1\n",
]  # fmt: skip
# Scalars that stress the value builder, put where a value is (`key: HERE`).
VALUES = [
    b"9" * 5000, b"-" + b"9" * 4400, b"9" * 40, b"1e999", b"-.inf", b".NaN", b"0x" + b"F" * 300,
    b"0o" + b"7" * 300, b"-0", b"~", b"", b"null", b"no", b"true", b"2027-02-30", b"2027-13-01",
    b"*a", b"&a x", b"&a [*a]", b"!!str 1", b"!!int 1", b"[", b"{}", b"[[[[[[[[]]]]]]]]",
    "'x\u2028y'".encode(), b'"\\ud800"', b'"\\x00"', b"'", b"x # \xe2\x80\xa8 y: 1",
    b"AKIAIOSFODNN7EXAMPLE", b"{AKIAIOSFODNN7EXAMPLE: x}", b"https://u:p@h.example",
]  # fmt: skip
MAX_BYTES = 1 << 20
EXAMPLES_PER_RUN = int(os.environ.get("FUZZ_EXAMPLES", "0")) or None


@st.composite
def manifests(draw: st.DrawFn) -> bytes:
    """A real manifest, edited a few times at random places."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["value", "value", "insert", "delete", "replace", "splice"]))
        piece = draw(st.sampled_from(SALT) | st.binary(max_size=6))
        values = [i + 2 for i in range(len(data) - 1) if data[i : i + 2] == b": "]
        if action == "value" and values:  # a value replaced: where parsers work hardest
            start = values[draw(st.integers(0, len(values) - 1))]
            end = data.find(b"\n", start)
            data[start : end if end >= 0 else len(data)] = draw(st.sampled_from(VALUES))
        elif action == "insert":
            data[at:at] = piece
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif action == "replace":
            data[at : at + len(piece)] = piece
        else:
            other = draw(st.sampled_from(SEEDS))
            start = draw(st.integers(0, len(other)))
            data[at:at] = other[start : start + draw(st.integers(1, 200))]
    return bytes(data)


def reference_rejects(data: bytes) -> bool:
    """Whether the strict reference refuses `data` as a manifest."""
    try:
        document = load_bytes(data, MAX_BYTES).value
    except LoadError:
        return True
    return not isinstance(document, Mapping) or bool(validate("manifest", document))


def line_count(data: bytes) -> int:
    text = data.decode("utf-8-sig", "replace").replace("\r\n", "\n").replace("\r", "\n")
    return max(1, len(text.split("\n")))


@settings(
    max_examples=EXAMPLES_PER_RUN or 400,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(manifests())
def test_examining_any_bytes_agrees_with_the_strict_reference(data: bytes) -> None:
    examined = examine(data, "manifest", MAX_BYTES)  # never raises
    rejected = reference_rejects(data)
    assert examined.valid is not rejected
    if examined.valid:
        assert examined.document == load_bytes(data, MAX_BYTES).value == load_value(data)
    for problem in examined.problems:
        assert 1 <= problem.line <= line_count(data)
        assert problem.column >= 1


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz") / "catalog"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns("bad", ".guardrails-cache"))
    return root


@settings(
    max_examples=EXAMPLES_PER_RUN or 25,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=manifests())
def test_checking_any_bytes_fails_closed_the_same_with_or_without_the_cache(
    data: bytes, catalog: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(catalog.parent / "user-cache"))
    shutil.rmtree(catalog / ".guardrails-cache", ignore_errors=True)
    (catalog / "manifests" / "fuzzed.yaml").write_bytes(data)
    runs = [
        guardrails("check", catalog, "--now", NOW, "-f", "json", *flags)
        for flags in (("--no-cache",), (), ())  # cold, filling the cache, warm
    ]
    for run in runs:
        assert run.exit_code in (0, 1, 2)
        assert "Traceback" not in run.stdout + run.stderr
        assert "internal error" not in run.stderr, run.stderr
    assert len({(r.exit_code, r.stdout, r.stderr) for r in runs}) == 1
    if reference_rejects(data):
        assert runs[0].exit_code != 0
        if runs[0].exit_code == 1:
            files = {f["file"] for f in runs[0].json()["findings"] if f["blocking"]}
            assert any(file.endswith("manifests/fuzzed.yaml") for file in files)
