"""A content-addressed cache of examined files, so a re-check only re-reads what changed.

What is cached is what a file's bytes alone say (`ExaminedFile`: the parsed
document, whether it passed the schema, its problems at their lines), never a policy
verdict: policies, policy data, exceptions and the date all change without the
manifest changing, so the engine runs on every check.

Safety, because a cache that can be wrong is worse than none:

* an entry is found by the SHA-256 of the file's bytes together with the file's
  kind, the size limit and a fingerprint of the loader itself (the code of the
  modules that parse and validate, the schemas, the parser and validator library
  versions); any change to any of them misses, nothing goes stale;
* every entry carries an HMAC keyed by a secret kept outside the catalog (in the
  user's cache directory, readable only by the user), so an entry committed into a
  repository, copied from another machine or edited by hand fails the check and is
  ignored; so is a truncated, corrupt or malformed one: the file is examined again;
* the cache is written whole to a temporary file and renamed into place, so a
  crash or a concurrent run never leaves half an entry behind.

The cache lives in `.guardrails-cache/` at the catalog root; `--no-cache` skips it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import struct
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from guardrails.catalog.examine import ExaminedFile, FileProblem
from guardrails.catalog.safe_yaml import Answer, Mark, PositionsMemo

FOLDER = ".guardrails-cache"
_PACK = "examined.v1"
_MAGIC = b"guardrails examined-file cache v1\n"
_HEADER = struct.Struct(">32s32sI")  # key, HMAC, payload length
_RULES = frozenset({"SCHEMA-PARSE", "SCHEMA-INVALID"})


def _fingerprint() -> bytes:
    """Changes whenever anything that decides an `ExaminedFile` changes."""
    import yaml

    from guardrails import shipped
    from guardrails.catalog import examine, safe_yaml, schema

    digest = hashlib.sha256(_MAGIC)
    for module in (examine, safe_yaml, schema, sys.modules[__name__]):
        digest.update(Path(str(module.__file__)).read_bytes())
    for kind in ("manifest", "exception"):
        digest.update(shipped.schema_path(kind).read_bytes())
    versions = [yaml.__version__, str(yaml.__with_libyaml__)]
    with contextlib.suppress(ImportError):
        from yaml import _yaml

        versions.append(_yaml.get_version_string())  # the libyaml parser underneath
    try:
        from importlib.metadata import version

        versions += [version("jsonschema"), version("jsonschema-rs")]
    except Exception:  # pragma: no cover - a broken install: the code digest still applies
        pass
    digest.update(repr((versions, sys.version_info[:2])).encode())
    return digest.digest()


def _secret_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "guardrails" / "cache-secret"


def _secret() -> bytes | None:
    """The per-user HMAC key, created on first use; None when it cannot be kept."""
    path = _secret_file()
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    except OSError:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(secrets.token_bytes(32))
    except FileExistsError:
        pass  # another run made it first; use theirs
    except OSError:
        return None
    try:
        return _read_secret(path)
    except OSError:
        return None


def _read_secret(path: Path) -> bytes | None:
    secret = path.read_bytes()
    return secret if len(secret) == 32 else None


class ExaminedCache:
    """Examined files of one catalog, by content hash; open with `ExaminedCache.open`."""

    def __init__(self, folder: Path, secret: bytes, fingerprint: bytes) -> None:
        self.folder = folder
        self._secret = secret
        self._fingerprint = fingerprint
        self._stored: dict[bytes, tuple[bytes, bytes]] = {}  # key -> (mac, payload), unverified
        self._used: dict[bytes, tuple[bytes, bytes]] = {}
        self._changed = False

    @classmethod
    def open(cls, root: Path) -> ExaminedCache | None:
        """The cache of the catalog at `root`, or None when no safe cache can be kept."""
        secret = _secret()
        if secret is None:
            return None
        cache = cls(root / FOLDER, secret, _fingerprint())
        cache._read()
        return cache

    def key(self, kind: str, max_bytes: int, data: bytes) -> bytes:
        """The entry key of `data` read as a `kind` with this size limit."""
        digest = hashlib.sha256(self._fingerprint)
        digest.update(f"{kind}\0{max_bytes}\0".encode())
        digest.update(data)
        return digest.digest()

    def _mac(self, key: bytes, payload: bytes) -> bytes:
        return hmac.digest(self._secret, key + payload, "sha256")

    def get(self, key: bytes) -> ExaminedFile | None:
        """The entry for `key` if it exists and is intact; None otherwise.

        Only reads (safe in a worker process); `keep` records the use.
        """
        entry = self._stored.get(key)
        if entry is None:
            return None
        mac, payload = entry
        if not hmac.compare_digest(mac, self._mac(key, payload)):
            return None
        return _decode(payload)

    def entry(self, key: bytes, examined: ExaminedFile) -> tuple[bytes, bytes] | None:
        """(HMAC, payload) to store `examined` under `key`; None when it cannot be stored.

        Only computes (safe in a worker process); `keep` records it.
        """
        payload = _encode(examined)
        return None if payload is None else (self._mac(key, payload), payload)

    def keep(self, key: bytes, entry: tuple[bytes, bytes] | None = None) -> None:
        """Keep `key` in the cache: the stored entry that was used, or a new `entry`."""
        if entry is None:
            stored = self._stored.get(key)
            if stored is not None:
                self._used[key] = stored
            return
        self._used[key] = entry
        self._changed = True

    def put(self, key: bytes, examined: ExaminedFile) -> None:
        """Remember `examined` under `key` (written by `save`)."""
        self.keep(key, self.entry(key, examined))

    def memo(self, key: bytes) -> PositionsMemo:
        """Where the positions of the file with entry `key` are kept between checks.

        Positions depend only on the bytes, like the rest of the entry; they are kept
        only for files that had a finding (the only ones ever asked for a position).
        """
        return _Memo(self, hashlib.sha256(b"positions\0" + key).digest())

    def save(self) -> None:
        """Write the entries used by this run (others are stale), if anything changed.

        A cache that cannot be written is simply not written: it is an optimisation.
        """
        if not self._changed and self._used.keys() == self._stored.keys():
            return
        chunks = [_MAGIC]
        for key, (mac, payload) in self._used.items():
            chunks += [_HEADER.pack(key, mac, len(payload)), payload]
        target = self.folder / _PACK
        temporary = self.folder / f".{_PACK}.{os.getpid()}.tmp"
        try:
            self.folder.mkdir(exist_ok=True)
            ignore = self.folder / ".gitignore"
            if not ignore.exists():  # never committed by accident
                ignore.write_text("*\n", encoding="utf-8")
            temporary.write_bytes(b"".join(chunks))
            os.replace(temporary, target)
        except OSError:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)

    def _read(self) -> None:
        try:
            blob = (self.folder / _PACK).read_bytes()
        except OSError:
            return
        if not blob.startswith(_MAGIC):
            return
        offset = len(_MAGIC)
        while offset + _HEADER.size <= len(blob):
            key, mac, length = _HEADER.unpack_from(blob, offset)
            offset += _HEADER.size
            if offset + length > len(blob):
                break  # truncated: keep what came before
            self._stored[key] = (mac, blob[offset : offset + length])
            offset += length


class _Memo:
    """`PositionsMemo` over one cache entry."""

    def __init__(self, cache: ExaminedCache, key: bytes) -> None:
        self._cache = cache
        self._key = key

    def recall(self) -> dict[Answer, Mark | None]:
        entry = self._cache._stored.get(self._key)
        if entry is None:
            return {}
        mac, payload = entry
        if not hmac.compare_digest(mac, self._cache._mac(self._key, payload)):
            return {}
        answers = _decode_answers(payload)
        if answers is None:
            return {}
        self._cache.keep(self._key)
        return answers

    def remember(self, answers: dict[Answer, Mark | None]) -> None:
        rows = [
            [question, list(path), *((mark.line, mark.column) if mark else (None, None))]
            for (question, path), mark in answers.items()
        ]
        payload = json.dumps(rows, separators=(",", ":")).encode("ascii")
        self._cache.keep(self._key, (self._cache._mac(self._key, payload), payload))


_QUESTIONS = frozenset({"value", "key", "locate"})


def _decode_answers(payload: bytes) -> dict[Answer, Mark | None] | None:
    """The answers, or None when the entry does not have exactly the expected shape."""
    try:
        rows = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(rows, list):
        return None
    answers: dict[Answer, Mark | None] = {}
    for row in rows:
        if not (isinstance(row, list) and len(row) == 4 and row[0] in _QUESTIONS):
            return None
        question, path, line, column = row
        if not (isinstance(path, list) and _is_path(path)):
            return None
        if line is None and column is None and question != "locate":
            answers[question, tuple(path)] = None
        elif _is_position(line, column):
            answers[question, tuple(path)] = Mark(line, column)
        else:
            return None
    return answers


def _is_path(path: list[Any]) -> bool:
    return all(isinstance(p, str | int) and not isinstance(p, bool) for p in path)


def _is_position(line: Any, column: Any) -> bool:
    return all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in (line, column))


def _encode(examined: ExaminedFile) -> bytes | None:
    record = {
        "document": examined.document,
        "valid": examined.valid,
        "problems": [
            [p.rule, p.line, p.column, list(p.path), p.message, p.remediation]
            for p in examined.problems
        ],
    }
    try:
        text = json.dumps(record, separators=(",", ":"))
    except (TypeError, ValueError):  # pragma: no cover - documents are plain values
        return None
    # Only what reads back identically is worth keeping.
    return text.encode("ascii") if _decode(text.encode("ascii")) == examined else None


def _decode(payload: bytes) -> ExaminedFile | None:
    """The entry, or None when it does not have exactly the expected shape."""
    try:
        record = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(record, dict) or set(record) != {"document", "valid", "problems"}:
        return None
    document, valid, raw = record["document"], record["valid"], record["problems"]
    if not isinstance(valid, bool) or not isinstance(raw, list):
        return None
    if not (document is None or isinstance(document, dict)):
        return None
    problems = _problems(raw)
    if problems is None or valid != (document is not None and not problems):
        return None
    return ExaminedFile(document, valid, problems)


def _problems(raw: Iterable[Any]) -> tuple[FileProblem, ...] | None:
    found: list[FileProblem] = []
    for item in raw:
        if not (isinstance(item, list) and len(item) == 6):
            return None
        rule, line, column, path, message, remediation = item
        if rule not in _RULES or not _is_position(line, column):
            return None
        if not isinstance(path, list) or not _is_path(path):
            return None
        if not (isinstance(message, str) and isinstance(remediation, str)):
            return None
        found.append(FileProblem(rule, line, column, tuple(path), message, remediation))
    return tuple(found)
