"""A local stand-in for both providers, so the demo and the tests need no cloud account.

- AWS: a moto server on loopback (identitystore, sso-admin). moto has no sso-admin
  *application* APIs, so a small in-memory `ApplicationDesk` answers those six
  operations in front of it (and keeps the Identity Store rules moto does not keep);
  everything else goes to moto.
- SCIM: scim2-server on loopback, one tenant per tool at `/<tool>/v2`, each accepting
  the bearer token found in the sandbox's environment under the variable IT bound.

It is seeded from the catalog's `directory.yaml` (users and groups) and from IT's
bindings (one application per bound `identity_center.application`), and writes
`.guardrails/sandbox.json` (mode 0600) under the catalog root; `plan --sandbox` and
`apply --sandbox` read it, and check it before they trust it (settings.py).

moto and scim2-server are pinned exactly (pyproject.toml): this module uses parts of
them that are not public API (moto's WSGI app and backends, scim2-server's test server).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import io
import json
import logging
import os
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from guardrails.catalog.safe_yaml import LoadError, load_bytes
from guardrails.config import Config
from guardrails.errors import GuardrailsError
from guardrails.provision.bindings import Binding, load_bindings
from guardrails.provision.calls import in_parallel
from guardrails.provision.settings import HANDSHAKE, SANDBOX_STATE

REGION = "us-east-1"
SEED_WIDTH = 8
"""Seeding calls in flight at once."""
MOTO_SERVICES = {"AWSIdentityStore.": "identitystore", "SWBExternalService.": "sso-admin"}
"""X-Amz-Target prefix -> the moto service that answers it."""
Middleware = Callable[[Any], Any]
"""Wraps a WSGI application (tests use it to inject failures)."""


@dataclass(frozen=True)
class Person:
    """A directory user."""

    email: str
    """Also the Identity Store UserName."""
    name: str
    """Display name."""


@dataclass(frozen=True)
class Directory:
    """The sandbox's seed: `directory.yaml`."""

    people: tuple[Person, ...]
    """Users."""
    groups: Mapping[str, tuple[str, ...]]
    """Group name -> member emails."""
    applications: tuple[str, ...] = ()
    """Extra Identity Center application names."""


def load_directory(path: Path) -> Directory:
    """Read `directory.yaml`: `users: [{email, name}]`, `groups: {name: [emails]}`."""
    try:
        document = load_bytes(path.read_bytes()).value or {}
    except OSError as err:
        raise GuardrailsError(f"{path}: cannot read the sandbox directory: {err.strerror}") from err
    except LoadError as err:
        raise GuardrailsError(f"{path}:{err}") from err
    try:
        people = tuple(
            Person(str(u["email"]).lower(), str(u.get("name") or u["email"]))
            for u in document.get("users", [])
        )
        groups = {
            str(name): tuple(str(e).lower() for e in members or [])
            for name, members in (document.get("groups") or {}).items()
        }
        applications = tuple(str(a) for a in document.get("applications", []))
    except (AttributeError, KeyError, TypeError) as err:
        raise GuardrailsError(f"{path}: not a directory file ({err})") from err
    known = {p.email for p in people}
    for name, members in groups.items():
        for email in members:
            if email not in known:
                raise GuardrailsError(f"{path}: group {name}: {email} is not under users")
    return Directory(people, groups, applications)


def _aws_error(code: str, message: str) -> tuple[str, dict[str, Any]]:
    return "400 Bad Request", {"__type": code, "Message": message}


