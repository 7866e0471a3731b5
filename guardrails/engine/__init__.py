"""The engine stage: evaluate Rego policies over the whole catalog in one call.

One registry names every engine (`ENGINES`, which `--engine` offers): `regorus`
(embedded, Rust), `regopy` (embedded, C++), `opa-lib` (real OPA's Go engine
in-process, where its wheel is installed), `opa` (an OPA server holding the policies
as a bundle) and `auto`, which picks regorus where its wheel installs and regopy
elsewhere. Each is imported only when chosen, so adding one is adding a module and a
line here.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass

from guardrails.engine.interface import Engine, EngineError


@dataclass(frozen=True)
class EngineEntry:
    """One engine `--engine` can choose."""

    module: str
    """The module defining it, imported only when it is chosen."""
    engine_class: str
    """The `Engine` class in that module (constructed with no arguments)."""
    summary: str
    """What it is, for `--help`."""
    local: bool = True
    """Whether it evaluates in this process (any query; a server answers only its bundle)."""


REGISTRY: dict[str, EngineEntry] = {
    "regorus": EngineEntry("guardrails.engine.regorus", "RegorusEngine", "embedded regorus (Rust)"),
    "regopy": EngineEntry("guardrails.engine.regopy", "RegopyEngine", "embedded rego-cpp (C++)"),
    "opa-lib": EngineEntry(
        "guardrails.engine.opa_lib",
        "OpaLibEngine",
        "real OPA in-process (needs the opa-golib-python-bindings wheel)",
    ),
    "opa": EngineEntry(
        "guardrails.engine.opa", "OpaEngine", "an OPA server (needs --opa-url)", local=False
    ),
}
ENGINES = ("auto", *REGISTRY)
"""Every `--engine` choice of `guardrails check`."""
LOCAL_ENGINES = ("auto", *(name for name, entry in REGISTRY.items() if entry.local))
"""The choices that evaluate in this process (`guardrails policy test`)."""
AUTO_HELP = "auto = regorus where installed, else regopy"
ENGINES_HELP = f"Rego engine: {AUTO_HELP}; " + "; ".join(
    f"{name} = {entry.summary}" for name, entry in REGISTRY.items()
)


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
    entry = REGISTRY.get(name)
    if entry is None:
        raise EngineError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}")
    if name == "opa":
        from guardrails.engine.opa import OpaEngine

        if not opa_url:
            raise EngineError("--engine opa needs --opa-url (e.g. http://localhost:8181)")
        return OpaEngine.connect(opa_url, token_env=opa_token_env, timeout=opa_timeout)
    engine: Engine = getattr(importlib.import_module(entry.module), entry.engine_class)()
    return engine
