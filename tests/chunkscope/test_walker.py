"""Walking folders: what is opened, what is skipped and why, and in which order."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from chunkscope import ChunkOptions, chunk_paths
from chunkscope.walker import VENDORED_DIRS


def fates(paths: list[Path], **options: object) -> dict[str, tuple[str, str | None]]:
    """Path -> (outcome, reason) for one run; asserts no path is reported twice."""
    results = list(chunk_paths(paths, ChunkOptions(**options)))  # type: ignore[arg-type]
    found = {r.path: (r.outcome, r.reason) for r in results}
    assert len(found) == len(results)
    return found


class TestGitignore:
    """.gitignore files are honoured like git does, folder by folder."""

    def test_patterns_negation_and_nested_files(self, tmp_path: Path, make_tree) -> None:
        """Root and nested .gitignore rules, negations and folder patterns all apply."""
        make_tree(
            tmp_path,
            {
                ".gitignore": "*.gen.py\nbuild/\n!keep.gen.py\n",
                "a.py": "A = 1\n",
                "x.gen.py": "X = 1\n",
                "keep.gen.py": "K = 1\n",
                "build/out.py": "O = 1\n",
                "src/.gitignore": "local_*.py\n",
                "src/local_cfg.py": "L = 1\n",
                "src/main.py": "M = 1\n",
            },
        )
        assert fates([tmp_path]) == {
            ".gitignore": ("skipped", "unknown_language"),
            "a.py": ("chunked", None),
            "build/": ("skipped", "ignored"),
            "keep.gen.py": ("chunked", None),
            "src/.gitignore": ("skipped", "unknown_language"),
            "src/local_cfg.py": ("skipped", "ignored"),
            "src/main.py": ("chunked", None),
            "x.gen.py": ("skipped", "ignored"),
        }

    def test_no_gitignore_walks_everything(self, tmp_path: Path, make_tree) -> None:
        """With respect_gitignore off, ignored files are chunked like any other."""
        make_tree(tmp_path, {".gitignore": "*.py\n", "a.py": "A = 1\n"})
        assert fates([tmp_path], respect_gitignore=False)["a.py"] == ("chunked", None)
        assert fates([tmp_path])["a.py"] == ("skipped", "ignored")


class TestVendored:
    """Dependency, VCS and virtualenv folders are reported once, never walked."""

    def test_vendored_folders_are_ignored(self, tmp_path: Path, make_tree) -> None:
        """node_modules, .git, venv and .venv each give one ``ignored`` result."""
        make_tree(
            tmp_path,
            {
                "node_modules/lib/index.js": "function f() {}\n",
                ".git/hooks/pre-commit.sh": "echo hi\n",
                "venv/lib/site.py": "S = 1\n",
                ".venv/bin/activate.sh": "echo hi\n",
                "app.js": "function app() {}\n",
            },
        )
        assert fates([tmp_path]) == {
            ".git/": ("skipped", "ignored"),
            ".venv/": ("skipped", "ignored"),
            "app.js": ("chunked", None),
            "node_modules/": ("skipped", "ignored"),
            "venv/": ("skipped", "ignored"),
        }
        assert {"node_modules", ".git", "venv", ".venv"} <= VENDORED_DIRS

    def test_vendored_folder_given_explicitly_is_walked(self, tmp_path: Path, make_tree) -> None:
        """Naming a vendored folder on the command line means: chunk it."""
        make_tree(tmp_path, {"node_modules/lib.js": "function f() {}\n"})
        assert fates([tmp_path / "node_modules"]) == {"lib.js": ("chunked", None)}


class TestSpecialFiles:
    """Only regular files are ever opened."""

    def test_socket_and_fifo_are_not_regular(self, tmp_path: Path) -> None:
        """A FIFO and a UNIX socket are skipped as not_regular (the FIFO is never opened)."""
        os.mkfifo(tmp_path / "pipe.py")
        server = socket.socket(socket.AF_UNIX)
        try:
            server.bind(str(tmp_path / "sock.py"))
            (tmp_path / "ok.py").write_text("X = 1\n")
            assert fates([tmp_path]) == {
                "ok.py": ("chunked", None),
                "pipe.py": ("skipped", "not_regular"),
                "sock.py": ("skipped", "not_regular"),
            }
        finally:
            server.close()

    def test_device_given_directly(self) -> None:
        """A character device named on the command line is skipped, not read."""
        assert [(r.outcome, r.reason) for r in chunk_paths(["/dev/null"])] == [
            ("skipped", "not_regular")
        ]


class TestSymlinks:
    """Links are reported, not followed, unless asked; loops end."""

    def _layout(self, tmp_path: Path, make_tree) -> Path:
        make_tree(tmp_path, {"real/a.py": "A = 1\n"})
        (tmp_path / "real" / "loop").symlink_to(tmp_path / "real")
        (tmp_path / "link.py").symlink_to(tmp_path / "real" / "a.py")
        (tmp_path / "dangling.py").symlink_to(tmp_path / "nowhere.py")
        return tmp_path

    def test_links_are_not_followed_by_default(self, tmp_path: Path, make_tree) -> None:
        """Every link, looping or not, is one ``symlink`` result."""
        assert fates([self._layout(tmp_path, make_tree)]) == {
            "dangling.py": ("skipped", "symlink"),
            "link.py": ("skipped", "symlink"),
            "real/a.py": ("chunked", None),
            "real/loop": ("skipped", "symlink"),
        }

    def test_follow_symlinks_stops_at_loops(self, tmp_path: Path, make_tree) -> None:
        """Followed links are chunked; a loop or a dangling link is ``symlink_loop``."""
        assert fates([self._layout(tmp_path, make_tree)], follow_symlinks=True) == {
            "dangling.py": ("skipped", "symlink_loop"),
            "link.py": ("chunked", None),
            "real/a.py": ("chunked", None),
            "real/loop/": ("skipped", "symlink_loop"),
        }

    def test_link_to_a_walked_sibling_is_a_duplicate_not_a_loop(
        self, tmp_path: Path, make_tree
    ) -> None:
        """``c/link -> ../b`` after ``b/`` was walked is ``symlink_duplicate``; b's file once."""
        make_tree(tmp_path, {"b/m.py": "M = 1\n", "c/n.py": "N = 1\n"})
        (tmp_path / "c" / "link").symlink_to("../b")
        assert fates([tmp_path], follow_symlinks=True) == {
            "b/m.py": ("chunked", None),
            "c/link/": ("skipped", "symlink_duplicate"),
            "c/n.py": ("chunked", None),
        }

    def test_link_before_its_target_is_followed(self, tmp_path: Path, make_tree) -> None:
        """``a/link -> ../b`` comes first in path order: followed, and ``b/`` is still walked."""
        make_tree(tmp_path, {"a/x.py": "X = 1\n", "b/m.py": "M = 1\n"})
        (tmp_path / "a" / "link").symlink_to("../b")
        assert fates([tmp_path], follow_symlinks=True) == {
            "a/link/m.py": ("chunked", None),
            "a/x.py": ("chunked", None),
            "b/m.py": ("chunked", None),
        }

    def test_second_link_to_one_folder_is_a_duplicate(self, tmp_path: Path, make_tree) -> None:
        """Two links to one folder outside the tree: the first is walked, the second is not."""
        make_tree(tmp_path, {"out/o.py": "O = 1\n", "tree/keep.py": "K = 1\n"})
        (tmp_path / "tree" / "one").symlink_to(tmp_path / "out")
        (tmp_path / "tree" / "two").symlink_to(tmp_path / "out")
        assert fates([tmp_path / "tree"], follow_symlinks=True) == {
            "keep.py": ("chunked", None),
            "one/o.py": ("chunked", None),
            "two/": ("skipped", "symlink_duplicate"),
        }

    def test_link_to_a_grandparent_is_a_loop(self, tmp_path: Path, make_tree) -> None:
        """A link two levels up is still an ancestor: ``symlink_loop``, and the run ends."""
        make_tree(tmp_path, {"top/mid/deep/d.py": "D = 1\n"})
        (tmp_path / "top" / "mid" / "deep" / "up").symlink_to("../..")
        assert fates([tmp_path / "top"], follow_symlinks=True) == {
            "mid/deep/d.py": ("chunked", None),
            "mid/deep/up/": ("skipped", "symlink_loop"),
        }


class TestOrder:
    """Output order is the sorted path order, whatever the arguments' order."""

    def test_sorted_across_arguments(self, tmp_path: Path, make_tree) -> None:
        """Files from several arguments come out in one sorted sequence, relative to their root."""
        make_tree(tmp_path, {"b/z.py": "Z = 1\n", "b/a.py": "A = 1\n", "a/m.py": "M = 1\n",
                             "a-b.py": "X = 1\n"})  # fmt: skip
        given = [tmp_path / "b", tmp_path / "a-b.py", tmp_path / "a"]
        paths = [r.path for r in chunk_paths(given)]
        assert paths == ["a-b.py", "a/m.py", "b/a.py", "b/z.py"]
