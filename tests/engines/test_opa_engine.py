"""`check --engine opa` and `policy push` against the OPA test double.

Engine trouble (unreachable, timeout, HTTP errors, an undefined decision, a bad
token) must exit 2 with one clear line and never pass; the token is never printed.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, FIXTURES, NOW, REPO, Run, guardrails
from tests.engines.opa_double import OpaDouble, running

BAD = EXAMPLES / "bad"
TOKEN = "opa-test-token-4f9a1c"


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


@pytest.fixture
def opa(tmp_path: Path) -> Iterator[OpaDouble]:
    """A double holding the bundle built from the shipped policies."""
    bundle = tmp_path / "bundle.tar.gz"
    assert guardrails("policy", "bundle", "-o", bundle, "-C", EXAMPLES).exit_code == 0
    with running() as double:
        double.load_bundle(bundle.read_bytes())
        yield double


def check_opa(url: str, *more: str, catalog: Path = EXAMPLES, timeout: str = "5") -> Run:
    # 5 s: generous on a loaded 2-core CI machine; the timeout test asks for 1 s.
    return guardrails(
        "check",
        catalog,
        "--now",
        NOW,
        "--engine",
        "opa",
        "--opa-url",
        url,
        "--opa-timeout",
        timeout,
        *more,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _fails_closed(run: Run, *words: str) -> None:
    assert run.exit_code == 2, run.stdout + run.stderr
    assert run.stdout == ""  # no report, so nothing can read as a pass
    line = run.stderr.strip()
    assert line.startswith("guardrails: error: OPA at http://127.0.0.1:"), line
    assert "\n" not in line and "Traceback" not in line
    for word in words:
        assert word in line


def test_opa_engine_blocks_like_the_embedded_engine(opa: OpaDouble) -> None:
    run = check_opa(opa.url, catalog=BAD)
    assert run.exit_code == 1
    assert "SEC-SSO-REQUIRED" in run.stdout
    post = opa.requests[-1]
    assert (post.method, post.path) == (
        "POST",
        "/v1/data/guardrails/policies?strict-builtin-errors=true",
    )


def test_unreachable_server_exits_2() -> None:
    _fails_closed(check_opa(f"http://127.0.0.1:{_free_port()}"), "unreachable")


def test_timeout_exits_2(opa: OpaDouble) -> None:
    opa.behaviour.delay = 2.5
    _fails_closed(check_opa(opa.url, timeout="1"), "no answer within 1s")


@pytest.mark.parametrize("status", [400, 404, 500, 503])
def test_http_error_exits_2(opa: OpaDouble, status: int) -> None:
    opa.behaviour.status = status
    _fails_closed(check_opa(opa.url), f"HTTP {status}")


def test_undefined_decision_exits_2(opa: OpaDouble) -> None:
    opa.behaviour.undefined = True
    _fails_closed(check_opa(opa.url), "undefined", "bundle")


def test_answer_that_is_not_json_exits_2(opa: OpaDouble) -> None:
    opa.behaviour.not_json = True
    _fails_closed(check_opa(opa.url), "not JSON")


def test_bundle_built_from_other_policies_exits_2(tmp_path: Path) -> None:
    # The server's bundle predates a change to the policy data: its verdicts would
    # follow the old threshold while the report shows the new rules.
    catalog = tmp_path / "catalog"
    shutil.copytree(FIXTURES / "engines" / "org-catalog", catalog)
    bundle = tmp_path / "bundle.tar.gz"
    assert guardrails("policy", "bundle", "-o", bundle, "-C", catalog).exit_code == 0
    with running() as double:
        double.load_bundle(bundle.read_bytes())
        assert check_opa(double.url, catalog=catalog).exit_code == 1  # same policies: fine
        data = catalog / "policies" / "data" / "org.yaml"
        data.write_text(data.read_text().replace("[field-marketing]", "[sales]"))
        _fails_closed(check_opa(double.url, catalog=catalog), "bundle revision", "deploy")


def test_pushed_server_without_a_local_policy_package_exits_2() -> None:
    # Pushed (no bundle, so no revision to compare): the server has the shipped library
    # only; this catalog adds org.rego, whose rules the server would silently not run.
    with running() as double:
        assert guardrails("policy", "push", "--opa-url", double.url, "-C", EXAMPLES).exit_code == 0
        catalog = FIXTURES / "engines" / "org-catalog"
        _fails_closed(check_opa(double.url, catalog=catalog), "lacks the policy package(s) org")


BROKEN_BUILTIN = """package guardrails.policies.naming

import rego.v1

violation contains v if {
\tsome name, m in input.manifests
\tnot regex.match(data.guardrails.naming.pattern, name)
\tv := {"rule": "ORG-NAMING", "manifest": name, "path": ["metadata", "name"], "message": "x"}
}
"""
BROKEN_DATA = """naming:
  pattern: "(unclosed"
rules:
  ORG-NAMING:
    title: Tool names follow the naming scheme
    category: standards
    severity: low
    level: hard-mandatory
    remediation: Rename the tool.
