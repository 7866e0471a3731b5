"""What earlier checks of a catalog learnt, kept so a re-check only redoes what changed.

`.guardrails-cache/` holds six tables in `catalog.v2`, the changes made to them
since in `journal.v2`, and the parsed documents in `documents.v2`:

* files: each file's stat signature (size, modification and change times in
  nanoseconds, inode, device) and the content key its bytes had. A file whose
  signature is unchanged is not read again, as git's index does. The change time,
  which no program can set back, is part of it; a signature whose times fall within
  `RACY_NS` of the start of the check that took it is not trusted (the file may have
  changed again within the clock's granularity): the file is read again next time;
* examined: by content key (the SHA-256 of the bytes, the kind, the size limit and a
  fingerprint of the loader), what the bytes say (`ExaminedFile`), with where its
  document is and the document's SHA-256; documents are read only when asked for;
* positions: by content key, the positions findings asked for (they depend only on
  the bytes);
* verdicts: by content key, under one context (a digest of the policies, their data,
  the engine and the date), a manifest's violations with the facts they were judged
  with (`guardrails/engine/evaluate.py` decides when they still apply);
* decided: by content key, under one context (the verdicts' and what deciding reads
  besides: the rules' metadata and levels, the exceptions in force), a manifest's
  findings as the report shows them, with its file and the facts of its verdict
  (`guardrails/decided.py` decides when they still apply);
* policy data: by content key, each policy data file as parsed (a catalog's
  bindings can be thousands of entries, parsed on every check otherwise).

A check appends what it learnt to the journal as one signed record; when the journal
has grown past an eighth of the tables (at least 256 KiB), or is damaged, the tables
are written anew with only what that check used, and the journal starts again.

Safety, because a cache that can be wrong is worse than none: the tables, and each
journal record with them, are signed with an HMAC keyed by a secret kept outside the
catalog (in the user's cache directory, readable only by the user), and each stored
document's SHA-256 is inside the signed tables. A cache committed into a repository,
copied from another machine, edited, truncated or written by another version of
guardrails fails the check and is ignored (a journal from its first bad record on); a
document that does not match its digest is never used (the file is examined again).
The tables are written to a temporary file and renamed into place, journal records
and documents are appended in one write each, so a crash or a concurrent run never
leaves a half-written entry that could be believed. `marshal` only reads what passed
the HMAC or digest check.

The folder itself is untrusted too: a pull request can commit one, links included.
Every file in it is opened relative to the folder, never through a link (no-follow
opens; new files are created exclusively and renamed into place), so a check cannot
be made to write anywhere else; a folder that is a link, holds a link or is tracked
by git is not used at all (the check runs as with `--no-cache`).

The cache lives in `.guardrails-cache/` at the catalog root; `--no-cache` skips it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import importlib.util
import logging
import marshal
import os
import stat
import struct
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from guardrails.catalog.examine import ExaminedFile
from guardrails.catalog.safe_yaml import Answer, Mark
from guardrails.catalog.tree import Signature
from guardrails.memory import acyclic

FOLDER = ".guardrails-cache"
_log = logging.getLogger(__name__)
_TABLES = "catalog.v2"
_DOCUMENTS = "documents.v2"
_JOURNAL = "journal.v2"
_OLD_FILES = ("examined.v1",)  # earlier versions' caches
_MAGIC = b"guardrails catalog cache v2\n"
_HEADER = struct.Struct(">32sQ")  # HMAC of the tables, their length
# Generous for file systems that keep whole seconds (or two, FAT): a file written
# that close to the run that recorded it is read again next time.
RACY_NS = 3_000_000_000


def _fingerprint() -> bytes:
    """Changes whenever anything that decides what the cache holds changes.

    The loader's own modules and the shipped schemas by content; every other module
    of the installed package by its stat signature (an edit anywhere, a reinstall or
    an upgrade changes it), which costs a stat per module instead of a read.
    """
    from guardrails import shipped
    from guardrails.catalog import examine, safe_yaml, schema

    digest = hashlib.sha256(_MAGIC)
    for module in (examine, safe_yaml, schema, sys.modules[__name__]):
        digest.update(Path(str(module.__file__)).read_bytes())
    for kind in ("manifest", "exception"):
        digest.update(shipped.schema_path(kind).read_bytes())
    digest.update(repr(_package_signatures()).encode("utf-8", "surrogateescape"))
    digest.update(
        repr(
            (libraries("yaml", "_yaml", "jsonschema", "jsonschema_rs"), sys.version_info[:2])
        ).encode()
    )
    return digest.digest()


def _package_signatures() -> list[tuple[str, int, int, int, int]]:
    """(path, size, mtime, ctime, inode) of every module of the guardrails package."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    found = []
    pending = [package]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.name.endswith(".py"):
                    status = entry.stat()
                    found.append(
                        (
                            entry.path[len(package) :],
                            status.st_size,
                            status.st_mtime_ns,
                            status.st_ctime_ns,
                            status.st_ino,
                        )
                    )
                elif entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                    pending.append(entry.path)
    return sorted(found)


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
        import secrets  # here: only the first run of a user makes the key

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


