"""Matching evidence to catalog tools, to known vendors and to each other.

Deterministic and explained: every piece of evidence gets one `Match` saying which
tool it is, by what (OAuth client id, web domain, name or alias, or grouping with
other evidence) and with what confidence. The first rule that applies wins:

1. `client id` (1.0): the record's OAuth client id / application id is listed for a
   vendor (`client_ids`);
2. `domain` (0.9): one of its web domains, or a parent domain, is a vendor's or a
   catalog tool's website domain;
3. `name` (0.9): its name, normalised (case, punctuation, company suffixes, card
   processor prefixes such as `SQ *`), is a catalog tool's name, title or Identity
   Center application, or a vendor's key, title or alias;
4. `name prefix` (0.7): the normalised name starts with such a name, word by word
   (`NOTION LABS INC SAN FRANCISCO` starts with `notion`);
5. `grouped` (0.5): not known, but an identity provider shows an app: evidence with
   the same client id, or the same normalised name, is one tool named after it;
   an expense line with that name joins it;
6. `software expense` (0.4): an expense line in a software category of the policy
   data, with no other match, is a tool named after the merchant.

Anything else is not a SaaS tool: the identity providers' own apps (first-party
records, and vendor entries with `ignore: true`), and expense lines matching nothing
(travel, meals). Both are counted in the report, never dropped silently.

The vendor dictionary ships in `policies/data/vendors.yaml` (`vendors:`); an
organisation adds or overrides entries in its own policy data.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from guardrails.catalog.model import Manifest
from guardrails.discover.interface import Evidence
from guardrails.errors import GuardrailsError

# Words that say what kind of company it is, not which one.
_SUFFIXES = frozenset(
    [
        "inc",
        "incorporated",
        "llc",
        "ltd",
        "limited",
        "gmbh",
        "corp",
        "corporation",
        "co",
        "company",
        "sa",
        "sas",
        "sarl",
        "bv",
        "nv",
        "ag",
        "plc",
        "pty",
        "oy",
        "ab",
        "as",
        "srl",
        "spa",
        "kk",
        "the",
        "com",
        "io",
        "net",
        "org",
        "app",
        "hq",
        "software",
        "technologies",
    ]
)
# Card descriptors' processor prefixes: `SQ *ACME`, `PAYPAL *ACME`, `TST* ACME`.
_PROCESSOR = re.compile(r"^\s*(sq|sp|pp|paypal|tst|in|fs|py|stripe|2co|dnh|ggl|google)\s*\*\s*")
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_SLUG = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
# Second-level labels under which registrable domains sit one level deeper (co.uk).
_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "ac", "gov", "edu"})

CONFIDENCE = {
    "client id": 1.0,
    "domain": 0.9,
    "name": 0.9,
    "name prefix": 0.7,
    "grouped": 0.5,
    "software expense": 0.4,
}


@functools.lru_cache(maxsize=1 << 16)  # a few thousand names, seen 100,000 times
def normalise(name: str) -> str:
    """A name as matching compares it: `SQ *Notion Labs, Inc.` -> `notion labs`."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = _PROCESSOR.sub("", text)
    words = [w for w in _NOT_WORD.split(text) if w and w not in _SUFFIXES]
    return " ".join(words)


def slug(name: str, fallback: str = "") -> str:
    """A tool name (`metadata.name`) for an unknown app: `Acme Survey Pro` -> `acme-survey-pro`."""
    candidate = "-".join(normalise(name).split())[:63].strip("-")
    if _SLUG.match(candidate):
        return candidate
    digest = hashlib.sha256((fallback or name).encode()).hexdigest()[:10]
    return f"app-{digest}"


def domain_of(url: str) -> str | None:
    """The lower-case host of a URL (or bare host), without a leading `www.`."""
    host = (urlsplit(url if "//" in url else f"//{url}").hostname or "").lower()
    return host.removeprefix("www.") or None