"""


def test_failing_builtin_on_the_server_exits_2_never_passes(tmp_path: Path) -> None:
    # Without strict-builtin-errors OPA would skip the rule and the check would pass.
    catalog = tmp_path / "catalog"
    shutil.copytree(EXAMPLES, catalog, ignore=shutil.ignore_patterns("bad"))
    (catalog / "policies" / "data").mkdir(parents=True, exist_ok=True)
    (catalog / "policies" / "naming.rego").write_text(BROKEN_BUILTIN)
    (catalog / "policies" / "data" / "naming.yaml").write_text(BROKEN_DATA)
    with running() as double:
        pushed = guardrails("policy", "push", "--opa-url", double.url, "-C", catalog)
        assert pushed.exit_code == 0, pushed.stderr
        _fails_closed(check_opa(double.url, catalog=catalog), "HTTP 500")
        defined, value = double.evaluate(
            ["guardrails", "policies"], {"now": NOW, "manifests": {"x": {}}}, strict=False
        )
    assert defined and value["naming"] == {"violation": []}  # what OPA's default would do


def test_server_without_the_bundle_exits_2() -> None:
    with running() as empty:
        _fails_closed(check_opa(empty.url), "data.guardrails.policies is undefined")


def test_token_is_sent_and_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    with running(token=TOKEN) as double:
        monkeypatch.setenv("OPA_TOKEN", TOKEN)
        pushed = guardrails(
            "policy", "push", "--opa-url", double.url, "--opa-token-env", "OPA_TOKEN"
        )
        assert pushed.exit_code == 0, pushed.stderr
        ok = check_opa(double.url, "--opa-token-env", "OPA_TOKEN", catalog=BAD)
        assert ok.exit_code == 1
        assert {r.authorization for r in double.requests} == {f"Bearer {TOKEN}"}
        monkeypatch.setenv("OPA_TOKEN", "wrong-" + TOKEN)
        refused = check_opa(double.url, "--opa-token-env", "OPA_TOKEN")
        _fails_closed(refused, "HTTP 401")
        for run in (pushed, ok, refused):
            assert TOKEN not in run.stdout + run.stderr


def test_missing_token_variable_exits_2(opa: OpaDouble, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_OPA_TOKEN", raising=False)
    run = check_opa(opa.url, "--opa-token-env", "NO_SUCH_OPA_TOKEN")
    assert run.exit_code == 2
    assert "NO_SUCH_OPA_TOKEN: that variable is not set" in run.stderr
    assert opa.requests == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--engine", "opa"], "--engine opa needs --opa-url"),
        (["--engine", "opa", "--opa-url", "localhost:8181"], "expected http(s)://HOST[:PORT]"),
        (["--engine", "opa", "--opa-url", "http://h:8181/v1/data"], "only scheme, host and port"),
        (["--engine", "opa", "--opa-url", "http://ops:hunter2@h:8181"], "holds credentials"),
        (
            ["--engine", "opa", "--opa-url", "http://opa.example:8181", "--opa-token-env", "HOME"],
            "a token is only sent over https://",
        ),
        (["--engine", "nosuch"], "Invalid value for '--engine'"),
    ],
)
def test_bad_engine_options_exit_2(args: list[str], message: str) -> None:
    run = guardrails("check", EXAMPLES, "--now", NOW, *args)
    assert run.exit_code == 2
    assert message in run.stderr
    assert "hunter2" not in run.stdout + run.stderr


def test_push_loads_policies_and_data_then_checks_agree() -> None:
    catalog = FIXTURES / "engines" / "org-catalog"
    with running() as double:
        double.policies["guardrails/removed-rule.rego"] = "package guardrails.old\n"
        double.policies["someone-else.rego"] = "package other\n"
        pushed = guardrails("policy", "push", "--opa-url", double.url, "-C", catalog)
        assert pushed.exit_code == 0, pushed.stderr
        modules = sorted(p for p in double.policies if p.startswith("guardrails/"))
        assert f"pushed {len(modules)} policy files and data.guardrails" in pushed.stdout
        # Stale guardrails modules are gone; other teams' policies are left alone.
        assert "guardrails/removed-rule.rego" not in double.policies
        assert "someone-else.rego" in double.policies
        assert "guardrails/org.rego" in double.policies
        assert double.data["guardrails"]["org"] == {"frozen_teams": ["field-marketing"]}
        via_opa = check_opa(double.url, "--format", "json", catalog=catalog)
        embedded = guardrails("check", catalog, "--now", NOW, "--format", "json")
        assert via_opa.exit_code == embedded.exit_code == 1
        assert via_opa.json() == embedded.json()
        assert "ORG-TEAM-FROZEN" in via_opa.stdout


def test_push_of_a_policy_opa_rejects_exits_2(tmp_path: Path) -> None:
    (tmp_path / "manifests").mkdir()
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "broken.rego").write_text(
        "package guardrails.policies.broken\nimport rego.v1\nviolation contains v if {\n"
    )
    with running() as double:
        run = guardrails("policy", "push", "--opa-url", double.url, "-C", tmp_path)
    assert run.exit_code == 2
    assert "uploading policy guardrails/broken.rego failed" in run.stderr
    assert "HTTP 400" in run.stderr or "invalid_parameter" in run.stderr


def test_push_to_a_server_serving_the_bundle_is_refused_and_exits_2(opa: OpaDouble) -> None:
    run = guardrails("policy", "push", "--opa-url", opa.url, "-C", EXAMPLES)
    assert run.exit_code == 2
    assert "writing data.guardrails failed: invalid_parameter: path guardrails is owned by" in (
        run.stderr
    )


def test_push_to_unreachable_server_exits_2() -> None:
    run = guardrails("policy", "push", "--opa-url", f"http://127.0.0.1:{_free_port()}")
    assert run.exit_code == 2
    assert "unreachable" in run.stderr
