"""Catalog files as they are at a git revision, read through git itself (no checkout).

`GitTree` lists files with `git ls-tree` and reads them in one `git cat-file --batch`
call per folder, so `--policies-ref main` judges a pull request by the policies,
policy data and exceptions of `main` however the pull request edits them.
`changes_since` answers `--changed-since REF`: which manifests were added, modified,
renamed or deleted since the merge-base with REF; `report_changes` narrows a
whole-catalog check to them (and to neighbours they break) and names the planned
removals.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from guardrails.catalog.tree import WorkTree, display_path
from guardrails.config import Config
from guardrails.errors import GuardrailsError
from guardrails.findings import Outcome

if TYPE_CHECKING:
    from guardrails.check import Checked

_BLOB_MODES = ("100644", "100755")  # regular files; symlinks and submodules are skipped


def git(repo: Path, *args: str, stdin: bytes | None = None) -> bytes:
    """Run `git args` in `repo`; stdout as bytes; any failure is a `GuardrailsError`."""
    try:
        done = subprocess.run(
            # No optional locks: pre-commit runs us while `git commit` holds the index.
            ["git", "--no-optional-locks", "-c", "core.quotepath=off", *args],
            cwd=repo,
            input=stdin,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError as cause:
        raise GuardrailsError(
            "git is not installed (needed for --changed-since/--policies-ref)"
        ) from cause
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = detail[-1] if detail else f"exit status {done.returncode}"
        raise GuardrailsError(f"git {args[0]} failed in {display_path(repo)}: {reason}")
    return done.stdout


def _check_ref(ref: str) -> str:
    # A ref that starts with '-' would be read by git as an option.
    if not ref or ref.startswith("-") or "\0" in ref or "\n" in ref:
        raise GuardrailsError(f"not a usable git revision: {ref!r}")
    return ref


# What a short name may mean to git, in git's own order (`git help revisions`); a
# pull request can push a tag or branch under any of them, so more than one = refused.
_SHORT_NAME_RULES = ("refs/{}", "refs/tags/{}", "refs/heads/{}", "refs/remotes/{}",
                     "refs/remotes/{}/HEAD")  # fmt: skip
_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_SHORT_ID = re.compile(r"[0-9a-f]{4,63}")
_PSEUDO_REF = re.compile(r"(?:[A-Z][A-Z_]*_)?HEAD")
_ANCESTRY = re.compile(r"(?:[~^][0-9]*)*$")  # `~2`, `^`, `^2~1`: walked from the commit


def _unknown(ref: str) -> GuardrailsError:
    return GuardrailsError(
        f"unknown git revision {ref!r} (in CI, fetch it first: "
        "actions/checkout with fetch-depth: 0)"
    )


@dataclass(frozen=True)
class Checkout:
    """Where a catalog sits inside its git repository."""

    toplevel: Path
    """The repository's top-level folder."""
    prefix: str
    """The catalog root relative to `toplevel`, `/`-separated, '' or ending with '/'."""
    git_dir: Path = Path()
    """The repository's git folder (where pseudo-refs such as FETCH_HEAD live)."""

    @classmethod
    def of(cls, root: Path) -> Checkout:
        """The repository holding catalog `root`; `GuardrailsError` when it is not in one."""
        if not root.is_dir():
            raise GuardrailsError(f"{display_path(root)}: not a folder")
        try:
            out = git(root, "rev-parse", "--show-toplevel", "--show-prefix", "--absolute-git-dir")
        except GuardrailsError as cause:
            raise GuardrailsError(
                f"{display_path(root)} is not inside a git repository "
                "(--changed-since and --policies-ref read git history)"
            ) from cause
        toplevel, prefix, git_dir = out.decode("utf-8", "surrogateescape").split("\n")[:3]
        return cls(Path(toplevel), prefix, Path(git_dir))

    def commit(self, ref: str) -> str:
        """The commit id `ref` names, unambiguously; `GuardrailsError` otherwise.

        A full commit id, a full ref (`refs/remotes/origin/main`), or a short name that
        exactly one ref (or pseudo-ref such as HEAD) answers to, each optionally
        followed by `~N`/`^N`. A short name that two refs answer to (a pushed tag
        `origin/main` beside the remote branch) is refused: git would pick one and
        merely warn, and the pull request may have chosen which.
        """
        _check_ref(ref)
        suffix = _ANCESTRY.search(ref)
        name = ref[: suffix.start()] if suffix else ref
        if not name:
            raise GuardrailsError(f"not a usable git revision: {ref!r}")
        object_id = self._object_id(name, ref)
        try:
            out = git(self.toplevel, "rev-parse", "--verify", "--quiet",
                      f"{object_id}{ref[len(name):]}^{{commit}}")  # fmt: skip
        except GuardrailsError as cause:
            raise _unknown(ref) from cause
        return out.decode().strip()

    def _object_id(self, name: str, ref: str) -> str:
        """The object `name` stands for (a commit id, a ref's object, or a pseudo-ref)."""
        refs = self._refs
        if name.startswith("refs/"):
            if name not in refs:
                raise _unknown(ref)
            return refs[name]
        found = [rule.format(name) for rule in _SHORT_NAME_RULES if rule.format(name) in refs]
        pseudo = _PSEUDO_REF.fullmatch(name) and (self.git_dir / name).is_file()
        if pseudo:
            found.insert(0, name)
        if len(found) > 1 or (found and _OBJECT_ID.fullmatch(name)):
            raise GuardrailsError(
                f"git revision {ref!r} is ambiguous: {', '.join(found)} "
                f"{'all answer' if len(found) > 1 else 'answers'} to it (a tag or branch "
                "can shadow another); use a commit id (in CI: the pull request's base "
                "commit) or a full ref such as refs/remotes/origin/main"
            )
        if found and not pseudo:
            if (
                _SHORT_ID.fullmatch(name)
                and git(self.toplevel, "rev-parse", f"--disambiguate={name}").strip()
            ):
                raise GuardrailsError(
                    f"git revision {ref!r} is ambiguous: both {found[0]} and a commit id "
                    "starting with it answer to it; use a full commit id or a full ref"
                )
            return refs[found[0]]
        if found or _SHORT_ID.fullmatch(name) or _OBJECT_ID.fullmatch(name):
            return name  # a pseudo-ref (no ref shares its name) or a commit id
        raise _unknown(ref)

    @functools.cached_property
    def _refs(self) -> dict[str, str]:
        """{full ref name: object id} of every ref (listed once)."""
        out = git(self.toplevel, "for-each-ref", "--format=%(objectname) %(refname)")
        refs: dict[str, str] = {}
        for line in out.decode("utf-8", "surrogateescape").splitlines():
            object_id, _, refname = line.partition(" ")
            refs[refname] = object_id
        return refs


