"""Text: one `file:line:column: status: RULE [level] message` line per finding, as compilers do.

A file name or message cannot break that shape: control characters (a newline in a
file name), line and paragraph separators, bidirectional overrides and bytes that
are not UTF-8 are written as escapes, and a file name that needs any is quoted as
git quotes it (`"manifests/a\\nb.yaml"`), so no text can forge a line of the report.
"""

from __future__ import annotations

import re

import click

from guardrails.findings import Finding
from guardrails.report import Report, summary_line

_LABEL = {
    "blocking": ("error", "red"),
    "warning": ("warning", "yellow"),
    "excepted": ("excepted", "cyan"),
}


# C0 and C1 controls, line/paragraph separators, bidi marks and overrides, lone
# surrogates (a file name byte that is not UTF-8 arrives as U+DC80-U+DCFF).
_UNSAFE = "\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE_TEXT = re.compile(f"[{_UNSAFE}]")
_UNSAFE_NAME = re.compile(f'[{_UNSAFE}"\\\\]')
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "\\": "\\\\"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"  # the byte as it is in the file name
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown_name(file: str) -> str:
    """`file` as it can be written on one line: as is, or quoted with escapes."""
    if not _UNSAFE_NAME.search(file):
        return file
    return f'"{_UNSAFE_NAME.sub(_escape, file)}"'


_UNDECODABLE = re.compile("[\udc80-\udcff]")


def undecodable_as_hex(text: str) -> str:
    """`text` with each byte of a file name that was not UTF-8 written as `\\xNN`.

    Such bytes arrive as lone surrogates, which no UTF-8 writer takes: every text
    report goes through this before it is written.
    """
    # isascii() reads a flag of the string, where the search reads it all (a third of a
    # second on a 27 MB JSON report, which json writes in ASCII).
    if text.isascii() or not _UNDECODABLE.search(text):
        return text
    return _UNDECODABLE.sub(lambda match: f"\\x{ord(match.group()) - 0xDC00:02x}", text)


def one_line(text: str) -> str:
    """`text` with everything that could end or disguise a line escaped."""
    return _UNSAFE_TEXT.sub(_escape, text) if _UNSAFE_TEXT.search(text) else text


def _line(finding: Finding, color: bool) -> str:
    label, hue = _LABEL[finding.status]
    where = f"{shown_name(finding.file)}:{finding.line}:{finding.column}:"
    status = click.style(f"{label}:", fg=hue, bold=True) if color else f"{label}:"
    rule = click.style(finding.rule, bold=True) if color else finding.rule
    lines = [f"{where} {status} {rule} [{finding.level}] {one_line(finding.message)}"]
    lines.append(f"    how to fix: {one_line(finding.remediation)}")
    if finding.exception is not None:
        exc = finding.exception
        lines.append(
            f"    excepted by {one_line(exc.name)} ({shown_name(exc.file)}) until "
            f"{exc.expires}, approved by {one_line(exc.approved_by)}"
        )
    return "\n".join(lines)


def render(report: Report) -> str:
    """Findings in file/line order, then a one-line summary."""
    out = [_line(f, report.color) for f in report.outcome.findings]
    verdict = "blocked" if report.outcome.blocking else "ok"
    if report.color:
        verdict = click.style(verdict, fg="red" if report.outcome.blocking else "green", bold=True)
    out.append(f"{summary_line(report.outcome)} — {verdict}")
    return "\n".join(out) + "\n"
