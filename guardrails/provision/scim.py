"""Provider `scim`: Users and one Group (`saas-<name>`) on a tool's SCIM 2.0 endpoint.

Removing someone deactivates them (`active: false`) rather than deleting them, and
only users guardrails created (their externalId carries the mark) are deactivated.
The bearer token is read from the environment variable IT bound to the tool (never one
a manifest names), and is never printed, logged or written to a plan.
"""

from __future__ import annotations

import functools
import logging
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from guardrails.errors import GuardrailsError
from guardrails.provision.calls import CallCounter, in_parallel
from guardrails.provision.interface import PartlyDone, Proposal, Run
from guardrails.provision.model import ROLES, Change, Notice, ToolAccess, group_name

if TYPE_CHECKING:
    from guardrails.provision.plan import Wanted

PROVIDER = "scim"
MARK = "saas-guardrails:"
"""Prefix of the externalId of the users and the group guardrails creates."""
PAGE = 100
MAX_RETRY_AFTER = 30.0
"""The longest wait a server's Retry-After is honoured for; one asking for more fails
the request at once (apply again later) rather than hold the run and its lock."""
USER_ACTIONS = frozenset({"create-user", "reactivate-user", "deactivate-user"})
_LOG = logging.getLogger(__name__)
SAFE_ID = re.compile(r"[A-Za-z0-9._~@:+=-]{1,256}")
"""What a resource id from a server may look like: it goes into request paths."""


@dataclass(frozen=True)
class ScimUser:
    """A user on the tool's endpoint."""

    id: str
    """The server's id."""
    active: bool
    """Whether the account is active."""
    managed: bool
    """Created by guardrails (externalId carries the mark)."""


@dataclass(frozen=True)
class ScimGroup:
    """One of the tool's groups on its endpoint (`saas-<name>`, `saas-<name>-admins`)."""

    id: str | None
    """Its id, or None when it does not exist yet."""
    members: frozenset[str] = frozenset()
    """userNames in it."""
    managed: bool = True
    """False when it exists but guardrails did not create it (left alone)."""
    others: int = 0
    """How many more groups share its name (reported, never touched)."""


@dataclass(frozen=True)
class ScimState:
    """What was read from one tool's endpoint."""

    users: Mapping[str, ScimUser]
    """userName (lower case) -> user."""
    groups: Mapping[str, ScimGroup]
    """Role (`users`, `admins`) -> the tool's group of that role."""

    def snapshot(self) -> dict[str, Any]:
        """JSON-able, order-independent view for fingerprints."""
        return {
            "users": sorted((n, u.id, u.active, u.managed) for n, u in self.users.items()),
            "groups": sorted(
                (r, g.id, sorted(g.members), g.managed, g.others) for r, g in self.groups.items()
            ),
        }


def provider(wanted: Wanted, run: Run) -> ScimProvider | None:
    """The registry's factory (None when no tool is provisioned over SCIM). Every token
    is read now, before anything is: a tool silently not pushed to SCIM (or not
    revoked there) would look done when it is not."""
    tokens = {t.tool: t.scim.token(t.tool) for t in wanted.tools if t.scim is not None}
    if not tokens:
        return None
    return ScimProvider(run, tokens)


def _import_libraries() -> None:
    import scim2_client.engines.httpx2  # noqa: F401
    import scim2_models  # noqa: F401


