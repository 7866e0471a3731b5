"""Where the providers are: `guardrails.yaml` `provisioning:`, then the environment; or,
only with `--sandbox`, the local sandbox this catalog's `guardrails sandbox` runs.

```yaml
provisioning:
  identity_center:
    region: eu-west-1
    identity_store_id: d-1234567890
    instance_arn: arn:aws:sso:::instance/ssoins-1234567890abcdef
    endpoint_url: null      # optional, e.g. a VPC endpoint
    max_attempts: 5         # botocore retries (adaptive mode)
  scim:
    max_attempts: 5         # on 429 and 5xx, with back-off
    bulk: true              # use SCIM Bulk where the endpoint offers it
  max_concurrency: 8        # reads (and membership writes) in flight at once, per provider
```
Environment: GUARDRAILS_IDENTITY_STORE_ID, GUARDRAILS_SSO_INSTANCE_ARN, AWS_REGION.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guardrails.config import Config
from guardrails.errors import GuardrailsError

SANDBOX_STATE = ".guardrails/sandbox.json"
"""Written by `guardrails sandbox` under the catalog root (mode 0600), removed when it
stops; read only by `plan --sandbox` / `apply --sandbox`."""


@dataclass(frozen=True)
class IdentityCenterSettings:
    """How to reach AWS IAM Identity Center."""

    region: str
    """AWS region of the Identity Center instance."""
    identity_store_id: str
    """Identity Store holding users and groups (d-…)."""
    instance_arn: str
    """Identity Center instance ARN (for application look-ups)."""
    endpoint_url: str | None = None
    """Endpoint override (the sandbox's moto server)."""
    max_attempts: int = 5
    """Attempts per call, botocore adaptive retry mode."""
    max_concurrency: int = 8
    """Reads in flight at once."""
    sandbox: bool = False
    """True when talking to the local sandbox (dummy credentials are used)."""


@dataclass(frozen=True)
class Settings:
    """Provider settings for plan/apply."""

    identity_center: IdentityCenterSettings | None
    """None when nothing says where Identity Center is."""
    scim_sandbox_url: str | None = None
    """When set, every tool's SCIM endpoint is `<this>/<tool>/v2` (the sandbox)."""
    scim_max_attempts: int = 5
    """Attempts per SCIM request on 429/5xx."""
    scim_bulk: bool = True
    """Send SCIM Bulk requests to endpoints whose ServiceProviderConfig offers Bulk."""
    max_concurrency: int = 8
    """Reads in flight at once, per provider (SCIM: endpoints read side by side); also
    the Identity Center membership writes of one group apply makes side by side."""


def load_settings(
    config: Config, use_sandbox: bool = False, environ: Mapping[str, str] | None = None
) -> Settings:
    """Config and environment, or (only with `use_sandbox`) the verified sandbox of this
    catalog; raise `GuardrailsError` if unusable.

    A sandbox state file is never taken from the repository: one tracked by git is
    refused in any case, and without `use_sandbox` an untracked one is not read."""
    env = os.environ if environ is None else environ
    section = _mapping(config.provisioning.get("identity_center"), "identity_center")
    scim = _mapping(config.provisioning.get("scim"), "scim")
    scim_attempts = _int(scim.get("max_attempts", 5), "scim.max_attempts")
    attempts = _int(section.get("max_attempts", 5), "identity_center.max_attempts")
    bulk = scim.get("bulk", True)
    if not isinstance(bulk, bool):
        raise GuardrailsError("guardrails.yaml: provisioning.scim.bulk must be true or false")
    width = _int(config.provisioning.get("max_concurrency", 8), "max_concurrency")
    refuse_tracked_state(config.root)
    if use_sandbox:
        sandbox = verified_sandbox(config.root)
        return Settings(
            IdentityCenterSettings(
                region=sandbox["region"],
                identity_store_id=sandbox["identity_store_id"],
                instance_arn=sandbox["instance_arn"],
                endpoint_url=sandbox["endpoint_url"],
                max_attempts=attempts,
                max_concurrency=width,
                sandbox=True,
            ),
            scim_sandbox_url=sandbox["scim_url"],
            scim_max_attempts=scim_attempts,
            scim_bulk=bulk,
            max_concurrency=width,
        )
    store = env.get("GUARDRAILS_IDENTITY_STORE_ID") or section.get("identity_store_id")
    instance = env.get("GUARDRAILS_SSO_INSTANCE_ARN") or section.get("instance_arn")
    region = (
        env.get("AWS_REGION")
        or env.get("AWS_DEFAULT_REGION")
        or section.get("region")
        or "us-east-1"
    )
    identity_center = None
    if store and instance:
        identity_center = IdentityCenterSettings(
            region=str(region),
            identity_store_id=str(store),
            instance_arn=str(instance),
            endpoint_url=section.get("endpoint_url"),
            max_attempts=attempts,
            max_concurrency=width,
        )
    return Settings(identity_center, None, scim_attempts, bulk, width)


STATE_KEYS = ("region", "identity_store_id", "instance_arn", "endpoint_url", "scim_url", "secret")
HANDSHAKE = "/_guardrails/sandbox"
"""Where a sandbox server proves it knows its state file's secret."""


def refuse_tracked_state(root: Path) -> None:
    """A sandbox state file committed to git is an attempt to point plan/apply at servers
    of someone's choosing: refused, whatever the flags."""
    import subprocess

    path = root / SANDBOX_STATE
    if not path.exists() and not path.is_symlink():
        return
    try:
        tracked = subprocess.run(
            ["git", "-C", str(root), "ls-files", "--error-unmatch", "--", SANDBOX_STATE],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return  # no git: nothing is tracked (the file's owner and mode are still checked)
    if tracked.returncode == 0:
        raise GuardrailsError(
            f"{SANDBOX_STATE} is tracked by git: a sandbox's state comes from `guardrails "
            "sandbox` on this machine, never from the repository (git rm --cached it)"
        )


def verified_sandbox(root: Path) -> dict[str, str]:
    """The state of the sandbox `guardrails sandbox` runs for this catalog, once it is
    shown to be one: a private file of this user, naming a live process of this user,
    loopback endpoints, and servers that prove they know the file's secret."""
    path = root / SANDBOX_STATE
    where = str(path)
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise GuardrailsError(
            f"--sandbox: no sandbox runs for this catalog ({where} does not exist): start "
            "`guardrails sandbox` first"
        ) from None
    except OSError as err:
        raise GuardrailsError(f"{where}: cannot read the sandbox state: {err.strerror}") from err
    getuid = getattr(os, "getuid", None)
    private = stat.S_ISREG(info.st_mode) and not info.st_mode & 0o077
    if not private or (getuid is not None and info.st_uid != getuid()):
        raise GuardrailsError(
            f"{where}: not a sandbox state file written by you (it must be a regular file "
            "of yours that nobody else can read or write): remove it and start "
            "`guardrails sandbox` again"
        )
    state = read_sandbox_state(root)
    if state is None:  # pragma: no cover - checked above
        raise GuardrailsError(f"{where}: gone")
    pid = state.get("pid")
    if not process_alive(pid):
        raise GuardrailsError(
            f"{where}: its sandbox (pid {pid}) is not running (or is not yours): start "
            "`guardrails sandbox` again, or remove the file"
        )
    values = {k: state[k] for k in STATE_KEYS}
    if not all(isinstance(v, str) and v for v in values.values()):
        raise GuardrailsError(f"{where}: unusable sandbox state; remove it")
    for key in ("endpoint_url", "scim_url"):
        _prove(values[key], values["secret"], where, key)
    return values


def _prove(url: str, secret: str, where: str, key: str) -> None:
    """Ask the server at `url` (loopback only) to prove it knows `secret`; it is sent
    nothing but a random challenge."""
    import hashlib
    import hmac
    import http.client
    import secrets
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise GuardrailsError(f"{where}: {key} is not a loopback http URL: not a sandbox")
    challenge = secrets.token_hex(16)
    expected = hmac.new(secret.encode(), challenge.encode(), hashlib.sha256).hexdigest()
    try:
        connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=5)
        try:
            connection.request("GET", f"{HANDSHAKE}?challenge={challenge}")
            response = connection.getresponse()
            body = response.read(4096)
        finally:
            connection.close()
        proof = json.loads(body).get("proof") if response.status == 200 else None
    except (OSError, ValueError, AttributeError, http.client.HTTPException):
        proof = None
    if not isinstance(proof, str) or not hmac.compare_digest(proof, expected):
        raise GuardrailsError(
            f"{where}: the server at its {key} is not this catalog's sandbox: start "
            "`guardrails sandbox` again, or remove the file"
        )


def read_sandbox_state(root: Path) -> dict[str, Any] | None:
    """The sandbox state file of this catalog as written, or None when there is none."""
    path = root / SANDBOX_STATE
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(state, dict) or any(k not in state for k in STATE_KEYS):
            raise ValueError("missing keys")
    except (OSError, ValueError) as err:
        raise GuardrailsError(f"{path}: unusable sandbox state ({err}); remove it") from err
    return state


def process_alive(pid: object) -> bool:
    """Whether a process of this user with this id runs (the sandbox that wrote the
    state file). Another user's process is not one."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError:  # gone, or not ours to signal (PermissionError)
        return False
    getuid = getattr(os, "getuid", None)
    try:  # root may signal anyone: /proc says whose it is, where there is one
        return getuid is None or Path(f"/proc/{pid}").stat().st_uid == getuid()
    except FileNotFoundError:
        return Path("/proc/self").exists() is False
    except OSError:
        return False


def _mapping(value: Any, name: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise GuardrailsError(f"guardrails.yaml: provisioning.{name} must be a mapping")
    return value


def _int(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise GuardrailsError(f"guardrails.yaml: provisioning.{name} must be a positive integer")
    return value