Stored = tuple[Any, tuple[str, ...], bool, bool, tuple[Any, ...], bytes]
"""What a file said, as the cache keeps it: `ExaminedFile`'s name, integrations, valid,
mapping and problems (as `FileProblem` fields), then where its document is: `_WHERE`
(offset and length in the documents file, and the document's SHA-256)."""
_WHERE = struct.Struct(">QI32s")
_SIGNATURE = struct.Struct(">5q")
_TRUSTED = 1
_Files = dict[str, dict[str, bytes]]  # "kind limit" -> path -> signature, trusted, key


class CatalogCache:
    """The cache of one catalog; open with `CatalogCache.open`."""

    def __init__(self, folder: Path, secret: bytes, fingerprint: bytes) -> None:
        self.folder = folder
        self._dir = _Folder(folder)
        self._secret = secret
        self._fingerprint = fingerprint
        self._started = time.time_ns()
        self._files: _Files = {}
        self._examined: dict[bytes, Stored] = {}
        self._positions: dict[bytes, tuple[Any, ...]] = {}
        self._data: dict[bytes, bytes] = {}  # content key -> the parsed value, marshalled
        # By content key under one context each: see the module's docstring.
        self._verdicts = _Contextual(
            "verdict cache: %d verdicts",
            "the policies, their data, the engine or its library, the date or Python",
        )
        self._decided = _Contextual(
            "decided findings: %d manifests' findings",
            "the verdicts' context, the rules' metadata or the exceptions in force",
        )
        self._stored_bytes = 0  # size of the documents file the tables describe
        self._base: bytes | None = None  # HMAC of the tables file, once read
        self._base_bytes = 0
        self._journal_bytes = 0  # the part of the journal that was verified and applied
        self._journal_damaged = False
        self._reading: int | None = None  # the documents file, kept open
        # What this run used or learnt: the next cache.
        self._seen_files: _Files = {}
        self._used: dict[bytes, Stored] = {}
        self._new_documents: dict[bytes, bytes] = {}
        self._used_positions: dict[bytes, tuple[Any, ...]] = {}
        self._used_data: dict[bytes, bytes] = {}
        # What this run learnt that the cache does not hold: the journal's next record.
        self._new_files: _Files = {}
        self._new_examined: dict[bytes, Stored] = {}
        self._new_positions: dict[bytes, tuple[Any, ...]] = {}
        self._new_data: dict[bytes, bytes] = {}

    @classmethod
    def open(cls, root: Path) -> CatalogCache | None:
        """The cache of the catalog at `root`, or None when no safe cache can be kept."""
        if os.open not in os.supports_dir_fd:  # pragma: no cover - no safe way to open files
            _log.debug("no cache: files cannot be opened relative to a folder here")
            return None
        secret = _secret()
        if secret is None:
            _log.debug("no cache: no per-user key can be kept at %s", _secret_file())
            return None
        cache = cls(root / FOLDER, secret, _fingerprint())
        try:
            if cache._dir.holds_links():
                _log.debug("no cache: %s holds a symbolic link", cache.folder)
                return None
        except OSError as err:  # a link or a file where the folder would be
            _log.debug("no cache: %s is not a folder of ours (%s)", cache.folder, err)
            return None
        try:
            cache._read()
        except (OSError, ValueError, TypeError, EOFError, struct.error) as err:
            _log.debug("cache discarded: %s could not be read (%r)", cache.folder, err)
        if cache._base is None and cache._dir.exists() and _tracked(root):
            cache._dir.close()
            _log.debug("no cache: %s is committed to git, never ours to use", cache.folder)
            return None  # committed: never ours to read or write
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
            self,
            self._files.get(name, {}),
            self._seen_files.setdefault(name, {}),
            self._new_files.setdefault(name, {}),
        )

    # --- examined files ---------------------------------------------------------

    def stored(self, key: bytes) -> Stored | None:
        """What the file with content `key` said, if it is cached; records the use."""
        stored = self._examined.get(key)
        if stored is not None:
            self._used[key] = stored
        return stored

    def document(self, key: bytes, again: Callable[[], Any]) -> Any:
        """The stored document of the file with content `key` (one `stored` returned).

        `again` gives it from the file itself, should the stored copy be damaged; it is
        then stored anew.
        """
        stored = self._used[key]
        payload = self._payload(stored[5])
        if payload is not None:
            return marshal.loads(payload)
        document = again()
        payload = marshal.dumps(document)
        stored = (*stored[:5], _WHERE.pack(0, len(payload), _sha(payload)))
        self._used[key] = self._new_examined[key] = stored
        self._new_documents[key] = payload
        return document

    def _payload(self, where: bytes) -> bytes | None:
        """The stored document bytes at `where`, if they are intact."""
        offset, length, sha = _WHERE.unpack(where)
        try:
            if self._reading is None:
                self._reading = self._dir.open_regular(_DOCUMENTS)
            # Forked workers share the file: pread keeps no shared offset.
            payload = os.pread(self._reading, length, offset)
        except OSError:
            return None
        return payload if _sha(payload) == sha else None

    def put(self, key: bytes, found: ExaminedFile) -> None:
        """Remember what the file with content `key` said (written by `save`)."""
        payload = marshal.dumps(found.document) if found.mapping else b""
        rows = tuple(
            (p.rule, p.line, p.column, p.path, p.message, p.remediation) for p in found.problems
        )
        where = _WHERE.pack(0, len(payload), _sha(payload))
        stored = (found.name, found.integrations, found.valid, found.mapping, rows, where)
        self._used[key] = self._new_examined[key] = stored
        self._new_documents[key] = payload

    # --- positions --------------------------------------------------------------

    def memo(self, key: bytes) -> _Memo:
        """Where positions of the file with content `key` are kept between checks."""
        return _Memo(self, key)

    # --- verdicts ---------------------------------------------------------------

    def verdicts(self, context: bytes) -> dict[bytes, Any]:
        """What was remembered under `context`, by content key (read only: report what
        was used and learnt with `keep_verdicts`). Only the latest check's context is
        kept."""
        return self._verdicts.under(context)

    def keep_verdicts(self, context: bytes, used: dict[bytes, Any], new: dict[bytes, Any]) -> None:
        """Keep, under `context`, the verdicts this check `used` and those it learnt."""
        self._verdicts.keep(context, used, new)

    # --- decided findings -------------------------------------------------------

    def decided(self, context: bytes) -> dict[bytes, Any]:
        """The decided findings remembered under `context`, by content key (read only:
        report what was used and learnt with `keep_decided`)."""
        return self._decided.under(context)

    def keep_decided(self, context: bytes, used: dict[bytes, Any], new: dict[bytes, Any]) -> None:
        """Keep, under `context`, the decided findings this check `used` and learnt."""
        self._decided.keep(context, used, new)

    # --- policy data -----------------------------------------------------------

    def policy_data(self, data: bytes, parse: Callable[[bytes], Any]) -> Any:
        """The policy data file `data` as `parse` reads it: remembered by content.

        A fresh copy each time (whoever merges it may change it). What cannot be
        kept (an error raised, a value marshal does not take) is not.
        """
        key = self.key("policy data", 0, data)
        payload = self._data.get(key)
        if payload is None:
            value = parse(data)
            try:
                payload = marshal.dumps(value)
            except ValueError:
                return value
            self._new_data[key] = payload
        self._used_data[key] = payload
        return marshal.loads(payload)

    # --- reading and writing ----------------------------------------------------

    def save(self) -> None:
        """Keep what this run learnt, if anything changed.

        Usually as one signed record appended to the journal; when the journal has
        grown to an eighth of the tables (or there are none yet), the tables are
        written anew with only what this run used (the rest is stale) and the journal
        starts again. A cache that cannot be written is simply not written: it is an
        optimisation.
        """
        try:
            self._save()
        finally:
            if self._reading is not None:  # reopened should a document still be asked for
                os.close(self._reading)
                self._reading = None
            self._dir.close()

    def _save(self) -> None:
        changes = self._changes()
        if changes is None:
            return
        with contextlib.suppress(OSError):
            self._dir.create()
            with contextlib.suppress(FileExistsError):  # never committed by accident
                self._dir.write_new(".gitignore", [b"*\n"])
            base = self._base
            full = self._journal_damaged or self._journal_bytes > max(
                self._base_bytes // 8, 1 << 18
            )
            new_documents, compacted = self._store_documents(compact=base is None or full)
            if base is None or full or compacted:
                self._write_tables()
            else:
                changes[1].update(new_documents)
                record = marshal.dumps((self._stored_bytes, *changes))
                mac = hmac.digest(self._secret, base + record, "sha256")
                self._dir.append(_JOURNAL, _HEADER.pack(mac, len(record)) + record)

    def _changes(self) -> list[Any] | None:
        """What this run learnt that the cache does not hold yet; None if nothing.

        (files, examined, positions, (verdict context, verdicts), (decided context,
        decided findings), policy data), the tables' changes.
        """
        files = {kind: changed for kind, changed in self._new_files.items() if changed}
        examined, positions = self._new_examined, self._new_positions
        verdicts, decided = self._verdicts.change(), self._decided.change()
        data = self._new_data
        if not (files or examined or positions or verdicts[1] or decided[1] or data):
            return None
        return [files, examined, positions, verdicts, decided, data]

    def _write_tables(self) -> None:
        """Write the tables anew, with only what this run used, and empty the journal."""
        tables = marshal.dumps(
            (
                self._fingerprint,
                self._stored_bytes,
                self._seen_files,
                self._used,
                self._used_positions,
                self._verdicts.used_table(),
                self._decided.used_table(),
                self._used_data,
            )
        )
        mac = hmac.digest(self._secret, tables, "sha256")
        self._dir.replace(_TABLES, [_MAGIC, _HEADER.pack(mac, len(tables)), tables])
        for stale in (_JOURNAL, *_OLD_FILES):  # a journal belongs to the tables it follows
            self._dir.remove(stale)

    def _store_documents(self, compact: bool) -> tuple[dict[bytes, Stored], bool]:
        """Append the new documents; with `compact`, rewrite the file if most is stale.

        Returns the entries whose documents moved, and whether all of them did.
        """
        size = self._dir.size(_DOCUMENTS)
        if size < self._stored_bytes or (compact and self._stale(size)):
            # Compact: keep only what is used (a shrunk file was not ours to trust).
            chunks = []
            offset = 0
            for key, stored in list(self._used.items()):
                payload = self._new_documents.get(key)
                if payload is None:
                    payload = self._payload(stored[5])
                    if payload is None:
                        del self._used[key]  # damaged: the file is examined again next time
                        continue
                chunks.append(payload)
                self._used[key] = _moved(stored, offset)
                offset += len(payload)
            self._dir.replace(_DOCUMENTS, chunks)
            self._stored_bytes = offset
            return dict(self._used), True
        new = [(key, self._new_documents[key]) for key in self._used if key in self._new_documents]
        if not new:
            return {}, False
        end = self._dir.append(_DOCUMENTS, b"".join(payload for _, payload in new))
        offset = end - sum(len(payload) for _, payload in new)
        moved = {}
        for key, payload in new:
            self._used[key] = moved[key] = _moved(self._used[key], offset)
            offset += len(payload)
        self._stored_bytes = end
        return moved, False

    def _stale(self, size: int) -> bool:
        """Whether most of the documents file (`size` bytes) is no longer used."""
        live: int = sum(_WHERE.unpack(stored[5])[1] for stored in self._used.values())
        return size > 2 * live + (1 << 20)

    def _read(self) -> None:
        try:
            blob = self._dir.read(_TABLES)
        except FileNotFoundError:
            _log.debug("cache empty: no %s yet (a first check, or it was removed)", self.folder)
            return
        if not blob.startswith(_MAGIC):
            _log.debug("cache discarded: its tables are not guardrails' format")
            return
        mac, length = _HEADER.unpack_from(blob, len(_MAGIC))
        tables = blob[len(_MAGIC) + _HEADER.size :]
        if len(tables) != length:
            _log.debug("cache discarded: its tables are cut short")
            return
        if not hmac.compare_digest(mac, hmac.digest(self._secret, tables, "sha256")):
            _log.debug("cache discarded: not signed with this user's key")
            return  # not written by this user's guardrails: ignore it all
        with acyclic():
            loaded = marshal.loads(tables)
        if loaded[0] != self._fingerprint:
            _log.debug("cache discarded: written by another version of guardrails or its schemas")
            return  # another version of the loader: nothing in it applies
        _, self._stored_bytes, self._files, self._examined = loaded[:4]
        self._positions = loaded[4]
        self._verdicts.read(*loaded[5])
        self._decided.read(*loaded[6])
        self._data = loaded[7]
        self._base, self._base_bytes = mac, len(blob)
        with contextlib.suppress(OSError):
            self._replay()

    def _replay(self) -> None:
        """Apply the journal's records, in order, up to the first that is not intact."""
        journal = self._dir.read(_JOURNAL)
        offset = 0
        assert self._base is not None
        while offset + _HEADER.size <= len(journal):
            mac, length = _HEADER.unpack_from(journal, offset)
            record = journal[offset + _HEADER.size : offset + _HEADER.size + length]
            expected = hmac.digest(self._secret, self._base + record, "sha256")
            if len(record) != length or not hmac.compare_digest(mac, expected):
                break  # truncated or not ours: what follows cannot be trusted either
            with acyclic():
                loaded = marshal.loads(record)
            stored_bytes, files, examined, positions, verdicts, decided, data = loaded
            self._stored_bytes = max(self._stored_bytes, stored_bytes)
            for kind, changed in files.items():
                self._files.setdefault(kind, {}).update(changed)
            self._examined.update(examined)
            self._positions.update(positions)
            self._data.update(data)
            self._verdicts.read(verdicts[0], verdicts[1], replay=True)
            self._decided.read(decided[0], decided[1], replay=True)
            offset += _HEADER.size + length
        self._journal_bytes = offset
        # A bad record hides all that follows: start a journal that can be read again.
        self._journal_damaged = offset != len(journal)


