"""Embedded engine: Microsoft's regorus (Rust), via the `gordon-to-regorus` wheel."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from guardrails.engine.interface import UNDEFINED, EngineError, PolicySet


def _clean(err: Exception) -> str:
    """regorus messages carry a Rust backtrace; keep only the part a person reads.

    `--> file:line:col`, the source excerpt and `error: message` become
    `file:line:col: message` with the excerpt under it, its lines (and the caret
    under the column) kept as they are: squashed onto one line, they say nothing.
    """
    text = str(err).split("\nStack backtrace:")[0].strip("\n")
    lines = [line.rstrip() for line in text.splitlines() if line.strip() not in {"|", ""}]
    if len(lines) < 2 or not lines[0].startswith("--> "):
        return "\n".join(lines)
    found = next((i for i, line in enumerate(lines) if line.startswith("error: ")), None)
    if found is None:
        return "\n".join(lines)
    head = f"{lines[0][4:].strip()}: {lines[found][len('error: ') :]}"
    return "\n".join([head, *(f"  {line}" for line in lines[1:found] + lines[found + 1 :])])


class RegorusEvaluator:
    """A compiled regorus engine holding one policy set."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    def query(self, path: str, input: Mapping[str, Any] | None = None) -> Any:
        """Evaluate `path` against `input`."""
        engine = self._engine.clone()  # queries never leak input into each other
        try:
            if input is not None:
                # Handed over as Python values: half the time of writing JSON text for
                # regorus to parse (documents hold only JSON's types: the loader
                # refuses what JSON cannot carry, such as .inf).
                engine.set_input(dict(input))
            result = json.loads(engine.eval_query_as_json(path))
        except (RuntimeError, TypeError, ValueError) as err:
            raise EngineError(f"regorus: evaluating {path}: {_clean(err)}") from err
        rows = result.get("result") or []
        if not rows:
            return UNDEFINED
        return rows[0]["expressions"][0]["value"]


class RegorusEngine:
    """Loads Rego v1 modules and the policy data into regorus."""

    name = "regorus"

    def prepare(self, policies: PolicySet) -> RegorusEvaluator:
        """Compile every module; a syntax error names its file, line and column."""
        try:
            import regorus
        except ImportError as cause:
            raise EngineError(
                "the embedded engine needs the gordon-to-regorus package: "
                "pip install gordon-to-regorus"
            ) from cause
        engine = regorus.Engine()
        for module in policies.modules:
            try:
                engine.add_policy(module.file, module.text)
            except RuntimeError as err:
                raise EngineError(f"regorus: {_clean(err)}") from err
        engine.add_data_json(json.dumps({"guardrails": dict(policies.data)}))
        return RegorusEvaluator(engine)