def parents(host: str) -> Iterable[str]:
    """`app.eu.hubspot.com` -> itself, `eu.hubspot.com`, `hubspot.com` (not `com`)."""
    labels = host.removeprefix("www.").split(".")
    floor = 3 if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL else 2
    for start in range(0, max(1, len(labels) - floor + 1)):
        yield ".".join(labels[start:])


@dataclass(frozen=True)
class Vendor:
    """A known SaaS vendor (an entry of `vendors:` in the policy data)."""

    key: str
    """The entry's key: the tool name a draft manifest gets."""
    title: str
    """Product name."""
    vendor: str | None = None
    """The vendor's legal name."""
    website: str | None = None
    """Home page (https)."""
    domains: tuple[str, ...] = ()
    """Web domains its apps and sign-in pages use."""
    aliases: tuple[str, ...] = ()
    """Other names: app display names, card descriptors."""
    client_ids: tuple[str, ...] = ()
    """OAuth client ids / IdP application ids of its apps."""
    capabilities: tuple[str, ...] = ()
    """What it does (kebab-case), for draft manifests."""
    ignore: bool = False
    """True for apps that are not SaaS tools to govern (an IdP's own apps)."""


def vendors_from(data: Mapping[str, Any]) -> list[Vendor]:
    """The vendor dictionary from merged policy data (`vendors:`), checked."""
    entries = data.get("vendors") or {}
    if not isinstance(entries, Mapping):
        raise GuardrailsError("policy data: vendors must map tool names to vendor entries")
    found = []
    for key, entry in sorted(entries.items()):
        if not isinstance(entry, Mapping) or not _SLUG.match(str(key)):
            raise GuardrailsError(
                f"policy data: vendors.{key}: an entry is a mapping under a tool name "
                "(lower-case letters, digits, dashes)"
            )

        def strings(
            field: str, key: str = str(key), entry: Mapping[str, Any] = entry
        ) -> tuple[str, ...]:
            value = entry.get(field) or []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise GuardrailsError(
                    f"policy data: vendors.{key}.{field} must be a list of strings"
                )
            return tuple(value)

        text = {f: entry.get(f) for f in ("title", "vendor", "website")}
        for field, value in text.items():
            if value is not None and not isinstance(value, str):
                raise GuardrailsError(f"policy data: vendors.{key}.{field} must be a string")
        if not isinstance(entry.get("ignore", False), bool):
            raise GuardrailsError(f"policy data: vendors.{key}.ignore must be true or false")
        found.append(
            Vendor(
                key=str(key),
                title=str(text["title"] or key),
                vendor=text["vendor"],
                website=text["website"],
                domains=tuple(d.lower().removeprefix("www.") for d in strings("domains")),
                aliases=strings("aliases"),
                client_ids=strings("client_ids"),
                capabilities=strings("capabilities"),
                ignore=bool(entry.get("ignore", False)),
            )
        )
    return found


@dataclass(frozen=True)
class Known:
    """A tool matching can name: a catalog manifest, a known vendor, or both."""

    tool: str
    """Tool name: the manifest's `metadata.name`, else the vendor entry's key."""
    title: str
    """Display name."""
    manifest: Manifest | None
    """The catalog manifest, when the tool is in the catalog."""
    vendor: Vendor | None
    """The vendor dictionary entry, when there is one."""

    @property
    def in_catalog(self) -> bool:
        """Whether a manifest declares it."""
        return self.manifest is not None

    @property
    def ignored(self) -> bool:
        """Whether it is not a tool to govern (and not in the catalog)."""
        return self.manifest is None and self.vendor is not None and self.vendor.ignore


@dataclass(frozen=True)
class Match:
    """Which tool one piece of evidence is, and why."""

    tool: str
    """Tool name."""
    by: str
    """The rule that matched: a key of `CONFIDENCE`."""
    key: str
    """The value that matched (client id, domain, name)."""
    confidence: float
    """How sure the match is, 0-1."""


