"""Source `okta`: the applications of an Okta org and the people assigned to them.

Documented record shapes (Okta Management API; listings are JSON arrays paged by the
`Link: <...>; rel="next"` header):

* `GET /api/v1/apps`: Application objects with `id`, `name` (the app's key in the
  Okta Integration Network), `label`, `status`, `created`, `signOnMode`;
* `GET /api/v1/apps/{appId}/users`: application users with `id`, `scope`
  (`USER` or `GROUP`), `status`, `created`, `credentials.userName`, `profile.email`
  and `_links.app.href`, which names the app (so a saved listing is self-describing).

Okta's own apps (the dashboard, the admin console, the browser plug-in) are not
shadow IT: their `name`s are listed in `FIRST_PARTY`.

Live, the org URL is `discover.okta.org_url` (or the Okta SDKs' `OKTA_CLIENT_ORGURL`)
and the API token is the Okta SDKs' `OKTA_CLIENT_TOKEN`, sent as `SSWS <token>`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from guardrails.discover.http import Api, Limits, next_link
from guardrails.discover.interface import Evidence, SourceError, SourceSettings
from guardrails.discover.records import Page, Record, export_files, hosts, read_json
from guardrails.discover.settings import option

FIRST_PARTY = frozenset(
    {
        "okta_enduser",
        "saasure",
        "okta_browser_plugin",
        "okta_flow_sso",
        "okta_iga",
        "okta_atspoke_sso",
    }
)
_HINT = "OKTA_CLIENT_TOKEN (an API token of a read-only administrator)"


class Okta:
    """Okta applications and their assigned users."""

    name = "okta"
    title = "Okta"
    settings_keys = frozenset({"org_url"})

    def read(self, paths: Sequence[Path], settings: SourceSettings) -> Iterator[Evidence]:
        """Evidence from saved listings: JSON arrays of applications and of app users."""
        return evidence(read_json(file) for file in export_files(paths, (".json",)))

    def fetch(self, settings: SourceSettings, limits: Limits) -> Iterator[Evidence]:
        """Every application, then every application's users, live."""
        org = option(settings, "org_url") or os.environ.get("OKTA_CLIENT_ORGURL")
        if not org:
            raise SourceError(
                "okta: live discovery needs the org URL: discover.okta.org_url in "
                "guardrails.yaml, or OKTA_CLIENT_ORGURL"
            )
        token = os.environ.get("OKTA_CLIENT_TOKEN")
        if not token:
            raise SourceError("okta: live discovery needs OKTA_CLIENT_TOKEN in the environment")

        def headers() -> Mapping[str, str]:
            return {"Authorization": f"SSWS {token}"}

        with Api(org, headers, source=self.name, hint=_HINT, limits=limits) as api:
            apps = [r.page for r in api.pages("api/v1/apps", {"limit": "200"}, next_link)]
            pages = list(apps)
            for page in apps:
                for app in page.records((), "an application"):
                    if app.optional_text("name") in FIRST_PARTY:
                        continue
                    path = f"api/v1/apps/{app.text('id')}/users"
                    pages += [r.page for r in api.pages(path, {"limit": "500"}, next_link)]
        yield from evidence(pages)


def _app_id(user: Record) -> str:
    """The id of the app an app user belongs to, from `_links.app.href`."""
    links = user.mapping("_links")
    app = links.get("app")
    href = app.get("href") if isinstance(app, Mapping) else None
    if not isinstance(href, str) or "/apps/" not in href:
        raise user.error(
            "an application user must name its app in _links.app.href "
            "(save /api/v1/apps/{appId}/users replies as they come)",
            "_links",
        )
    return href.rstrip("/").rsplit("/apps/", 1)[1].split("/", 1)[0]


def evidence(pages: Iterable[Page]) -> Iterator[Evidence]:
    """Evidence from Okta listings: each app, and each person assigned to one."""
    apps: dict[str, Record] = {}
    users: list[Record] = []
    for page in pages:
        if not isinstance(page.value, list):
            raise page.error((), "not an Okta listing (a JSON array of applications or app users)")
        for record in page.records((), "an application or application user"):
            if "signOnMode" in record.value or "label" in record.value:
                apps[record.text("id")] = record
            elif "_links" in record.value or "credentials" in record.value:
                users.append(record)
            else:
                raise record.error("neither an application (label, signOnMode) nor an app user")
    for app in apps.values():
        yield Evidence(
            source="okta",
            kind="application",
            app=app.text("label"),
            origin=app.origin,
            client_id=app.text("id"),
            domains=hosts(_urls(app)),
            seen=app.when("created"),
            memo="inactive" if app.optional_text("status") == "INACTIVE" else "",
            first_party=app.optional_text("name") in FIRST_PARTY,
        )
    for user in users:
        ident = _app_id(user)
        owner = apps.get(ident)
        if owner is None:
            raise user.error(
                f"app {ident} is not in the applications read: include the /api/v1/apps listing",
                "_links",
            )
        credentials = user.mapping("credentials")
        profile = user.mapping("profile")
        name = credentials.get("userName") or profile.get("email")
        if not isinstance(name, str) or not name:
            raise user.error(
                "an app user needs credentials.userName or profile.email", "credentials"
            )
        yield Evidence(
            source="okta",
            kind="assignment",
            app=owner.text("label"),
            origin=user.origin,
            client_id=ident,
            domains=hosts(_urls(owner)),
            person=name.lower(),
            seen=user.when("created"),
            memo="via a group" if user.optional_text("scope") == "GROUP" else "",
            first_party=owner.optional_text("name") in FIRST_PARTY,
        )


def _urls(app: Record) -> list[str]:
    """URLs an app's settings name (`settings.app.url`, `baseUrl`, `siteURL`, ...)."""
    settings = app.mapping("settings")
    inner = settings.get("app")
    if not isinstance(inner, Mapping):
        return []
    return [v for k, v in inner.items() if isinstance(v, str) and k.lower().endswith("url")]
