"""Source `entra`: Microsoft Entra ID applications, consents and assignments (Microsoft Graph).

Documented record shapes (Graph v1.0 collections: `{"value": [...], "@odata.nextLink": URL}`):

* `GET /servicePrincipals`: `id`, `appId`, `displayName`, `appOwnerOrganizationId`,
  `servicePrincipalType`, `homepage`, `replyUrls[]`, `info.marketingUrl`;
* `GET /oauth2PermissionGrants`: `clientId` (the client service principal's `id`),
  `consentType` (`AllPrincipals` or `Principal`), `principalId`, `resourceId`,
  `scope` (space-separated delegated permissions);
* `GET /servicePrincipals/{id}/appRoleAssignedTo`: `principalId`, `principalType`
  (`User`, `Group`, `ServicePrincipal`), `principalDisplayName`, `resourceId`,
  `createdDateTime`;
* `GET /users?$select=id,userPrincipalName,mail`: to name a principal by its address.

Which collection a saved reply holds is read from its `@odata.context`, else from the
fields its records have. Microsoft's own applications (owned by Microsoft's tenant, or
one listed in `discover.entra.first_party_tenants`) and managed identities are
first-party: counted, never shadow IT.

Live, an app-only token comes from MSAL with the Azure SDKs' standard variables
`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET` (and `AZURE_AUTHORITY_HOST`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from guardrails.discover.http import Api, Limits, Reply, Request
from guardrails.discover.interface import Evidence, SourceError, SourceSettings
from guardrails.discover.records import Page, Record, hosts, saved_replies
from guardrails.discover.settings import option

GRAPH_URL = "https://graph.microsoft.com/v1.0"
AUTHORITY_HOST = "https://login.microsoftonline.com"
MICROSOFT_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
"""The tenant that owns Microsoft's first-party service principals."""

_COLLECTIONS = {
    "servicePrincipals": "service-principal",
    "oauth2PermissionGrants": "grant",
    "appRoleAssignedTo": "assignment",
    "appRoleAssignments": "assignment",
    "users": "user",
}
_HINT = (
    "AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (an app with "
    "Application.Read.All, DelegatedPermissionGrant.Read.All and User.Read.All)"
)


class EntraId:
    """Microsoft Entra ID service principals, OAuth2 permission grants, app role assignments."""

    name = "entra"
    title = "Microsoft Entra ID"
    settings_keys = frozenset({"graph_url", "authority_host", "first_party_tenants"})

    def read(self, paths: Sequence[Path], settings: SourceSettings) -> Iterator[Evidence]:
        """Evidence from saved Graph replies (one per file, or a JSON list of them)."""
        return evidence(saved_replies(paths), _first_party(settings))

    def fetch(self, settings: SourceSettings, limits: Limits) -> Iterator[Evidence]:
        """Service principals, grants, each app's assignments and users, live."""
        graph = (option(settings, "graph_url", GRAPH_URL) or GRAPH_URL).rstrip("/")
        authority = option(settings, "authority_host") or os.environ.get(
            "AZURE_AUTHORITY_HOST", AUTHORITY_HOST
        )
        headers = _credentials(authority, graph)
        first_party = _first_party(settings)
        top = {"$top": "999"}
        with Api(graph, headers, source=self.name, hint=_HINT, limits=limits) as api:
            principals = [r.page for r in api.pages("servicePrincipals", top, _next_link)]
            pages = list(principals)
            pages += [r.page for r in api.pages("oauth2PermissionGrants", top, _next_link)]
            for page in principals:
                for principal in page.records("value", "a service principal"):
                    if _is_first_party(principal, first_party):
                        continue
                    ident = principal.text("id")
                    path = f"servicePrincipals/{ident}/appRoleAssignedTo"
                    pages += [
                        _tag(r.page, "appRoleAssignedTo") for r in api.pages(path, top, _next_link)
                    ]
            users = {"$select": "id,userPrincipalName,mail", **top}
            pages += [r.page for r in api.pages("users", users, _next_link)]
        yield from evidence(pages, first_party)


