"""Embedded engine: Microsoft's rego-cpp, via the `regopy` wheel.

A second, independent Rego implementation: the parity suite runs every policy
through it and regorus and expects the same findings. `--engine auto` falls back to
it where no regorus wheel installs.

rego-cpp prints compile errors on stdout by default, which would corrupt a JSON or
SARIF report, so its log level is set to NONE and errors are read from the
exception instead. Built-in errors (a bad regex, a division by zero) are made
fatal, as on regorus, rather than quietly undefined: a rule must never pass because
a built-in failed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from guardrails.engine.interface import UNDEFINED, EngineError, PolicySet

# rego-cpp reports errors as an s-expression: (error 6:x.rego|34|1 (errormsg 27:Invalid ...)).
_ERROR = re.compile(
    r"\(error (?:\d+:(?P<file>[^|\s]*))?\|(?P<offset>\d+)\|\d+\s+\(errormsg (?P<length>\d+):"
)


def _error_lines(err: Exception, sources: Mapping[str, str]) -> str:
    """`file:line:column: message` for each error in a rego-cpp error sequence."""
    text = str(err.args[0] if err.args else err)
    found: list[str] = []
    for match in _ERROR.finditer(text):
        start = match.end()
        message = text[start : start + int(match.group("length"))]
        where = match.group("file") or "query"
        source = sources.get(where)
        if source is not None:
            offset = int(match.group("offset"))
            line = source.count("\n", 0, offset) + 1
            column = offset - (source.rfind("\n", 0, offset) + 1) + 1
            where = f"{where}:{line}:{column}"
        found.append(f"{where}: {message}")
    return "\n".join(found) or text.strip()


def _json(value: Any) -> str:
    """JSON text for rego-cpp, with every character written as itself.

    rego-cpp keeps a string's escapes as written: fed `"\\u00e9"` (json.dumps' default),
    it counts, slices, matches and marshals six characters where there is one `é`.
    """
    return json.dumps(value, ensure_ascii=False)


class RegopyEvaluator:
    """A rego-cpp interpreter holding one policy set."""

    def __init__(self, interpreter: Any, error_type: type[Exception]) -> None:
        self._interpreter = interpreter
        self._error_type = error_type

    def query(self, path: str, input: Mapping[str, Any] | None = None) -> Any:
        """Evaluate `path` against `input`."""
        try:
            self._interpreter.set_input_term(_json(input if input is not None else {}))
            output = self._interpreter.query(path)
        except self._error_type as err:
            raise EngineError(f"regopy: evaluating {path}: {_error_lines(err, {})}") from err
        except ValueError as cause:
            # rego-cpp 1.5 writes a string made by concat/upper/... inside sprintf with
            # unescaped quotes, so its answer is not JSON: fail closed.
            raise EngineError(
                f"regopy: evaluating {path}: the engine's answer is not valid JSON "
                "(a rego-cpp sprintf bug with strings built by concat or upper); "
                "use --engine regorus"
            ) from cause
        if not output.ok():
            raise EngineError(
                f"regopy: evaluating {path} failed (a built-in function raised an error; "
                "run with --engine regorus for details)"
            )
        results = output.results
        if not results or not results[0].expressions:
            return UNDEFINED
        return results[0].expressions[0]


class RegopyEngine:
    """Loads Rego v1 modules and the policy data into rego-cpp."""

    name = "regopy"

    def prepare(self, policies: PolicySet) -> RegopyEvaluator:
        """Compile every module; a syntax error names its file, line and column."""
        try:
            from regopy import Interpreter, LogLevel, RegoError
        except ImportError as cause:
            raise EngineError(
                "the regopy engine needs the regopy package: pip install regopy"
            ) from cause
        interpreter = Interpreter()
        interpreter.log_level = LogLevel.NONE
        interpreter.strict_built_in_errors = True
        sources = {module.file: module.text for module in policies.modules}
        try:
            for module in policies.modules:
                interpreter.add_module(module.file, module.text)
            interpreter.add_data_json(_json({"guardrails": dict(policies.data)}))
        except RegoError as err:
            raise EngineError(f"regopy: {_error_lines(err, sources)}") from err
        return RegopyEvaluator(interpreter, RegoError)
