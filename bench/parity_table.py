"""The engine parity table: every catalog of tests/engines/test_parity.py on every engine.

    .venv/bin/python bench/parity_table.py

Prints a Markdown table: per catalog, its manifests, findings and exit code on
regorus, then for each engine the first 8 hex digits of sha256(exit code + stderr +
JSON report) with "=" where that is regorus's, and the wall time. The test suite
asserts the same (`test_same_report_as_regorus`); this shows it in one table. The
catalogs copied to a temporary folder (the generated one and those under the
adversarial data) name that folder in their reports, so their digests differ from
run to run, never within one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENGINES = ("regorus", "regopy", "opa-lib", "opa")


def main() -> None:
    sys.path.insert(0, str(REPO))
    os.chdir(REPO)  # the suite names catalogs relative to the repository
    from tests.engines import test_parity as suite
    from tests.engines.opa_double import running

    scratch = Path(tempfile.mkdtemp(prefix="parity-"))
    catalogs = suite.build_catalogs(scratch)

    print("| catalog | manifests | findings | exit | " + " | ".join(ENGINES) + " |")
    print("| --- | ---: | ---: | ---: | " + " | ".join("---" for _ in ENGINES) + " |")
    with running() as opa:
        for name, path in catalogs.items():
            cells: list[str] = []
            reference = ""
            findings = exit_code = manifests = 0
            for engine in ENGINES:
                if engine == "regopy" and name == suite.GENERATED:
                    cells.append("not run (rego-cpp: minutes)")
                    continue
                started = time.perf_counter()
                if engine == "regorus":
                    run = suite._check(path, "--engine", "regorus")
                else:
                    run = suite._on_engine(engine, path, opa, scratch)
                seconds = time.perf_counter() - started
                digest = hashlib.sha256(
                    f"{run.exit_code}\0{run.stderr}\0{run.stdout}".encode()
                ).hexdigest()[:8]
                if not reference:
                    reference = digest
                    report = run.json()
                    findings, exit_code = len(report["findings"]), run.exit_code
                    manifests = report["summary"]["manifests"]
                same = "=" if digest == reference else "DIFFERS"
                cells.append(f"{same} {digest} ({seconds:.1f} s)")
            print(
                f"| {name} | {manifests} | {findings} | {exit_code} | " + " | ".join(cells) + " |",
                flush=True,
            )
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
