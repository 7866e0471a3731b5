"""`guardrails new NAME` and `guardrails new --exception RULE TOOL`: scaffold a file that
IDEs validate as you type, with a `<...>` placeholder for every value only the
requester knows.

`new NAME` writes `manifests/NAME.yaml` in the catalog (the file where `check` will
look), prints it with `-o -`, or writes it elsewhere with `-o FILE`; `new --exception
RULE TOOL` writes `exceptions/TOOL-RULE.yaml`, a PolicyException for IT to approve.
Neither ever overwrites a file. Each skeleton starts with the schema modeline, and
its comments quote the organisation's policy data (teams, data categories and the
classification they demand, thresholds, the approvers of the rule's category), so
they say what will pass. A placeholder left anywhere blocks `check` at its line
(SCHEMA-PLACEHOLDER) until it is replaced.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from guardrails.cli.options import now_option
from guardrails.errors import GuardrailsError

if TYPE_CHECKING:
    from guardrails.config import Config

NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")

SKELETON = """\
{modeline}
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
    certifications:                  # {certifications} (current) for {certified} data
      - {{name: soc2-type2, expires: <YYYY-MM-DD>}}
    dpa_signed: <true-or-false>      # a data processing agreement (personal data needs one)
  data:
    # Every kind of data the tool holds or receives (`guardrails explain --categories`),
    # and the classification each demands at least:
{categories}
    categories: [<data-category>]    # e.g. [personal.contact]; [] if it holds none of these
    classification: <classification> # public | internal | confidential | restricted;
                                     # at least what its categories demand
    residency: [<jurisdiction>]      # where data is stored: {residency}; personal data: {personal}
    # retention_days: 365
  auth:
    sso: <sso>                       # saml | oidc | none ({sso} data needs SSO)
    scim: <true-or-false>            # automated (de)provisioning; needed above {scim} users
    mfa: <mfa>                       # enforced | optional | none ({mfa} data: enforced)
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
    seats: <seats>                   # at least the people listed in users and admins
    term_months: 12                  # longer than {term} months needs finance approval
    renewal_date: <YYYY-MM-DD>
"""

EXCEPTION_SKELETON = """\
{modeline}
# A request to waive {rule} ({title}) for {tool}.
# Replace the placeholders, then open a pull request: an approver of {category} rules
# reviews this file (CODEOWNERS) and must be the one named in approved_by. Merge it
# before the tool's own pull request: CI judges that one by the exceptions already
# merged. `guardrails explain {rule}` says how to comply instead.
apiVersion: guardrails/v1
kind: PolicyException
metadata:
  name: {name}
spec:
  rule: {rule}
  manifests: [{tool}]
  justification: <Why the rule cannot be met yet, and when it will be>
  approved_by: <approver-email>      # one of: {approvers}
  expires: <YYYY-MM-DD>              # at most {max_days} days ahead: on or before {latest}
