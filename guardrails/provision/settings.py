"""Where the providers are: `guardrails.yaml` `provisioning:`, then the environment,
then a running sandbox's state file (which wins, so the demo needs no exports).

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
```
Environment: GUARDRAILS_IDENTITY_STORE_ID, GUARDRAILS_SSO_INSTANCE_ARN, AWS_REGION.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guardrails.config import Config
from guardrails.errors import GuardrailsError

SANDBOX_STATE = ".guardrails/sandbox.json"
"""Written by `guardrails sandbox` under the catalog root, removed when it stops."""


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


def load_settings(config: Config, environ: Mapping[str, str] | None = None) -> Settings:
    """Merge config, environment and sandbox state; raise `GuardrailsError` if unusable."""
    env = os.environ if environ is None else environ
    section = _mapping(config.provisioning.get("identity_center"), "identity_center")
    scim = _mapping(config.provisioning.get("scim"), "scim")
    sandbox = read_sandbox_state(config.root)
    scim_attempts = _int(scim.get("max_attempts", 5), "scim.max_attempts")
    attempts = _int(section.get("max_attempts", 5), "identity_center.max_attempts")
    if sandbox is not None:
        if not process_alive(sandbox.get("pid")):
            raise GuardrailsError(
                f"{config.root / SANDBOX_STATE}: its sandbox (pid {sandbox.get('pid')}) is not "
                "running: start `guardrails sandbox` again, or remove the file"
            )
        return Settings(
            IdentityCenterSettings(
                region=str(sandbox["region"]),
                identity_store_id=str(sandbox["identity_store_id"]),
                instance_arn=str(sandbox["instance_arn"]),
                endpoint_url=str(sandbox["endpoint_url"]),
                max_attempts=attempts,
                sandbox=True,
            ),
            scim_sandbox_url=str(sandbox["scim_url"]),
            scim_max_attempts=scim_attempts,
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
        )
    return Settings(identity_center, None, scim_attempts)


def read_sandbox_state(root: Path) -> dict[str, Any] | None:
    """The running sandbox's state for this catalog, or None when there is none."""
    path = root / SANDBOX_STATE
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        keys = ("region", "identity_store_id", "instance_arn", "endpoint_url", "scim_url")
        if not isinstance(state, dict) or any(k not in state for k in keys):
            raise ValueError("missing keys")
    except (OSError, ValueError) as err:
        raise GuardrailsError(f"{path}: unusable sandbox state ({err}); remove it") from None
    return state


def process_alive(pid: object) -> bool:
    """Whether a process with this id runs (the sandbox that wrote the state file)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True
    except OSError:
        return False
    return True


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