class ApplicationDesk:
    """In-memory sso-admin application APIs (moto lacks them: the five below and
    ListApplicationAssignmentsForPrincipal), and the Identity Store
    rules moto does not keep: a WSGI layer in front of moto.

    Like AWS: lists come in pages (`MaxResults`, `NextToken`); assigning a group that
    does not exist is ResourceNotFoundException; assigning twice is ConflictException
    and removing what is not there ResourceNotFoundException; a person is a member of a
    group at most once (ConflictException); deleting a group deletes its memberships.
    """

    TARGET = "SWBExternalService."
    STORE = "AWSIdentityStore."
    OPERATIONS = frozenset(
        {
            "CreateApplication",
            "ListApplications",
            "CreateApplicationAssignment",
            "DeleteApplicationAssignment",
            "ListApplicationAssignments",
            "ListApplicationAssignmentsForPrincipal",
        }
    )
    STORE_OPERATIONS = frozenset({"CreateGroupMembership", "DeleteGroupMembership", "DeleteGroup"})

    def __init__(self, moto_app: Any, page_size: int = 10) -> None:
        self.moto_app = moto_app
        self.page_size = page_size
        self.applications: dict[str, dict[str, Any]] = {}
        self.assignments: dict[str, set[tuple[str, str]]] = {}
        self.lock = threading.Lock()
        # moto's own Flask application per service, called directly: moto's dispatcher
        # finds the service of every request by trying every moto module under one
        # lock (several ms a request, most of the sandbox's time at 1,000 tools).
        self.services: dict[str, Any] = {}
        # (GroupId, UserId) -> MembershipId per store, kept by the writes that pass
        # here (every membership write does): moto finds a membership by scanning all.
        self.members: dict[str, tuple[Any, dict[tuple[str, str], str]]] = {}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        prefix, _, operation = target.partition(".")
        prefix += "."
        mine = (prefix == self.TARGET and operation in self.OPERATIONS) or (
            prefix == self.STORE and operation in self.STORE_OPERATIONS
        )
        if not mine:
            return self.moto(prefix)(environ, start_response)  # type: ignore[no-any-return]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) or b"{}"
        body = json.loads(raw)
        with self.lock:
            if prefix == self.STORE:
                refusal = self.store_refusal(operation, body)
                if refusal is None:
                    environ["wsgi.input"] = io.BytesIO(raw)
                    answer = b"".join(self.moto(prefix)(environ, start_response))
                    self._note(operation, body, answer)
                    return [answer]
                status, reply = refusal
            else:
                status, reply = self.serve(operation, body)
        payload = json.dumps(reply).encode()
        start_response(status, [("Content-Type", "application/x-amz-json-1.1")])
        return [payload]

    # --- the Identity Store, as moto keeps it ----------------------------------------

    @staticmethod
    def _stores() -> Any:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.identitystore.models import identitystore_backends

        return identitystore_backends[DEFAULT_ACCOUNT_ID][REGION].identity_stores

    def moto(self, prefix: str) -> Any:
        """moto's application for the service of an X-Amz-Target prefix (its
        dispatcher for anything else: the handshake's reset, other services)."""
        service = MOTO_SERVICES.get(prefix)
        if service is None:
            return self.moto_app
        if service not in self.services:
            self.services[service] = self.moto_app.create_app(service)
        return self.services[service]

    def _index(self, store_id: str, store: Any) -> dict[tuple[str, str], str]:
        """(GroupId, UserId) -> MembershipId of one store, built from moto's memberships
        the first time (and again after a moto reset made a new store)."""
        known = self.members.get(store_id)
        if known is None or known[0] is not store:
            index = {
                (m["GroupId"], m["MemberId"].get("UserId")): membership_id
                for membership_id, m in store.group_memberships.items()
            }
            known = self.members[store_id] = (store, index)
        return known[1]

    def _held(self, store_id: str, store: Any, member: tuple[Any, Any]) -> bool:
        """Whether moto holds a membership of (GroupId, UserId). The index names one;
        when moto no longer has that one (deleted), the store is indexed again, so a
        duplicate made behind the desk's back still counts."""
        for _ in range(2):
            found = self._index(store_id, store).get(member)
            if found is None:
                return False
            held = store.group_memberships.get(found)
            if held is not None and (held["GroupId"], held["MemberId"].get("UserId")) == member:
                return True
            self.members.pop(store_id, None)
        return False

    def _note(self, operation: str, body: dict[str, Any], answer: bytes) -> None:
        """Keep the membership index after a write moto carried out."""
        store_id = str(body.get("IdentityStoreId"))
        store = self._stores().get(store_id)
        if store is None:
            return
        index = self._index(store_id, store)
        if operation == "CreateGroupMembership":
            membership = json.loads(answer or b"{}").get("MembershipId")
            if membership in store.group_memberships:
                m = store.group_memberships[membership]
                index[(m["GroupId"], m["MemberId"].get("UserId"))] = membership
        elif operation == "DeleteGroup":
            self._forget_memberships(body)
            for pair in [p for p in index if p[0] == body.get("GroupId")]:
                del index[pair]

    def store_refusal(self, operation: str, body: dict[str, Any]) -> tuple[str, Any] | None:
        """The AWS error moto would not give for this Identity Store call, or None."""
        store_id = body.get("IdentityStoreId")
        store = self._stores().get(store_id)
        if store is None:
            return None  # moto answers for unknown stores itself
        if operation == "CreateGroupMembership":
            member = (body.get("GroupId"), body.get("MemberId", {}).get("UserId"))
            if self._held(str(store_id), store, member):
                return _aws_error("ConflictException", "Member is already in the group")
        if operation == "DeleteGroupMembership" and (
            body.get("MembershipId") not in store.group_memberships
        ):
            return _aws_error("ResourceNotFoundException", "GroupMembership not found")
        if operation == "DeleteGroup" and body.get("GroupId") not in store.groups:
            return _aws_error("ResourceNotFoundException", "Group not found")
        return None

    def _forget_memberships(self, body: dict[str, Any]) -> None:
        store = self._stores().get(body.get("IdentityStoreId"))
        if store is not None and body.get("GroupId") not in store.groups:
            for membership_id, membership in list(store.group_memberships.items()):
                if membership["GroupId"] == body.get("GroupId"):
                    del store.group_memberships[membership_id]

    def _group_exists(self, group_id: str) -> bool:
        return any(group_id in store.groups for store in self._stores().values())

    # --- the application APIs ---------------------------------------------------------

    def _page(
        self, items: list[dict[str, Any]], body: dict[str, Any], key: str
    ) -> tuple[str, dict[str, Any]]:
        size = min(int(body.get("MaxResults") or self.page_size), self.page_size)
        token = body.get("NextToken")
        start = 0
        if token is not None:
            if not str(token).isdigit() or int(token) > len(items):
                return _aws_error("ValidationException", "invalid NextToken")
            start = int(token)
        answer: dict[str, Any] = {key: items[start : start + size]}
        if start + size < len(items):
            answer["NextToken"] = str(start + size)
        return "200 OK", answer

    def serve(self, operation: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Answer one application operation (status line, JSON body)."""
        if operation == "CreateApplication":
            arn = f"{body['InstanceArn']}/apl-{uuid.uuid4().hex[:16]}".replace(
                ":instance/", ":application/"
            )
            self.applications[arn] = {
                "ApplicationArn": arn,
                "Name": body["Name"],
                "InstanceArn": body["InstanceArn"],
                "ApplicationProviderArn": body["ApplicationProviderArn"],
                "Status": "ENABLED",
            }
            self.assignments[arn] = set()
            return "200 OK", {"ApplicationArn": arn}
        if operation == "ListApplications":
            found = [
                a for a in self.applications.values() if a["InstanceArn"] == body["InstanceArn"]
            ]
            return self._page(found, body, "Applications")
        if operation == "ListApplicationAssignmentsForPrincipal":
            principal = (body.get("PrincipalId"), body.get("PrincipalType"))
            listed = [
                {"ApplicationArn": a, "PrincipalId": principal[0], "PrincipalType": principal[1]}
                for a, assigned in sorted(self.assignments.items())
                if principal in assigned
                and self.applications[a]["InstanceArn"] == body.get("InstanceArn")
            ]
            return self._page(listed, body, "ApplicationAssignments")
        arn = body.get("ApplicationArn", "")
        if arn not in self.assignments:
            return _aws_error("ResourceNotFoundException", "application not found")
        if operation == "ListApplicationAssignments":
            listed = [
                {"ApplicationArn": arn, "PrincipalId": p, "PrincipalType": t}
                for p, t in sorted(self.assignments[arn])
            ]
            return self._page(listed, body, "ApplicationAssignments")
        principal = (body["PrincipalId"], body["PrincipalType"])
        assigned = self.assignments[arn]
        if operation == "CreateApplicationAssignment":
            if principal[1] == "GROUP" and not self._group_exists(principal[0]):
                return _aws_error("ResourceNotFoundException", "group not found")
            if principal in assigned:
                return _aws_error("ConflictException", "already assigned")
            assigned.add(principal)
        else:
            if principal not in assigned:
                return _aws_error("ResourceNotFoundException", "assignment not found")
            assigned.discard(principal)
        return "200 OK", {}


@dataclass(frozen=True)
class SandboxState:
    """Where the sandbox listens; written to `.guardrails/sandbox.json`."""

    region: str
    """AWS region the moto server answers for."""
    identity_store_id: str
    """The moto Identity Center instance's Identity Store."""
    instance_arn: str
    """The moto Identity Center instance."""
    endpoint_url: str
    """moto server URL."""
    scim_url: str
    """scim2-server URL; tool T is served at `<scim_url>/T/v2`."""
    pid: int
    """The process serving it."""
    secret: str
    """Known only to this process and the state file (mode 0600): both servers prove
    they know it before plan/apply --sandbox send them anything."""


class Sandbox:
    """Starts, seeds and stops the sandbox servers for one catalog."""

    def __init__(
        self,
        config: Config,
        directory: Directory,
        middleware: Middleware | None = None,
        page_size: int = 10,
    ) -> None:
        self.config = config
        self.directory = directory
        self.page_size = page_size
        self.middleware = middleware or (lambda app: app)
        self.moto: Any = None
        self.scim: Any = None
        self.state: SandboxState | None = None

    @property
    def state_file(self) -> Path:
        """`.guardrails/sandbox.json` under the catalog root."""
        return self.config.root / SANDBOX_STATE

    def start(self) -> SandboxState:
        """Start both servers on free loopback ports, seed them, write the state file."""
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        secret = secrets.token_urlsafe(32)
        self.moto = _start_moto(self.middleware, secret, self.page_size)
        host, port = self.moto.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        self.scim = _start_scim(self.config, self.middleware, secret)
        scim_host, scim_port = self.scim.server_address[:2]
        instance_arn, store_id = self._seed(endpoint)
        self.state = SandboxState(
            REGION,
            store_id,
            instance_arn,
            endpoint,
            f"http://{scim_host}:{scim_port}",
            os.getpid(),
            secret,
        )
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        self.state_file.unlink(missing_ok=True)
        # private from the first byte: the secret must never be readable by others
        fd = os.open(self.state_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(json.dumps(asdict(self.state), indent=2) + "\n")
        return self.state

    def stop(self) -> None:
        """Remove the state file and stop both servers."""
        self.state_file.unlink(missing_ok=True)
        if self.scim is not None:
            self.scim.shutdown()
            self.scim.server_close()
        if self.moto is not None:
            self.moto.stop()

    def _seed(self, endpoint: str) -> tuple[str, str]:
        import urllib.request

        import boto3

        # moto keeps its backends per process: start from an empty directory.
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))

        from guardrails.provision.identity_center import SANDBOX_CREDENTIALS

        session = boto3.session.Session(region_name=REGION, **SANDBOX_CREDENTIALS)
        sso = session.client("sso-admin", endpoint_url=endpoint)
        store = session.client("identitystore", endpoint_url=endpoint)
        instance = sso.list_instances()["Instances"][0]
        arn, store_id = instance["InstanceArn"], instance["IdentityStoreId"]

        def create_user(person: Person) -> str:
            given, _, family = person.name.partition(" ")
            return str(
                store.create_user(
                    IdentityStoreId=store_id,
                    UserName=person.email,
                    DisplayName=person.name,
                    Name={"GivenName": given or person.name, "FamilyName": family or "-"},
                    Emails=[{"Value": person.email, "Type": "work", "Primary": True}],
                )["UserId"]
            )

        # Seeded SEED_WIDTH calls at a time: a directory of 6,250 people is some
        # 13,000 calls, minutes one after another.
        people = self.directory.people
        ids = dict(
            zip(
                (p.email for p in people), in_parallel(create_user, people, SEED_WIDTH), strict=True
            )
        )
        members: list[tuple[str, str]] = []
        for name, emails in sorted(self.directory.groups.items()):
            group = store.create_group(IdentityStoreId=store_id, DisplayName=name)["GroupId"]
            members += [(group, ids[email]) for email in emails]
        in_parallel(
            lambda member: store.create_group_membership(
                IdentityStoreId=store_id, GroupId=member[0], MemberId={"UserId": member[1]}
            ),
            members,
            SEED_WIDTH,
        )
        provider = "arn:aws:sso::aws:applicationProvider/custom"
        for application in sorted(set(self.directory.applications) | _applications(self.config)):
            sso.create_application(
                InstanceArn=arn, ApplicationProviderArn=provider, Name=application
            )
        return arn, store_id


