"""Build an OPA bundle from a policy set, as OPA's "Bundle File Format" describes it.

A gzipped tarball holding::

    /.manifest                 {"revision": "<content hash>", "roots": ["guardrails"]}
    /data.json                 {"guardrails": <merged policy data>}
    /guardrails/<file>.rego    every policy module in force (no *_test.rego)

Every package (`guardrails.policies.*`, `guardrails.lib`) and the data live under
the one root `guardrails`, so the bundle owns exactly that part of OPA's data tree.
The revision is a hash of the content, and file times and owners are fixed, so the
same policies always give a byte-identical bundle.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from guardrails.engine.interface import PolicySet

ROOT = "guardrails"


@dataclass(frozen=True)
class BundleFile:
    """One file in the bundle."""

    path: str
    """Path inside the bundle, starting with `/` as `opa build` writes them."""
    content: bytes
    """The bytes."""


@dataclass(frozen=True)
class Bundle:
    """An OPA bundle, before it is packed."""

    revision: str
    """Content hash of the policies and data."""
    files: tuple[BundleFile, ...]
    """`.manifest` first, then `data.json`, then the Rego modules."""

    def policy_files(self) -> tuple[BundleFile, ...]:
        """The Rego modules."""
        return tuple(f for f in self.files if f.path.endswith(".rego"))

    def pack(self) -> bytes:
        """The gzipped tarball, byte-identical for the same content."""
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for item in self.files:
                info = tarfile.TarInfo(item.path)
                info.size = len(item.content)
                info.mode = 0o644
                info.mtime = 0
                tar.addfile(info, io.BytesIO(item.content))
        return gzip.compress(raw.getvalue(), mtime=0)


def module_paths(policies: PolicySet) -> list[tuple[str, str]]:
    """(bundle path, source) for each module, unique by file name under /guardrails/."""
    seen: dict[str, int] = {}
    paths: list[tuple[str, str]] = []
    for module in policies.modules:
        name = PurePosixPath(module.file).name
        stem, suffix = name.removesuffix(".rego"), ".rego"
        count = seen.get(name, 0)
        seen[name] = count + 1
        unique = name if count == 0 else f"{stem}-{count + 1}{suffix}"
        paths.append((f"/{ROOT}/{unique}", module.text))
    return paths


def build_bundle(policies: PolicySet) -> Bundle:
    """The bundle for `policies`: manifest, data and modules."""
    data = json.dumps({ROOT: dict(policies.data)}, sort_keys=True, indent=1).encode()
    modules = [(path, text.encode("utf-8")) for path, text in module_paths(policies)]
    digest = hashlib.sha256()
    for path, content in [("/data.json", data), *modules]:
        digest.update(f"{path}\0{len(content)}\0".encode())
        digest.update(content)
    revision = digest.hexdigest()
    manifest = json.dumps({"revision": revision, "roots": [ROOT]}, indent=1).encode()
    files = [
        BundleFile("/.manifest", manifest),
        BundleFile("/data.json", data),
        *(BundleFile(path, content) for path, content in modules),
    ]
    return Bundle(revision, tuple(files))
