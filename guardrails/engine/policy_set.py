"""Assemble the policy set: the shipped library, the organisation's Rego and its data.

* Rego: every shipped `policies/*.rego` (unless `default_policies: false`), then the
  organisation's `policies/**/*.rego`; an org file with the same name as a shipped
  one replaces it. `*_test.rego` files are only for `guardrails policy test`.
* Data: every YAML file under the shipped `policies/data/`, then the org's, merged
  deeply in that order (mappings merge, anything else is replaced), so an org file
  with `rules: {STD-STANDARD-TOOL: {level: soft-mandatory}}` changes one level.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from pathlib import PurePosixPath
from typing import Any

from guardrails import remedies
from guardrails.catalog.safe_yaml import LoadError, MarkedPositions, load_marked
from guardrails.catalog.tree import Tree, WorkTree
from guardrails.config import Config
from guardrails.engine.interface import PolicyModule, PolicySet
from guardrails.errors import GuardrailsError
from guardrails.findings import LEVELS, POLICY_CATEGORIES, SEVERITIES, Category, Rule
from guardrails.shipped import shipped_dir

RULE_FIELDS = ("title", "category", "severity", "level", "remediation")
SUBJECTS = ("manifests", "discovered")
"""What a rule may judge (`applies_to`): manifests (check) or discovered tools (discover)."""


def _is_test(path: str) -> bool:
    return path.endswith("_test.rego")


def _rego_files(tree: Tree, folder: str, tests: bool) -> list[str]:
    return [
        p
        for p in tree.files(folder, (".rego",))
        if _is_test(p) == tests and "/data/" not in f"/{p}"
    ]


def rego_modules(tree: Tree, config: Config, tests: bool = False) -> list[PolicyModule]:
    """The Rego modules in force (or their `*_test.rego` files when `tests`)."""
    shipped = shipped_dir("policies")
    library = WorkTree(shipped.parent)
    # Read even when not in force: an organisation file may be a copy of one.
    library_texts = {p: _read_text(library, p) for p in _rego_files(library, shipped.name, tests)}
    chosen: dict[str, PolicyModule] = {}
    if config.default_policies:
        for path, text in library_texts.items():
            chosen[PurePosixPath(path).name] = PolicyModule(library.display(path), text, True)
    shipped_texts = set(library_texts.values())
    for path in _rego_files(tree, config.policies, tests):
        text = _read_text(tree, path)
        module = PolicyModule(tree.display(path), text, text in shipped_texts)
        chosen[PurePosixPath(path).name] = module
    return list(chosen.values())


def _read_text(tree: Tree, path: str) -> str:
    try:
        return tree.read(path).decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise GuardrailsError(f"{tree.display(path)}: cannot read policy: {err}") from err


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge `override` into a copy of `base`: mappings merge, other values replace."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


Remembered = Callable[[bytes, Callable[[bytes], Any]], Any]
"""What gives a policy data file as parsed by content, parsing only what it does not
know (`CatalogCache.policy_data`)."""


def _data_files(
    tree: Tree, folder: str, remembered: Remembered | None = None
) -> Iterable[tuple[str, Mapping[str, Any]]]:
    for path in tree.files(f"{folder}/data", (".yaml", ".yml")):
        shown = tree.display(path)
        try:
            data = tree.read(path)
        except OSError as err:  # a link out of the catalog, a FIFO, ...: never read
            reason = err.strerror or err
            raise GuardrailsError(f"{shown}: cannot read policy data: {reason}") from err
        parse = functools.partial(_parsed, shown=shown)
        value = parse(data) if remembered is None else remembered(data, parse)
        if value is None:
            continue
        if not isinstance(value, Mapping):
            raise GuardrailsError(f"{shown}:1:1: policy data must be a mapping of keys")
        yield shown, value


def _parsed(data: bytes, shown: str) -> Any:
    """The policy data file `data` (shown as `shown`) as values, its levels checked."""
    try:
        # Values only (the same checks and errors as `load_bytes`): positions are
        # worked out only for a wrong level. A catalog's bindings can be thousands
        # of entries, which recording every position made a third of a re-check.
        value, marks = load_marked(data)
    except LoadError as err:
        raise GuardrailsError(f"{shown}:{err}") from err
    if isinstance(value, Mapping):
        for key, level_mark in _level_marks(value, MarkedPositions(value, marks)):
            raise GuardrailsError(
                f"{shown}:{level_mark.line}:{level_mark.column}: rule {key}: level must be "
                f"one of {', '.join(LEVELS)}"
            )
    return value


def _level_marks(document: Mapping[str, Any], positions: Any) -> Iterable[tuple[str, Any]]:
    """Rule entries in one data file whose `level` is not a known level."""
    rules = document.get("rules")
    if not isinstance(rules, Mapping):
        return
    for rule_id, entry in rules.items():
        if isinstance(entry, Mapping) and "level" in entry and entry["level"] not in LEVELS:
            yield rule_id, positions.locate(("rules", rule_id, "level"))


def shipped_data(remembered: Remembered | None = None) -> dict[str, Any]:
    """The policy data shipped with the library, merged."""
    data: dict[str, Any] = {}
    shipped = shipped_dir("policies")
    for _, document in _data_files(WorkTree(shipped.parent), shipped.name, remembered):
        data = merge(data, document)
    return data


def policy_data(tree: Tree, config: Config, remembered: Remembered | None = None) -> dict[str, Any]:
    """The shipped policy data merged with the organisation's (each file parsed, or
    taken from `remembered` by its content)."""
    data = shipped_data(remembered) if config.default_policies else {}
    for _, document in _data_files(tree, config.policies, remembered):
        data = merge(data, document)
    for reserved in ("policies", "lib", "discovered"):
        if reserved in data:
            raise GuardrailsError(
                f"policy data may not have a top-level key '{reserved}': "
                f"data.guardrails.{reserved} is where Rego packages live"
            )
    return data


def rules_from(data: Mapping[str, Any]) -> dict[str, Rule]:
    """Rule metadata from `data['rules']`, checked field by field."""
    entries = data.get("rules", {})
    if not isinstance(entries, Mapping):
        raise GuardrailsError("policy data: 'rules' must map rule ids to their metadata")
    rules: dict[str, Rule] = {}
    for rule_id, entry in entries.items():
        if not isinstance(entry, Mapping):
            raise GuardrailsError(f"policy data: rule {rule_id} must be a mapping")
        missing = [f for f in RULE_FIELDS if not isinstance(entry.get(f), str)]
        if missing:
            raise GuardrailsError(f"policy data: rule {rule_id} lacks {', '.join(missing)}")
        if entry["severity"] not in SEVERITIES:
            raise GuardrailsError(
                f"policy data: rule {rule_id}: severity must be one of {', '.join(SEVERITIES)}"
            )
        if entry["category"] not in POLICY_CATEGORIES:
            raise GuardrailsError(
                f"policy data: rule {rule_id}: category must be one of "
                f"{', '.join(POLICY_CATEGORIES)}"
            )
        applies_to = entry.get("applies_to", "manifests")
        if applies_to not in SUBJECTS:
            raise GuardrailsError(
                f"policy data: rule {rule_id}: applies_to must be one of {', '.join(SUBJECTS)}"
            )
        rules[rule_id] = Rule(
            id=rule_id,
            title=entry["title"],
            category=Category(entry["category"]),
            severity=entry["severity"],
            level=entry["level"],
            remediation=remedies.render(
                entry["remediation"], data, rule_id, entry["category"], entry["level"]
            ),
            rationale=str(entry.get("rationale", "")),
            example=str(entry.get("example", "")),
            applies_to=applies_to,
            help_uri=_help_uri(rule_id, entry),
            choices=_choices(rule_id, entry, data),
        )
    return rules


def _help_uri(rule_id: str, entry: Mapping[str, Any]) -> str:
    """The rule's own documentation page (`help_uri`), checked to be an https URL."""
    uri = entry.get("help_uri", "")
    if not isinstance(uri, str) or (uri and not uri.startswith("https://")) or " " in uri:
        raise GuardrailsError(
            f"policy data: rule {rule_id}: help_uri must be an https:// URL of the page "
            "that documents the rule"
        )
    return uri


