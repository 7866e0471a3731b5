"""Where catalog files are read from: the working tree, or (for CI) a git revision."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

YAML_SUFFIXES = (".yaml", ".yml")

Signature = tuple[int, int, int, int, int]
"""(size, mtime_ns, ctime_ns, inode, device): changes whenever a file's content does."""


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


class WorkTree:
    """Files on disk under a catalog root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._base = os.path.join(root, "")  # plain string: joined 10,000 times a check
        self._shown_root: str | None = None

    def files(self, folder: str, suffixes: tuple[str, ...]) -> list[str]:
        """Regular files under `folder` whose names end with one of `suffixes`."""
        base = self.root / folder
        if not base.is_dir():
            return []
        prefix = base.relative_to(self.root).as_posix()
        return sorted(_walk(str(base), "" if prefix == "." else prefix + "/", suffixes))

    # Plain strings and `os`, not pathlib: these run once per file, 10,000 times a check.
    def read(self, path: str) -> bytes:
        """Read bytes from disk."""
        with open(self._base + path, "rb") as file:
            return file.read()

    def size(self, path: str) -> int:
        """Size on disk."""
        return os.stat(self._base + path).st_size

    def signature(self, path: str) -> Signature | None:
        """The stat signature of `path` (None when it cannot be had: reading says why).

        The change time is in it: no program can set that back.
        """
        try:
            stat = os.stat(self._base + path)
        except OSError:
            return None
        return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev)

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


def _plain(parts: list[str]) -> bool:
    """No empty, `.` or `..` part: the path names a file under the root as written."""
    return ".." not in parts and "." not in parts and "" not in parts


def _walk(folder: str, prefix: str, suffixes: tuple[str, ...]) -> list[str]:
    """`Path.rglob("*")` as `WorkTree.files` filters it, from `os.scandir` entries.

    Same choices as rglob: folders are entered unless they are symbolic links, an
    unreadable folder is skipped; a file counts when it is a regular file (following a
    link) with a wanted suffix and a name that does not start with a dot. Entries know
    their type, so no file is stat-ed: this runs over every file of a catalog.
    """
    try:
        with os.scandir(folder) as entries:
            listed = list(entries)
    except PermissionError:
        return []
    found: list[str] = []
    for entry in listed:
        name = entry.name
        try:
            # The common case first: a YAML file (its name is cheaper to test).
            if name.endswith(suffixes) and not name.startswith(".") and entry.is_file():
                found.append(prefix + name)
            elif entry.is_dir() and not entry.is_symlink():
                found += _walk(entry.path, f"{prefix}{name}/", suffixes)
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
