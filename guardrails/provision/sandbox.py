"""A local stand-in for both providers, so the demo and the tests need no cloud account.

- AWS: a moto server on loopback (identitystore, sso-admin). moto has no sso-admin
  *application* APIs, so a small in-memory `ApplicationDesk` answers those five
  operations in front of it; everything else goes to moto.
- SCIM: scim2-server on loopback, one tenant per tool at `/<tool>/v2`, each accepting
  the bearer token found in the sandbox's environment under the manifest's `token_env`.

It is seeded from the catalog's `directory.yaml` (users and groups) and from the
manifests (one application per `identity_center.application`), and writes
`.guardrails/sandbox.json` under the catalog root so plan/apply find it.
"""

from __future__ import annotations

import functools
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
from guardrails.provision.settings import SANDBOX_STATE

REGION = "us-east-1"
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
        raise GuardrailsError(
            f"{path}: cannot read the sandbox directory: {err.strerror}"
        ) from None
    except LoadError as err:
        raise GuardrailsError(f"{path}:{err}") from None
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
        raise GuardrailsError(f"{path}: not a directory file ({err})") from None
    known = {p.email for p in people}
    for name, members in groups.items():
        for email in members:
            if email not in known:
                raise GuardrailsError(f"{path}: group {name}: {email} is not under users")
    return Directory(people, groups, applications)


class ApplicationDesk:
    """In-memory sso-admin application APIs (moto lacks them): a WSGI wrapper."""

    TARGET = "SWBExternalService."
    OPERATIONS = frozenset(
        {
            "CreateApplication",
            "ListApplications",
            "CreateApplicationAssignment",
            "DeleteApplicationAssignment",
            "ListApplicationAssignments",
        }
    )

    def __init__(self, moto_app: Any) -> None:
        self.moto_app = moto_app
        self.applications: dict[str, dict[str, Any]] = {}
        self.assignments: dict[str, set[tuple[str, str]]] = {}
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        operation = target.removeprefix(self.TARGET)
        if not target.startswith(self.TARGET) or operation not in self.OPERATIONS:
            return self.moto_app(environ, start_response)  # type: ignore[no-any-return]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length) or b"{}")
        with self.lock:
            status, answer = self.serve(operation, body)
        payload = json.dumps(answer).encode()
        start_response(status, [("Content-Type", "application/x-amz-json-1.1")])
        return [payload]

    def serve(self, operation: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Answer one operation (status line, JSON body)."""
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
            return "200 OK", {"Applications": found}
        arn = body.get("ApplicationArn", "")
        if arn not in self.assignments:
            return "400 Bad Request", {
                "__type": "ResourceNotFoundException",
                "Message": "application not found",
            }
        if operation == "ListApplicationAssignments":
            listed = [
                {"ApplicationArn": arn, "PrincipalId": p, "PrincipalType": t}
                for p, t in sorted(self.assignments[arn])
            ]
            return "200 OK", {"ApplicationAssignments": listed}
        principal = (body["PrincipalId"], body["PrincipalType"])
        if operation == "CreateApplicationAssignment":
            self.assignments[arn].add(principal)
        else:
            self.assignments[arn].discard(principal)
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


class Sandbox:
    """Starts, seeds and stops the sandbox servers for one catalog."""

    def __init__(
        self, config: Config, directory: Directory, middleware: Middleware | None = None
    ) -> None:
        self.config = config
        self.directory = directory
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
        self.moto = _start_moto(self.middleware)
        host, port = self.moto.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        self.scim = _start_scim(self.config, self.middleware)
        scim_host, scim_port = self.scim.server_address[:2]
        instance_arn, store_id = self._seed(endpoint)
        self.state = SandboxState(
            REGION, store_id, instance_arn, endpoint, f"http://{scim_host}:{scim_port}", os.getpid()
        )
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(
            json.dumps(asdict(self.state), indent=2) + "\n", encoding="utf-8"
        )
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
        ids = {}
        for person in self.directory.people:
            given, _, family = person.name.partition(" ")
            ids[person.email] = store.create_user(
                IdentityStoreId=store_id,
                UserName=person.email,
                DisplayName=person.name,
                Name={"GivenName": given or person.name, "FamilyName": family or "-"},
                Emails=[{"Value": person.email, "Type": "work", "Primary": True}],
            )["UserId"]
        for name, members in sorted(self.directory.groups.items()):
            group = store.create_group(IdentityStoreId=store_id, DisplayName=name)["GroupId"]
            for email in members:
                store.create_group_membership(
                    IdentityStoreId=store_id, GroupId=group, MemberId={"UserId": ids[email]}
                )
        provider = "arn:aws:sso::aws:applicationProvider/custom"
        for application in sorted(set(self.directory.applications) | _applications(self.config)):
            sso.create_application(
                InstanceArn=arn, ApplicationProviderArn=provider, Name=application
            )
        return arn, store_id


def _applications(config: Config) -> set[str]:
    """Application names the catalog's manifests name (the sandbox is data-driven)."""
    return {
        str(app)
        for document in _manifests(config).values()
        if (app := _get(document, "spec", "provisioning", "identity_center", "application"))
    }


def _manifests(config: Config) -> dict[str, Mapping[str, Any]]:
    from guardrails.catalog.load import load_catalog
    from guardrails.catalog.tree import WorkTree

    catalog = load_catalog(WorkTree(config.root), config)
    return {m.name: m.document for m in catalog.manifests}


def _get(document: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(document, Mapping):
            return None
        document = document.get(key)
    return document


def _start_moto(middleware: Middleware) -> Any:
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

            app = middleware(ApplicationDesk(DomainDispatcherApplication(create_backend_app)))
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


def _start_scim(config: Config, middleware: Middleware) -> Any:
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

    def tenant(tool: str) -> Any:
        # Read the catalog now, so a tool added after the sandbox started is served too.
        token_env = _get(_manifests(config).get(tool), "spec", "provisioning", "scim", "token_env")
        token = os.environ.get(str(token_env)) if token_env else None
        # Without a token the tenant still exists but refuses every request (401).
        tokens = [token or secrets.token_urlsafe(32)]
        return BearerTokenApplication(
            InMemoryStorage(), provider, service=service, bearer_tokens=tokens
        )

    app = middleware(TenantDispatcher(tenant))
    server = make_server("127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=Quiet)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server
