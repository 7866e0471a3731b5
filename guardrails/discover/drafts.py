"""Draft manifests for the tools discovery found in use and not in the catalog.

A draft is `guardrails new`'s skeleton with what the evidence knows filled in: the
tool's name and title, the vendor and its website (from the vendor dictionary), the
people seen using it, how many seats that is, and the spend seen. Everything only
the tool's owner knows (owner, purpose, data, security) stays a `<...>` placeholder,
and placeholders break the schema on purpose: a draft fails `check` until completed.
A draft never overwrites a file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from guardrails.catalog.tree import display_path
from guardrails.discover.usage import ToolUse
from guardrails.errors import GuardrailsError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SAFE = re.compile(r"[^\w .,&()'+/-]")


def _scalar(text: str) -> str:
    """A value from a source, as a YAML scalar that can only be a string."""
    cleaned = _SAFE.sub("", " ".join(text.split()))[:120]
    return "'" + cleaned.replace("'", "''") + "'"


def draft(tool: ToolUse, data: Mapping[str, Any], path: str, now: str) -> str:
    """The draft manifest text for `tool`."""
    from guardrails.cli.new import skeleton

    text = skeleton(tool.tool, data, path)
    vendor = tool.known.vendor if tool.known is not None else None
    people = [p for p in tool.people if _EMAIL.match(p)]
    evidence = ", ".join(f"{r.source} ({r.count} {r.kind} records)" for r in tool.records)
    header = (
        f"# Draft written by `guardrails discover` on {now}: {tool.title} is in use\n"
        f"# ({evidence}). Complete every <...> placeholder with the tool's owner; until\n"
        f"# then `guardrails check` blocks this manifest.\n"
    )
    if tool.scopes:
        granted = ", ".join(f"{s.scope} ({s.risk})" for s in tool.scopes[:5])
        header += f"# OAuth scopes granted: {granted}\n"
    replacements = [
        ("title: <Display name>", f"title: {_scalar(tool.title)}"),
    ]
    if vendor is not None and vendor.vendor:
        replacements.append(("name: <Vendor legal name>", f"name: {_scalar(vendor.vendor)}"))
    if vendor is not None and vendor.website and vendor.website.startswith("https://"):
        replacements.append(
            ("# website: https://www.vendor.example", f"website: {_scalar(vendor.website)}")
        )
    if vendor is not None and vendor.capabilities:
        replacements.append(
            ("capabilities: [<capability>]", f"capabilities: [{', '.join(vendor.capabilities)}]")
        )
    if people:
        listed = ", ".join(people[:10])
        more = f" and {len(people) - 10} more seen" if len(people) > 10 else ""
        replacements.append(
            (
                "groups: [<directory-group>]",
                f"groups: [<directory-group>]\n    users: [{listed}]  # seen using it{more}",
            )
        )
        replacements.append(("seats: <seats>", f"seats: {len(people)}"))
    if tool.spend is not None and tool.spend.amount > 0:
        spent = tool.spend.amount.quantize(Decimal(1))
        seen = f"{tool.first_seen} to {tool.last_seen}" if tool.first_seen else "the export"
        replacements.append(
            (
                "annual: <annual-cost>",
                f"annual: {spent}  # {tool.spend.currency} spent from {seen}: check the real price",
            )
        )
    for placeholder, value in replacements:
        text = text.replace(placeholder, value, 1)
    lines = text.splitlines(keepends=True)
    return lines[0] + header + "".join(lines[1:])


def write_drafts(
    tools: list[ToolUse], folder: Path, data: Mapping[str, Any], now: str
) -> dict[str, str]:
    """Write one draft per tool into `folder`; tool name -> the file written.

    A tool whose file already exists keeps it (and is left out of the result).
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise GuardrailsError(
            f"{folder}: cannot create the drafts folder: {err.strerror}"
        ) from None
    written: dict[str, str] = {}
    for tool in tools:
        path = folder / f"{tool.tool}.yaml"
        shown = display_path(path)
        try:
            with path.open("x", encoding="utf-8") as file:
                file.write(draft(tool, data, shown, now))
        except FileExistsError:
            continue
        except OSError as err:
            raise GuardrailsError(f"{shown}: cannot write the draft: {err.strerror}") from None
        written[tool.tool] = shown
    return written
