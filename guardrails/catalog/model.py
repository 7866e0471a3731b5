"""The documents of a catalog: manifests and exceptions, with where each came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from guardrails.catalog.safe_yaml import Positions
from guardrails.findings import Finding


class DocumentSource(Protocol):
    """Gives the documents and positions of a load's files by their place in it."""

    def document(self, index: int) -> Any:
        """The document of the file at `index`."""
        ...

    def positions(self, index: int) -> Positions:
        """Where each path sits in the file at `index`."""
        ...


@dataclass(frozen=True, init=False)
class Manifest:
    """A SaaSTool manifest that parsed as a YAML mapping (it may still break the schema)."""

    name: str
    """`metadata.name`, or the file stem when the name is missing or unusable."""
    file: str
    """Path relative to the working directory, as reports print it."""
    valid: bool
    """True when it passed the JSON Schema."""
    integrations: tuple[str, ...]
    """The tools its `spec.integrations` names (the only other manifests the shipped
    rules look at for this one)."""
    content: bytes | None
    """Digest of the file's bytes and how they were read (None when not cached)."""
    source: DocumentSource = field(repr=False, compare=False)
    """Where its document and positions come from, when first asked."""
    index: int = field(repr=False, compare=False)
    """Its place in `source`."""

    def __init__(
        self,
        name: str,
        file: str,
        valid: bool,
        integrations: tuple[str, ...],
        content: bytes | None,
        source: DocumentSource,
        index: int,
    ) -> None:
        # Made 10,000 times a check: filling the instance's dict directly costs a third
        # of a frozen dataclass's seven object.__setattr__ calls. Frozen all the same.
        fields = self.__dict__
        fields["name"], fields["file"], fields["valid"] = name, file, valid
        fields["integrations"], fields["content"] = integrations, content
        fields["source"], fields["index"] = source, index

    @cached_property
    def document(self) -> Mapping[str, Any]:
        """The manifest as plain values; this is what the policies see."""
        document: Mapping[str, Any] = self.source.document(self.index)
        return document

    @cached_property
    def positions(self) -> Positions:
        """Where each path of `document` sits in `file`."""
        return self.source.positions(self.index)

    @property
    def spec(self) -> Mapping[str, Any]:
        """`spec`, or an empty mapping."""
        spec = self.document.get("spec")
        return spec if isinstance(spec, Mapping) else {}


@dataclass(frozen=True)
class PolicyException:
    """A schema-valid PolicyException file."""

    name: str
    """`metadata.name`."""
    file: str
    """Path relative to the working directory."""
    rule: str
    """The rule id it waives."""
    manifests: tuple[str, ...]
    """The tools it applies to."""
    justification: str
    """Why."""
    approved_by: str
    """Approver's email."""
    expires: str
    """Last valid day, ISO."""
    positions: Positions
    """Where each path sits in `file`."""


@dataclass(frozen=True)
class Catalog:
    """Everything loaded from a catalog repository, before any policy runs."""

    manifests: tuple[Manifest, ...]
    """Every manifest that parsed, valid or not, in file order."""
    exceptions: tuple[PolicyException, ...]
    """Every valid exception."""
    problems: tuple[Finding, ...]
    """Parse and schema findings (blocking), duplicate names included."""
    files: tuple[str, ...]
    """Every manifest file found, including those that did not parse."""

    @cached_property
    def by_name(self) -> dict[str, Manifest]:
        """Each name's manifest (its first file, should several share it)."""
        found: dict[str, Manifest] = {}
        for manifest in self.manifests:
            found.setdefault(manifest.name, manifest)
        return found