class GitTree:
    """A read-only `Tree` over the files of one commit, under a catalog root."""

    def __init__(self, root: Path, ref: str) -> None:
        self.root = root
        self.ref = ref
        self.checkout = Checkout.of(root)
        self.commit = self.checkout.commit(ref)
        self._listing: dict[str, tuple[str, int]] | None = None
        self._blobs: dict[str, bytes] = {}

    def _entries(self) -> dict[str, tuple[str, int]]:
        """{catalog-relative path: (blob id, size)} for every regular file under the root."""
        if self._listing is None:
            args = ["ls-tree", "-r", "-z", "--long", "--full-tree", self.commit]
            if self.checkout.prefix:
                args += ["--", self.checkout.prefix]
            listing: dict[str, tuple[str, int]] = {}
            for record in git(self.checkout.toplevel, *args).split(b"\0"):
                if not record:
                    continue
                meta, _, raw_path = record.partition(b"\t")
                mode, kind, oid, size = meta.split()
                if kind != b"blob" or mode.decode() not in _BLOB_MODES:
                    continue
                path = raw_path.decode("utf-8", "surrogateescape")
                listing[path[len(self.checkout.prefix) :]] = (oid.decode(), int(size))
            self._listing = listing
        return self._listing

    def files(self, folder: str, suffixes: tuple[str, ...]) -> list[str]:
        """Files under `folder` at the revision whose names end with one of `suffixes`."""
        base = PurePosixPath(folder).as_posix().strip("/") + "/"
        found = sorted(
            path
            for path in self._entries()
            if path.startswith(base)
            and path.endswith(suffixes)
            and not PurePosixPath(path).name.startswith(".")
        )
        self._prefetch([p for p in found if p not in self._blobs])
        return found

    def _prefetch(self, paths: list[str]) -> None:
        """Read `paths` in one `git cat-file --batch` call."""
        if not paths:
            return
        entries = self._entries()
        request = "".join(f"{entries[p][0]}\n" for p in paths).encode()
        out = git(self.checkout.toplevel, "cat-file", "--batch", stdin=request)
        offset = 0
        for path in paths:
            header_end = out.index(b"\n", offset)
            _oid, _kind, size = out[offset:header_end].split()
            start = header_end + 1
            end = start + int(size)
            self._blobs[path] = out[start:end]
            offset = end + 1  # each object is followed by a newline

    def read(self, path: str) -> bytes:
        """The bytes of `path` at the revision (`FileNotFoundError` when absent)."""
        if path not in self._blobs:
            if path not in self._entries():
                raise FileNotFoundError(f"{path} is not in {self.ref}")
            self._prefetch([path])
        return self._blobs[path]

    def size(self, path: str) -> int:
        """The blob's size, from the listing (nothing is read)."""
        entry = self._entries().get(path)
        if entry is None:
            raise FileNotFoundError(f"{path} is not in {self.ref}")
        return entry[1]

    def has(self, path: str) -> bool:
        """Whether `path` is a regular file at the revision."""
        return path in self._entries()

    def display(self, path: str) -> str:
        """The same path in the working tree, relative to the working directory.

        Findings on an exception read from the revision point where a person would
        open it (the file of the same name in their checkout).
        """
        return display_path(self.root / path)