class ScimProvider:
    """Every tool's SCIM endpoint for one run, over one HTTP transport (one TLS
    context, one connection pool) shared by all of them."""

    name = PROVIDER
    side_by_side: frozenset[str] = frozenset()  # one request per step, in order

    def __init__(self, run: Run, tokens: Mapping[str, str]) -> None:
        self.run = run
        self.tokens = tokens
        self.tools: dict[str, ScimTool] = {}
        self._transport: Any = None

    def url(self, tool: ToolAccess) -> str:
        """The tool's SCIM base URL: IT's binding, or the sandbox's tenant for the tool
        when plan/apply were asked to use a (verified) sandbox."""
        assert tool.scim is not None
        sandbox = self.run.settings.scim_sandbox_url
        if sandbox:
            return f"{sandbox.rstrip('/')}/{tool.tool}/v2"
        return tool.scim.url

    def transport(self) -> Any:
        """The run's one HTTP transport: building a TLS context reads the trust store
        (load_verify_locations), which once per tool was half a 200-tool plan."""
        if self._transport is None:
            import httpx2

            width = self.run.settings.max_concurrency
            self._transport = httpx2.HTTPTransport(
                limits=httpx2.Limits(max_connections=width, max_keepalive_connections=width)
            )
        return self._transport

    def propose(self, wanted: Wanted) -> Proposal:
        """Read every tool's endpoint (side by side), then list the changes."""
        mine = [t for t in wanted.tools if t.scim is not None]
        if not mine:
            return Proposal(())
        directory = self.run.directory
        if directory is None:
            raise GuardrailsError("scim: no directory to resolve people against")
        for tool in mine:
            self.tools[tool.tool] = ScimTool(
                tool,
                self.url(tool),
                self.tokens[tool.tool],
                self.run.counter,
                self.run.settings.scim_max_attempts,
                transport=self.transport(),
                bulk=self.run.settings.scim_bulk,
            )
        states = in_parallel(
            lambda t: self.tools[t.tool].read(), mine, self.run.settings.max_concurrency
        )
        changes: list[Change] = []
        notices: list[Notice] = []
        for tool in mine:
            people, problems = directory.people(tool)
            admins, _ = directory.resolve(tool.admins)
            notices += [Notice(tool.tool, p) for p in problems]
            more, told = self.tools[tool.tool].changes(tool, people, frozenset(admins))
            changes += more
            notices += told
        if changes:
            # Writing goes through scim2-client, whose import builds scim2-models'
            # pydantic models (1-2 s of CPU): begun now, while the plan is shown and the
            # Identity Center changes are made; the import lock makes the first write
            # wait for it. A no-op run never imports them (reads need neither).
            import threading

            threading.Thread(target=_import_libraries, daemon=True).start()
        snapshot = {t.tool: state.snapshot() for t, state in zip(mine, states, strict=True)}
        return Proposal(tuple(changes), tuple(notices), snapshot)

    def steps(self, changes: Sequence[Change]) -> list[tuple[Change, ...]]:
        """Consecutive account changes go together (one Bulk request where offered);
        a group's creation and the members added or removed go together (one POST
        with its members, or one PATCH)."""
        found: list[list[Change]] = []
        for change in changes:
            last = found[-1] if found else None
            if last is not None and _together(last, change):
                last.append(change)
            else:
                found.append([change])
        return [tuple(step) for step in found]

    def carry_out(self, step: Sequence[Change]) -> None:
        """Carry out one step on its tool's endpoint."""
        directory = self.run.directory
        names = directory.names if directory is not None else {}
        self.tools[step[0].tool].carry_out(step, names)


def _together(step: Sequence[Change], change: Change) -> bool:
    """Whether `change` joins the step: same tool; accounts with accounts; members of
    the same group with its creation and its other members."""
    first = step[0]
    if change.tool != first.tool:
        return False
    if first.action in USER_ACTIONS:
        return change.action in USER_ACTIONS
    if first.action == "create-group":  # a new group has no one to remove
        return change.action == "add-member" and change.target == first.principal
    return change.action in ("add-member", "remove-member") and change.target == first.target


def _send(send: Callable[[], Any], method: str, counter: CallCounter | None, attempts: int) -> Any:
    """One SCIM call (`send()` makes its HTTP request): counted, retried on 429/5xx
    with back-off or the server's Retry-After (`_retryable`, `_delay`)."""
    if counter is not None:
        counter.record(PROVIDER, method.upper())
    for attempt in range(1, attempts + 1):
        if counter is not None:
            counter.record_request(PROVIDER)
        response = send()
        retry = _retryable(method, response.status_code)
        if not retry or attempt == attempts:
            return response
        wait = _delay(attempt, response.headers.get("Retry-After"))
        if wait is None:
            raise RetryTooLate(response.status_code, response.headers["Retry-After"])
        time.sleep(wait)
    raise AssertionError("unreachable")


