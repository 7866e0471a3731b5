"""Where catalog files are read from: the working tree, or (for CI) a git revision.

The working tree is written by whoever wrote the pull request, so `WorkTree` reads
it as untrusted input (docs/security.md):

* only regular files are read, opened without following a link and without waiting
  (a FIFO named `x.yaml` is refused, never waited on);
* a link is followed only to a regular file inside the catalog, outside its hidden
  folders (`.git`, `.guardrails-cache`, ...); any other link is refused, and what it
  points at is never read, so nothing of it can be echoed;
* a folder that cannot be listed is refused like a file that cannot be read;
* folders are walked with a stack, so a deep tree cannot exhaust the interpreter.

A refused entry is still listed: reading it raises `RefusedFile`, which the loader
turns into a blocking finding at that path.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Protocol

from guardrails.errors import GuardrailsError

YAML_SUFFIXES = (".yaml", ".yml")

Signature = tuple[int, int, int, int, int]
"""(size, mtime_ns, ctime_ns, inode, device): changes whenever a file's content does."""

_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)  # a link as the last component: ELOOP, not followed
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO: opened at once (then refused), never waited on
    | getattr(os, "O_CLOEXEC", 0)
)


class RefusedFile(OSError):
    """A catalog file that is not read; the message says why, never what it holds."""


class Tree(Protocol):
    """A read-only view of a catalog repository's files."""

    def files(self, folder: str, suffixes: tuple[str, ...]) -> list[str]:
        """Paths (relative to the catalog root, `/`-separated) under `folder`, sorted."""
        ...

    def read(self, path: str) -> bytes:
        """The bytes of `path` (relative to the catalog root)."""
        ...

    def size(self, path: str) -> int:
        """The size of `path` in bytes, without reading it."""
        ...

    def display(self, path: str) -> str:
        """How reports name `path`: relative to the working directory where possible."""
        ...


def catalog_folder(folder: str) -> str:
    """`folder` (from guardrails.yaml) normalised; `GuardrailsError` if it leaves the catalog."""
    parts = [part for part in folder.replace("\\", "/").split("/") if part not in ("", ".")]
    if folder.startswith(("/", "\\")) or ".." in parts or (parts and parts[0].endswith(":")):
        raise GuardrailsError(
            f"folder {folder!r} is outside the catalog: folders in guardrails.yaml are "
            "relative to the catalog root and stay inside it"
        )
    return "/".join(parts)


class WorkTree:
    """Files on disk under a catalog root (use its real path: links are judged by it)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._base = os.path.join(root, "")  # plain string: joined 10,000 times a check
        self._real_base = os.path.join(os.path.realpath(root), "")
        self._shown_root: str | None = None
        self._listings: dict[tuple[str, tuple[str, ...]], list[str]] = {}
        self.linked: dict[str, str] = {}
        """Files reached through a link, by path: the real path read instead."""
        self.refused: dict[str, str] = {}
        """Listed entries that are never read, by path: why."""

    def files(self, folder: str, suffixes: tuple[str, ...]) -> list[str]:
        """Files under `folder` whose names end with one of `suffixes` (see the module).

        Links, special files and unreadable folders are listed too (reading them is
        refused). The listing is made once per check.
        """
        asked = (folder, suffixes)
        if asked not in self._listings:
            self._listings[asked] = self._list(catalog_folder(folder), suffixes)
        return list(self._listings[asked])

    def _list(self, folder: str, suffixes: tuple[str, ...]) -> list[str]:
        prefix = f"{folder}/" if folder else ""
        lexical = self._base + folder
        try:
            os.lstat(lexical)
        except OSError:
            return []
        # The folder itself may be (or lie under) a link: then every file is read
        # through it, so each is judged by where it really is.
        real = os.path.realpath(lexical)
        through_link = real != os.path.normpath(self._real_base + folder)
        if through_link:
            why = self._outside(real, folder=True)
            if why is not None:
                self.refused[folder] = why
                return [folder]
        found = _walk(lexical, prefix, suffixes, self.refused)
        for path in found:
            why = self.refused.get(path)
            if why == _LINK:
                self._follow(path)
            elif why is None and through_link:
                self.linked[path] = real + path[len(folder) :]
        return sorted(found)

    def _follow(self, path: str) -> None:
        """Decide about a link found while listing: follow it, or say why not."""
        real = os.path.realpath(self._base + path)
        why = self._outside(real, folder=False)
        if why is None:
            del self.refused[path]
            self.linked[path] = real
        else:
            self.refused[path] = why

    def _outside(self, real: str, folder: bool) -> str | None:
        """Why the link resolving to `real` is refused (None: it may be followed)."""
        inside = real.startswith(self._real_base)
        hidden = any(p.startswith(".") for p in real[len(self._real_base) :].split("/"))
        if not inside or hidden:
            where = "outside the catalog" if not inside else "into a hidden folder"
            return (
                f"a link {where} (not read); replace the link with the "
                f"{'folder' if folder else 'file'} itself"
            )
        try:
            mode = os.stat(real).st_mode
        except OSError:
            return "a link to nothing (not read); replace the link with the file itself"
        if folder and not stat.S_ISDIR(mode):
            return "a link to something other than a folder (not read)"
        if not folder and not stat.S_ISREG(mode):
            return "a link to something other than a regular file (not read)"
        return None

    # Plain strings and `os`, not pathlib: these run once per file, 10,000 times a check.
    def read(self, path: str) -> bytes:
        """Read a regular file's bytes; `RefusedFile` for anything else (see the module)."""
        why = self.refused.get(path)
        if why is not None:
            raise RefusedFile(why)
        target = self.linked.get(path) or self._base + path
        try:
            descriptor = os.open(target, _OPEN_FLAGS)
        except OSError as err:
            if err.errno != errno.ELOOP or path in self.linked:
                raise
            self._follow(path)  # a link that was not listed (e.g. guardrails.yaml)
            return self.read(path)
        return _read_regular(descriptor)

    def size(self, path: str) -> int:
        """Size on disk."""
        why = self.refused.get(path)
        if why is not None:
            raise RefusedFile(why)
        return os.stat(self.linked.get(path) or self._base + path).st_size

    def signature(self, path: str) -> Signature | None:
        """The stat signature of `path` (None when it cannot be had: reading says why).

        The change time is in it: no program can set that back.
        """
        if path in self.refused:
            return None
        try:
            status = os.stat(self.linked.get(path) or self._base + path)
        except OSError:
            return None
        return (
            status.st_size,
            status.st_mtime_ns,
            status.st_ctime_ns,
            status.st_ino,
            status.st_dev,
        )

    def display(self, path: str) -> str:
        """Relative to the working directory (absolute when outside it)."""
        if self._shown_root is None:
            shown = display_path(self.root)
            plain = not (os.path.isabs(shown) or shown.startswith("../../.."))
            # A plain path under the root shows as the root's display plus the path,
            # which is what `display_path` gives (absolute roots: let pathlib join).
            self._shown_root = ("" if shown == "." else f"{shown}/") if plain else "\0"
        parts = path.split("/")
        if self._shown_root == "\0" or path.startswith("/") or not _plain(parts):
            return display_path(self.root / path)
        return self._shown_root + path