@dataclass(frozen=True)
class Changes:
    """Manifests changed between the merge-base with a ref and the working tree."""

    base: str
    """The merge-base commit id."""
    changed: tuple[str, ...]
    """Catalog-relative paths added, modified or renamed (untracked files included)."""
    deleted: tuple[str, ...]
    """Catalog-relative paths deleted (or renamed out of the manifests folder)."""
    names_before: Mapping[str, str | None] = dataclasses.field(default_factory=dict)
    """`metadata.name` at the merge-base of each deleted, modified or renamed manifest
    (keyed by its path now, or its deleted path); None when it did not parse there."""
    exceptions: tuple[str, ...] = ()
    """Catalog-relative exception files added, modified or renamed (when asked for)."""


def changes_since(
    tree: WorkTree,
    ref: str,
    folder: str,
    suffixes: tuple[str, ...],
    exceptions_folder: str | None = None,
) -> Changes:
    """Files under `folder` changed since `git merge-base REF HEAD`.

    The merge-base is compared with the working tree (not HEAD), so uncommitted edits
    count, as do files git does not track: what pre-commit and a person at a terminal
    expect, and the same as HEAD in CI, where the tree is clean. Changes are judged by
    what the check reads, not by what git lists: a file read through a link (git sees
    only the link) counts as changed unless its bytes are those at the merge-base, a
    file that is not at the merge-base as a regular file is new, and a refused file
    (see `WorkTree`) always counts. With `exceptions_folder`, exception files added or
    modified there are listed too.
    """
    checkout = Checkout.of(tree.root)
    target = checkout.commit(ref)
    head = checkout.commit("HEAD")
    base = git(checkout.toplevel, "merge-base", target, head).decode().strip()
    changed, deleted, was = _changed_files(tree, checkout, base, folder, suffixes)
    exceptions: set[str] = set()
    if exceptions_folder is not None:
        exceptions = _changed_files(tree, checkout, base, exceptions_folder, suffixes)[0]
    return Changes(
        base,
        tuple(sorted(changed)),
        tuple(sorted(deleted)),
        _names_at(checkout.toplevel, base, was),
        tuple(sorted(exceptions)),
    )