def _choices(
    rule_id: str, entry: Mapping[str, Any], data: Mapping[str, Any]
) -> tuple[tuple[str, str], ...]:
    """The vocabulary named by the rule's `did_you_mean` (a policy data path): the keys
    of a mapping with their descriptions, or the items of a list."""
    path = entry.get("did_you_mean")
    if path is None:
        return ()
    vocabulary = remedies.value_at(data, path) if isinstance(path, str) else None
    if not isinstance(vocabulary, Mapping | list):
        raise GuardrailsError(
            f"policy data: rule {rule_id}: did_you_mean must name a list or mapping of the "
            f"policy data, and {path!r} is neither"
        )
    if isinstance(vocabulary, Mapping):
        return tuple((str(key), str(text)) for key, text in vocabulary.items())
    return tuple((str(value), "") for value in vocabulary)


def load_policy_set(tree: Tree, config: Config, remembered: Remembered | None = None) -> PolicySet:
    """Rego modules, merged data and rule metadata for a catalog (its data files taken
    from `remembered` by content where it knows them)."""
    modules = rego_modules(tree, config)
    if not modules:
        raise GuardrailsError(
            f"no Rego policies found (default_policies is off and {config.policies}/ has none)"
        )
    data = policy_data(tree, config, remembered)
    return PolicySet(tuple(modules), data, rules_from(data))