class Matcher:
    """Indexes of what the catalog and the vendor dictionary know, built once."""

    def __init__(
        self,
        manifests: Sequence[Manifest],
        vendors: Sequence[Vendor],
        software_categories: Iterable[str] = (),
    ) -> None:
        self.known: dict[str, Known] = {}
        self.client_ids: dict[str, str] = {}
        self.domains: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.software = frozenset(_category(c) for c in software_categories)
        # Every manifest declares its tool, valid or not (`check` blocks an invalid one;
        # a draft being completed is no longer shadow IT).
        catalog: dict[str, Manifest] = {}
        for manifest in manifests:
            catalog.setdefault(manifest.name, manifest)
        for vendor in vendors:  # a vendor entry describes the catalog tool it names ...
            named = catalog.get(vendor.key) or next(  # ... or the one on its domain
                (m for m in catalog.values() if _manifest_domain(m) in vendor.domains), None
            )
            if named is None:
                self._know(Known(vendor.key, vendor.title, None, vendor))
            else:
                self._know(Known(named.name, title(named), named, vendor))
        for manifest in catalog.values():
            if manifest.name not in self.known:
                self._know(Known(manifest.name, title(manifest), manifest, None))
        # Catalog names first: what IT declared wins over the shipped dictionary.
        for manifest in catalog.values():
            for name in _manifest_names(manifest):
                self.names[normalise(name)] = manifest.name
            domain = _manifest_domain(manifest)
            if domain:
                self.domains[domain] = manifest.name
        self._first_words: dict[str, list[tuple[str, ...]]] = {}
        for name in self.names:
            words = tuple(name.split())
            if words:
                self._first_words.setdefault(words[0], []).append(words)
        for entries in self._first_words.values():
            entries.sort(key=len, reverse=True)  # the longest name that fits wins

    def _know(self, known: Known) -> None:
        self.known.setdefault(known.tool, known)  # the first entry describes the tool
        vendor = known.vendor
        if vendor is None:
            return
        for client_id in vendor.client_ids:
            self.client_ids.setdefault(client_id, known.tool)
        for domain in vendor.domains:
            self.domains.setdefault(domain, known.tool)
        for name in (vendor.key, vendor.title, *vendor.aliases):
            key = normalise(name)
            if key:
                self.names.setdefault(key, known.tool)

    def match(self, evidence: Evidence) -> Match | None:
        """The known tool `evidence` is, or None (see `group` for the rest)."""
        if evidence.client_id and evidence.client_id in self.client_ids:
            return self._found(self.client_ids[evidence.client_id], "client id", evidence.client_id)
        for host in evidence.domains:
            for domain in parents(host):
                if domain in self.domains:
                    return self._found(self.domains[domain], "domain", domain)
        name = normalise(evidence.app)
        if name in self.names:
            return self._found(self.names[name], "name", name)
        prefix = self.prefix(name)
        if prefix is not None:
            return self._found(self.names[prefix], "name prefix", prefix)
        return None

    def prefix(self, name: str) -> str | None:
        """The longest known name that `name` starts with, word by word."""
        words = tuple(name.split())
        for candidate in self._first_words.get(words[0] if words else "", ()):
            if words[: len(candidate)] == candidate:
                return " ".join(candidate)
        return None

    def _found(self, tool: str, by: str, key: str) -> Match:
        return Match(tool, by, key, CONFIDENCE[by])

    def is_software(self, evidence: Evidence) -> bool:
        """Whether an expense line's category is a software one."""
        return _category(evidence.category) in self.software


@dataclass(frozen=True)
class Matched:
    """Every piece of evidence with its match, and what matched nothing."""

    matches: Sequence[tuple[Evidence, Match]]
    """Evidence of a tool (catalog, known vendor, or an app grouped by name)."""
    ignored: Sequence[Evidence]
    """Evidence of apps the dictionary marks `ignore: true`."""
    unmatched: Sequence[Evidence]
    """Expense lines that matched no tool and are not in a software category."""
    groups: Mapping[str, str]
    """Tool name -> the app name an unknown tool was named after."""


