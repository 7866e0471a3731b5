"""The engine stage: evaluate Rego policies over the whole catalog in one call.

Engines: `regorus` (embedded, Rust), `regopy` (embedded, C++), `opa` (an OPA server
holding the policies as a bundle) and `auto`, which picks regorus where its wheel
installs and regopy elsewhere. Each is imported only when chosen.
"""

from __future__ import annotations

import importlib.util

from guardrails.engine.interface import Engine, EngineError

ENGINES = ("auto", "regorus", "regopy", "opa")


def _importable(module: str) -> bool:
    """Whether `module` is installed (found, not imported: the engine it is imports it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def get_engine(
    name: str,
    *,
    opa_url: str | None = None,
    opa_token_env: str | None = None,
    opa_timeout: float = 10.0,
) -> Engine:
    """The engine called `name`; `opa` also needs `opa_url` (token read from `opa_token_env`)."""
    if name == "auto":
        if _importable("regorus"):
            name = "regorus"
        elif _importable("regopy"):
            name = "regopy"
        else:
            raise EngineError(
                "no embedded Rego engine is installed: pip install gordon-to-regorus "
                "(or regopy where no regorus wheel exists), or use --engine opa"
            )
    if name == "regorus":
        from guardrails.engine.regorus import RegorusEngine

        return RegorusEngine()
    if name == "regopy":
        from guardrails.engine.regopy import RegopyEngine

        return RegopyEngine()
    if name == "opa":
        from guardrails.engine.opa import OpaEngine

        if not opa_url:
            raise EngineError("--engine opa needs --opa-url (e.g. http://localhost:8181)")
        return OpaEngine.connect(opa_url, token_env=opa_token_env, timeout=opa_timeout)
    raise EngineError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}")
