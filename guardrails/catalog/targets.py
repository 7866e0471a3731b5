"""Which catalog a check runs on, and which of its manifests it reports on.

The catalog root is found, not assumed, so a file gets the same verdict from any
working directory and by any spelling of its path (bare, relative, absolute, through
a link to a folder):

* `-C CATALOG` names the root;
* otherwise a folder named on the command line (or the working directory, when no
  PATH is given) that holds `guardrails.yaml` or a `manifests/` folder is the root;
* otherwise the root is found by walking up from each PATH (or the working
  directory) to the nearest folder holding `guardrails.yaml`, else to the top of the
  git repository; outside any git repository, to the folder whose `manifests/`
  holds the PATH. Anything else has no catalog to check: an error, not a guess.

Every PATH must then name manifests of that catalog: a file in its manifests folder,
or a folder holding some. Anything else (a file outside the catalog or its manifests
folder, a folder with no manifest, a folder named `x.yaml`) is an error, never
"0 manifests - ok".
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from guardrails.catalog.tree import YAML_SUFFIXES, WorkTree, catalog_folder, display_path
from guardrails.errors import GuardrailsError

CONFIG_FILE = "guardrails.yaml"


def _real(path: Path) -> str:
    """`path` absolute, with every link resolved except a last component that is a file."""
    absolute = os.path.abspath(path)
    if os.path.isdir(absolute):
        return os.path.realpath(absolute)
    parent, name = os.path.split(absolute)
    return os.path.join(os.path.realpath(parent), name)


def _holds_catalog(folder: str) -> bool:
    return os.path.lexists(os.path.join(folder, CONFIG_FILE)) or os.path.isdir(
        os.path.join(folder, "manifests")
    )


def _root_above(start: str, named: bool, shown: str) -> str:
    """The catalog root for `start` (a real folder); `named`: given as a folder itself."""
    if named and _holds_catalog(start):
        return start
    folder = start
    fallback = None  # outside git: the nearest folder whose manifests/ holds `start`
    while True:
        if os.path.lexists(os.path.join(folder, CONFIG_FILE)):
            return folder
        if os.path.lexists(os.path.join(folder, ".git")):
            return folder  # the top of the git repository
        manifests = os.path.join(folder, "manifests")
        if fallback is None and (start == manifests or start.startswith(manifests + os.sep)):
            fallback = folder
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    if fallback is not None:
        return fallback
    raise GuardrailsError(
        f"{shown}: no catalog found: no {CONFIG_FILE} above it, not inside a git "
        "repository, nor in a manifests/ folder; name the catalog with -C CATALOG"
    )


def find_root(paths: Sequence[Path], catalog: Path | None) -> Path:
    """The real path of the catalog root the command line means (see the module)."""
    if catalog is not None:
        return Path(os.path.realpath(catalog))
    if not paths:
        return Path(_root_above(os.path.realpath(os.getcwd()), True, "."))
    roots: dict[str, Path] = {}
    for path in paths:
        real = _real(path)
        named = os.path.isdir(real)
        start = real if named else os.path.dirname(real)
        roots.setdefault(_root_above(start, named, str(path)), path)
    if len(roots) > 1:
        (first, one), (second, other) = list(roots.items())[:2]
        raise GuardrailsError(
            f"{one} and {other} are in different catalogs ({display_path(Path(first))} and "
            f"{display_path(Path(second))}): check one catalog at a time"
        )
    return Path(next(iter(roots)))


def select(paths: Sequence[Path], tree: WorkTree, manifests: str) -> frozenset[str] | None:
    """The catalog-relative manifest files the PATHs name (None: the whole catalog).

    `GuardrailsError` for a PATH that names no manifest of the catalog.
    """
    root = str(tree.root)
    listed = tree.files(manifests, YAML_SUFFIXES)
    folder = catalog_folder(manifests)
    chosen: set[str] = set()
    for path in paths:
        real = _real(path)
        if real == root:
            return None  # the catalog itself
        relative = os.path.relpath(real, root).replace(os.sep, "/")
        if relative == ".." or relative.startswith("../"):
            raise GuardrailsError(
                f"{path}: outside the catalog at {display_path(tree.root)}: "
                "name manifests of that catalog, or the catalog with -C"
            )
        if os.path.isdir(real):
            named = [f for f in listed if f == relative or f.startswith(f"{relative}/")]
            if relative == folder or folder.startswith(f"{relative}/"):
                named = list(listed)
            if not named:
                raise GuardrailsError(
                    f"{path}: no manifest of the catalog here (manifests are the "
                    f"{'/'.join(YAML_SUFFIXES)} files under {tree.display(folder)}/)"
                )
            chosen.update(named)
        elif relative in listed:
            chosen.add(relative)
        elif not relative.startswith(f"{folder}/") and folder:
            raise GuardrailsError(
                f"{path}: not in the catalog's manifests folder ({tree.display(folder)}/); "
                "only manifests there are checked"
            )
        else:
            raise GuardrailsError(
                f"{path}: not a manifest (a {' or '.join(YAML_SUFFIXES)} file whose name "
                "does not start with a dot)"
            )
    return frozenset(chosen)