def _tag(page: Page, collection: str) -> Page:
    """A live reply whose collection is known from the request (its context may lack it)."""
    if isinstance(page.value, dict) and "@odata.context" not in page.value:
        page.value["@odata.context"] = f"#{collection}"
    return page


def _next_link(reply: Reply, url: str, params: Mapping[str, str] | None) -> Request | None:
    """Graph paging: follow `@odata.nextLink` (an absolute URL, query included)."""
    value = reply.page.value
    link = value.get("@odata.nextLink") if isinstance(value, Mapping) else None
    if link is None:
        return None
    if not isinstance(link, str) or not link:
        raise reply.page.error(("@odata.nextLink",), "must be a URL")
    return link, None


def _first_party(settings: SourceSettings) -> frozenset[str]:
    extra = settings.options.get("first_party_tenants") or []
    if not isinstance(extra, list) or not all(isinstance(t, str) for t in extra):
        raise SourceError("guardrails.yaml: discover.entra.first_party_tenants must be a list")
    return frozenset({MICROSOFT_TENANT, *(t.lower() for t in extra)})


def _credentials(authority: str, graph: str) -> Any:
    """Headers with an app-only Graph token from MSAL (client credentials)."""
    names = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET")
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        raise SourceError(f"entra: live discovery needs {', '.join(missing)} in the environment")
    try:
        import msal
    except ImportError as cause:
        raise SourceError(
            "entra: live discovery needs msal: pip install 'saas-guardrails[discover]'"
        ) from cause
    parts = urlsplit(graph)
    scope = f"{parts.scheme}://{parts.netloc}/.default"
    import requests

    try:
        # No instance discovery: MSAL would ask Microsoft's global endpoint about the
        # authority; the secret goes to the configured authority and nowhere else.
        app = msal.ConfidentialClientApplication(
            os.environ["AZURE_CLIENT_ID"],
            client_credential=os.environ["AZURE_CLIENT_SECRET"],
            authority=f"{authority.rstrip('/')}/{os.environ['AZURE_TENANT_ID']}",
            instance_discovery=False,
            timeout=30,
        )
    except (ValueError, requests.RequestException) as err:
        raise SourceError(f"entra: cannot use the authority {authority}: {_short(err)}") from err

    def headers() -> Mapping[str, str]:
        try:
            result = app.acquire_token_for_client(scopes=[scope])
        except (ValueError, requests.RequestException) as err:
            raise SourceError(f"entra: cannot get a token: {_short(err)}") from err
        token = result.get("access_token") if isinstance(result, Mapping) else None
        if not isinstance(token, str):
            code = result.get("error", "no token") if isinstance(result, Mapping) else "no token"
            raise SourceError(f"entra: the token request was refused ({code}); check {_HINT}")
        return {"Authorization": f"Bearer {token}"}

    return headers


def _short(err: Exception) -> str:
    """The kind of failure, without URLs' queries or a server's words."""
    return (
        f"{type(err).__name__}: {str(err).splitlines()[0][:160]}"
        if str(err)
        else type(err).__name__
    )


def _collection(page: Page) -> str | None:
    """Which Graph collection a reply holds, from its `@odata.context`."""
    context = page.value.get("@odata.context") if isinstance(page.value, Mapping) else None
    if not isinstance(context, str) or "#" not in context:
        return None
    # `#servicePrincipals`, `#users(id,mail)`, `#servicePrincipals('id')/appRoleAssignedTo`
    last = context.rsplit("#", 1)[1].rsplit("/", 1)[-1].split("(", 1)[0]
    return _COLLECTIONS.get(last)


