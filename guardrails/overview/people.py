"""Who a manifest grants access to, resolved through a directory.

The catalog's `directory.yaml` (the sandbox's seed) resolves groups into people where
it exists; `--with-plan` reads the live directory instead, through the provisioning
settings `guardrails plan` uses, and also counts the members of each tool's managed
group (the people provisioned). Nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from guardrails.catalog.model import Manifest
from guardrails.config import Config
from guardrails.errors import GuardrailsError


@dataclass(frozen=True)
class Directory:
    """Groups and people as one directory knows them."""

    name: str
    """Where they come from, as the report names it."""
    groups: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Group name -> members' emails (lower case)."""
    aliases: Mapping[str, str] = field(default_factory=dict)
    """Any name or email a person is known by (lower case) -> their email."""
    provisioned: Mapping[str, int] | None = None
    """Tool -> members of its managed group in the live directory (None: not read)."""

    def granted(
        self, users: Iterable[str], groups: Iterable[str]
    ) -> tuple[int | None, tuple[str, ...]]:
        """(people granted, groups it cannot resolve): None people when a group is not known."""
        people = {self.aliases.get(u.lower(), u.lower()) for u in users}
        unresolved = []
        for group in groups:
            members = self.groups.get(group)
            if members is None:
                unresolved.append(group)
            else:
                people |= members
        return (None if unresolved else len(people)), tuple(unresolved)


NO_DIRECTORY = Directory("")


def file_directory(config: Config) -> Directory:
    """The catalog's `directory.yaml`, when it has one."""
    from guardrails.provision.sandbox import load_directory

    path = config.root / config.directory
    if not path.is_file():
        return NO_DIRECTORY
    seed = load_directory(path)
    groups = {name: frozenset(members) for name, members in seed.groups.items()}
    return Directory(config.directory, groups, {p.email: p.email for p in seed.people})


def live_directory(
    config: Config, manifests: Iterable[Manifest], use_sandbox: bool = False
) -> Directory:
    """The live Identity Center directory (read only), for `--with-plan` (the local
    sandbox's only with `use_sandbox`, as plan and apply)."""
    try:
        from guardrails.provision.calls import CallCounter
        from guardrails.provision.identity_center import IdentityCenter
        from guardrails.provision.model import ToolAccess, group_name
        from guardrails.provision.settings import load_settings
    except ImportError as err:
        raise GuardrailsError(
            f"--with-plan reads the live directory and needs the provisioning extra "
            f"(pip install 'saas-guardrails[provision]'): {err.name} is missing"
        ) from err
    settings = load_settings(config, use_sandbox=use_sandbox)
    if settings.identity_center is None:
        raise GuardrailsError(
            "--with-plan: no Identity Center to read: set provisioning.identity_center in "
            "guardrails.yaml (or GUARDRAILS_IDENTITY_STORE_ID and GUARDRAILS_SSO_INSTANCE_ARN), "
            "or start `guardrails sandbox` and pass --sandbox"
        )
    tools = []
    for manifest in manifests:
        access = manifest.spec.get("access") or {}
        users = tuple(sorted({str(u).lower() for u in access.get("users", [])}))
        groups = tuple(sorted(set(access.get("groups", []))))
        tools.append(ToolAccess(manifest.name, users, groups, application=None, scim=None))
    state = IdentityCenter(settings.identity_center, CallCounter()).read(tools)
    found = {name: frozenset(group.members) for name, group in state.groups.items()}
    provisioned = {}
    for tool in tools:
        managed = state.groups.get(group_name(tool.tool))
        if managed is not None and managed.managed_tool == tool.tool:
            provisioned[tool.tool] = len(managed.members)
    return Directory("the live directory", found, state.aliases, provisioned)