@functools.cache
def _client_class() -> Any:
    """A scim2-client over httpx2 that retries 429/5xx with back-off and counts calls."""
    from scim2_client.engines.httpx2 import SyncSCIMClient

    class RetryingClient(SyncSCIMClient):
        attempts = 5
        counter: CallCounter | None = None

        def request(self, method: str, url: str, **kwargs: Any) -> Any:
            parent = super().request
            return _send(lambda: parent(method, url, **kwargs), method, self.counter, self.attempts)

    return RetryingClient


class RetryTooLate(Exception):
    """The server asked to wait longer than `MAX_RETRY_AFTER` before trying again."""

    def __init__(self, status: int, retry_after: str) -> None:
        super().__init__(
            f"HTTP {status} with Retry-After {retry_after[:40]!r}: the server asks to wait "
            f"longer than the {MAX_RETRY_AFTER:.0f} s guardrails waits; run apply again later"
        )


def _retryable(method: str, status: int) -> bool:
    """429 and 5xx are retried, except that a POST is only retried when the server
    surely did not carry it out (429, 503): a POST whose answer was lost in a 500 may
    have created the resource, and sending it again would create a second one. The
    next apply reads the live state and completes the work instead."""
    if status == 429:
        return True
    if method.upper() == "POST":
        return status == 503
    return status >= 500


def _patch(*operations: dict[str, Any]) -> dict[str, Any]:
    """A SCIM PatchOp body (RFC 7644 §3.5.2)."""
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": list(operations),
    }


def _delay(attempt: int, retry_after: str | None) -> float | None:
    """Seconds to wait: the server's Retry-After when given (seconds or an HTTP date,
    RFC 9110 §10.2.3), None when that is more than `MAX_RETRY_AFTER`; else jittered
    exponential back-off."""
    wait: float | None = None
    if retry_after and retry_after.strip().isdigit():
        wait = float(retry_after.strip())
    elif retry_after:
        try:
            when = parsedate_to_datetime(retry_after)
            wait = max(0.0, when.timestamp() - time.time())
        except (TypeError, ValueError, IndexError, OverflowError):
            wait = None  # not a date either: back off as if none was given
    if wait is not None:
        return wait if wait <= MAX_RETRY_AFTER else None
    return min(0.1 * 2.0 ** (attempt - 1), 5.0) * (0.5 + random.random() / 2)