def _record_kind(record: Record) -> str:
    """What a record is, from the fields only its kind has."""
    fields = record.value
    if "consentType" in fields:
        return "grant"
    if "appRoleId" in fields or "principalType" in fields:
        return "assignment"
    if "appId" in fields:
        return "service-principal"
    if "userPrincipalName" in fields:
        return "user"
    raise record.error(
        "not a service principal, OAuth2 permission grant, app role assignment or user"
    )


def evidence(pages: Iterable[Page], first_party: frozenset[str]) -> Iterator[Evidence]:
    """Evidence from Graph replies: applications, consents and assignments."""
    by_kind: dict[str, list[Record]] = {
        "service-principal": [],
        "grant": [],
        "assignment": [],
        "user": [],
    }
    for page in pages:
        if not isinstance(page.value, Mapping) or not isinstance(page.value.get("value"), list):
            raise page.error(("value",), "not a Microsoft Graph collection reply (no value list)")
        declared = _collection(page)
        for record in page.records("value", "a Graph object"):
            by_kind[declared or _record_kind(record)].append(record)
    emails = {}
    for user in by_kind["user"]:
        address = user.optional_text("mail") or user.text("userPrincipalName")
        emails[user.text("id")] = address.lower()
    principals: dict[str, Record] = {}
    for principal in by_kind["service-principal"]:
        principals[principal.text("id")] = principal
        yield _application(principal, first_party)

    def app_of(record: Record, key: str) -> Record:
        ident = record.text(key)
        principal = principals.get(ident)
        if principal is None:
            raise record.error(
                f"{key} {ident} names no service principal in the replies read: "
                "include the servicePrincipals listing",
                key,
            )
        return principal

    for grant in by_kind["grant"]:
        client = app_of(grant, "clientId")
        consent = grant.text("consentType")
        if consent not in ("AllPrincipals", "Principal"):
            raise grant.error(f"consentType must be AllPrincipals or Principal, not {consent!r}")
        person = None
        if consent == "Principal":
            ident = grant.text("principalId")
            person = emails.get(ident, ident)
        yield Evidence(
            source="entra",
            kind="oauth-grant",
            app=client.text("displayName"),
            origin=grant.origin,
            client_id=client.text("appId"),
            domains=_domains(client),
            person=person,
            scopes=tuple((grant.optional_text("scope") or "").split()),
            first_party=_is_first_party(client, first_party),
        )
    for assignment in by_kind["assignment"]:
        resource = app_of(assignment, "resourceId")
        kind = assignment.text("principalType")
        ident = assignment.text("principalId")
        person = emails.get(ident, ident) if kind == "User" else None
        yield Evidence(
            source="entra",
            kind="assignment",
            app=resource.text("displayName"),
            origin=assignment.origin,
            client_id=resource.text("appId"),
            domains=_domains(resource),
            person=person,
            seen=assignment.when("createdDateTime"),
            first_party=_is_first_party(resource, first_party),
            memo=""
            if kind == "User"
            else f"{kind} {assignment.optional_text('principalDisplayName') or ident}",
        )


def _is_first_party(principal: Record, first_party: frozenset[str]) -> bool:
    owner = principal.optional_text("appOwnerOrganizationId")
    kind = principal.optional_text("servicePrincipalType") or "Application"
    return kind != "Application" or (owner is not None and owner.lower() in first_party)


def _application(principal: Record, first_party: frozenset[str]) -> Evidence:
    return Evidence(
        source="entra",
        kind="application",
        app=principal.text("displayName"),
        origin=principal.origin,
        client_id=principal.text("appId"),
        domains=_domains(principal),
        first_party=_is_first_party(principal, first_party),
    )


def _domains(principal: Record) -> tuple[str, ...]:
    """Web domains of an app: its home page, marketing page and reply URLs."""
    urls = [principal.optional_text("homepage"), *principal.strings("replyUrls")]
    info = principal.mapping("info")
    marketing = info.get("marketingUrl")
    if isinstance(marketing, str):
        urls.append(marketing)
    return hosts(urls)
