"""The discovery contract: a `Source` turns an identity provider's or an expense
system's records into `Evidence` of who uses which application.

Each source reads the record shapes its vendor's API documents, from an export file
(a saved API reply, or a CSV) or live over the network; both paths go through the
same parser, so a file and a live reply give the same evidence. A record that does
not have the documented shape is a `SourceError` naming the file (or URL) and the
record: nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from guardrails.errors import GuardrailsError

if TYPE_CHECKING:
    from guardrails.config import Config
    from guardrails.discover.http import Limits

EvidenceKind = Literal["oauth-grant", "assignment", "application", "expense"]


class SourceError(GuardrailsError):
    """A source could not be read (malformed record, refused reply, no credentials): exit 2."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where one record came from."""

    file: str
    """The export file as reports name it, or the URL of the page it came in."""
    path: tuple[str | int, ...] = ()
    """The record's JSON path in `file` (empty for a CSV line)."""
    line: int = 0
    """1-based line of the record in `file` (0: not known yet; a JSON export's records
    are located when something points at them, and live replies have no lines)."""
    column: int = 0
    """1-based column where the record starts (0: not known)."""

    @property
    def record(self) -> str:
        """Which record of `file`: a JSON path such as `items[3]`, or `line 12`."""
        if not self.path:
            return f"line {self.line}" if self.line else "$"
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out

    def __str__(self) -> str:
        if not self.line:
            return f"{self.file}: {self.record}"
        if self.path:  # a JSON record: its path says which, where the line does not
            return f"{self.file}:{self.line}: {self.record}"
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of money in one currency."""

    amount: Decimal
    """The amount (exact: money is never a float here)."""
    currency: str
    """ISO 4217 code, upper case."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """One record saying that someone uses (or pays for) an application."""

    source: str
    """The source that produced it (`google`, `entra`, `okta`, `identity-center`, `expenses`)."""
    kind: EvidenceKind
    """`oauth-grant` (a user let the app act on their data), `assignment` (the IdP
    lets a person sign in to it), `application` (the IdP knows the app, perhaps with
    nobody assigned) or `expense` (someone paid for it)."""
    app: str
    """The application's name as the source gives it (display name, label, merchant)."""
    origin: Origin
    """The record it was read from."""
    client_id: str | None = None
    """OAuth client id or the IdP's application id, when the source has one."""
    domains: tuple[str, ...] = ()
    """Web domains the record ties the app to (home page, reply URLs), lower case."""
    person: str | None = None
    """Email address (or the IdP's user id when no address is known) of the person."""
    scopes: tuple[str, ...] = ()
    """OAuth scopes (or delegated permissions) granted."""
    seen: date | None = None
    """When the record says it happened (grant, assignment or expense date)."""
    spend: Money | None = None
    """What was paid, for expenses."""
    memo: str = ""
    """Free text that helps a person (expense memo, how an assignment was made)."""
    category: str = ""
    """The expense system's category of an expense line (software, travel, ...)."""
    first_party: bool = False
    """True for the identity provider's own apps (Microsoft's, Okta's): counted, never a
    tool to govern."""


@dataclass(frozen=True)
class SourceSettings:
    """One source's settings from `guardrails.yaml` (`discover.<source>`), checked."""

    name: str
    """The source's registry name."""
    options: Mapping[str, Any]
    """Its settings, as written (each source reads the keys it documents)."""
    config: Config
    """The catalog's settings (paths in `options` are relative to its root)."""
    sandbox: bool = False
    """True with `--sandbox`: live AWS reads go to this catalog's verified local sandbox."""


class Source(Protocol):
    """An identity provider or expense system that discovery can read."""

    name: str
    """Registry name, as `--from NAME=PATH` and `--live NAME` spell it."""
    title: str
    """How reports name it."""
    settings_keys: frozenset[str]
    """The keys its `discover.<name>` block may have besides `export` and `live`."""

    def read(self, paths: Sequence[Path], settings: SourceSettings) -> Iterator[Evidence]:
        """Evidence from export files (saved API replies, or CSV)."""
        ...

    def fetch(self, settings: SourceSettings, limits: Limits) -> Iterator[Evidence]:
        """Evidence fetched live, with credentials from the environment only."""
        ...