class ScimTool:
    """One tool's SCIM endpoint: read, propose changes, apply them."""

    def __init__(
        self,
        tool: ToolAccess,
        url: str,
        token: str,
        counter: CallCounter,
        attempts: int = 5,
        transport: Any = None,
        bulk: bool = True,
    ) -> None:
        import httpx2

        if tool.scim is None:
            raise ValueError("tool without scim")
        self.tool = tool.tool
        self.url = url
        self.secret = token
        # No redirects are followed (httpx's default, kept explicit): a redirect would
        # carry the request, and the token, somewhere IT did not bind.
        self.http = httpx2.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
            follow_redirects=False,
            transport=transport,
        )
        self.counter = counter
        self.attempts = attempts
        self._client: Any = None
        self.use_bulk = bulk
        self._bulk_offer: tuple[int, int] | None = None
        self.state: ScimState | None = None
        self.ids: dict[str, str] = {}
        self.group_ids: dict[str, str] = {}

    @property
    def client(self) -> Any:
        """scim2-client on this endpoint, for writes (built when first needed)."""
        if self._client is None:
            from scim2_models import Group, ScimProvider, ServiceProviderConfig, User

            client = _client_class()(
                self.http, provider=ScimProvider([User, Group, ServiceProviderConfig])
            )
            client.attempts = self.attempts
            client.counter = self.counter
            self._client = client
        return self._client

    def _get(self, path: str, params: Mapping[str, Any]) -> Any:
        """GET a list of resources: its JSON, once the answer is a success in a SCIM
        content type. A failure is read by scim2-client (imported only then), so that
        it reads as the library's exception (UnauthorizedException, ...)."""
        import httpx2

        def send() -> Any:
            try:
                return self.http.get(path, params=params)
            except httpx2.RequestError as err:
                from scim2_client.errors import RequestNetworkException

                failure = RequestNetworkException()
                failure.add_note(str(err))
                raise failure from err

        response = _send(send, "GET", self.counter, self.attempts)
        if response.status_code != 200:
            try:
                payload = response.json() if response.content else None
            except ValueError:
                payload = None
            self.client.check_response(
                payload=payload,
                status_code=response.status_code,
                headers=response.headers,
                expected_status_codes=[200],
            )
            raise Unreadable(f"HTTP {response.status_code} to GET {path}")
        kind = (response.headers.get("content-type") or "").split(";")[0].strip().lower()
        if kind not in ("application/scim+json", "application/json"):
            raise Unreadable(f"an answer of type {kind[:60]!r}, not SCIM JSON")
        try:
            return response.json()
        except (ValueError, RecursionError):
            raise Unreadable("an answer that is not JSON") from None

    def read(self) -> ScimState:
        """Read every user (paged) and the tool's groups (one filtered query).

        The answers are read as JSON and checked field by field for what guardrails
        uses (`_field`), not validated resource by resource into scim2-models objects:
        that validation (every attribute, every email address) was most of a no-op
        apply's CPU, and a field guardrails uses that is missing or of the wrong type
        still fails the read (closed)."""
        with _scim_errors(self.tool, self.url, self.secret):
            users: dict[str, ScimUser] = {}
            start = 1
            while True:
                resources, total = _list(self._get("/Users", {"startIndex": start, "count": PAGE}))
                for user in resources:
                    users[_field(user, "userName", str).lower()] = ScimUser(
                        _safe_id(_field(user, "id", str)),
                        _field(user, "active", bool, True) is not False,
                        _field(user, "externalId", str, "").startswith(MARK),
                    )
                start += len(resources)
                if not resources or start > total:
                    break
            names = {role: group_name(self.tool, role) for role in ROLES}
            wanted = " or ".join(f'displayName eq "{n}"' for n in names.values())
            found, _ = _list(self._get("/Groups", {"filter": wanted, "count": PAGE}))
            by_id = {u.id: n for n, u in users.items()}
            groups: dict[str, ScimGroup] = {}
            for role, name in names.items():
                mark = _group_mark(self.tool, role)
                # guardrails' own group first, whichever order the server lists them in
                same = sorted(
                    (g for g in found if _field(g, "displayName", str, "") == name),
                    key=lambda g: _field(g, "externalId", str, "") != mark,
                )
                if not same:
                    groups[role] = ScimGroup(None)
                    continue
                listed = _field(same[0], "members", list, [])
                values = (_field(_object(m), "value", str) for m in listed)
                members = frozenset(by_id[v] for v in values if v in by_id)
                managed = _field(same[0], "externalId", str, "") == mark
                group_id = _safe_id(_field(same[0], "id", str))
                groups[role] = ScimGroup(group_id, members, managed, len(same) - 1)
        self.state = ScimState(users, groups)
        self.ids = {n: u.id for n, u in users.items()}
        self.group_ids = {
            group_name(self.tool, role): g.id for role, g in groups.items() if g.id is not None
        }
        return self.state

    def changes(
        self, tool: ToolAccess, people: frozenset[str], admins: frozenset[str]
    ) -> tuple[list[Change], list[Notice]]:
        """Create or reactivate who should have access, deactivate who should not; keep
        `saas-<name>` (everyone) and, with an admin group, `saas-<name>-admins` (admins).

        A deactivated account guardrails did not create is reported, not reactivated:
        someone else switched it off, and only guardrails' own resources are changed.
        A tool that only loses access (`grants` False) gets only the `-` changes."""
        state = self.state
        if state is None:
            raise RuntimeError("read() first")
        changes = []
        notices = []
        for person in sorted(people):
            user = state.users.get(person)
            if user is None:
                changes.append(Change(PROVIDER, self.tool, "create-user", person))
            elif not user.active and user.managed:
                changes.append(Change(PROVIDER, self.tool, "reactivate-user", person))
            elif not user.active:
                notices.append(
                    Notice(
                        self.tool,
                        f"SCIM user {person} is deactivated and guardrails did not create "
                        "it: left alone",
                    )
                )
        admin_group = tool.scim is not None and tool.scim.admin_group
        for role, members in (("users", people), ("admins", admins if admin_group else None)):
            group = state.groups.get(role, ScimGroup(None))
            name = group_name(self.tool, role)
            if not group.managed:
                if members is None:
                    continue  # no admin group here: someone else's group of that name
                notices.append(
                    Notice(
                        self.tool,
                        f"SCIM group {name} exists but guardrails did not create it: left alone",
                    )
                )
                continue
            if group.others:
                notices.append(
                    Notice(
                        self.tool,
                        f"{group.others} more SCIM group(s) named {name}: left alone "
                        f"(guardrails uses id {group.id})",
                    )
                )
            wanted = members or frozenset()
            if group.id is None and members is not None:
                changes.append(Change(PROVIDER, self.tool, "create-group", name))
            changes += [
                Change(PROVIDER, self.tool, "add-member", p, name)
                for p in sorted(wanted - group.members)
            ]
            changes += [
                Change(PROVIDER, self.tool, "remove-member", p, name)
                for p in sorted(group.members - wanted)
            ]
        for person, user in sorted(state.users.items()):
            if person not in people and user.managed and user.active:
                changes.append(Change(PROVIDER, self.tool, "deactivate-user", person))
        if not tool.grants:
            changes = [c for c in changes if c.revokes]
        return changes, notices

    def carry_out(self, step: Sequence[Change], display_names: Mapping[str, str]) -> None:
        """Carry out one step (see `ScimProvider.steps`)."""
        first = step[0]
        if first.action in USER_ACTIONS:
            with _scim_errors(self.tool, self.url, self.secret):
                limits = self.bulk_limits() if len(step) > 1 else None
                if limits is not None:
                    self._bulk_accounts(step, display_names, limits)
                    return
            for number, change in enumerate(step):
                try:
                    with _scim_errors(self.tool, self.url, self.secret):
                        self._account(change, display_names)
                except GuardrailsError as err:
                    if number and not isinstance(err, PartlyDone):
                        raise PartlyDone(str(err), step[:number]) from err
                    raise
            return
        with _scim_errors(self.tool, self.url, self.secret):
            if first.action == "create-group":
                self._create_group(first.principal, [c.principal for c in step[1:]])
            elif all(c.action in ("add-member", "remove-member") for c in step):
                self._members(first.target, step)
            else:
                raise GuardrailsError(f"scim cannot {first.action}")

    def bulk_limits(self) -> tuple[int, int] | None:
        """(maxOperations, maxPayloadSize) when the endpoint's ServiceProviderConfig
        offers Bulk (read once, when first needed) and IT did not turn it off."""
        from scim2_models import ServiceProviderConfig

        if not self.use_bulk:
            return None
        if self._bulk_offer is None:
            try:
                config = self.client.query(ServiceProviderConfig)
            except Exception:  # no readable config (RFC 7644 requires one): no Bulk
                config = None
            bulk = getattr(config, "bulk", None)
            offered = bulk is not None and bulk.supported is True
            operations = (getattr(bulk, "max_operations", 0) or 0) if offered else 0
            payload = (getattr(bulk, "max_payload_size", 0) or 0) if offered else 0
            self._bulk_offer = (operations, payload)
        operations, payload = self._bulk_offer
        return (operations, payload) if operations > 1 and payload > 0 else None

    def _user(self, email: str, display_names: Mapping[str, str]) -> Any:
        from scim2_models import Email, User

        return User(
            user_name=email,
            display_name=display_names.get(email, email),
            active=True,
            external_id=MARK + email,
            emails=[Email(value=email, primary=True)],
        )

    def _account(self, change: Change, display_names: Mapping[str, str]) -> None:
        from scim2_models import User

        if change.action == "create-user":
            created = self.client.create(self._user(change.principal, display_names))
            self.ids[change.principal] = _safe_id(created.id)
        else:
            active = change.action == "reactivate-user"
            patch = _patch({"op": "replace", "path": "active", "value": active})
            self.client.modify(User, self.ids[change.principal], patch)

    def _bulk_accounts(
        self, step: Sequence[Change], display_names: Mapping[str, str], limits: tuple[int, int]
    ) -> None:
        """Account changes as Bulk requests (RFC 7644 §3.7), each within the endpoint's
        maxOperations and maxPayloadSize; each operation's outcome is read on its own."""
        import json

        from scim2_models import Context

        max_operations, max_payload = limits
        operations: list[tuple[Change, dict[str, Any]]] = []
        for number, change in enumerate(step):
            if change.action == "create-user":
                user = self._user(change.principal, display_names)
                data = user.model_dump(scim_ctx=Context.RESOURCE_CREATION_REQUEST)
                operation = {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": str(number),
                    "data": data,
                }
            else:
                active = change.action == "reactivate-user"
                operation = {
                    "method": "PATCH",
                    "path": f"/Users/{self.ids[change.principal]}",
                    "data": _patch({"op": "replace", "path": "active", "value": active}),
                }
            operations.append((change, operation))
        chunks: list[list[tuple[Change, dict[str, Any]]]] = [[]]
        size = 0
        for change, operation in operations:
            length = len(json.dumps(operation)) + 1
            chunk = chunks[-1]
            if chunk and (len(chunk) >= max_operations or size + length > max_payload - 512):
                chunks.append([])
                size = 0
            chunks[-1].append((change, operation))
            size += length
        done: list[Change] = []
        for chunk in chunks:
            try:
                with _scim_errors(self.tool, self.url, self.secret):
                    done += self._bulk(chunk, done)
            except GuardrailsError as err:
                if done and not isinstance(err, PartlyDone):
                    raise PartlyDone(str(err), done) from err
                raise

    def _bulk(
        self, chunk: Sequence[tuple[Change, dict[str, Any]]], before: Sequence[Change]
    ) -> list[Change]:
        """Send one Bulk request; the changes it carried out, or `PartlyDone`."""
        body = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [operation for _, operation in chunk],
        }
        answer = self.client.bulk(body, check_request_payload=False, check_response_payload=False)
        results = answer.get("Operations") if isinstance(answer, dict) else None
        if not isinstance(results, list) or len(results) != len(chunk):
            raise GuardrailsError(f"{self.tool}: scim {self.url}: unreadable Bulk response")
        done: list[Change] = []
        failures: list[str] = []
        for (change, operation), result in zip(chunk, results, strict=True):
            status = str(result.get("status", "")) if isinstance(result, dict) else ""
            if not status.startswith("2"):
                detail = ""
                if isinstance(result, dict) and isinstance(result.get("response"), dict):
                    detail = str(result["response"].get("detail", ""))[:200]
                failures.append(
                    f"Bulk {operation['method']} for {change.principal} answered "
                    f"{status[:3] or 'nothing'}" + (f": {detail}" if detail else "")
                )
                continue
            if change.action == "create-user":
                location = str(result.get("location") or "")
                self.ids[change.principal] = _safe_id(location.rstrip("/").rpartition("/")[2])
            done.append(change)
        if failures:
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            raise PartlyDone(f"{self.tool}: scim {self.url}: {failures[0]}{more}", [*before, *done])
        return done

    def _create_group(self, name: str, members: Sequence[str]) -> None:
        """Create the group with its first members in one request."""
        from scim2_models import Group, GroupMember

        mark = _group_mark(self.tool, _role(self.tool, name))
        group = Group(
            display_name=name,
            external_id=mark,
            members=[GroupMember(value=self.ids[p], type="User", ref=None) for p in members]
            or None,
        )
        self.group_ids[name] = _safe_id(self.client.create(group).id)

    def _members(self, name: str, step: Sequence[Change]) -> None:
        """Add and remove a group's members in one PATCH: one `add` with every new
        member, one `remove` per member leaving (RFC 7644 §3.5.2)."""
        from scim2_models import Group

        added = [{"value": self.ids[c.principal]} for c in step if c.action == "add-member"]
        operations: list[dict[str, Any]] = []
        if added:
            operations.append({"op": "add", "path": "members", "value": added})
        operations += [
            {"op": "remove", "path": f'members[value eq "{self.ids[c.principal]}"]'}
            for c in step
            if c.action == "remove-member"
        ]
        self.client.modify(Group, self._group(name), _patch(*operations))

    def _group(self, name: str) -> str:
        if name not in self.group_ids:
            raise GuardrailsError(f"{self.tool}: SCIM group {name} not found")
        return self.group_ids[name]


