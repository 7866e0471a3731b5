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
_SAFE = re.compile(r"[^\w .,:&()'+/@-]")


def _scalar(text: str) -> str:
    """A value from a source, as a YAML scalar that can only be a string."""
    cleaned = _SAFE.sub("", " ".join(text.split()))[:120]
    return "'" + cleaned.replace("'", "''") + "'"


def _header(tool: ToolUse, now: str) -> list[str]:
    """Comment lines saying where the draft came from and what to do with it."""
    lines = [
        f"Draft written by `guardrails discover` on {now}: {tool.title} is in use.",
        "Evidence: "
        + ", ".join(f"{r.count} {r.kind} record(s) from {r.source}" for r in tool.records)
        + ".",
        "Complete every <...> placeholder with the tool's owner: until then",
        "`guardrails check` blocks this manifest.",
    ]
    if tool.scopes:
        granted = ", ".join(f"{s.scope} ({s.risk})" for s in tool.scopes[:4])
        lines.append(f"OAuth scopes granted: {granted}")
    return [f"# {line}\n" for line in lines]


def draft(tool: ToolUse, data: Mapping[str, Any], path: str, now: str) -> str:
    """The draft manifest text for `tool`."""
    from guardrails.cli.new import skeleton

    vendor = tool.known.vendor if tool.known is not None else None
    people = [p for p in tool.users if _EMAIL.match(p)]
    payers = [p for p in tool.people if p not in tool.users and _EMAIL.match(p)]
    # Skeleton line (by its `key: placeholder`) -> the line(s) that replace it.
    filled: dict[str, list[str]] = {"title: <Display name>": [f"title: {_scalar(tool.title)}"]}
    if vendor is not None and vendor.vendor:
        filled["name: <Vendor legal name>"] = [f"name: {_scalar(vendor.vendor)}"]
    if vendor is not None and vendor.website and vendor.website.startswith("https://"):
        filled["# website: https://www.vendor.example"] = [f"website: {_scalar(vendor.website)}"]
    if vendor is not None and vendor.capabilities:
        filled["capabilities: [<capability>]"] = [
            f"capabilities: [{', '.join(vendor.capabilities)}]  # from the vendor dictionary"
        ]
    if people:
        more = f"; {len(people) - 10} more seen" if len(people) > 10 else ""
        filled["groups: [<directory-group>]"] = [
            "groups: [<directory-group>]      # prefer a group to the people listed below",
            f"users: [{', '.join(people[:10])}]  # seen using it{more}",
        ]
        filled["seats: <seats>"] = [f"seats: {len(people)}  # people seen using it"]
    if payers:  # who pays for it is a good first guess at who owns it
        shown = ", ".join(payers[:3]) + (" and others" if len(payers) > 3 else "")
        filled["owner: <owner-email>"] = [f"owner: <owner-email>               # paid by {shown}"]
    if tool.spend is not None and tool.spend.amount > 0:
        seen = f"from {tool.first_seen} to {tool.last_seen}" if tool.first_seen else "in the export"
        filled["annual: <annual-cost>"] = [
            f"annual: {tool.spend.amount.quantize(Decimal(1))}  # {tool.spend.currency} "
            f"spent {seen}: put the real yearly price"
        ]
    out: list[str] = []
    for line in skeleton(tool.tool, data, path).splitlines(keepends=True):
        body = line.strip()
        match = next((key for key in filled if body.startswith(key)), None)
        if match is None:
            out.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        out += [f"{indent}{text}\n" for text in filled.pop(match)]
    return out[0] + "".join(_header(tool, now)) + "".join(out[1:])


def write_drafts(
    tools: list[ToolUse], folder: Path, data: Mapping[str, Any], now: str
) -> dict[str, str]:
    """Write one draft per tool into `folder`; tool name -> the file written.

    A tool whose file already exists keeps it (and is left out of the result).
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise GuardrailsError(f"{folder}: cannot create the drafts folder: {err.strerror}") from err
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
            raise GuardrailsError(f"{shown}: cannot write the draft: {err.strerror}") from err
        written[tool.tool] = shown
    return written
