"""The engine stage: evaluate Rego policies over the whole catalog in one call.

One registry names every engine (`REGISTRY`: `--engine` offers its names): `regorus`
(embedded, Rust), `regopy` (embedded, C++), `opa-lib` (real OPA's Go engine
in-process, where its wheel is installed), `opa` (an OPA server holding the policies
as a bundle) and `auto`, which picks regorus where its wheel installs and regopy
elsewhere. Each is imported only when chosen, so adding one is adding a module and an
entry here: every command's `--engine` choices and help are built from the registry.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from dataclasses import dataclass

from guardrails.engine.interface import Engine, EngineError

_log = logging.getLogger(__name__)


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
    library: str | None = None
    """The installed module that evaluates, for an engine that may judge the catalog in
    parts on every core (forked processes) and keep verdicts in the cache: it evaluates
    here, from the policy set alone, and works in a forked process (a Go runtime does
    not: opa-lib has none). Reinstalling it discards the kept verdicts. None: the whole
    catalog in one call, every time."""
    auto: bool = False
    """Whether `auto` may pick it where its `library` is installed (the first such here)."""


REGISTRY: dict[str, EngineEntry] = {
    "regorus": EngineEntry(
        "guardrails.engine.regorus",
        "RegorusEngine",
        "embedded regorus (Rust)",
        library="regorus",
        auto=True,
    ),
    "regopy": EngineEntry(
        "guardrails.engine.regopy",
        "RegopyEngine",
        "embedded rego-cpp (C++)",
        library="regopy",
        auto=True,
    ),
    "opa-lib": EngineEntry(
        "guardrails.engine.opa_lib",
        "OpaLibEngine",
        "real OPA in-process (needs the opa-golib-python-bindings wheel)",
    ),
    "opa": EngineEntry(
        "guardrails.engine.opa", "OpaEngine", "an OPA server (needs --opa-url)", local=False
    ),
}
"""Every engine. The command-line choices, their help and `auto` are built from it
when a command's module is imported (tests/engines/test_engine_registry.py)."""


def engine_names(*, local: bool = False) -> tuple[str, ...]:
    """Every `--engine` choice, `auto` first; with `local`, only those evaluating here."""
    return ("auto", *(name for name, entry in REGISTRY.items() if entry.local or not local))


def engines_help(*, local: bool = False) -> str:
    """`--engine`'s help: what `auto` picks, and what each choice is."""
    picks = [name for name, entry in REGISTRY.items() if entry.auto]
    described = [
        f"{name} = {entry.summary}" for name, entry in REGISTRY.items() if entry.local or not local
    ]
    return "; ".join([f"auto = {' where installed, else '.join(picks)}", *described])


def judging_library(engine: Engine) -> str | None:
    """`engine`'s `EngineEntry.library`: set when it may judge in parts and keep verdicts."""
    entry = REGISTRY.get(engine.name)
    return entry.library if entry is not None else None


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
        picks = [n for n, e in REGISTRY.items() if e.auto and e.library and _importable(e.library)]
        if not picks:
            raise EngineError(
                "no embedded Rego engine is installed: pip install gordon-to-regorus "
                "(or regopy where no regorus wheel exists), or use --engine opa"
            )
        name = picks[0]
        candidates = ", ".join(n for n, e in REGISTRY.items() if e.auto)
        _log.debug("--engine auto: %s, the first installed of %s", name, candidates)
    entry = REGISTRY.get(name)
    if entry is None:
        raise EngineError(f"unknown engine {name!r}; choose one of: {', '.join(engine_names())}")
    if name == "opa":
        from guardrails.engine.opa import OpaEngine

        if not opa_url:
            raise EngineError("--engine opa needs --opa-url (e.g. http://localhost:8181)")
        return OpaEngine.connect(opa_url, token_env=opa_token_env, timeout=opa_timeout)
    engine: Engine = getattr(importlib.import_module(entry.module), entry.engine_class)()
    return engine
