"""A real sandbox (moto server + scim2-server over HTTP on loopback) per test."""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result

from guardrails.cli import main
from guardrails.config import load_config
from guardrails.provision.sandbox import Sandbox, SandboxState, load_directory

FIXTURES = Path(__file__).parent.parent / "fixtures" / "provision"
NOW = "2026-11-22"
TOKEN = "s3cret-test-token-6f1d2c"
AWS_TEST_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIAGUARDRAILSTEST01",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-canary-0c7f3e9b5d",
}
"""Real-looking AWS credentials in the environment: tests assert they never leak."""
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class Faults:
    """Fails chosen write requests (attempts, retries included) on the way to a server."""

    service: str = ""
    """`aws` or `scim`: whose writes are counted."""
    first: int = 0
    """1-based number of the first write request to fail (0 = none)."""
    times: int = 0
    """How many write requests in a row fail."""
    status: str = "500 Internal Server Error"
    """The HTTP status answered."""
    error: str = "InternalServerException"
    """AWS error code in the body."""
    after: bool = False
    """True: the server carries the write out, then the answer is lost (a 5xx instead)."""
    seen: dict[str, int] = field(default_factory=lambda: {"aws": 0, "scim": 0})
    injected: int = 0
    """Failures answered so far."""
    scim_methods: list[str] = field(default_factory=list)
    """HTTP methods of every SCIM request the server received, in order."""
    scim_paths: list[str] = field(default_factory=list)
    """`METHOD /path` of every SCIM request the server received, in order."""
    retry_after: str = ""
    """A Retry-After header sent with each failure answered (none when empty)."""
    before_write: Any = None
    """Called once, before the first write request is served (a change made by someone
    else between a plan's reads and its writes)."""
    delay: float = 0.0
    """Seconds every write waits: before the server carries it out, or (`delay_after`)
    after, before it is answered (a slow write, to kill an apply in the middle of one)."""
    delay_after: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_write(self, service: str, first: int, times: int = 1, **kw: str | bool) -> None:
        """Fail write requests first .. first+times-1 of `service`."""
        self.service, self.first, self.times = service, first, times
        for key, value in kw.items():
            setattr(self, key, value)

    def wrap(self, app: Any) -> Any:
        def middleware(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            operation = target.rpartition(".")[2]
            if target:
                service, write = "aws", operation.startswith(("Create", "Delete"))
            else:
                service, write = "scim", environ["REQUEST_METHOD"] in WRITE_METHODS
                self.scim_methods.append(environ["REQUEST_METHOD"])
                self.scim_paths.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
            if write:
                hook, self.before_write = self.before_write, None
                if hook is not None:
                    hook()
                with self.lock:
                    self.seen[service] += 1
                    number = self.seen[service]
                if service == self.service and self.first <= number < self.first + self.times:
                    self.injected += 1
                    if self.after:
                        answer = app(environ, lambda *_: None)
                        b"".join(answer)  # the server has done the write
                    if service == "aws":
                        body = {"__type": self.error, "message": "injected failure"}
                        kind = "application/x-amz-json-1.1"
                    else:
                        body = {"detail": "injected failure", "status": self.status[:3]}
                        kind = "application/scim+json"
                    headers = [("Content-Type", kind)]
                    if self.retry_after:
                        headers.append(("Retry-After", self.retry_after))
                    start_response(self.status, headers)
                    return [json.dumps(body).encode()]
            if write and self.delay and self.delay_after:
                started: list[Any] = []
                answer = b"".join(app(environ, lambda *a: started.append(a)))
                time.sleep(self.delay)
                start_response(*started[0])
                return [answer]
            if write and self.delay:
                time.sleep(self.delay)
            return app(environ, start_response)  # type: ignore[no-any-return]

        return middleware


@dataclass
class World:
    """A catalog copy wired to a running sandbox, and ways to look at the sandbox."""

    root: Path
    state: SandboxState
    faults: Faults
    runner: CliRunner

    def run(self, *args: str, sandbox: bool = True) -> Result:
        """Run `guardrails ARGS -C root --now NOW [--sandbox]` in-process."""
        extra = ["--sandbox"] if sandbox and args[0] in ("plan", "apply") else []
        return self.runner.invoke(main, [*args, "-C", str(self.root), "--now", NOW, *extra])

    def manifest(self, name: str) -> Path:
        return self.root / "manifests" / f"{name}.yaml"

    def edit(self, name: str, old: str, new: str) -> None:
        """Replace `old` by `new` in manifests/NAME.yaml."""
        _replace(self.manifest(name), old, new)

    def direct(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Use the sandbox's servers as if they were the real ones, without --sandbox:
        guardrails.yaml names moto's Identity Center, IT binds hubspot's SCIM URL to its
        tenant, credentials come from the environment (run with `sandbox=False`)."""
        config = self.root / "guardrails.yaml"
        config.write_text(
            config.read_text().replace(
                "  identity_center:\n",
                "  identity_center:\n"
                f"    region: {self.state.region}\n"
                f"    identity_store_id: {self.state.identity_store_id}\n"
                f"    instance_arn: {self.state.instance_arn}\n"
                f"    endpoint_url: {self.state.endpoint_url}\n",
            )
        )
        for name, value in AWS_TEST_CREDENTIALS.items():
            monkeypatch.setenv(name, value)
        self.point_scim("hubspot", f"{self.state.scim_url}/hubspot/v2")

    def point_scim(self, tool: str, url: str, manifest: bool = True) -> None:
        """Bind `tool`'s SCIM endpoint to `url` (and make its manifest ask for it)."""
        bindings = self.root / "policies" / "data" / "provisioning.yaml"
        text = bindings.read_text()
        old = re.search(r"url: (\S+)", text.split(f"    {tool}:", 1)[1])
        assert old is not None
        bindings.write_text(text.replace(old.group(0), f"url: {url}"))
        if manifest:
            self.edit(tool, f"url: {old.group(1)}", f"url: {url}")

    def one_request_per_account(self) -> None:
        """Turn SCIM Bulk off (`provisioning.scim.bulk: false`): each account is created
        in its own request, as before Bulk was used."""
        config = self.root / "guardrails.yaml"
        text = config.read_text()
        assert text.endswith("  scim:\n    max_attempts: 2\n"), text
        config.write_text(text + "    bulk: false\n")

    def bind(self, old: str, new: str) -> None:
        """Replace `old` by `new` in IT's bindings (policies/data/provisioning.yaml)."""
        _replace(self.root / "policies" / "data" / "provisioning.yaml", old, new)

    @property
    def store(self) -> Any:
        session = boto3.session.Session(
            region_name=self.state.region, aws_access_key_id="x", aws_secret_access_key="x"
        )
        return session.client("identitystore", endpoint_url=self.state.endpoint_url)

    def add_team(self, name: str, prefix: str, size: int) -> None:
        """A directory group `name` of `size` new people `<prefix>NNN@example.com`."""
        store, sid = self.store, self.state.identity_store_id
        team = store.create_group(IdentityStoreId=sid, DisplayName=name)["GroupId"]
        for n in range(size):
            email = f"{prefix}{n:03d}@example.com"
            uid = store.create_user(
                IdentityStoreId=sid,
                UserName=email,
                DisplayName=f"{prefix} {n}",
                Name={"GivenName": prefix, "FamilyName": str(n)},
                Emails=[{"Value": email, "Type": "work", "Primary": True}],
            )["UserId"]
            store.create_group_membership(
                IdentityStoreId=sid, GroupId=team, MemberId={"UserId": uid}
            )

    def _all(self, operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
        pages = self.store.get_paginator(operation).paginate(
            IdentityStoreId=self.state.identity_store_id, **params
        )
        return [item for page in pages for item in page[key]]

    def groups(self) -> dict[str, dict[str, Any]]:
        """Identity Store groups by name."""
        return {g["DisplayName"]: g for g in self._all("list_groups", "Groups")}

    def store_groups(self) -> list[str]:
        """Names of every Identity Store group, duplicates kept."""
        return [g["DisplayName"] for g in self._all("list_groups", "Groups")]

    def members(self, group: str) -> set[str]:
        """Emails of an Identity Store group's members."""
        users = {u["UserId"]: u["UserName"] for u in self._all("list_users", "Users")}
        gid = self.groups()[group]["GroupId"]
        listed = self._all("list_group_memberships", "GroupMemberships", GroupId=gid)
        return {users[m["MemberId"]["UserId"]] for m in listed}

    @property
    def sso(self) -> Any:
        """A plain boto3 sso-admin client on the sandbox (its application stand-in)."""
        session = boto3.session.Session(
            region_name=self.state.region, aws_access_key_id="x", aws_secret_access_key="x"
        )
        return session.client("sso-admin", endpoint_url=self.state.endpoint_url)

    def assigned(self, application: str) -> set[str]:
        """Names of the groups assigned to an application, read back through sso-admin."""
        pages = self.sso.get_paginator("list_applications").paginate(
            InstanceArn=self.state.instance_arn
        )
        arn = {a["Name"]: a["ApplicationArn"] for p in pages for a in p["Applications"]}
        listed = self.sso.get_paginator("list_application_assignments").paginate(
            ApplicationArn=arn[application]
        )
        ids = {a["PrincipalId"] for p in listed for a in p["ApplicationAssignments"]}
        return {n for n, g in self.groups().items() if g["GroupId"] in ids}

    def scim_groups(self, tool: str) -> dict[str, set[str]]:
        """displayName -> member userNames of a tool's SCIM groups."""
        import httpx2

        headers = {"Authorization": f"Bearer {TOKEN}"}
        base = f"{self.state.scim_url}/{tool}/v2"
        users = httpx2.get(f"{base}/Users", headers=headers).json()["Resources"]
        names = {u["id"]: u["userName"] for u in users}
        groups = httpx2.get(f"{base}/Groups", headers=headers).json()["Resources"]
        return {
            g["displayName"]: {names[m["value"]] for m in g.get("members") or []} for g in groups
        }

    def scim_users(self, tool: str) -> dict[str, bool]:
        """userName -> active on a tool's SCIM tenant."""
        import httpx2

        url = f"{self.state.scim_url}/{tool}/v2/Users"
        response = httpx2.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
        response.raise_for_status()
        return {u["userName"]: u.get("active", True) for u in response.json()["Resources"]}


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


@contextmanager
def running_world(root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The fixture catalog copied to `root`, with a sandbox running for it."""
    shutil.copytree(FIXTURES / "catalog", root)
    monkeypatch.setenv("GR_TEST_SCIM_TOKEN", TOKEN)
    monkeypatch.setenv("GUARDRAILS_ACTOR", "test-runner")
    faults = Faults()
    config = load_config(root)
    box = Sandbox(config, load_directory(root / "directory.yaml"), middleware=faults.wrap)
    state = box.start()
    faults.seen = {"aws": 0, "scim": 0}  # count from here: seeding writes too
    try:
        yield World(root, state, faults, CliRunner())
    finally:
        box.stop()


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The fixture catalog copied to tmp, with a sandbox running for it."""
    with running_world(tmp_path / "catalog", monkeypatch) as made:
        yield made


def stats(result: Result) -> tuple[int, int, int]:
    """(calls, writes, HTTP requests) from the `total:` line `--stats` printed."""
    line = [x for x in result.output.splitlines() if x.startswith("total:")][-1]
    found = re.fullmatch(
        r"total: (\d+) calls, (\d+) writes \((\d+) HTTP requests, retries included\)", line
    )
    assert found, line
    calls, written, requests = map(int, found.groups())
    return calls, written, requests


def writes(result: Result) -> int:
    """The write count `--stats` printed."""
    return stats(result)[1]