def _sha(payload: bytes) -> bytes:
    return hashlib.sha256(payload).digest()


def _moved(stored: Stored, offset: int) -> Stored:
    """`stored` with its document at `offset` of the documents file."""
    _, length, sha = _WHERE.unpack(stored[5])
    return (*stored[:5], _WHERE.pack(offset, length, sha))


class _Contextual:
    """A table of entries by content key that all hold under one context (a digest).

    Only the latest check's context is kept: a check under another one starts the
    table anew. A check that used none (another engine, the organisation's own rules)
    leaves the remembered entries as they are.
    """

    def __init__(self, what: str, context: str) -> None:
        self._what = what  # for the debug log: what is set aside, and why
        self._why = context
        self._context = b""
        self._entries: dict[bytes, Any] = {}
        self._used_context = b""  # what this run used or learnt: the next tables
        self._used: dict[bytes, Any] = {}
        self._new: dict[bytes, Any] = {}  # what this run learnt: the next journal record

    def under(self, context: bytes) -> dict[bytes, Any]:
        """The entries remembered under `context` (none under another)."""
        if context == self._context:
            return self._entries
        if self._entries:
            _log.debug(
                f"{self._what} were kept under another context ({self._why} differ): not used",
                len(self._entries),
            )
        return {}

    def keep(self, context: bytes, used: dict[bytes, Any], new: dict[bytes, Any]) -> None:
        """Keep, under `context`, the entries this check `used` and those it learnt."""
        self._used_context = context
        self._used = {**used, **new}
        self._new = new

    def change(self) -> tuple[bytes, dict[bytes, Any]]:
        """(context, entries learnt): this run's part of a journal record."""
        return self._used_context or self._context, self._new

    def used_table(self) -> tuple[bytes, dict[bytes, Any]]:
        """(context, entries used or learnt): this run's part of new tables."""
        return self._used_context, self._used

    def read(self, context: bytes, entries: dict[bytes, Any], replay: bool = False) -> None:
        """Take the entries of the tables, or (`replay`) add a journal record's."""
        if not replay:
            self._context, self._entries = context, entries
        elif context != self._context:
            self._context, self._entries = context, dict(entries)
        else:
            self._entries.update(entries)