def _applications(config: Config) -> set[str]:
    """The applications IT bound to tools (the sandbox is data-driven)."""
    return {b.application for b in _bindings(config).values() if b.application}


def _bindings(config: Config) -> dict[str, Binding]:
    """IT's bindings in this catalog's policy data (the sandbox runs on a work tree)."""
    from guardrails.catalog.tree import WorkTree
    from guardrails.engine.policy_set import policy_data

    return load_bindings(policy_data(WorkTree(config.root), config))


class Handshake:
    """Answers `GET /_guardrails/sandbox?challenge=C` with HMAC(secret, C), so that
    plan/apply --sandbox know they talk to the sandbox that wrote the state file."""

    def __init__(self, app: Any, secret: str) -> None:
        self.app = app
        self.secret = secret.encode()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != HANDSHAKE or environ.get("REQUEST_METHOD") != "GET":
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        from urllib.parse import parse_qs

        challenge = parse_qs(environ.get("QUERY_STRING", "")).get("challenge", [""])[0]
        proof = hmac.new(self.secret, challenge.encode(), hashlib.sha256).hexdigest()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"proof": proof}).encode()]


def _start_moto(middleware: Middleware, secret: str, page_size: int) -> Any:
    from moto.server import ThreadedMotoServer

    class Server(ThreadedMotoServer):
        """moto's threaded server with the application desk (and test middleware) in front."""

        def _server_entry(self) -> None:
            from moto.moto_server.werkzeug_app import (
                DomainDispatcherApplication,
                MotoRequestHandler,
                create_backend_app,
            )
            from werkzeug.serving import make_server

            moto = DomainDispatcherApplication(create_backend_app)
            app = Handshake(middleware(ApplicationDesk(moto, page_size)), secret)
            self._server = make_server(
                self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
            )
            self._server_ready_event.set()
            self._server.serve_forever(poll_interval=0.05)  # prompt stop

    server = Server(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    return server


@functools.cache
def _scim_provider() -> Any:
    """RFC 7643 schemas and resource types, bearer tokens announced (built once: slow)."""
    from scim2_models import ScimProvider
    from scim2_server.testserver.application import BEARER_TOKEN_SCHEME
    from scim2_server.utils import (
        load_default_resource_types,
        load_default_schemas,
        load_default_service_provider_config,
    )

    service_config = load_default_service_provider_config()
    service_config.authentication_schemes = [BEARER_TOKEN_SCHEME]
    return ScimProvider.from_discovery(
        load_default_schemas().values(),
        load_default_resource_types().values(),
        config=service_config,
    )


def _start_scim(config: Config, middleware: Middleware, secret: str) -> Any:
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from scim2_server.applications.wsgi import TenantDispatcher
    from scim2_server.memory import InMemoryStorage
    from scim2_server.service import ScimService
    from scim2_server.testserver.application import BearerTokenApplication
    from scim2_server.testserver.cli import ThreadingWSGIServer

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return None

    provider = _scim_provider()
    service = ScimService(provider, secret=secrets.token_urlsafe(32))

    bound: dict[str, Binding] = {}

    def tenant(tool: str) -> Any:
        # The bindings as last read; read again for a tool they do not name, so a tool
        # bound after the sandbox started is served too (once per tool, not per tenant:
        # reading the policy data for each of 1,000 tenants took seconds).
        if tool not in bound:
            bound.update(_bindings(config))
        binding = bound.get(tool)
        try:
            token = binding.scim.token(tool) if binding and binding.scim else None
        except GuardrailsError:
            token = None
        # Without a token the tenant still exists but refuses every request (401).
        tokens = [token or secrets.token_urlsafe(32)]
        return BearerTokenApplication(
            InMemoryStorage(), provider, service=service, bearer_tokens=tokens
        )

    app = Handshake(middleware(TenantDispatcher(tenant)), secret)
    server = make_server("127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=Quiet)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server
