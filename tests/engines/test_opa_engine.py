"""`check --engine opa` and `policy push` against an OPA server running real OPA.

The server (tests/engines/opa_double.py) is OPA's REST API in front of OPA's Go engine
(the opa-golib-python-bindings wheel). Engine trouble (unreachable, too slow, a
redirect, HTTP errors, a reply too large or without verdicts, a bad token) must exit
2 with one clear line and never pass; the token is never printed.
"""

from __future__ import annotations

import json
import shutil
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from guardrails.shipped import shipped_dir
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
    _fails_closed(
        check_opa(opa.url, timeout="1"),
        "no answer within 1s (a large catalog may need a longer --opa-timeout)",
    )


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
    owned = "writing data.guardrails failed: HTTP 400 invalid_parameter: path guardrails is owned"
    assert owned in run.stderr


def test_push_to_unreachable_server_exits_2() -> None:
    run = guardrails("policy", "push", "--opa-url", f"http://127.0.0.1:{_free_port()}")
    assert run.exit_code == 2
    assert "unreachable" in run.stderr


# --- The server is OPA's: it compiles the whole module set on every change ----------

LIBRARY = shipped_dir("policies")


def _http(double: OpaDouble, method: str, path: str, body: str | None = None) -> tuple[int, Any]:
    """(status, JSON body or None) of one raw request to the server."""
    request = urllib.request.Request(
        double.url + path, data=None if body is None else body.encode(), method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_the_server_refuses_a_module_whose_functions_are_not_there_yet() -> None:
    # access.rego calls lib.email_domain: real OPA compiles the whole set on each PUT.
    access = (LIBRARY / "access.rego").read_text()
    with running() as double:
        status, body = _http(double, "PUT", "/v1/policies/guardrails/access.rego", access)
        assert status == 400
        assert body["code"] == "invalid_parameter"
        assert body["message"] == "error(s) occurred while compiling module(s)"
        error = body["errors"][0]
        assert error["code"] == "rego_type_error"
        assert "undefined function data.guardrails.lib." in error["message"]
        assert error["location"]["file"] == "guardrails/access.rego"
        assert double.policies == {}
        lib = (LIBRARY / "lib.rego").read_text()
        assert _http(double, "PUT", "/v1/policies/guardrails/lib.rego", lib) == (200, {})
        assert _http(double, "PUT", "/v1/policies/guardrails/access.rego", access) == (200, {})
        # Deleting what a module still calls would break it: refused, nothing changes.
        status, body = _http(double, "DELETE", "/v1/policies/guardrails/lib.rego")
        assert status == 400
        assert body["code"] == "invalid_operation"
        assert "undefined function data.guardrails.lib." in body["errors"][0]["message"]
        assert sorted(double.policies) == ["guardrails/access.rego", "guardrails/lib.rego"]
        assert _http(double, "DELETE", "/v1/policies/guardrails/access.rego") == (200, {})
        assert _http(double, "DELETE", "/v1/policies/nothing.rego")[0] == 404


# --- policy push: an order real OPA accepts, stale modules deleted safely ------------


def test_push_into_a_fresh_server_then_check_agrees_with_the_embedded_engine() -> None:
    with running() as double:
        pushed = guardrails("policy", "push", "--opa-url", double.url, "-C", BAD)
        assert pushed.exit_code == 0, pushed.stderr
        assert sorted(double.policies) == [
            f"guardrails/{p.name}" for p in sorted(LIBRARY.glob("*.rego")) if "_test" not in p.name
        ]
        via_opa = check_opa(double.url, "--format", "json", catalog=BAD)
        embedded = guardrails("check", BAD, "--now", NOW, "--format", "json")
        assert via_opa.exit_code == embedded.exit_code == 1
        assert via_opa.json() == embedded.json()
        # Nothing changed: a second push sends no module again.
        before = len(double.requests)
        assert guardrails("policy", "push", "--opa-url", double.url, "-C", BAD).exit_code == 0
        sent = [(r.method, r.path) for r in double.requests[before:]]
        assert [m for m, _ in sent] == ["GET", "PUT"]  # the list, then the data


ORG_HELPERS = """package guardrails.orghelpers

import rego.v1

frozen(team) if team in data.guardrails.org.frozen_teams
"""
ORG_RULE_USING_HELPERS = """package guardrails.policies.org

import data.guardrails.orghelpers
import rego.v1

violation contains v if {
	some name, m in input.manifests
	orghelpers.frozen(m.metadata.team)
	v := {"rule": "ORG-TEAM-FROZEN", "manifest": name, "path": ["metadata", "team"],
		"message": "frozen"}
}
"""
ORG_RULE_ALONE = """package guardrails.policies.org

import rego.v1

violation contains v if {
	some name, m in input.manifests
	m.metadata.team in data.guardrails.org.frozen_teams
	v := {"rule": "ORG-TEAM-FROZEN", "manifest": name, "path": ["metadata", "team"],
		"message": "frozen"}
}
"""


def test_re_push_after_rules_are_removed(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(FIXTURES / "engines" / "org-catalog", catalog)
    policies = catalog / "policies"
    (policies / "orghelpers.rego").write_text(ORG_HELPERS)
    (policies / "org.rego").write_text(ORG_RULE_USING_HELPERS)
    with running() as double:
        first = guardrails("policy", "push", "--opa-url", double.url, "-C", catalog)
        assert first.exit_code == 0, first.stderr
        assert check_opa(double.url, catalog=catalog).exit_code == 1
        # The org rule stops using the helpers, whose file goes: OPA refuses to delete
        # them while the pushed org.rego still calls them, so org.rego goes up first.
        (policies / "orghelpers.rego").unlink()
        (policies / "org.rego").write_text(ORG_RULE_ALONE)
        second = guardrails("policy", "push", "--opa-url", double.url, "-C", catalog)
        assert second.exit_code == 0, second.stderr
        assert "guardrails/orghelpers.rego" not in double.policies
        assert double.policies["guardrails/org.rego"] == ORG_RULE_ALONE
        # Then the org rule itself is removed: its verdicts stop with it.
        (policies / "org.rego").unlink()
        data = policies / "data" / "org.yaml"
        data.write_text(data.read_text().split("rules:")[0] + "rules: {}\n")
        third = guardrails("policy", "push", "--opa-url", double.url, "-C", catalog)
        assert third.exit_code == 0, third.stderr
        assert "guardrails/org.rego" not in double.policies
        via_opa = check_opa(double.url, "--format", "json", catalog=catalog)
        embedded = guardrails("check", catalog, "--now", NOW, "--format", "json")
        assert via_opa.exit_code == embedded.exit_code
        assert via_opa.json() == embedded.json()
        assert "ORG-TEAM-FROZEN" not in via_opa.stdout


def test_push_never_breaks_what_depends_on_a_stale_module(tmp_path: Path) -> None:
    # Another team's policy calls a guardrails module the catalog no longer has: OPA
    # refuses the delete, push says so and exits 2, and the server is left working.
    catalog = tmp_path / "catalog"
    shutil.copytree(FIXTURES / "engines" / "org-catalog", catalog)
    (catalog / "policies" / "orghelpers.rego").write_text(ORG_HELPERS)
    with running() as double:
        assert guardrails("policy", "push", "--opa-url", double.url, "-C", catalog).exit_code == 0
        other = "package other\n\nimport rego.v1\n\nx if data.guardrails.orghelpers.frozen(1)\n"
        assert _http(double, "PUT", "/v1/policies/other.rego", other) == (200, {})
        (catalog / "policies" / "orghelpers.rego").unlink()
        run = guardrails("policy", "push", "--opa-url", double.url, "-C", catalog)
        assert run.exit_code == 2
        assert "deleting stale policy guardrails/orghelpers.rego failed: HTTP 400" in run.stderr
        assert "undefined function data.guardrails.orghelpers.frozen" in run.stderr
        assert "\n" not in run.stderr.strip()
        assert "guardrails/orghelpers.rego" in double.policies
        assert check_opa(double.url, catalog=FIXTURES / "engines" / "org-catalog").exit_code == 1


# --- Replies that carry no verdicts, or arrive too slowly, elsewhere or too big ------

PACKAGES = ("access", "cost", "residency", "security", "standards")


def _every_package(document: Any) -> dict[str, Any]:
    return {"result": {package: document for package in PACKAGES}}


HOSTILE = {
    "no violation array": _every_package({}),
    "violation an object": _every_package({"violation": {}}),
    "violation a string": _every_package({"violation": "none"}),
    "violation a number": _every_package({"violation": 0}),
    "violation null": _every_package({"violation": None}),
    "a package missing": {"result": {p: {"violation": []} for p in PACKAGES[1:]}},
    "packages a list": {"result": [{"violation": []}]},
    "result a string": {"result": "allow"},
    "result null": {"result": None},
    "answer a list": [{"result": {}}],
    "answer a number": 200,
    "violation of nulls": _every_package({"violation": [None]}),
    "violation without rule": _every_package({"violation": [{"manifest": "x", "message": "m"}]}),
    "rule a number": _every_package({"violation": [{"rule": 1, "manifest": "x", "message": "m"}]}),
    "path an object": _every_package(
        {"violation": [{"rule": "R", "manifest": "x", "message": "m", "path": {"a": 1}}]}
    ),
    "path of objects": _every_package(
        {"violation": [{"rule": "R", "manifest": "x", "message": "m", "path": [{"a": 1}]}]}
    ),
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_reply_without_verdicts_exits_2(opa: OpaDouble, body: Any) -> None:
    opa.behaviour.body = body
    run = check_opa(opa.url)
    _fails_closed(run)
    assert "querying data.guardrails.policies" in run.stderr or "lacks" in run.stderr


def test_a_server_dripping_its_answer_is_cut_off_at_the_deadline(opa: OpaDouble) -> None:
    opa.behaviour.drip = 0.25  # each byte a quarter of a second: a whole answer takes minutes
    start = time.monotonic()
    run = check_opa(opa.url, timeout="2")
    elapsed = time.monotonic() - start
    _fails_closed(run, "no answer within 2s")
    assert elapsed < 6, f"held for {elapsed:.1f}s"


def test_a_redirect_is_never_followed(opa: OpaDouble) -> None:
    with running() as elsewhere:
        opa.behaviour.redirect = elsewhere.url + "/v1/data/guardrails/policies"
        run = check_opa(opa.url, catalog=BAD)
        _fails_closed(run, "redirect (HTTP 307)", "never followed")
        assert elsewhere.requests == []  # the input never went to the other host


def test_a_reply_too_large_is_refused_without_reading_it_all(opa: OpaDouble) -> None:
    opa.behaviour.huge = 80 * 2**20  # above the 64 MiB cap for this small input
    _fails_closed(check_opa(opa.url), "larger than", "MiB")