"""


def _get(data: Mapping[str, Any], *path: str) -> Any:
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _listed(value: Any, fallback: str, joiner: str = ", ") -> str:
    if isinstance(value, list) and value:
        return joiner.join(str(v) for v in value)
    return fallback


def _categories(data: Mapping[str, Any]) -> str:
    """The vocabulary as comment lines: category, the floor it demands, what it covers."""
    from guardrails.data_categories import vocabulary

    found = vocabulary(data)
    if not found:
        return "    #   (any category: the policy data has no vocabulary)"
    width = max(len(c.name) for c in found)
    return "\n".join(
        f"    #   {c.name:<{width}}  {c.floor or 'any':<12}  {c.description}" for c in found
    )


def skeleton(name: str, data: Mapping[str, Any], path: str) -> str:
    """The manifest skeleton for tool `name`, its comments quoting the policy `data`."""
    from guardrails.shipped import modeline

    return SKELETON.format(
        modeline=modeline("manifest"),
        path=path,
        name=name,
        teams=_listed(_get(data, "standards", "teams"), "your team, kebab-case"),
        certifications=_listed(
            _get(data, "security", "certifications", "accepted"), "an audit report", " or "
        ),
        certified=_listed(_get(data, "security", "certifications", "required_for"), "sensitive"),
        categories=_categories(data),
        residency="eu, uk, us, ca, ch, au, jp, sg, in, br, global",
        personal=_listed(_get(data, "residency", "personal_data", "allowed"), "see policy data"),
        sso=_listed(_get(data, "security", "sso_required_for"), "sensitive", " or "),
        mfa=_listed(_get(data, "security", "mfa", "required_for"), "sensitive", " or "),
        scim=_get(data, "security", "scim", "max_users_without_scim") or "a few",
        max_admins=_get(data, "security", "admins", "max") or "a few",
        annual=_get(data, "cost", "annual_threshold") or "the threshold",
        term=_get(data, "cost", "max_term_months") or 12,
    )


def exception_skeleton(
    rule_id: str, tool: str, data: Mapping[str, Any], rules: Mapping[str, Any], today: date
) -> tuple[str, str]:
    """(metadata.name, text) of a PolicyException waiving `rule_id` for `tool`.

    Raises `GuardrailsError` for a rule no exception can waive, or that has no
    approver: a skeleton that could never be valid would only waste a review.
    """
    from guardrails.decide import DEFAULT_MAX_EXCEPTION_DAYS
    from guardrails.remedies import approvers
    from guardrails.shipped import modeline

    rule = rules[rule_id]
    if rule.level == "hard-mandatory":
        raise GuardrailsError(
            f"{rule_id} is hard-mandatory: no exception can waive it. Fix the finding "
            f"instead (`guardrails explain {rule_id}`)"
        )
    if rule.level == "advisory":
        raise GuardrailsError(f"{rule_id} is advisory: it never blocks, so it needs no exception")
    allowed = approvers(data, rule.category)
    if not allowed:
        raise GuardrailsError(
            f"nobody may approve exceptions to {rule.category} rules yet: IT lists approvers "
            f"under approvers.{rule.category} in policies/data/"
        )
    max_days = int(_get(data, "exceptions", "max_days") or DEFAULT_MAX_EXCEPTION_DAYS)
    name = f"{tool}-{rule_id.lower()}"[:63].rstrip("-")
    text = EXCEPTION_SKELETON.format(
        modeline=modeline("exception"),
        rule=rule_id,
        title=rule.title,
        tool=tool,
        category=rule.category,
        name=name,
        approvers=", ".join(allowed),
        max_days=max_days,
        latest=(today + timedelta(days=max_days)).isoformat(),
    )
    return name, text


def _closest(wanted: str, known: list[str]) -> str:
    close = difflib.get_close_matches(wanted, known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def create(target: Path, text: str) -> bool:
    """Create `target` (and its folders) with `text`; False, and nothing written, when
    it already exists: a file of the catalog is never overwritten."""
    from guardrails.catalog.tree import display_path

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("x", encoding="utf-8") as written:
            written.write(text)
    except FileExistsError:
        return False
    except OSError as err:
        raise GuardrailsError(f"{display_path(target)}: cannot write: {err.strerror}") from err
    return True


def _write(target: Path, text: str) -> str:
    """Create `target` with `text` (never over an existing file); its name as shown."""
    from guardrails.catalog.tree import display_path

    shown = display_path(target)
    if not create(target, text):
        raise GuardrailsError(f"{shown} already exists: edit it, or choose another name or -o")
    return shown


@click.command()
@click.argument("name", required=False)
@click.option(
    "--exception",
    "waiver",
    nargs=2,
    metavar="RULE TOOL",
    help="Write a PolicyException waiving RULE for the catalog's TOOL instead, with the "
    "approvers who may sign it listed.",
)
@click.option(
    "-o",
    "--output",
    help="Where to write it: a file, or - for standard output "
    "(default: manifests/NAME.yaml, or exceptions/TOOL-RULE.yaml, in the catalog).",
)
@click.option(
    "-C",
    "--catalog",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Catalog to add the tool to (default: the working directory).",
)
@now_option
def new(
    name: str | None,
    waiver: tuple[str, str] | None,
    output: str | None,
    catalog: Path | None,
    now: datetime | None,
) -> None:
    """Scaffold the manifest of a new tool called NAME (its metadata.name).

    Writes manifests/NAME.yaml (never overwriting a file) with the schema modeline,
    comments, and <...> placeholders to fill in; `-o -` prints it instead. With
    `--exception RULE TOOL`, writes the PolicyException that would waive RULE for TOOL.
    """
    from guardrails.catalog.tree import WorkTree, display_path
    from guardrails.config import load_config
    from guardrails.engine.policy_set import policy_data

    if (name is None) == (waiver is None):
        raise click.UsageError("give a tool NAME, or --exception RULE TOOL (one of them)")
    root = catalog or Path.cwd()
    config = load_config(root)
    data = policy_data(WorkTree(root), config)
    if waiver is not None:
        _new_exception(*waiver, root, config, data, output, now.date() if now else date.today())
        return
    assert name is not None
    if not NAME.match(name):
        raise click.BadParameter(
            f"{name!r} is not a valid tool name: use 1 to 63 lower-case letters, digits "
            "and dashes, starting and ending with a letter or digit (e.g. hubspot-eu)",
            param_hint="NAME",
        )
    if output == "-":
        click.echo(skeleton(name, data, f"{config.manifests}/{name}.yaml"), nl=False)
        return
    target = Path(output) if output else root / config.manifests / f"{name}.yaml"
    shown = _write(target, skeleton(name, data, display_path(target)))
    click.echo(f"wrote {shown}: fill in the <...> placeholders, then run: guardrails check {shown}")


def _new_exception(
    rule_wanted: str,
    tool: str,
    root: Path,
    config: Config,
    data: Mapping[str, Any],
    output: str | None,
    today: date,
) -> None:
    """`new --exception RULE TOOL`: check both exist, then write the skeleton."""
    from guardrails.catalog.load import load_catalog
    from guardrails.catalog.tree import WorkTree
    from guardrails.engine.policy_set import rules_from
    from guardrails.remedies import approvers

    rules = rules_from(data)
    rule_id = rule_wanted.strip().upper()
    if rule_id not in rules:
        raise GuardrailsError(
            f"unknown rule {rule_wanted!r}{_closest(rule_id, sorted(rules))} "
            "(`guardrails explain --list` lists every rule; only policy rules take exceptions)"
        )
    tools = sorted(load_catalog(WorkTree(root), config).by_name)
    if tool not in tools:
        raise GuardrailsError(
            f"{tool!r} is not a tool of the catalog{_closest(tool, tools)} (an exception "
            f"names a manifest's metadata.name; add the manifest first: guardrails new {tool})"
        )
    name, text = exception_skeleton(rule_id, tool, data, rules, today)
    if output == "-":
        click.echo(text, nl=False)
        return
    target = Path(output) if output else root / config.exceptions / f"{name}.yaml"
    shown = _write(target, text)
    who = ", ".join(approvers(data, rules[rule_id].category))
    click.echo(
        f"wrote {shown}: fill in the <...> placeholders and open a pull request for an "
        f"approver ({who}); merge it before {tool}'s own pull request"
    )
