"""What provisioning talks about: a tool's wanted access, one change, a plan."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from guardrails.errors import GuardrailsError
from guardrails.provision.bindings import ScimBinding

PLAN_VERSION = 1
MANAGED_MARK = "managed-by: saas-guardrails"
"""Written in the Description of every Identity Store group guardrails creates."""


ROLES = ("users", "admins")
"""A tool's managed groups: `saas-<tool>` (everyone with access) and `saas-<tool>-admins`."""


def group_name(tool: str, role: str = "users") -> str:
    """The managed group of a tool: `saas-<name>`, or `saas-<name>-admins` for its admins."""
    return f"saas-{tool}" if role == "users" else f"saas-{tool}-{role}"


@dataclass(frozen=True)
class ToolAccess:
    """Who should have access to one tool, and where it is provisioned (IT's binding)."""

    tool: str
    """The manifest's name."""
    users: tuple[str, ...]
    """Individual users named by the manifest (emails, lower case)."""
    groups: tuple[str, ...]
    """Directory groups named by the manifest."""
    admins: tuple[str, ...] = ()
    """The manifest's admins (emails, lower case): they get access, and admin rights
    where the binding has an admin group."""
    application: str | None = None
    """The Identity Center application IT bound to the tool, when the manifest asks for
    Identity Center; else None."""
    application_admin_group: bool = False
    """Also keep `saas-<tool>-admins` assigned to the application."""
    scim: ScimBinding | None = None
    """The SCIM endpoint IT bound to the tool, when it is provisioned or revoked there."""
    grants: bool = True
    """False for a tool that is blocked, refused or removed: its revocations are carried
    out, nothing is granted."""
    seats: int | None = None
    """Seats bought (`spec.cost.seats`), or None when the manifest does not say."""


@dataclass(frozen=True)
class Change:
    """One write to one provider: the unit a plan lists and `apply` carries out."""

    provider: str
    """`identity-center` or `scim`."""
    tool: str
    """The tool the change is for."""
    action: str
    """What is done, e.g. `add-member`; see `ACTIONS`."""
    principal: str
    """Who or what it is done to: a person's email or a group's name."""
    target: str = ""
    """What it is done in: a group or an application name."""
    people: tuple[str, ...] = ()
    """For a change to a whole group (assign, unassign, delete group): the people whose
    access it grants or takes away. Empty for a change to one person."""

    @property
    def sign(self) -> str:
        """`+` create, `~` change, `-` remove."""
        return ACTIONS[self.action][0]

    @property
    def reached(self) -> tuple[str, ...]:
        """The people whose access this change gives or takes."""
        return (self.principal,) if self.action in PER_PERSON else self.people

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        """What the change does, whoever it reaches: how an interrupted one is matched."""
        return (self.provider, self.tool, self.action, self.principal, self.target)

    @property
    def revokes(self) -> bool:
        """True when the change takes access away (counted by the deletion guard)."""
        return self.sign == "-"

    def describe(self) -> str:
        """The change in words, e.g. `add alice@example.com to saas-hubspot`."""
        return ACTIONS[self.action][1].format(principal=self.principal, target=self.target)


ACTIONS: Mapping[str, tuple[str, str]] = {
    "create-group": ("+", "create group {principal}"),
    "add-member": ("+", "add {principal} to {target}"),
    "assign": ("+", "assign {principal} to application {target}"),
    "create-user": ("+", "create user {principal}"),
    "reactivate-user": ("~", "reactivate user {principal}"),
    "remove-member": ("-", "remove {principal} from {target}"),
    "unassign": ("-", "unassign {principal} from application {target}"),
    "delete-group": ("-", "delete group {principal}"),
    "deactivate-user": ("-", "deactivate user {principal} (active: false)"),
}
PER_PERSON = frozenset(
    {"add-member", "remove-member", "create-user", "reactivate-user", "deactivate-user"}
)
"""Actions whose principal is a person (an email); the others act on a group."""


@dataclass(frozen=True)
class Notice:
    """Something plan/apply reports but does not change: a blocked tool, a missing person."""

    tool: str
    """The tool concerned."""
    message: str
    """What to tell the user."""


@dataclass(frozen=True)
class Plan:
    """The changes that bring the live directory in line with the approved manifests."""

    changes: tuple[Change, ...]
    """In the order `apply` carries them out."""
    fingerprint: str
    """Digest of the inputs (wanted access and observed live state): a saved plan whose
    fingerprint no longer matches is stale."""
    notices: tuple[Notice, ...] = field(default=())
    """Blocked manifests, people or groups missing from the directory."""

    @property
    def revocations(self) -> int:
        """Accesses taken away: distinct (tool, person) reached by a `-` change, so that
        unassigning a group of 13 counts 13."""
        return len({(c.tool, p) for c in self.changes if c.revokes for p in c.reached})

    def to_json(self) -> str:
        """The plan file's text. It holds no secret: tokens are only ever named."""
        document = {
            "version": PLAN_VERSION,
            "fingerprint": self.fingerprint,
            "changes": [asdict(c) for c in self.changes],
            "notices": [asdict(n) for n in self.notices],
        }
        return json.dumps(document, indent=2) + "\n"

    @staticmethod
    def from_json(text: str, source: str) -> Plan:
        """Read a plan file; raise `GuardrailsError` when it is not one."""
        try:
            document = json.loads(text)
            if document.get("version") != PLAN_VERSION:
                raise ValueError(f"unsupported plan version {document.get('version')!r}")
            changes = tuple(
                Change(**{**c, "people": tuple(c.get("people", ()))}) for c in document["changes"]
            )
            for change in changes:
                if change.action not in ACTIONS:
                    raise ValueError(f"unknown action {change.action!r}")
            notices = tuple(Notice(**n) for n in document.get("notices", []))
            return Plan(changes, str(document["fingerprint"]), notices)
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise GuardrailsError(f"{source}: not a guardrails plan file: {err}") from err


def fingerprint(*parts: Any) -> str:
    """A stable digest of JSON-able parts (sorted keys; sets must be given sorted)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=list)
    return hashlib.sha256(text.encode()).hexdigest()
