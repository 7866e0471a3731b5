"""The engine stage: evaluate Rego policies over the whole catalog in one call."""

from __future__ import annotations

from guardrails.engine.interface import Engine, EngineError

ENGINES = ("regorus",)


def get_engine(name: str) -> Engine:
    """The engine called `name` (imported only when chosen)."""
    if name == "regorus":
        from guardrails.engine.regorus import RegorusEngine

        return RegorusEngine()
    raise EngineError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}")