class Unreadable(Exception):
    """A SCIM answer guardrails cannot read: a field it uses is missing or of the wrong
    type (the message names the field, never its value)."""


_MISSING: Any = object()


def _object(value: object) -> Mapping[str, Any]:
    """A JSON object of an answer, or `Unreadable`."""
    if not isinstance(value, dict):
        raise Unreadable(f"expected a JSON object, got {type(value).__name__}")
    return value


def _field(resource: Mapping[str, Any], name: str, kind: type[Any], default: Any = _MISSING) -> Any:
    """`resource[name]`, which must be a `kind` (attribute names are case-insensitive,
    RFC 7643 §2.1); `default` when absent or null, `Unreadable` when required."""
    value = resource.get(name, _MISSING)
    if value is _MISSING:
        lowered = name.lower()
        value = next((v for k, v in resource.items() if k.lower() == lowered), None)
    if value is None or value is _MISSING:
        if default is _MISSING:
            raise Unreadable(f"a resource without {name}")
        return default
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise Unreadable(f"{name} is a {type(value).__name__}, not a {kind.__name__}")
    return value


def _list(answer: object) -> tuple[list[Mapping[str, Any]], int]:
    """(resources, totalResults) of a ListResponse (RFC 7644 §3.4.2)."""
    page = _object(answer)
    schemas = _field(page, "schemas", list)
    if "urn:ietf:params:scim:api:messages:2.0:ListResponse" not in schemas:
        raise Unreadable("not a ListResponse")
    resources = [_object(r) for r in _field(page, "Resources", list, [])]
    total = _field(page, "totalResults", int)
    return resources, total


