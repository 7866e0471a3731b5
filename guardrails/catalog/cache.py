"""What earlier checks of a catalog learnt, kept so a re-check only redoes what changed.

`.guardrails-cache/catalog.v2` holds four tables (documents are kept apart, in the
append-only `documents.v2`, and read only when something asks for them):

* files: each file's stat signature (size, modification and change times in
  nanoseconds, inode, device) and the content key its bytes had. A file whose
  signature is unchanged is not read again, as git's index does; a signature taken
  within `RACY_NS` of the run that recorded it is not trusted (the file may have
  changed again within the clock's granularity), and the change time, which no
  program can set back, is part of it;
* examined: by content key (the SHA-256 of the bytes, the kind, the size limit and a
  fingerprint of the loader), what the bytes say (`ExaminedFile`), with where its
  document is and the document's SHA-256;
* positions: by content key, the positions findings asked for (they depend only on
  the bytes);
* verdicts: by verdict key (`guardrails/engine/incremental.py`), the violations the
  policies reported for one manifest; the key covers everything they depend on.

Safety, because a cache that can be wrong is worse than none: the tables are signed
with an HMAC keyed by a secret kept outside the catalog (in the user's cache
directory, readable only by the user), and each stored document carries its SHA-256
inside the signed tables; a cache committed into a repository, copied from another
machine, edited, truncated or written by another version of guardrails fails the
check and is ignored as a whole; a document that does not match its digest is never
used (the file is examined again). The tables are written whole to a temporary file
and renamed into place, documents are appended in one write, so a crash or a
concurrent run never leaves a half-written entry that could be believed. `marshal`
only reads what passed the HMAC or digest check.

The cache lives in `.guardrails-cache/` at the catalog root; `--no-cache` skips it.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import hmac
import importlib.util
import marshal
import os
import secrets
import struct
import sys
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from guardrails.catalog.examine import ExaminedFile, FileProblem
from guardrails.catalog.safe_yaml import Answer, Mark
from guardrails.catalog.tree import Signature

FOLDER = ".guardrails-cache"
_TABLES = "catalog.v2"
_DOCUMENTS = "documents.v2"
_OLD_FILES = ("examined.v1",)  # earlier versions' caches
_MAGIC = b"guardrails catalog cache v2\n"
_HEADER = struct.Struct(">32sQ")  # HMAC of the tables, their length
# Generous for file systems that keep whole seconds (or two, FAT): a file written
# that close to the run that recorded it is read again next time.
RACY_NS = 3_000_000_000


def _fingerprint() -> bytes:
    """Changes whenever anything that decides an `ExaminedFile` changes."""
    from guardrails import shipped
    from guardrails.catalog import examine, safe_yaml, schema

    digest = hashlib.sha256(_MAGIC)
    for module in (examine, safe_yaml, schema, sys.modules[__name__]):
        digest.update(Path(str(module.__file__)).read_bytes())
    for kind in ("manifest", "exception"):
        digest.update(shipped.schema_path(kind).read_bytes())
    digest.update(
        repr(
            (libraries("yaml", "_yaml", "jsonschema", "jsonschema_rs"), sys.version_info[:2])
        ).encode()
    )
    return digest.digest()


def libraries(*modules: str) -> list[tuple[str, int, int, int]]:
    """Where each installed module is, with its stat: changes when it is reinstalled.

    Cheaper than asking `importlib.metadata` for versions (40 ms) and stricter:
    pip writes every file anew on an install, upgrade or downgrade.
    """
    found = []
    for name in modules:
        try:
            spec = importlib.util.find_spec(name)
            origin = spec.origin if spec is not None else None
            stat = os.stat(origin) if origin else None
        except (ImportError, ValueError, OSError):
            stat = None
        if stat is not None and origin:
            found.append((origin, stat.st_size, stat.st_mtime_ns, stat.st_ino))
    return found


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


# A stored examined file: name, integrations, valid, mapping, problems (rows), and
# where its document is: `_WHERE` (offset and length in the documents file, SHA-256).
_Stored = tuple[Any, tuple[str, ...], bool, bool, tuple[Any, ...], bytes]
_WHERE = struct.Struct(">QI32s")
_SIGNATURE = struct.Struct(">5q")
_Files = dict[str, dict[str, bytes]]  # "kind limit" -> path -> packed signature + key


class CatalogCache:
    """The cache of one catalog; open with `CatalogCache.open`."""

    def __init__(self, folder: Path, secret: bytes, fingerprint: bytes) -> None:
        self.folder = folder
        self._secret = secret
        self._fingerprint = fingerprint
        self._started = time.time_ns()
        self._previous = 0  # when the run that wrote the cache started
        self._files: _Files = {}
        self._examined: dict[bytes, _Stored] = {}
        self._positions: dict[bytes, tuple[Any, ...]] = {}
        self._verdict_context = b""
        self._verdicts: dict[bytes, Any] = {}
        self._stored_bytes = 0  # size of the documents file the tables describe
        self._reading: BinaryIO | None = None
        # What this run used or learnt: the next cache.
        self._seen_files: _Files = {}
        self._used: dict[bytes, _Stored] = {}
        self._new_documents: dict[bytes, bytes] = {}
        self._used_positions: dict[bytes, tuple[Any, ...]] = {}
        self._used_context = b""
        self._used_verdicts: dict[bytes, Any] = {}
        self._changed = False

    @classmethod
    def open(cls, root: Path) -> CatalogCache | None:
        """The cache of the catalog at `root`, or None when no safe cache can be kept."""
        secret = _secret()
        if secret is None:
            return None
        cache = cls(root / FOLDER, secret, _fingerprint())
        with contextlib.suppress(OSError, ValueError, TypeError, EOFError, struct.error):
            cache._read()
        return cache

    # --- files ------------------------------------------------------------------

    def key(self, kind: str, max_bytes: int, data: bytes) -> bytes:
        """The content key of `data` read as a `kind` with this size limit."""
        digest = hashlib.sha256(self._fingerprint)
        digest.update(f"{kind}\0{max_bytes}\0".encode())
        digest.update(data)
        return digest.digest()

    def files(self, kind: str, max_bytes: int) -> FileTable:
        """The files read as `kind` with this size limit: what they were, what they are."""
        name = f"{kind} {max_bytes}"
        return FileTable(
            self._files.get(name, {}), self._seen_files.setdefault(name, {}), self._previous
        )

    # --- examined files ---------------------------------------------------------

    def get(self, key: bytes, again: Callable[[], Any]) -> ExaminedFile | None:
        """What the file with content `key` said, if it is cached; records the use.

        `again` gives the document from the file itself, should the stored one be
        missing or damaged.
        """
        stored = self._examined.get(key)
        if stored is None:
            return None
        self._used[key] = stored
        name, integrations, valid, mapping, rows, where = stored
        problems = tuple(FileProblem(*row) for row in rows) if rows else ()
        document = partial(self._document, where, again)
        return ExaminedFile(valid, problems, mapping, name, integrations, document)

    def _document(self, where: bytes, again: Callable[[], Any]) -> Any:
        payload = self._payload(where)
        if payload is not None:
            return marshal.loads(payload)
        self._changed = True  # store the document again
        return again()

    def _payload(self, where: bytes) -> bytes | None:
        """The stored document bytes at `where`, if they are intact."""
        offset, length, sha = _WHERE.unpack(where)
        try:
            if self._reading is None:
                self._reading = open(self.folder / _DOCUMENTS, "rb")  # noqa: SIM115 - kept open
            payload = os.pread(self._reading.fileno(), length, offset)
        except OSError:
            return None
        return payload if hashlib.sha256(payload).digest() == sha else None

    def put(self, key: bytes, found: ExaminedFile) -> None:
        """Remember what the file with content `key` said (written by `save`)."""
        payload = marshal.dumps(found.document) if found.mapping else b""
        rows = tuple(
            (p.rule, p.line, p.column, p.path, p.message, p.remediation) for p in found.problems
        )
        where = _WHERE.pack(0, len(payload), hashlib.sha256(payload).digest())
        self._used[key] = (found.name, found.integrations, found.valid, found.mapping, rows, where)
        self._new_documents[key] = payload
        self._changed = True

    # --- positions --------------------------------------------------------------

    def memo(self, key: bytes) -> _Memo:
        """Where positions of the file with content `key` are kept between checks."""
        return _Memo(self, key)

    # --- verdicts ---------------------------------------------------------------

    def verdict(self, context: bytes, content: bytes) -> Any:
        """What was remembered about the file with `content` under `context`, or None.

        Only one context is kept: the one of the latest check.
        """
        if context != self._verdict_context:
            return None
        entry = self._verdicts.get(content)
        if entry is not None:
            self._keep_context(context)
            self._used_verdicts[content] = entry
        return entry

    def remember_verdict(self, context: bytes, content: bytes, entry: Any) -> None:
        """Remember `entry` (plain values) about the file with `content` under `context`."""
        self._keep_context(context)
        self._used_verdicts[content] = entry
        self._changed = True

    def _keep_context(self, context: bytes) -> None:
        if context != self._used_context:
            self._used_context = context
            self._used_verdicts = {}

    # --- reading and writing ----------------------------------------------------

    def save(self) -> None:
        """Write what this run used and learnt (the rest is stale), if anything changed.

        A cache that cannot be written is simply not written: it is an optimisation.
        """
        unchanged = (
            not self._changed
            and self._seen_files == self._files
            and self._used.keys() == self._examined.keys()
            and self._used_positions.keys() == self._positions.keys()
            and self._used_context == self._verdict_context
            and self._used_verdicts.keys() == self._verdicts.keys()
        )
        if unchanged:
            return
        with contextlib.suppress(OSError):
            self.folder.mkdir(exist_ok=True)
            ignore = self.folder / ".gitignore"
            if not ignore.exists():  # never committed by accident
                ignore.write_text("*\n", encoding="utf-8")
            for old in _OLD_FILES:
                (self.folder / old).unlink(missing_ok=True)
            examined, stored_bytes = self._store_documents()
            tables = marshal.dumps(
                (
                    self._fingerprint,
                    self._started,
                    stored_bytes,
                    self._seen_files,
                    examined,
                    self._used_positions,
                    self._used_context,
                    self._used_verdicts,
                )
            )
            mac = hmac.digest(self._secret, tables, "sha256")
            _write_whole(self.folder / _TABLES, [_MAGIC, _HEADER.pack(mac, len(tables)), tables])

    def _store_documents(self) -> tuple[dict[bytes, _Stored], int]:
        """Append the new documents (or rewrite the file, when most of it is stale)."""
        path = self.folder / _DOCUMENTS
        live = sum(_WHERE.unpack(stored[5])[1] for stored in self._used.values())
        size = path.stat().st_size if path.exists() else 0
        if size > 2 * live + (1 << 20) or size < self._stored_bytes:
            # Compact: keep only what is used (a shrunk file was not ours to trust).
            chunks, examined = [], {}
            offset = 0
            for key, stored in self._used.items():
                payload = self._new_documents.get(key)
                if payload is None:
                    payload = self._payload(stored[5])
                    if payload is None:
                        continue  # damaged: the file is examined again next time
                chunks.append(payload)
                examined[key] = _moved(stored, offset)
                offset += len(payload)
            _write_whole(path, chunks)
            return examined, offset
        new = [(key, self._new_documents[key]) for key in self._used if key in self._new_documents]
        examined = dict(self._used)
        if not new:
            return examined, size
        with open(path, "ab") as out:
            out.write(b"".join(payload for _, payload in new))  # one write: never interleaved
            end = out.tell()
        offset = end - sum(len(payload) for _, payload in new)
        for key, payload in new:
            examined[key] = _moved(examined[key], offset)
            offset += len(payload)
        return examined, end

    def _read(self) -> None:
        with open(self.folder / _TABLES, "rb") as source:
            blob = source.read()
        if not blob.startswith(_MAGIC):
            return
        mac, length = _HEADER.unpack_from(blob, len(_MAGIC))
        tables = blob[len(_MAGIC) + _HEADER.size :]
        if len(tables) != length:
            return
        if not hmac.compare_digest(mac, hmac.digest(self._secret, tables, "sha256")):
            return  # not written by this user's guardrails: ignore it all
        # Hundreds of thousands of acyclic objects that live to the end of the check:
        # cyclic garbage collection while building them triples the time.
        collecting = gc.isenabled()
        gc.disable()
        try:
            loaded = marshal.loads(tables)
        finally:
            gc.freeze()
            if collecting:
                gc.enable()
        if loaded[0] != self._fingerprint:
            return  # another version of the loader: nothing in it applies
        _, self._previous, self._stored_bytes, self._files, self._examined = loaded[:5]
        self._positions, self._verdict_context, self._verdicts = loaded[5:]


def _moved(stored: _Stored, offset: int) -> _Stored:
    """`stored` with its document at `offset` of the documents file."""
    _, length, sha = _WHERE.unpack(stored[5])
    return (*stored[:5], _WHERE.pack(offset, length, sha))


class FileTable:
    """Stat signatures of one kind of file: which can be believed unchanged."""

    def __init__(self, known: dict[str, bytes], seen: dict[str, bytes], previous: int) -> None:
        self._known = known
        self._seen = seen
        # Written this close to (or after) the run that recorded it: maybe changed since.
        self._racy = previous - RACY_NS

    def known(self, path: str, stat: Signature) -> bytes | None:
        """The content key of the file at `path` if its signature says it is unchanged.

        A file known is also recorded as seen, as it is.
        """
        entry = self._known.get(path)
        if entry is None or stat[1] >= self._racy or stat[2] >= self._racy:
            return None
        if entry[:40] != _SIGNATURE.pack(*stat):
            return None
        self._seen[path] = entry
        return entry[40:]

    def saw(self, path: str, stat: Signature, key: bytes) -> None:
        """Record that the file at `path`, with this signature, had content `key`."""
        self._seen[path] = _SIGNATURE.pack(*stat) + key


def _write_whole(path: Path, chunks: Iterable[bytes]) -> None:
    """Write `path` through a temporary file renamed into place (never half-written)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as out:
            out.writelines(chunks)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise


class _Memo:
    """`PositionsMemo` over one file's entry."""

    def __init__(self, cache: CatalogCache, key: bytes) -> None:
        self._cache = cache
        self._key = key

    def recall(self) -> dict[Answer, Mark | None]:
        rows = self._cache._positions.get(self._key)
        if rows is None:
            return {}
        self._cache._used_positions[self._key] = rows
        return {
            (question, path): Mark(line, column) if line is not None else None
            for question, path, line, column in rows
        }

    def remember(self, answers: dict[Answer, Mark | None]) -> None:
        self._cache._used_positions[self._key] = tuple(
            (question, path, *((mark.line, mark.column) if mark else (None, None)))
            for (question, path), mark in answers.items()
        )
        self._cache._changed = True
