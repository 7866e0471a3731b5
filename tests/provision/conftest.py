"""A real sandbox (moto server + scim2-server over HTTP on loopback) per test."""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Iterable, Iterator
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
            if write:
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
                    start_response(self.status, [("Content-Type", kind)])
                    return [json.dumps(body).encode()]
            return app(environ, start_response)  # type: ignore[no-any-return]

        return middleware


@dataclass
class World:
    """A catalog copy wired to a running sandbox, and ways to look at the sandbox."""

    root: Path
    state: SandboxState
    faults: Faults
    runner: CliRunner

    def run(self, *args: str) -> Result:
        """Run `guardrails ARGS -C root --now NOW` in-process."""
        result = self.runner.invoke(main, [*args, "-C", str(self.root), "--now", NOW])
        return result

    def manifest(self, name: str) -> Path:
        return self.root / "manifests" / f"{name}.yaml"

    def edit(self, name: str, old: str, new: str) -> None:
        path = self.manifest(name)
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new))

    @property
    def store(self) -> Any:
        session = boto3.session.Session(
            region_name=self.state.region, aws_access_key_id="x", aws_secret_access_key="x"
        )
        return session.client("identitystore", endpoint_url=self.state.endpoint_url)

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

    def scim_users(self, tool: str) -> dict[str, bool]:
        """userName -> active on a tool's SCIM tenant."""
        import httpx2

        url = f"{self.state.scim_url}/{tool}/v2/Users"
        response = httpx2.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
        response.raise_for_status()
        return {u["userName"]: u.get("active", True) for u in response.json()["Resources"]}


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The fixture catalog copied to tmp, with a sandbox running for it."""
    root = tmp_path / "catalog"
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
