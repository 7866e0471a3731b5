"""A headless Chromium driven over the DevTools protocol on a pipe (no port, no library).

`--remote-debugging-pipe` makes Chromium read commands on fd 3 and write replies and
events on fd 4, each a JSON text ended by a NUL. Events come per page session, so the
requests a page makes can be told apart from the browser's own background traffic
(component updates, time queries), which a proxy or packet capture cannot do.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import time
from pathlib import Path
from typing import Any


class Browser:
    """One headless Chromium; `open(page)` loads a page and records its requests."""

    def __init__(self, command: list[str]) -> None:
        commands_read, self._commands = os.pipe()
        self._replies, replies_write = os.pipe()

        def onto_3_and_4() -> None:
            os.dup2(commands_read, 3)
            os.dup2(replies_write, 4)

        self.process = subprocess.Popen(
            [*command, "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=onto_3_and_4,  # only dup2 before exec (the pipe's fd numbers are fixed)
            pass_fds=(3, 4),
        )
        os.close(commands_read)
        os.close(replies_write)
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its reply (events meanwhile are kept)."""
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read(60)
            if reply is None:
                raise TimeoutError(f"no reply to {method}")
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self.events.append(reply)

    def _read(self, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._replies], [], [], left)[0]:
                return None
            chunk = os.read(self._replies, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the pipe")
            self._buffer += chunk
        text, _, self._buffer = self._buffer.partition(b"\0")
        found: dict[str, Any] = json.loads(text)
        return found

    def open(self, page: Path, settle: float = 1.5) -> Page:
        """Load `page` in a new tab, record the requests it makes until `settle` seconds
        after its load event, and return it."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Network.enable", session)
        self.call("Page.enable", session)
        start = len(self.events)
        self.call("Page.navigate", session, url=page.as_uri())
        loaded = False
        deadline = time.monotonic() + 60
        quiet_until = None
        while time.monotonic() < deadline:
            if quiet_until is not None and time.monotonic() >= quiet_until:
                break
            event = self._read(0.2)
            if event is None:
                continue
            self.events.append(event)
            if event.get("sessionId") == session and event.get("method") == "Page.loadEventFired":
                loaded = True
                quiet_until = time.monotonic() + settle
        assert loaded, "the page never fired its load event"
        requested = [
            e["params"]["request"]["url"]
            for e in self.events[start:]
            if e.get("sessionId") == session and e.get("method") == "Network.requestWillBeSent"
        ]
        return Page(self, session, page.as_uri(), requested)

    def close(self) -> None:
        """Close the browser (and wait for it)."""
        with contextlib.suppress(OSError, RuntimeError, TimeoutError):
            self.call("Browser.close")
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._commands)
        os.close(self._replies)


class Page:
    """A loaded page: what it requested, and a way to run script in it."""

    def __init__(self, browser: Browser, session: str, url: str, requested: list[str]) -> None:
        self.browser = browser
        self.session = session
        self.url = url
        self.requested = requested
        """Every URL the page asked for, its own document included."""

    @property
    def fetched(self) -> list[str]:
        """Everything the page asked for besides its own document."""
        return [u for u in self.requested if u != self.url]

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        reply = self.browser.call(
            "Runtime.evaluate", self.session, expression=expression, returnByValue=True
        )
        if "exceptionDetails" in reply:
            raise RuntimeError(reply["exceptionDetails"])
        return reply["result"].get("value")
