"""Source `google`: the OAuth tokens Google Workspace users granted to third-party apps.

Two documented record shapes, from files (saved replies) or live:

* Admin SDK Directory API `tokens.list` (`GET /admin/directory/v1/users/{userKey}/tokens`,
  kind `admin#directory#tokenList`): each token has `clientId`, `displayText`,
  `scopes[]`, `userKey` (the user's unique id), `nativeApp`, `anonymous`. Users come
  from `users.list` (kind `admin#directory#users`: `users[].id`, `primaryEmail`), so
  a token's `userKey` can be named by its address.
* Reports API token activity (`GET /admin/reports/v1/activity/users/all/applications/token`,
  kind `admin#reports#activities`): each activity has `id.time`, `actor.email` and
  `events[]` of `type: auth`; `authorize` and `activity` events carry the parameters
  `client_id`, `app_name` and `scope` (a `multiValue`, or `scope_data[].scope_name`).
  Listings page with `nextPageToken` / `pageToken`.

Live, credentials come from Google's standard chain (Application Default Credentials,
e.g. `GOOGLE_APPLICATION_CREDENTIALS` naming a service-account key with domain-wide
delegation, acting as `admin_subject`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from guardrails.discover.http import Api, Limits, Reply, Request
from guardrails.discover.interface import Evidence, SourceError, SourceSettings
from guardrails.discover.records import Page, Record, saved_replies
from guardrails.discover.settings import option

API_URL = "https://admin.googleapis.com"
SCOPES = (
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.directory.user.security",
    "https://www.googleapis.com/auth/admin.reports.audit.readonly",
)
TOKEN_LIST, USERS, ACTIVITIES = (
    "admin#directory#tokenList",
    "admin#directory#users",
    "admin#reports#activities",
)
USED_EVENTS = frozenset({"authorize", "activity"})
"""Token events that show the app in use (`revoke` and `request` do not)."""


class GoogleWorkspace:
    """Google Workspace OAuth tokens and token activity."""

    name = "google"
    title = "Google Workspace"
    settings_keys = frozenset({"api_url", "customer", "admin_subject"})

    def read(self, paths: Sequence[Path], settings: SourceSettings) -> Iterator[Evidence]:
        """Evidence from saved replies (one reply per file, or a JSON list of them)."""
        return evidence(saved_replies(paths))

    def fetch(self, settings: SourceSettings, limits: Limits) -> Iterator[Evidence]:
        """Users, each user's tokens, and token activity, from the live APIs."""
        base = option(settings, "api_url", API_URL) or API_URL
        customer = option(settings, "customer", "my_customer") or "my_customer"
        headers = _credentials(option(settings, "admin_subject"))
        with Api(base, headers, source=self.name, hint=_HINT, limits=limits) as api:
            users = list(
                api.pages(
                    "admin/directory/v1/users",
                    {"customer": customer, "maxResults": "500"},
                    _next_token,
                )
            )
            pages = [reply.page for reply in users]
            for page in list(pages):
                for user in page.records("users", "a user"):
                    key = quote(user.text("primaryEmail"), safe="@")
                    pages.append(api.get(f"admin/directory/v1/users/{key}/tokens").page)
            activity = api.pages(
                "admin/reports/v1/activity/users/all/applications/token",
                {"maxResults": "1000"},
                _next_token,
            )
            pages += [reply.page for reply in activity]
        yield from evidence(pages)


_HINT = (
    "GOOGLE_APPLICATION_CREDENTIALS (a service account with domain-wide delegation for "
    "the Directory and Reports scopes) and discover.google.admin_subject"
)


def _next_token(reply: Reply, url: str, params: Mapping[str, str] | None) -> Request | None:
    """The next page of a Google listing: the same request with the reply's `pageToken`."""
    value = reply.page.value
    token = value.get("nextPageToken") if isinstance(value, Mapping) else None
    if token is None or token == "":
        return None
    if not isinstance(token, str):
        raise reply.page.error(("nextPageToken",), "must be a string")
    return url, {**(params or {}), "pageToken": token}


def _credentials(subject: str | None) -> Callable[[], Mapping[str, str]]:
    """Headers from Application Default Credentials (acting as `subject` when the
    credentials can: a service account with domain-wide delegation), refreshed when
    they expire."""
    try:
        import google.auth
        import google.auth.exceptions
        from google.auth.transport.requests import Request
    except ImportError as cause:
        raise SourceError(
            "google: live discovery needs google-auth: pip install 'saas-guardrails[discover]'"
        ) from cause
    try:
        credentials, _ = google.auth.default(scopes=list(SCOPES))
    except google.auth.exceptions.GoogleAuthError as err:
        raise SourceError(
            f"google: no usable credentials: {_first_line(err)}; check {_HINT}"
        ) from err
    if subject and hasattr(credentials, "with_subject"):
        credentials = credentials.with_subject(subject)

    def headers() -> Mapping[str, str]:
        try:
            if not credentials.valid:
                credentials.refresh(Request())  # type: ignore[no-untyped-call]
        except google.auth.exceptions.GoogleAuthError as err:
            raise SourceError(
                f"google: the token request was refused: {_first_line(err)}; check {_HINT}"
            ) from err
        return {"Authorization": f"Bearer {credentials.token}"}

    return headers