class FileTable:
    """Stat signatures of one kind of file: which can be believed unchanged."""

    def __init__(
        self,
        cache: CatalogCache,
        known: dict[str, bytes],
        seen: dict[str, bytes],
        changed: dict[str, bytes],
    ) -> None:
        self._known = known
        self._seen = seen
        self._changed = changed
        # Times this close to (or after) the start of this check may still change
        # within the clock's granularity without changing the signature.
        self._racy = cache._started - RACY_NS

    def known(self, path: str, stat: Signature) -> bytes | None:
        """The content key of the file at `path` if its signature says it is unchanged.

        A file known is also recorded as seen, as it is.
        """
        entry = self._known.get(path)
        if entry is None or entry[40] != _TRUSTED or entry[:40] != _SIGNATURE.pack(*stat):
            return None
        self._seen[path] = entry
        return entry[41:]

    def saw(self, path: str, stat: Signature, key: bytes) -> None:
        """Record that the file at `path`, with this signature, had content `key`.

        A signature taken too close to this check's start is recorded as not to be
        trusted: the next check reads the file again, and records it anew.
        """
        trusted = stat[1] < self._racy and stat[2] < self._racy
        entry = _SIGNATURE.pack(*stat) + bytes((_TRUSTED if trusted else 0,)) + key
        self._seen[path] = entry
        if self._known.get(path) != entry:
            self._changed[path] = entry