_LINK = "\0link"  # a link found while listing, to be followed or refused
_SPECIAL = "not a regular file (a FIFO, socket or device; not read)"


def _read_regular(descriptor: int) -> bytes:
    """Everything in the open file `descriptor` if it is a regular file; closes it."""
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise RefusedFile(_SPECIAL)
        chunks = [os.read(descriptor, status.st_size + 1)]
        while chunks[-1]:  # it grew while being read
            chunks.append(os.read(descriptor, 1 << 20))
        return b"".join(chunks)
    finally:
        os.close(descriptor)


def read_regular(path: Path) -> bytes | None:
    """The bytes of `path` if it is a regular file (not a link); None when it is absent.

    `RefusedFile` for a link or anything else that is not a regular file.
    """
    try:
        descriptor = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise RefusedFile("a link (not read); replace it with the file itself") from err
        raise
    return _read_regular(descriptor)


def _plain(parts: list[str]) -> bool:
    """No empty, `.` or `..` part: the path names a file under the root as written."""
    return ".." not in parts and "." not in parts and "" not in parts


def _walk(
    folder: str, prefix: str, suffixes: tuple[str, ...], refused: dict[str, str]
) -> list[str]:
    """Catalog entries under `folder` (on disk), named `prefix` + their relative path.

    A file counts when its name has a wanted suffix and does not start with a dot.
    Regular files are listed; links are listed as `_LINK` refusals for the caller to
    follow or refuse; special files and folders that cannot be listed are listed as
    refusals. Links to folders are not entered (their files are not the catalog's).
    Entries know their type, so no file is stat-ed: this runs over every file of a
    catalog. A stack, not recursion: a tree may be deeper than the interpreter's limit.
    """
    found: list[str] = []
    pending = [(folder, prefix)]
    while pending:
        here, shown = pending.pop()
        try:
            with os.scandir(here) as entries:
                listed = list(entries)
        except OSError as err:
            # Unreadable: refused like an unreadable file, so nothing is skipped unseen.
            name = shown.rstrip("/")
            refused[name] = f"cannot list this folder: {err.strerror}"
            found.append(name)
            continue
        for entry in listed:
            name = entry.name
            try:
                # The common case first: a YAML file (its name is cheaper to test).
                wanted = name.endswith(suffixes) and not name.startswith(".")
                if wanted and entry.is_file(follow_symlinks=False):
                    found.append(shown + name)
                elif entry.is_symlink():
                    if wanted:
                        refused[shown + name] = _LINK
                        found.append(shown + name)
                elif entry.is_dir(follow_symlinks=False):
                    pending.append((entry.path, f"{shown}{name}/"))
                elif wanted:
                    refused[shown + name] = _SPECIAL
                    found.append(shown + name)
            except OSError:
                continue
    return found


def display_path(path: Path) -> str:
    """`path` relative to the working directory, or absolute when it is elsewhere."""
    absolute = path.absolute()
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        relative = os.path.relpath(absolute)
        return Path(relative).as_posix() if not relative.startswith("../../..") else str(absolute)
