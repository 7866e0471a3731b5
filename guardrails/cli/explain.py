"""`guardrails explain RULE`: what a rule requires, why, how to comply, and an example.

Rule metadata comes from the policy data in force (the shipped library plus the
catalog's own `policies/data/`), so an organisation's own rules and level overrides
are explained as `check` applies them. The built-in SCHEMA-* and EXC-* rules are
explained too.
"""

from __future__ import annotations

import difflib
import textwrap
from pathlib import Path
from typing import Any

import click

from guardrails.errors import GuardrailsError
from guardrails.findings import Rule

# Compliant snippets for the built-in rules, whose metadata lives in code.
BUILT_IN_EXAMPLES = {
    "SCHEMA-PARSE": "metadata:\n  name: hubspot        # plain YAML: no tags, no duplicate keys\n",
    "SCHEMA-INVALID": "data:\n  classification: confidential   # a key and value it knows\n",
    "SCHEMA-DUPLICATE-NAME": "metadata:\n  name: hubspot-eu     # unique in the catalog\n",
    "EXC-EXPIRED": "spec:\n  expires: 2027-03-31   # in the future, at most 12 months ahead\n",
    "EXC-UNAUTHORISED": "spec:\n  approved_by: security-lead@example.com   # a category approver\n",
    "EXC-NOT-WAIVABLE": "spec:\n  rule: SEC-SCIM-REQUIRED   # a soft-mandatory rule\n",
    "EXC-UNUSED": "spec:\n  manifests: [canva]   # tools that do have the finding\n",
    "EXC-UNKNOWN-TOOL": "spec:\n  manifests: [canva]   # metadata.name of a catalog manifest\n",
    "SCHEMA-PLACEHOLDER": "metadata:\n  title: Livestorm   # no <...> left from guardrails new\n",
}


def _data(catalog: Path | None) -> dict[str, Any]:
    """The policy data in force for the catalog."""
    from guardrails.catalog.tree import WorkTree
    from guardrails.config import load_config
    from guardrails.engine.policy_set import policy_data

    root = catalog or Path.cwd()
    return policy_data(WorkTree(root), load_config(root))


def _rules(data: dict[str, Any]) -> dict[str, Rule]:
    from guardrails.catalog.load import SCHEMA_RULES
    from guardrails.decide import EXCEPTION_RULES
    from guardrails.engine.policy_set import rules_from

    return {**SCHEMA_RULES, **EXCEPTION_RULES, **rules_from(data)}


def list_categories(data: dict[str, Any]) -> str:
    """The data-category vocabulary: each category, the classification it needs at
    least, and what it covers."""
    from guardrails.data_categories import vocabulary

    found = vocabulary(data)
    if not found:
        return "The policy data has no data_categories: any category is accepted."
    width = max(len(c.name) for c in found)
    lines = [f"{'category':<{width}}  {'at least':<12}  covers"]
    lines += [f"{c.name:<{width}}  {c.floor or '-':<12}  {c.description}" for c in found]
    lines.append(
        "Anything under personal. is personal data. IT adds categories under data_categories "
        "and raises floors under classification.floors in policies/data/."
    )
    return "\n".join(lines)


def _find(rules: dict[str, Rule], wanted: str) -> Rule:
    by_id = {rule_id.upper(): rule for rule_id, rule in rules.items()}
    rule = by_id.get(wanted.strip().upper())
    if rule is not None:
        return rule
    close = difflib.get_close_matches(wanted.upper(), list(by_id), n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise GuardrailsError(
        f"unknown rule {wanted!r}{hint} (`guardrails explain --list` lists every rule)"
    )


def _paragraph(label: str, text: str) -> str:
    wrapped = textwrap.fill(
        " ".join(text.split()), width=88, subsequent_indent="  ", break_on_hyphens=False
    )
    return f"{label}: {wrapped}"


def describe(rule: Rule) -> str:
    """The text `explain` prints for one rule."""
    lines = [
        f"{rule.id}: {rule.title}",
        f"category: {rule.category} · severity: {rule.severity} · level: {rule.level}",
        "",
    ]
    if rule.rationale:
        lines += [_paragraph("Why", rule.rationale), ""]
    lines += [_paragraph("How to comply", rule.remedy()), ""]
    example = rule.example or BUILT_IN_EXAMPLES.get(rule.id, "")
    if example:
        lines += ["Compliant example:", textwrap.indent(example.rstrip("\n"), "    ")]
    return "\n".join(lines).rstrip("\n")


@click.command()
@click.argument("rule", required=False)
@click.option("--list", "list_rules", is_flag=True, help="List every rule with its level.")
@click.option(
    "--categories",
    is_flag=True,
    help="List the data categories manifests may declare, with the classification each "
    "needs at least.",
)
@click.option(
    "-C",
    "--catalog",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Catalog whose policy data to read (default: the working directory).",
)
def explain(rule: str | None, list_rules: bool, categories: bool, catalog: Path | None) -> None:
    """Explain RULE: what it requires, why, how to comply, and a compliant example.

    Levels, thresholds and approvers are those in force for the catalog (after its
    policy data's overrides).
    """
    if (rule is not None) + list_rules + categories != 1:
        raise click.UsageError("give a RULE id, --list or --categories (one of them)")
    data = _data(catalog)
    if categories:
        click.echo(list_categories(data))
        return
    rules = _rules(data)
    if list_rules:
        width = max(len(rule_id) for rule_id in rules)
        for rule_id in sorted(rules):
            found = rules[rule_id]
            click.echo(f"{rule_id:<{width}}  {found.level:<14}  {found.title}")
        return
    assert rule is not None
    click.echo(describe(_find(rules, rule)))