def _changed_files(
    tree: WorkTree, checkout: Checkout, base: str, folder: str, suffixes: tuple[str, ...]
) -> tuple[set[str], set[str], dict[str, str]]:
    """(changed, deleted, {path now or deleted: repo path at base}) under `folder`."""
    scope = (checkout.prefix + PurePosixPath(folder).as_posix().strip("/")).strip("/") + "/"

    def inside(repo_path: str) -> str | None:
        if repo_path.startswith(scope) and repo_path.endswith(suffixes):
            return repo_path[len(checkout.prefix) :]
        return None

    listed = set(tree.files(folder, suffixes))
    changed: set[str] = set()
    was: dict[str, str] = {}
    raw = git(
        checkout.toplevel,
        "diff",
        "--name-status",
        "-z",
        "-M",
        "--no-ext-diff",
        base,
        "--",
        scope,
    ).split(b"\0")
    fields = [f.decode("utf-8", "surrogateescape") for f in raw if f]
    i = 0
    while i < len(fields):
        status = fields[i]
        if status[0] in "RC":
            old, new = fields[i + 1], fields[i + 2]
            i += 3
            old_local, new_local = inside(old), inside(new)
            if status[0] == "R" and old_local:
                was[old_local] = old
            if new_local:
                changed.add(new_local)
                was[new_local] = old
            continue
        path = fields[i + 1]
        i += 2
        local = inside(path)
        if local is None:
            continue
        if status[0] == "D":
            was[local] = path
            continue
        changed.add(local)
        if status[0] != "A":
            was[local] = path
    at_base = _blobs_at(checkout, base, scope)
    # New to the merge-base: untracked, ignored, or read through a link git cannot see.
    changed |= {path for path in listed if checkout.prefix + path not in at_base}
    changed |= listed & tree.refused.keys()
    linked = sorted(listed & tree.linked.keys() - changed)
    for path, before in zip(linked, _contents(checkout, base, linked), strict=True):
        if before is None or tree.read(path) != before:
            changed.add(path)
            was.setdefault(path, checkout.prefix + path)
    deleted = {
        local for repo_path in at_base if (local := inside(repo_path)) and local not in listed
    }
    for path in deleted:
        was.setdefault(path, checkout.prefix + path)
    changed &= listed
    return changed, deleted, was


def _blobs_at(checkout: Checkout, commit: str, scope: str) -> dict[str, str]:
    """{repository path: blob id} of the regular files under `scope` at `commit`."""
    found: dict[str, str] = {}
    args = ["ls-tree", "-r", "-z", "--full-tree", commit, "--", scope]
    for record in git(checkout.toplevel, *args).split(b"\0"):
        meta, _, raw_path = record.partition(b"\t")
        fields = meta.split()
        if len(fields) == 3 and fields[1] == b"blob" and fields[0].decode() in _BLOB_MODES:
            found[raw_path.decode("utf-8", "surrogateescape")] = fields[2].decode()
    return found


def _contents(checkout: Checkout, commit: str, paths: list[str]) -> list[bytes | None]:
    """The bytes of each catalog path at `commit` (None where it is no regular file)."""
    if not paths:
        return []
    request = "".join(f"{commit}:{checkout.prefix}{path}\n" for path in paths)
    stdin = request.encode("utf-8", "surrogateescape")
    out = git(checkout.toplevel, "cat-file", "--batch", stdin=stdin)
    found: list[bytes | None] = []
    offset = 0
    for _ in paths:
        header_end = out.index(b"\n", offset)
        header = out[offset:header_end].split()
        offset = header_end + 1
        if len(header) != 3:  # "<spec> missing"
            found.append(None)
            continue
        end = offset + int(header[2])
        found.append(out[offset:end] if header[1] == b"blob" else None)
        offset = end + 1
    return found


