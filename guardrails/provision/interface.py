"""The one protocol every provisioning target implements, and the registry of targets.

A provider (Identity Center, SCIM; next Okta, Microsoft Entra ID) reads the live state
of its target, proposes the `Change`s that bring it in line with what the catalog
wants, and carries them out. `plan.Provisioner` iterates `PROVIDERS` in order and
knows nothing of any one target: adding one is a module with a factory and one line
here (or `register` from outside).

The first provider in the registry is the directory (Identity Center): the people
and groups manifests name are resolved against it, and the providers after it read
the resolved `Run.directory`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from guardrails.errors import GuardrailsError

if TYPE_CHECKING:
    from guardrails.provision.calls import CallCounter
    from guardrails.provision.identity_center import DirectoryState
    from guardrails.provision.model import Change, Notice
    from guardrails.provision.plan import Wanted
    from guardrails.provision.settings import Settings


@dataclass
class Run:
    """What the providers of one plan/apply share."""

    settings: Settings
    """Where the targets are (guardrails.yaml, the environment, or the sandbox)."""
    counter: CallCounter
    """Counts every API call (`--stats`)."""
    directory: DirectoryState | None = None
    """The directory as the identity source read it; set before the providers after it
    in the registry propose anything."""


@dataclass(frozen=True)
class Proposal:
    """What a provider read and what it would change."""

    changes: tuple[Change, ...]
    """In the order they must be carried out (per tool)."""
    notices: tuple[Notice, ...] = ()
    """What it reports but does not change."""
    snapshot: Any = None
    """A JSON-able view of the live state it read: part of the plan's fingerprint."""


class PartlyDone(GuardrailsError):
    """A step failed after some of its changes were carried out (a bulk request whose
    later operations failed): those are audited as done, the others as failed."""

    def __init__(self, message: str, done: Sequence[Change]) -> None:
        super().__init__(message)
        self.done = tuple(done)


class Provider(Protocol):
    """One provisioning target for one run."""

    name: str
    """The `provider` of the changes it proposes (`identity-center`, `scim`)."""
    side_by_side: frozenset[str]
    """Actions whose one-change steps on the same target apply may carry out side by
    side (adding one member to a group): each is one independent request, so several
    in flight end as the same state in any order. Empty: every step one at a time."""

    def propose(self, wanted: Wanted) -> Proposal:
        """Read the live state (network) and list the changes; raise `GuardrailsError`
        with one readable line when the target cannot be read."""
        ...

    def steps(self, changes: Sequence[Change]) -> list[tuple[Change, ...]]:
        """Split one tool's consecutive changes (all this provider's, in plan order)
        into steps: the changes one request carries out together, in order."""
        ...

    def carry_out(self, step: Sequence[Change]) -> None:
        """Carry out one step; a change already in effect counts as done. Raise
        `GuardrailsError` (or `PartlyDone`) when it fails."""
        ...


Factory = Callable[["Wanted", Run], "Provider | None"]
"""Builds a target's provider for a run, before anything is read: it checks what it
needs without the network (a token variable unset fails here, before any read), and
returns None when it has nothing to do."""

PROVIDERS: dict[str, Factory | str] = {
    "identity-center": "guardrails.provision.identity_center:provider",
    "scim": "guardrails.provision.scim:provider",
}
"""Target name -> its factory (or `module:function`, imported when first used), in
the order the provisioner runs them: the directory first."""


def register(name: str, factory: Factory) -> None:
    """Add (or replace) a target; it runs after those already registered."""
    PROVIDERS[name] = factory


def factories() -> list[tuple[str, Factory]]:
    """Every registered target's factory, in registry order."""
    found: list[tuple[str, Factory]] = []
    for name, entry in PROVIDERS.items():
        if isinstance(entry, str):
            module, _, attribute = entry.partition(":")
            entry = getattr(importlib.import_module(module), attribute)
            PROVIDERS[name] = entry
        found.append((name, entry))
    return found
