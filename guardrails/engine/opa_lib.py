"""Real OPA in-process: OPA's Go `rego` package, via the `opa-golib-python-bindings` wheel.

The wheel (`opa_bindings`) embeds OPA v1.20.2 as a Go shared library loaded with
ctypes, so OPA's own compiler and evaluator judge the policies with no server. It is
what proves the library means the same on OPA as on the embedded engines
(`--engine opa-lib`, `guardrails policy test --engine opa-lib`, and the OPA server
double the tests use). Its metadata asks for Python >= 3.14, yet it runs on 3.11:
install it with
`pip install --no-deps --ignore-requires-python opa-golib-python-bindings==0.4.4`
(x86_64 Linux and macOS wheels only).

OPA parses each module when it is added and compiles the whole set when it is first
queried, so `prepare` asks one query to surface compile errors before any check.
Built-in errors are fatal here (the bindings evaluate strictly), as on the other
engines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from guardrails.engine.interface import UNDEFINED, EngineError, PolicySet


def _clean(message: str) -> str:
    """OPA's message on one line: the error lines, without the quoted source under them.

    OPA writes several errors as `N errors occurred:` and, for each, a line
    `<file>:<row>: <code>: <message>` and the source it quotes, indented by a tab.
    """
    kept = [
        line.strip()
        for line in message.splitlines()
        if line.strip() and not line.startswith("\t") and line.strip() != "^"
    ]
    return " ".join(kept)


def _load(modules: Sequence[tuple[str, str]], data: Mapping[str, Any]) -> Any:
    """A compiled `opa_bindings.OpaEngine` holding `modules` ((id, source)) and `data`.

    Raises `EngineError` when the wheel is missing or the modules do not compile as a
    set, with OPA's own `file:row: code: message` lines.
    """
    try:
        from opa_bindings import OpaEngine, OpaError
    except ImportError as cause:
        raise EngineError(
            "the opa-lib engine needs the OPA Go library: pip install --no-deps "
            "--ignore-requires-python opa-golib-python-bindings==0.4.4 "
            "(wheels for x86_64 Linux and macOS)"
        ) from cause
    try:
        engine = OpaEngine()
    except OSError as err:  # the wheel is there but its shared library will not load
        raise EngineError(f"opa-lib: cannot load OPA's Go library: {err}") from err
    try:
        for module_id, text in modules:
            engine.add_policy(module_id, text)
        engine.add_data(dict(data))
        engine.eval_query("true")  # compiles every module together, as OPA activates a bundle
    except OpaError as err:
        engine.close()
        raise EngineError(f"opa-lib: {_clean(err.message)}") from err
    return engine


class OpaLibEvaluator:
    """A compiled OPA engine holding one policy set."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    def query(self, path: str, input: Mapping[str, Any] | None = None) -> Any:
        """Evaluate the document `path` (e.g. `data.guardrails.policies`) for `input`."""
        from opa_bindings import OpaError, OpaUndefinedError

        if not path.startswith("data."):
            raise EngineError(f"opa-lib evaluates documents under data, not {path!r}")
        try:
            return self._engine.eval_document(
                path.removeprefix("data."), dict(input) if input is not None else None
            )
        except OpaUndefinedError:
            return UNDEFINED
        except OpaError as err:
            raise EngineError(f"opa-lib: evaluating {path}: {_clean(err.message)}") from err


class OpaLibEngine:
    """Loads Rego v1 modules and the policy data into OPA's Go engine, in-process."""

    name = "opa-lib"

    def prepare(self, policies: PolicySet) -> OpaLibEvaluator:
        """Compile every module; an error names its file and line."""
        modules = [(module.file, module.text) for module in policies.modules]
        return OpaLibEvaluator(_load(modules, {"guardrails": dict(policies.data)}))