_DIRECTORY = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class _Folder:
    """The cache folder: every file opened relative to it, none through a link.

    Links are refused (`O_NOFOLLOW`: ELOOP), files must be regular, and a file is
    replaced by writing a new temporary file (`O_EXCL`: never one planted there) and
    renaming it over the old one, which replaces a link rather than following it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._descriptor: int | None = None

    def _folder(self) -> int:
        if self._descriptor is None:
            self._descriptor = os.open(self.path, _DIRECTORY | getattr(os, "O_CLOEXEC", 0))
        return self._descriptor

    def exists(self) -> bool:
        """Whether the folder is there (as a folder, not through a link)."""
        try:
            self._folder()
        except OSError:
            return False
        return True

    def create(self) -> None:
        """Make the folder (only this user may read it) unless it is there."""
        if self._descriptor is None:
            with contextlib.suppress(FileExistsError):
                os.mkdir(self.path, 0o700)
        self._folder()

    def holds_links(self) -> bool:
        """Whether anything in the folder is a link (or not a regular file).

        False when there is no folder; `OSError` when the folder is itself a link.
        """
        try:
            folder = self._folder()
        except FileNotFoundError:
            return False
        with os.scandir(folder) as entries:
            return any(not entry.is_file(follow_symlinks=False) for entry in entries)

    def open_regular(self, name: str) -> int:
        """A descriptor of the regular file `name`, for reading."""
        descriptor = os.open(name, os.O_RDONLY | _NO_FOLLOW, dir_fd=self._folder())
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            os.close(descriptor)
            raise OSError(f"{name} is not a regular file")
        return descriptor

    def read(self, name: str) -> bytes:
        """The whole regular file `name`."""
        descriptor = self.open_regular(name)
        try:
            with os.fdopen(descriptor, "rb", closefd=False) as source:
                return source.read()
        finally:
            os.close(descriptor)

    def size(self, name: str) -> int:
        """The size of the regular file `name` (0 when there is none)."""
        try:
            status = os.stat(name, dir_fd=self._folder(), follow_symlinks=False)
        except FileNotFoundError:
            return 0
        if not stat.S_ISREG(status.st_mode):
            raise OSError(f"{name} is not a regular file")
        return status.st_size

    def append(self, name: str, data: bytes) -> int:
        """Append `data` to `name` in one write (never interleaved); the new size."""
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NO_FOLLOW
        descriptor = os.open(name, flags, 0o600, dir_fd=self._folder())
        try:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                raise OSError(f"{name} is not a regular file")
            written = os.write(descriptor, data)
            while written < len(data):  # a regular file takes it all at once, nearly always
                written += os.write(descriptor, data[written:])
            return os.fstat(descriptor).st_size
        finally:
            os.close(descriptor)

    def write_new(self, name: str, chunks: Iterable[bytes]) -> None:
        """Create `name`, which must not exist yet, with `chunks`."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NO_FOLLOW
        descriptor = os.open(name, flags, 0o600, dir_fd=self._folder())
        with os.fdopen(descriptor, "wb") as out:
            out.writelines(chunks)

    def replace(self, name: str, chunks: Iterable[bytes]) -> None:
        """Write `name` anew through a temporary file renamed into place (never half-written)."""
        temporary = f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
        folder = self._folder()
        try:
            self.write_new(temporary, chunks)
            os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=folder)
            raise

    def remove(self, name: str) -> None:
        """Remove `name` if it is there (a link is removed, never followed)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=self._folder())

    def close(self) -> None:
        """Let go of the folder (it is opened again when next needed)."""
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None


def _tracked(root: Path) -> bool:
    """Whether git tracks anything in the cache folder of the catalog at `root`."""
    import subprocess

    try:
        done = subprocess.run(
            ["git", "--no-optional-locks", "ls-files", "-z", "--", FOLDER],
            cwd=root,
            capture_output=True,
            check=False,
        )
    except OSError:
        return False
    return done.returncode == 0 and bool(done.stdout)


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
        rows = tuple(
            (question, path, *((mark.line, mark.column) if mark else (None, None)))
            for (question, path), mark in answers.items()
        )
        self._cache._used_positions[self._key] = self._cache._new_positions[self._key] = rows
