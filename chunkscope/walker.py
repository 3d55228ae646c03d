"""Turn the paths a user gives into a stream of files, each with its fate decided early.

Only regular files are ever opened later: FIFOs, sockets and devices are recognised
from ``lstat`` here, symlinks are reported rather than followed (unless asked), and
ignored folders are reported once instead of walked. The walk is iterative and sorted,
so output order is stable.

With ``follow_symlinks`` a folder is known by its device and inode. A link to a folder
above it (an ancestor) would never end: ``symlink_loop``. A link to a folder this walk
has already been through (a sibling walked earlier, or a second link to one target) is
``symlink_duplicate``: its files were reported once under their first path, and walking
them again would repeat every chunk.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pathspec

from chunkscope.model import ChunkOptions

VENDORED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "bower_components",
        ".venv",
        "venv",
        "env",
        ".env",
        "virtualenv",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "site-packages",
        ".eggs",
        ".idea",
        ".vscode",
        "vendor",
        "third_party",
        ".bundle",
        ".gradle",
        ".cargo",
        "target",
        ".terraform",
    }
)
"""Folders skipped by default: version control, dependencies, virtualenvs, caches, build output."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One file (or one skipped folder) found by the walk."""

    path: str
    rel: str
    skip: str | None = None
    error: str | None = None


def run_root(paths: Iterable[str | os.PathLike[str]]) -> Path:
    """The folder paths are reported relative to: the deepest folder holding every argument."""
    absolute = [Path(os.path.abspath(p)) for p in paths]
    bases = [p if p.is_dir() else p.parent for p in absolute]
    if not bases:
        return Path.cwd()
    return Path(os.path.commonpath([str(b) for b in bases]))


def _rel(path: str, root: Path) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


class _Ignores:
    """The .gitignore files in force in one folder, innermost last."""

    def __init__(self, rules: tuple[tuple[str, pathspec.PathSpec], ...] = ()) -> None:
        self.rules = rules

    def entering(self, folder: str) -> _Ignores:
        gitignore = os.path.join(folder, ".gitignore")
        try:
            with open(gitignore, encoding="utf-8", errors="replace") as fh:
                spec = pathspec.GitIgnoreSpec.from_lines(fh)
        except OSError:
            return self
        return _Ignores((*self.rules, (folder, spec)))

    def ignored(self, path: str, is_dir: bool) -> bool:
        for base, spec in self.rules:
            rel = Path(os.path.relpath(path, base)).as_posix()
            if spec.match_file(rel + "/" if is_dir else rel):
                return True
        return False


def walk(paths: Iterable[str | os.PathLike[str]], options: ChunkOptions) -> Iterator[Entry]:
    """Every file under ``paths``, in path order, with skip reasons for those not to open."""
    given = [os.fspath(p) for p in paths]
    root = run_root(given)
    for arg in sorted(given, key=lambda p: _rel(os.path.abspath(p), root) + _slash(p)):
        absolute = os.path.abspath(arg)
        if os.path.isdir(absolute):
            yield from _walk_dir(absolute, root, options)
        else:
            yield entry_for(absolute, _rel(absolute, root))


def entry_for(absolute: str, rel: str) -> Entry:
    """One path the user named: a file to open, or why not (a loop, an error, not a file)."""
    try:
        mode = os.stat(absolute).st_mode
    except OSError as exc:
        if os.path.islink(absolute):
            return Entry(absolute, rel, "symlink_loop")
        return Entry(absolute, rel, error=os_error(exc))
    return _classify_file(absolute, rel, mode)


def _slash(path: str) -> str:
    """Folders sort as ``name/``, as inside a walk, so ``a-b.py`` comes before ``a/m.py``."""
    return "/" if os.path.isdir(path) else ""


def os_error(exc: OSError) -> str:
    """The message a report shows for a failed system call: ``Permission denied``."""
    return exc.strerror or str(exc)


def _classify_file(path: str, rel: str, mode: int) -> Entry:
    if stat.S_ISREG(mode):
        return Entry(path, rel)
    return Entry(path, rel, "not_regular")


def _listing(folder: str) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as it:
        return sorted(it, key=lambda e: e.name + ("/" if _is_dir(e) else ""))


def _walk_dir(top: str, root: Path, options: ChunkOptions) -> Iterator[Entry]:
    """Depth-first in path order with an explicit stack: no recursion, however deep."""
    gitignore = options.respect_gitignore
    top_key = _key(os.stat(top))
    ancestors = {top_key}
    walked = {top_key}
    try:
        listing = _listing(top)
    except OSError as exc:
        yield Entry(top, _rel(top, root) + "/", error=os_error(exc))
        return
    rules = _Ignores().entering(top) if gitignore else _Ignores()
    stack: list[tuple[Iterator[os.DirEntry[str]], _Ignores, tuple[int, int]]] = [
        (iter(listing), rules, top_key)
    ]
    while stack:
        entries, rules, folder_key = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            ancestors.discard(folder_key)
            continue
        rel = _rel(entry.path, root)
        try:
            is_link = entry.is_symlink()
            is_dir = _is_dir(entry)
            if is_link:
                if not options.follow_symlinks:
                    yield Entry(entry.path, rel, "symlink")
                    continue
                try:
                    target = os.stat(entry.path)
                except OSError:
                    yield Entry(entry.path, rel, "symlink_loop")
                    continue
                is_dir = stat.S_ISDIR(target.st_mode)
                if is_dir and _key(target) in ancestors:
                    yield Entry(entry.path, rel + "/", "symlink_loop")
                    continue
                if is_dir and _key(target) in walked:
                    yield Entry(entry.path, rel + "/", "symlink_duplicate")
                    continue
            if is_dir:
                if entry.name in VENDORED_DIRS or (gitignore and rules.ignored(entry.path, True)):
                    yield Entry(entry.path, rel + "/", "ignored")
                    continue
                key = _key(entry.stat(follow_symlinks=True))
                listing = _listing(entry.path)
                ancestors.add(key)
                walked.add(key)
                inner = rules.entering(entry.path) if gitignore else rules
                stack.append((iter(listing), inner, key))
                continue
            if gitignore and rules.ignored(entry.path, False):
                yield Entry(entry.path, rel, "ignored")
                continue
            yield _classify_file(entry.path, rel, entry.stat(follow_symlinks=is_link).st_mode)
        except OSError as exc:
            yield Entry(entry.path, rel + ("/" if _is_dir(entry) else ""), error=os_error(exc))


def _key(st: os.stat_result) -> tuple[int, int]:
    """A folder's identity whatever path reaches it: device and inode."""
    return st.st_dev, st.st_ino


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False
