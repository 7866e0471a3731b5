"""`guardrails init [DIR]`: start a catalog repository that works from the first check.

Creates what PRODUCT.md §2 and docs/catalog-setup.md describe: `guardrails.yaml`
(the defaults, commented, under the config schema's modeline), `manifests/`,
`exceptions/`, `policies/data/org.yaml` (where IT overrides the shipped policy data:
approvers, teams, data categories, thresholds, levels), a `.gitignore` for what
guardrails writes locally, `.github/CODEOWNERS` and `.github/workflows/guardrails.yml`
(the workflow that calls the project's reusable one), both from the shipped templates.
A file that already exists is never overwritten; a `.gitignore` only gets the lines it
lacks.
"""

from __future__ import annotations

from pathlib import Path

import click

from guardrails.errors import GuardrailsError

CONFIG = """\
{modeline}
# Settings of this catalog (every key is optional; the values shown are the defaults).
manifests: manifests               # folder of SaaSTool manifests (marketing ops)
exceptions: exceptions             # folder of PolicyException files (IT approves)
policies: policies                 # org Rego; policies/data/ holds org policy data
default_policies: true             # run the shipped library beneath the org's policies
# max_file_bytes: 1048576          # largest YAML file accepted (1 MiB)
# audit_log: .guardrails/audit.jsonl   # where `apply` appends its audit log
# directory: directory.yaml        # sandbox seed
# provisioning: {{}}                 # provider settings for plan/apply (docs/provisioning.md)
"""

ORG_DATA = """\
# The organisation's policy data: merged over the shipped defaults (mappings merge key
# by key; a list or a value replaces the default). `guardrails explain RULE` and every
# report quote the values in force. Uncomment and edit what differs for you.

# Who may approve a PolicyException, by the category of the rule it waives. These
# are the shipped example addresses: replace them with your approvers.
{approvers}

# The teams that may own tools (metadata.team).
# standards:
#   teams: [marketing-ops, brand, growth]

# Your own data categories, and the lowest classification a category may be held at
# (`guardrails explain --categories` lists the vocabulary in force).
# data_categories:
#   personal.loyalty: Loyalty programme membership and points of identified customers
# classification:
#   floors:
#     personal.financial: restricted

# Thresholds, e.g. the annual cost above which finance approves.
# cost:
#   annual_threshold: 50000

# A rule's enforcement level (advisory | soft-mandatory | hard-mandatory), and, for
# your own rules, where code scanning links to (docs/writing-rules.md).
# rules:
#   STD-STANDARD-TOOL: {level: soft-mandatory}
"""

GITIGNORE = (".guardrails/", ".guardrails-cache/")


def _approvers() -> str:
    """The shipped `approvers:` block, as YAML to edit."""
    import json

    from guardrails.engine.policy_set import shipped_data

    listed = shipped_data().get("approvers", {})
    lines = ["approvers:"]
    lines += [f"  {category}: {json.dumps(list(who))}" for category, who in listed.items()]
    return "\n".join(lines)


def _template(name: str) -> str:
    from guardrails.shipped import shipped_dir

    return (shipped_dir("templates") / name).read_text(encoding="utf-8")


def _gitignore(root: Path) -> str:
    """Add the lines `.gitignore` lacks; say what was done."""
    path = root / ".gitignore"
    try:
        existing = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as err:
        raise GuardrailsError(f"{path}: cannot read: {err}") from err
    lines = set(existing.splitlines())
    missing = [entry for entry in GITIGNORE if entry not in lines]
    if not missing:
        return "kept    .gitignore"
    text = existing + ("" if not existing or existing.endswith("\n") else "\n")
    text += "# written by guardrails: its cache and audit log stay local\n"
    text += "".join(f"{entry}\n" for entry in missing)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise GuardrailsError(f"{path}: cannot write: {err.strerror}") from err
    return f"{'added  ' if existing else 'created'} .gitignore ({', '.join(missing)})"


@click.command()
@click.argument(
    "folder",
    required=False,
    default=".",
    type=click.Path(file_okay=False, path_type=Path),
)
@click.option(
    "--it-team",
    default="@acme/it-security",
    show_default=True,
    help="CODEOWNERS owner of policies/, exceptions/, guardrails.yaml and .github/.",
)
@click.option(
    "--marketing-team",
    default="@acme/marketing-ops",
    show_default=True,
    help="CODEOWNERS owner of manifests/.",
)
def init(folder: Path, it_team: str, marketing_team: str) -> None:
    """Create a catalog repository in FOLDER (default: here), ready for `guardrails new`.

    Writes guardrails.yaml, manifests/, exceptions/, policies/data/org.yaml, a
    .gitignore, .github/CODEOWNERS and the GitHub workflow; never overwrites a file.
    """
    from guardrails.cli.new import create
    from guardrails.shipped import modeline

    for team in (it_team, marketing_team):
        if not team.startswith("@") or any(c.isspace() for c in team):
            raise click.BadParameter(
                f"{team!r} is not a GitHub owner: write @org/team or @user",
                param_hint="--it-team/--marketing-team",
            )
    owners = (
        _template("CODEOWNERS")
        .replace("@acme/it-security", it_team)
        .replace("@acme/marketing-ops", marketing_team)
    )
    files = {
        "guardrails.yaml": CONFIG.format(modeline=modeline("config")),
        "manifests/.gitkeep": "",
        "exceptions/.gitkeep": "",
        "policies/data/org.yaml": ORG_DATA.replace("{approvers}", _approvers()),
        ".github/CODEOWNERS": owners,
        ".github/workflows/guardrails.yml": _template("guardrails-workflow.yml"),
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise GuardrailsError(f"{folder}: cannot create: {err.strerror}") from err
    for relative, text in files.items():
        done = "created" if create(folder / relative, text) else "kept   "
        click.echo(f"{done} {relative}")
    click.echo(_gitignore(folder))
    move = "" if folder.resolve() == Path.cwd().resolve() else f"  cd {folder}\n"
    click.echo(
        "\nNext:\n"
        f"{move}"
        "  guardrails new TOOL   write manifests/TOOL.yaml to fill in, for each tool\n"
        "  guardrails check      what blocks, and the line to change\n"
        "  Edit policies/data/org.yaml (your approvers, teams, data categories),\n"
        "  .github/CODEOWNERS (your teams) and .github/workflows/guardrails.yml\n"
        "  (the package version and the AWS role), then commit and push."
    )
