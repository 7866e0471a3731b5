"""IT's provisioning bindings: which application and which SCIM endpoint belong to a tool.

A manifest only *asks* for provisioning; what it gets is bound by IT in policy data
(`policies/data/provisioning.yaml`, under CODEOWNERS, read from `--policies-ref` in
CI), so a pull request can choose neither an application, nor a URL that receives a
token, nor an environment variable to read:

```yaml
provisioning:
  bindings:
    hubspot:                              # the tool's metadata.name
      identity_center:
        application: HubSpot              # its IAM Identity Center application
        admin_group: true                 # also saas-hubspot-admins (its admins), assigned to it
      scim:
        url: https://api.hubspot.example/scim/v2
        token_env: HUBSPOT_SCIM_TOKEN     # the variable holding the bearer token
        admin_group: true                 # also push saas-hubspot-admins
```

Because the binding outlives the manifest, removing a manifest still knows where to
revoke its access and with which token.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from guardrails.errors import GuardrailsError

TOOL_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
TOKEN_ENV = re.compile(r"^[A-Z_][A-Z0-9_]*$")
HEADER_SAFE = re.compile(r"^[\x21-\x7e]+$")
"""Visible ASCII: what a bearer token may hold and still be one HTTP header value."""
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
WHERE = "policy data provisioning.bindings"


def same_url(url: str) -> str:
    """A SCIM URL as bindings and manifests are compared: without a trailing `/`."""
    return url.rstrip("/")


@dataclass(frozen=True)
class ScimBinding:
    """A tool's SCIM 2.0 endpoint. The token itself is never held here."""

    url: str
    """Base URL of the SCIM service (…/v2): https, or http on loopback."""
    token_env: str
    """The environment variable holding its bearer token: the only one read for it."""
    admin_group: bool = False
    """Also push a group `saas-<tool>-admins` holding the manifest's admins."""

    def token(self, tool: str) -> str:
        """The bearer token, read now: surrounding whitespace stripped, checked to be one
        header value. Errors name the variable, never the value."""
        raw = os.environ.get(self.token_env)
        token = (raw or "").strip()
        if not token:
            raise GuardrailsError(
                f"{tool}: SCIM token variable {self.token_env} is not set"
                f"{' (it holds only whitespace)' if raw else ''}: export it (IT binds it "
                "in policies/data/provisioning.yaml)"
            )
        if not HEADER_SAFE.match(token):
            position = next(i for i, c in enumerate(token, 1) if not HEADER_SAFE.match(c))
            raise GuardrailsError(
                f"{tool}: SCIM token in {self.token_env} has a character that cannot be "
                f"sent in an HTTP header (character {position} of {len(token)}): set it again"
            )
        return token


@dataclass(frozen=True)
class Binding:
    """What IT bound to one tool."""

    tool: str
    """The tool's metadata.name."""
    application: str | None
    """Its Identity Center application, or None."""
    application_admin_group: bool
    """Also keep `saas-<tool>-admins` (the admins) assigned to the application."""
    scim: ScimBinding | None
    """Its SCIM endpoint, or None."""


def load_bindings(data: Mapping[str, Any]) -> dict[str, Binding]:
    """The bindings in merged policy data (`provisioning.bindings`), checked; raise
    `GuardrailsError` naming the entry at fault."""
    section = data.get("provisioning") or {}
    if not isinstance(section, Mapping):
        raise GuardrailsError("policy data provisioning: must be a mapping")
    entries = section.get("bindings") or {}
    if not isinstance(entries, Mapping):
        raise GuardrailsError(f"{WHERE}: must map tool names to their bindings")
    bindings = {str(tool): _binding(str(tool), entry) for tool, entry in entries.items()}
    _refuse_shared_endpoints(bindings)
    _refuse_name_clashes(bindings)
    return bindings


def _binding(tool: str, entry: Any) -> Binding:
    where = f"{WHERE}.{tool}"
    if not TOOL_NAME.match(tool):
        raise GuardrailsError(f"{where}: not a tool name (a manifest's metadata.name)")
    entry = _mapping(entry, where, {"identity_center", "scim"})
    center = entry.get("identity_center")
    application = None
    admin_group = False
    if center is not None:
        center = _mapping(center, f"{where}.identity_center", {"application", "admin_group"})
        application = center.get("application")
        if not isinstance(application, str) or not application.strip():
            raise GuardrailsError(f"{where}.identity_center.application: must be a name")
        admin_group = _flag(center, f"{where}.identity_center")
    scim = None
    if entry.get("scim") is not None:
        fields = _mapping(entry["scim"], f"{where}.scim", {"url", "token_env", "admin_group"})
        url, token_env = fields.get("url"), fields.get("token_env")
        if not isinstance(url, str) or not _acceptable_url(url):
            raise GuardrailsError(
                f"{where}.scim.url: must be an https URL (or http on loopback, for a sandbox)"
            )
        if not isinstance(token_env, str) or not TOKEN_ENV.match(token_env):
            raise GuardrailsError(
                f"{where}.scim.token_env: must name an environment variable (A-Z, 0-9, _)"
            )
        scim = ScimBinding(url, token_env, _flag(fields, f"{where}.scim"))
    return Binding(tool, application, admin_group, scim)


def _mapping(value: Any, where: str, keys: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise GuardrailsError(f"{where}: must be a mapping")
    unknown = sorted(str(k) for k in value if k not in keys)
    if unknown:
        raise GuardrailsError(
            f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(keys))})"
        )
    return value


def _flag(fields: Mapping[str, Any], where: str) -> bool:
    value = fields.get("admin_group", False)
    if not isinstance(value, bool):
        raise GuardrailsError(f"{where}.admin_group: must be true or false")
    return value


def _acceptable_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if not parts.hostname or any(c.isspace() for c in url) or parts.username or parts.password:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)


def _refuse_shared_endpoints(bindings: Mapping[str, Binding]) -> None:
    """Two tools on one SCIM endpoint would share its users, and one tool's revocation
    would deactivate the other's people: IT must bind one endpoint per tool."""
    seen: dict[str, str] = {}
    for tool, binding in sorted(bindings.items()):
        if binding.scim is None:
            continue
        url = same_url(binding.scim.url).lower()
        if url in seen:
            raise GuardrailsError(
                f"{WHERE}: {seen[url]} and {tool} are bound to the same SCIM URL; one "
                "tool's revocations would deactivate the other's users (bind one per tool)"
            )
        seen[url] = tool


def _refuse_name_clashes(bindings: Mapping[str, Binding]) -> None:
    """`x-admins` and the admin group of `x` would both be called `saas-x-admins`."""
    for tool in sorted(bindings):
        owner = bindings.get(tool.removesuffix("-admins"))
        if owner is None or owner.tool == tool:
            continue
        if owner.application_admin_group or (owner.scim and owner.scim.admin_group):
            raise GuardrailsError(
                f"{WHERE}.{tool}: its group saas-{tool} would be the admin group of "
                f"{owner.tool}; rename the tool or turn off {owner.tool}'s admin_group"
            )
