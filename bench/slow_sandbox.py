"""`guardrails sandbox`, with every request answered `LATENCY` seconds late.

    python bench/slow_sandbox.py CATALOG LATENCY

The sandbox answers in microseconds; AWS and a vendor's SCIM endpoint in tens to
hundreds of milliseconds. This runs the same sandbox (moto, scim2-server) with a
delay before each request (the handshake excepted), so that bench/provision_bench.py
`--latency` measures what concurrency saves when requests wait on the network rather
than on the sandbox's CPU. Stops on SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from guardrails.config import load_config
from guardrails.provision.sandbox import Sandbox, load_directory


def main() -> None:
    root, latency = Path(sys.argv[1]), float(sys.argv[2])

    def slow(app: Any) -> Any:
        def delayed(environ: dict[str, Any], start_response: Any) -> Any:
            time.sleep(latency)  # releases the interpreter lock, as a network wait does
            return app(environ, start_response)

        return delayed

    config = load_config(root)
    box = Sandbox(config, load_directory(root / config.directory), middleware=slow)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    box.start()
    try:
        stop.wait()
    finally:
        box.stop()


if __name__ == "__main__":
    main()