def _safe_id(value: object) -> str:
    """A resource id a server gave, once it is one that can go into a request path."""
    text = str(value or "")
    if not SAFE_ID.fullmatch(text):
        raise Unreadable(f"the server gave an unusable resource id {text[:40]!r}")
    return text


def _group_mark(tool: str, role: str) -> str:
    """The externalId of a group guardrails creates: `saas-guardrails:<tool>[:admins]`."""
    return MARK + tool + ("" if role == "users" else f":{role}")


def _role(tool: str, name: str) -> str:
    return next((r for r in ROLES if group_name(tool, r) == name), "users")


@contextmanager
def _scim_errors(tool: str, url: str, secret: str) -> Iterator[None]:
    """Turn every failure of a SCIM request into one readable line. The token is only
    ever in a request header, yet a hostile server may echo it in its answer, so it is
    blotted out of the message whatever the message is. The failure it came from goes
    to the debug log (`GUARDRAILS_LOG=debug`), blotted out the same way, rather than
    chained to the error: the log masks environment values, and the token sent is the
    variable's value stripped of whitespace, which that mask would miss."""
    try:
        yield
    except GuardrailsError:
        raise
    except Exception as err:
        # scim2-client puts the network cause (e.g. connection refused) in a note.
        if isinstance(err, RetryTooLate):
            message = f"{tool}: scim {url}: {err}"
        else:
            parts = [*str(err).splitlines()[:1], *getattr(err, "__notes__", [])[:1]]
            detail = "; ".join(parts) or type(err).__name__
            message = f"{tool}: scim {url}: {type(err).__name__}: {detail}"
        if _LOG.isEnabledFor(logging.DEBUG):
            import traceback

            cause = "".join(traceback.format_exception(err)).rstrip()
            _LOG.debug("%s: the failure it came from:\n%s", tool, cause.replace(secret, "***"))
        raise GuardrailsError(message.replace(secret, "***")) from None