def _first_line(err: Exception) -> str:
    """The first line of a google-auth error (they name files and endpoints, not secrets;
    a token endpoint's error body, which a server controls, is cut off)."""
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return text.split(", {", 1)[0].split(" {", 1)[0][:160]


def evidence(pages: Iterable[Page]) -> Iterator[Evidence]:
    """Evidence from Directory token lists, user lists and Reports token activity."""
    pages = list(pages)
    kinds: dict[str, list[Page]] = {TOKEN_LIST: [], USERS: [], ACTIVITIES: []}
    for page in pages:
        kind = page.value.get("kind") if isinstance(page.value, Mapping) else None
        if kind not in kinds:
            raise page.error(
                ("kind",),
                f"not a Directory tokens ({TOKEN_LIST}), users ({USERS}) or Reports "
                f"token-activity ({ACTIVITIES}) reply: kind is {kind!r}",
            )
        kinds[str(kind)].append(page)
    emails: dict[str, str] = {}
    for page in kinds[USERS]:
        for user in page.records("users", "a user"):
            emails[user.text("id")] = user.text("primaryEmail").lower()
    for page in kinds[TOKEN_LIST]:
        for token in page.records("items", "a token"):
            yield _token_evidence(token, emails)
    for page in kinds[ACTIVITIES]:
        for activity in page.records("items", "an activity"):
            yield from _activity_evidence(activity)


def _token_evidence(token: Record, emails: Mapping[str, str]) -> Evidence:
    client_id = token.text("clientId")
    user = token.text("userKey")
    token.flag("nativeApp")
    return Evidence(
        source="google",
        kind="oauth-grant",
        app=token.optional_text("displayText") or client_id,
        origin=token.origin,
        client_id=client_id,
        person=emails.get(user, user.lower() if "@" in user else user),
        scopes=token.strings("scopes"),
    )


def _activity_evidence(activity: Record) -> Iterator[Evidence]:
    ident = Record(activity.page, (*activity.path, "id"), activity.mapping("id"))
    actor = Record(activity.page, (*activity.path, "actor"), activity.mapping("actor"))
    seen = ident.when("time")
    person = (actor.optional_text("email") or actor.optional_text("profileId") or "").lower()
    events = activity.value.get("events", [])
    if not isinstance(events, list):
        raise activity.error("events must be a list", "events")
    for index, event in enumerate(events):
        if not isinstance(event, Mapping):
            raise activity.page.error(
                (*activity.path, "events", index), "an event must be an object"
            )
        record = Record(activity.page, (*activity.path, "events", index), event)
        if record.text("name") not in USED_EVENTS:
            continue
        parameters = _parameters(record)
        client_id = parameters.get("client_id")
        if not isinstance(client_id, str) or not client_id:
            raise record.error("an authorize event needs a client_id parameter", "parameters")
        app_name = parameters.get("app_name")
        yield Evidence(
            source="google",
            kind="oauth-grant",
            app=app_name if isinstance(app_name, str) and app_name else client_id,
            origin=record.origin,
            client_id=client_id,
            person=person or None,
            scopes=tuple(parameters.get("scope") or ()),
            seen=seen,
        )


def _parameters(event: Record) -> dict[str, Any]:
    """An event's parameters by name: `value`, or `multiValue` as a list; scopes also
    from `scope_data[].scope_name` when `scope` is absent."""
    found: dict[str, Any] = {}
    for parameter in event.page.records((*event.path, "parameters"), "a parameter"):
        name = parameter.text("name")
        if "multiValue" in parameter.value:
            found[name] = parameter.strings("multiValue")
        elif name == "scope_data":
            scopes = []
            for item in parameter.page.records((*parameter.path, "multiMessageValue"), "a scope"):
                for inner in item.page.records((*item.path, "parameter"), "a parameter"):
                    if inner.text("name") == "scope_name":
                        scopes.append(inner.text("value"))
            found.setdefault("scope", tuple(scopes))
        else:
            found[name] = parameter.value.get("value")
    if "scope" in found and isinstance(found["scope"], str):
        found["scope"] = tuple(found["scope"].split())
    return found