def match_all(matcher: Matcher, evidence: Iterable[Evidence]) -> Matched:
    """Match every piece of evidence; group what is unknown (rules 5 and 6 above)."""
    matches: list[tuple[Evidence, Match]] = []
    ignored: list[Evidence] = []
    pending_apps: list[Evidence] = []
    pending_expenses: list[Evidence] = []
    for item in evidence:
        if item.first_party:
            ignored.append(item)
            continue
        found = matcher.match(item)
        if found is None:
            (pending_expenses if item.kind == "expense" else pending_apps).append(item)
        elif matcher.known[found.tool].ignored:
            ignored.append(item)
        else:
            matches.append((item, found))
    # Unknown apps: one tool per client id, named after the first of its names in
    # sorted order (so the result does not depend on the order records came in).
    names_by_client: dict[str, set[str]] = {}
    for item in pending_apps:
        if item.client_id:
            names_by_client.setdefault(item.client_id, set()).add(item.app)
    groups: dict[str, str] = {}
    by_name: dict[str, str] = {}
    for item in pending_apps:
        app = min(names_by_client[item.client_id]) if item.client_id else item.app
        name = normalise(app)
        tool = by_name.get(name)
        if tool is None:
            tool = slug(app, item.client_id or app)
            while tool in matcher.known or (tool in groups and groups[tool] != app):
                tool = slug(f"{tool} {len(groups)}")  # a name taken by another tool
            by_name[name] = tool
            groups[tool] = app
        matches.append(
            (item, Match(tool, "grouped", item.client_id or name, CONFIDENCE["grouped"]))
        )
    unmatched: list[Evidence] = []
    for item in pending_expenses:
        name = normalise(item.app)
        tool = by_name.get(name) or next(
            (by_name[known] for known in _prefixes(name) if known in by_name), None
        )
        if tool is not None:
            matches.append((item, Match(tool, "grouped", name, CONFIDENCE["grouped"])))
        elif matcher.is_software(item):
            tool = slug(item.app)
            if tool in matcher.known:
                tool = slug(f"{item.app} app")
            by_name.setdefault(name, tool)
            groups.setdefault(tool, name.title())  # `SQ *SURVEYPANEL PRO` -> `Surveypanel Pro`
            matches.append(
                (item, Match(tool, "software expense", name, CONFIDENCE["software expense"]))
            )
        else:
            unmatched.append(item)
    return Matched(matches, ignored, unmatched, groups)


def _category(text: str) -> str:
    """An expense category as compared: case and punctuation ignored."""
    return " ".join(w for w in _NOT_WORD.split(text.lower()) if w)


def _prefixes(name: str) -> Iterable[str]:
    """`a b c` -> `a b c`, `a b`, `a`: the names an expense line may start with."""
    words = name.split()
    for end in range(len(words), 0, -1):
        yield " ".join(words[:end])


def metadata(manifest: Manifest, key: str) -> str | None:
    """A string of a manifest's `metadata` (an invalid manifest may hold anything)."""
    found = manifest.document.get("metadata")
    value = found.get(key) if isinstance(found, Mapping) else None
    return value if isinstance(value, str) and value else None


def title(manifest: Manifest) -> str:
    """A catalog tool's display name: its title, else its name."""
    return metadata(manifest, "title") or manifest.name


def _manifest_names(manifest: Manifest) -> list[str]:
    """The names a catalog tool goes by: name, title, Identity Center application.

    Not the vendor's legal name: one vendor (Google, Microsoft, Adobe) makes many
    products, and its name would claim them all.
    """
    names = [manifest.name, title(manifest)]
    provisioning = manifest.spec.get("provisioning", {})
    center = provisioning.get("identity_center") if isinstance(provisioning, Mapping) else None
    if isinstance(center, Mapping) and isinstance(center.get("application"), str):
        names.append(center["application"])
    return [n for n in names if normalise(n)]


def _manifest_domain(manifest: Manifest) -> str | None:
    vendor = manifest.spec.get("vendor", {})
    website = vendor.get("website") if isinstance(vendor, Mapping) else None
    return domain_of(website) if isinstance(website, str) else None