def _names_at(toplevel: Path, commit: str, was: Mapping[str, str]) -> dict[str, str | None]:
    """`metadata.name` of each file at `commit`, read in one `git cat-file --batch` call."""
    from guardrails.catalog.safe_yaml import LoadError, load_bytes

    if not was:
        return {}
    keys = sorted(was)
    request = "".join(f"{commit}:{was[key]}\n" for key in keys).encode("utf-8", "surrogateescape")
    out = git(toplevel, "cat-file", "--batch", stdin=request)
    names: dict[str, str | None] = {}
    offset = 0
    for key in keys:
        header_end = out.index(b"\n", offset)
        header = out[offset:header_end].split()
        offset = header_end + 1
        if len(header) != 3:  # "<spec> missing": nothing to name
            names[key] = None
            continue
        end = offset + int(header[2])
        content, offset = out[offset:end], end + 1
        try:
            document = load_bytes(content).value
        except LoadError:
            names[key] = None
            continue
        metadata = document.get("metadata") if isinstance(document, Mapping) else None
        name = metadata.get("name") if isinstance(metadata, Mapping) else None
        names[key] = name if isinstance(name, str) and name else None
    return names


def report_changes(
    checked: Checked, changes: Changes, tree: WorkTree, selected: frozenset[str] | None = None
) -> tuple[Checked, tuple[str, ...]]:
    """Narrow a whole-catalog check to what `--changed-since` reports; the planned removals.

    Reported: the changed manifests (within `selected`, the files named on the command
    line, if any), plus any unchanged manifest that integrates with a changed or deleted
    tool and now has a blocking finding on those integrations, so a change cannot
    break its neighbours unseen (deleting `salesforce` while `hubspot` sends it data).
    A deleted file is a planned removal unless its tool lives on in another file (a
    rename). Exception findings stay when they concern a reported manifest or the
    exception file itself changed (`changes.exceptions`).
    """
    from guardrails.decide import summarize

    catalog, outcome = checked.catalog, checked.outcome
    changed = frozenset(tree.display(path) for path in changes.changed)
    if selected is not None:
        changed &= selected
    name_of = {manifest.file: manifest.name for manifest in catalog.manifests}
    names_now = set(name_of.values())
    touched = {name_of[file] for file in changed if file in name_of}
    touched |= {name for name in changes.names_before.values() if name}
    neighbours = {
        manifest.file
        for manifest in catalog.manifests
        if manifest.file not in changed
        and (selected is None or manifest.file in selected)
        and not touched.isdisjoint(manifest.integrations)
    }
    broken = {
        finding.file
        for finding in outcome.findings
        if finding.file in neighbours
        and finding.blocking
        and finding.path.startswith("spec.integrations")
    }
    reported = changed | broken
    reported_names = {name_of[file] for file in reported if file in name_of}
    exception_tools = {exc.file: set(exc.manifests) for exc in catalog.exceptions}
    changed_exceptions = {tree.display(path) for path in changes.exceptions}
    findings = tuple(
        finding
        for finding in outcome.findings
        if finding.file in reported
        or finding.file in changed_exceptions
        or (finding.file in exception_tools and reported_names & exception_tools[finding.file])
    )
    files = [file for file in catalog.files if file in reported]
    narrowed = dataclasses.replace(
        checked, outcome=Outcome(findings, summarize(files, findings)), reported=reported
    )
    removed = tuple(
        tree.display(path)
        for path in changes.deleted
        if changes.names_before.get(path) not in names_now
    )
    return narrowed, removed


def config_at(tree: GitTree) -> Config:
    """`guardrails.yaml` as it is in the revision (defaults when it has none).

    With `--policies-ref`, the folders and `default_policies` switch come from the
    reference too: otherwise a pull request could point `policies:` elsewhere or turn
    the shipped library off.
    """
    from guardrails.config import CONFIG_FILE, parse_config

    if not tree.has(CONFIG_FILE):
        return Config(root=tree.root)
    try:
        return parse_config(tree.read(CONFIG_FILE), tree.root, CONFIG_FILE)
    except GuardrailsError as err:
        raise GuardrailsError(f"{err} (at {tree.ref})") from err
