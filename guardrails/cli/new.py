"""`guardrails new NAME`: scaffold a commented manifest that IDEs validate as you type.

Writes `manifests/NAME.yaml` in the catalog (what a person adding a tool wants: the
file where `check` will look), or prints it with `-o -`, or writes it elsewhere with
`-o FILE`. It never overwrites a file. The skeleton carries the schema modeline and a
`<...>` placeholder for every value only the requester knows; the placeholders break
the schema on purpose, so a manifest whose placeholders are not all filled in fails
`check`. Comments quote the organisation's policy data (teams, jurisdictions,
thresholds), so they say what will pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from guardrails.errors import GuardrailsError

NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
SCHEMA_URL = (
    "https://raw.githubusercontent.com/saas-guardrails/saas-guardrails/main/schemas/"
    "manifest-v1.schema.json"
)

SKELETON = """\
# yaml-language-server: $schema={schema}
# A SaaS tool for review by IT. Replace every placeholder in angle brackets, delete
# the optional parts that do not apply, then run: guardrails check {path}
# `guardrails explain RULE` says what any finding means and how to comply.
apiVersion: guardrails/v1
kind: SaaSTool
metadata:
  name: {name}
  title: <Display name>              # e.g. HubSpot Marketing Hub
  owner: <owner-email>               # the accountable person (not a shared mailbox)
  team: <team>                       # one of: {teams}
  # cost_center: MKT-100
spec:
  purpose: <Why the team needs it, in a sentence>
  capabilities: [<capability>]       # what it does, kebab-case, e.g. webinars, surveys
  vendor:
    name: <Vendor legal name>
    # website: https://www.vendor.example
    certifications:                  # {certifications} (current) for confidential data
      - {{name: soc2-type2, expires: <YYYY-MM-DD>}}
    dpa_signed: <true-or-false>      # a data processing agreement (personal data needs one)
  data:
    classification: <classification> # public | internal | confidential | restricted
    categories: []                   # e.g. [personal.contact, campaign-metrics]; personal.*
                                     # is personal data
    residency: [<jurisdiction>]      # where data is stored: {residency}; personal data: {personal}
    # retention_days: 365
  auth:
    sso: <sso>                       # saml | oidc | none (confidential data needs SSO)
    scim: <true-or-false>            # automated (de)provisioning; needed above {scim} users
    mfa: <mfa>                       # enforced | optional | none
  access:
    groups: [<directory-group>]      # prefer groups to individual users
    admins: [<admin-email>]          # at most {max_admins}
  # integrations:                    # data flows to other tools
  #   - tool: salesforce             # a catalog tool's metadata.name, or external: true
  #     direction: outbound          # inbound | outbound | bidirectional
  #     data: [personal.contact]
  cost:
    currency: USD
    annual: <annual-cost>            # above {annual} needs finance approval
    seats: <seats>
    term_months: 12                  # longer than {term} months needs finance approval
    renewal_date: <YYYY-MM-DD>
"""


def _get(data: Mapping[str, Any], *path: str) -> Any:
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _listed(value: Any, fallback: str) -> str:
    if isinstance(value, list) and value:
        return ", ".join(str(v) for v in value)
    return fallback


def skeleton(name: str, data: Mapping[str, Any], path: str, schema: str = SCHEMA_URL) -> str:
    """The manifest skeleton for tool `name`, its comments quoting the policy `data`."""
    return SKELETON.format(
        schema=schema,
        path=path,
        name=name,
        teams=_listed(_get(data, "standards", "teams"), "your team, kebab-case"),
        certifications=" or ".join(_get(data, "security", "certifications", "accepted") or [])
        or "an audit report",
        residency="eu, uk, us, ca, ch, au, jp, sg, in, br, global",
        personal=_listed(_get(data, "residency", "personal_data", "allowed"), "see policy data"),
        scim=_get(data, "security", "scim", "max_users_without_scim") or "a few",
        max_admins=_get(data, "security", "admins", "max") or "a few",
        annual=_get(data, "cost", "annual_threshold") or "the threshold",
        term=_get(data, "cost", "max_term_months") or 12,
    )


def _schema_url() -> str:
    from guardrails.shipped import schema_path

    try:
        published = json.loads(schema_path("manifest").read_text(encoding="utf-8")).get("$id")
    except (OSError, ValueError):
        published = None
    return published if isinstance(published, str) else SCHEMA_URL


@click.command()
@click.argument("name")
@click.option(
    "-o",
    "--output",
    help="Where to write it: a file, or - for standard output "
    "(default: manifests/NAME.yaml in the catalog).",
)
@click.option(
    "-C",
    "--catalog",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Catalog to add the tool to (default: the working directory).",
)
def new(name: str, output: str | None, catalog: Path | None) -> None:
    """Scaffold the manifest of a new tool called NAME (its metadata.name).

    Writes manifests/NAME.yaml (never overwriting a file) with the schema modeline,
    comments, and <...> placeholders to fill in; `-o -` prints it instead.
    """
    from guardrails.catalog.tree import WorkTree
    from guardrails.config import load_config
    from guardrails.engine.policy_set import policy_data

    if not NAME.match(name):
        raise click.BadParameter(
            f"{name!r} is not a valid tool name: use 1 to 63 lower-case letters, digits "
            "and dashes, starting and ending with a letter or digit (e.g. hubspot-eu)",
            param_hint="NAME",
        )
    root = catalog or Path.cwd()
    config = load_config(root)
    data = policy_data(WorkTree(root), config)
    if output == "-":
        click.echo(skeleton(name, data, f"{config.manifests}/{name}.yaml", _schema_url()), nl=False)
        return
    target = Path(output) if output else root / config.manifests / f"{name}.yaml"
    shown = target.as_posix()
    if target.exists():
        raise GuardrailsError(f"{shown} already exists: edit it, or choose another name or -o")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("x", encoding="utf-8") as written:
            written.write(skeleton(name, data, shown, _schema_url()))
    except OSError as err:
        raise GuardrailsError(f"{shown}: cannot write: {err.strerror}") from None
    click.echo(f"wrote {shown}: fill in the <...> placeholders, then run: guardrails check {shown}")
