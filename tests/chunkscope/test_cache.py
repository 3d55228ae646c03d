"""The chunk cache: identical output, the right misses, shared safely, bad files survived."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plain_runs import plain_output

from chunkscope import ChunkOptions, FileResult, chunk_paths, chunk_source
from chunkscope import cache as cache_mod
from chunkscope.cache import APPLICATION_ID, Cache, cache_key, decode, encode

STDLIB = Path(os.__file__).parent
REAL_TREES = (STDLIB / "json", STDLIB / "email", STDLIB / "asyncio", STDLIB / "unittest")
"""Real code, about 120 files and 2.5 MB: every chunk kind Python has, syntax in all its forms."""
SOURCES = {
    "app/main.py": "import os\n\n\nclass App:\n    name = 'a'\n\n    def run(self):\n"
    "        return 1\n\n\ndef main():\n    App().run()\n",
    "app/util.js": "export function util(a) {\n  return a * 2;\n}\nclass K { m() { return 1; } }\n",
    "app/types.ts": "export interface Shape {\n  area(): number;\n}\n",
    "app/Main.java": "class Main {\n  void go() {}\n}\n",
    "lib/point.go": "package lib\n\ntype P struct{ X int }\n\nfunc (p P) Len() int { return 1 }\n",
    "lib/lib.rs": "pub struct S;\n\nimpl S {\n    pub fn new() -> S { S }\n}\n",
    "lib/unicode.rb": "# h\u00e9llo \u2713\ndef gr\u00fc\u00df\n  '\u00e9'\nend\n",
    "lib/broken.c": "int main( {\n",
    "lib/w.cpp": "namespace n { class W { void f(); }; }\nvoid n::W::f() {}\n",
    "lib/c.cs": "class C { void M() {} }\n",
    "run.sh": "#!/bin/sh\nf() { echo 1; }\n",
    "README.txt": "not code\n",
    "blob.py": b"\x00\x01binary",
    "empty.py": "",
}


@pytest.fixture(autouse=True)
def _fresh_handles() -> Iterator[None]:
    """Each test opens its caches anew, as a new process would."""
    cache_mod.close_all()
    yield
    cache_mod.close_all()


@pytest.fixture
def project(tmp_path: Path, make_tree) -> Path:
    """Every language, a syntax error, a binary, an empty and an unknown file."""
    return make_tree(tmp_path / "project", SOURCES)


def comparable(results: list[FileResult]) -> list[tuple[object, ...]]:
    """Everything a user sees of a run except timings and the cache's own field."""
    return [
        (r.path, r.outcome, r.language, r.size, r.reason, r.error, r.has_syntax_error, r.chunks)
        for r in results
    ]


def run(paths: list[Path], options: ChunkOptions) -> list[FileResult]:
    return list(chunk_paths(paths, options))


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHUNKSCOPE_", "OTEL_"))}
    return {**env, **extra}


def chunk_cli(
    *args: str | os.PathLike[str], env: dict[str, str] | None = None, **kw: object
) -> subprocess.CompletedProcess[bytes]:
    """``chunkscope chunk ARGS`` in a fresh interpreter, stdout (the JSONL) piped."""
    return subprocess.run(
        [sys.executable, "-m", "chunkscope", "chunk", *map(os.fspath, args)],
        capture_output=True,
        timeout=180,
        check=False,
        env=env or cli_env(),
        **kw,  # type: ignore[arg-type]
    )


def warnings_of(stderr: bytes) -> list[dict[str, object]]:
    """The structured warnings a piped CLI run printed (JSON lines on stderr)."""
    out = []
    for line in stderr.decode().splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("level") == "warning":
                out.append(event)
    return out


class TestIdenticalOutput:
    """With the cache the output is byte for byte what it is without."""

    def test_real_trees_cold_warm_and_jobs(self, tmp_path: Path, project: Path) -> None:
        """Real trees through the CLI: cold, warm, and warm/cold with --jobs 2 all match."""
        trees = [*REAL_TREES, project]
        plain = chunk_cli(*trees)
        assert plain.returncode == 0, plain.stderr
        db = tmp_path / "c.db"
        cold = chunk_cli(*trees, "--cache", db, "--report", tmp_path / "cold.json")
        warm = chunk_cli(*trees, "--cache", db, "--report", tmp_path / "warm.json")
        jobs = chunk_cli(*trees, "--cache", db, "--jobs", "2")
        cold_jobs = chunk_cli(*trees, "--cache", tmp_path / "j.db", "--jobs", "2")
        for done in (cold, warm, jobs, cold_jobs):
            assert done.returncode == 0, done.stderr
            assert done.stdout == plain.stdout
            assert warnings_of(done.stderr) == []
        first = json.loads((tmp_path / "cold.json").read_text())["cache"]
        second = json.loads((tmp_path / "warm.json").read_text())["cache"]
        chunked = json.loads((tmp_path / "warm.json").read_text())["files"]["chunked"]
        assert first["misses"] == first["lookups"] == chunked > 100
        assert second["hits"] == second["lookups"] == chunked
        assert second["hit_ratio"] == 1.0

    def test_renamed_and_copied_files_hit_with_their_own_path_and_ids(
        self, tmp_path: Path, project: Path
    ) -> None:
        """Moving a file keeps its chunks but gives them the new path and ids."""
        options = ChunkOptions(cache=str(tmp_path / "c.db"))
        run([project], options)
        os.rename(project / "app/main.py", project / "app/moved.py")
        shutil.copy(project / "lib/lib.rs", project / "lib/copy.rs")
        again = {r.path: r for r in run([project], options)}
        plain = {r.path: r for r in run([project], ChunkOptions())}
        for path in ("app/moved.py", "lib/copy.rs"):
            assert again[path].cache == "hit"
            assert again[path].chunks == plain[path].chunks
            assert {c.path for c in again[path].chunks} == {path}
        ids = {c.id for c in again["lib/copy.rs"].chunks}
        assert ids.isdisjoint(c.id for c in again["lib/lib.rs"].chunks)

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        data=st.data(),
        first=st.dictionaries(
            st.sampled_from(["a.py", "b.py", "d/c.py", "d/e.js", "f.go", "g.rs", "h.rb"]),
            st.lists(
                st.sampled_from(
                    [
                        "def f():\n    return 1\n",
                        "class K:\n    def m(self):\n        pass\n",
                        "x = 1\n",
                        "function g() { return 2; }\n",
                        "func main() {}\n",
                        "fn r() {}\n",
                        "def broken(:\n",
                        "\u00e9\n",
                        "\n\n",
                    ]
                ),
                min_size=1,
                max_size=12,
            ).map("".join),
            min_size=1,
        ),
    )
    def test_trees_that_change_between_runs(
        self, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject, first: dict
    ) -> None:
        """Generated trees, edited, renamed and deleted between cached runs, chunk as uncached."""
        root = tmp_path_factory.mktemp("tree")
        options = ChunkOptions(cache=str(root.parent / f"{root.name}.db"), max_lines=4)
        tree = dict(first)
        for step in range(3):
            for rel in list((root).rglob("*")):
                if rel.is_file():
                    rel.unlink()
            for rel, text in tree.items():
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_text(text)
            cached = run([root], options)
            assert comparable(cached) == comparable(run([root], replace(options, cache=None)))
            names = sorted(tree)
            edit = data.draw(st.sampled_from(names), label=f"edit{step}")
            tree[edit] = tree[edit] + data.draw(st.sampled_from(["y = 2\n", "\n", "}\n"]))
            moved = data.draw(st.sampled_from(names), label=f"move{step}")
            target = data.draw(st.sampled_from(["m.py", "d/m.py", "n.js"]), label=f"to{step}")
            if moved != target:
                tree[target] = tree.pop(moved)
            if len(tree) > 1 and data.draw(st.booleans(), label=f"drop{step}"):
                tree.pop(sorted(tree)[0])


class TestMisses:
    """Anything that can change chunks changes the key."""

    def _twice(self, tmp_path: Path, project: Path, change) -> dict[str, str | None]:
        options = ChunkOptions(cache=str(tmp_path / "c.db"))
        run([project], options)
        cache_mod.close_all()
        options = change(options)
        results = run([project], options)
        assert comparable(results) == comparable(run([project], replace(options, cache=None)))
        return {r.path: r.cache for r in results if r.outcome == "chunked"}

    def test_changed_file_misses_the_rest_hit(self, tmp_path: Path, project: Path) -> None:
        """Editing one byte of a file makes only that file a miss."""

        def edit(options: ChunkOptions) -> ChunkOptions:
            (project / "app/util.js").write_text(SOURCES["app/util.js"].replace("2", "3"))
            return options

        states = self._twice(tmp_path, project, edit)
        assert states.pop("app/util.js") == "miss"
        assert set(states.values()) == {"hit"}

    @pytest.mark.parametrize(
        "field, value, hit",
        [("max_lines", 3, False), ("max_bytes", 64, False), ("max_file_bytes", 10**6, True)],
    )
    def test_options_that_shape_chunks_miss(
        self, tmp_path: Path, project: Path, field: str, value: int, hit: bool
    ) -> None:
        """max_lines and max_bytes are in the key; max_file_bytes (a skip rule) is not."""
        states = self._twice(tmp_path, project, lambda o: replace(o, **{field: value}))
        assert set(states.values()) == ({"hit"} if hit else {"miss"})

    def test_forced_language_misses(self, tmp_path: Path, project: Path) -> None:
        """The same bytes parsed with another grammar are another entry."""
        options = ChunkOptions(cache=str(tmp_path / "c.db"))
        source = b"function f() { return 1; }\n"
        assert chunk_source(source, "x.js", None, options).cache == "miss"
        assert chunk_source(source, "y.js", None, options).cache == "hit"
        assert chunk_source(source, "x.js", "typescript", options).cache == "miss"

    @pytest.mark.parametrize("distribution", ["tree-sitter-python", "tree-sitter", "chunkscope"])
    def test_version_change_misses(
        self, tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch, distribution: str
    ) -> None:
        """A new grammar package, tree-sitter or chunkscope version misses (a grammar only
        for its own language)."""
        real = cache_mod._installed_version

        def change(options: ChunkOptions) -> ChunkOptions:
            monkeypatch.setattr(
                cache_mod,
                "_installed_version",
                lambda d: "99.0" if d == distribution else real(d),
            )
            cache_mod._salt.cache_clear()
            return options

        try:
            states = self._twice(tmp_path, project, change)
        finally:
            cache_mod._salt.cache_clear()
        python = states.pop("app/main.py")
        assert python == "miss"
        others = set(states.values())
        assert others == ({"hit"} if distribution == "tree-sitter-python" else {"miss"})

    def test_installed_versions_are_read(self) -> None:
        """The key really holds the installed versions, as importlib.metadata reports them."""
        from importlib.metadata import version

        for dist in ("tree-sitter", "tree-sitter-python", "tree-sitter-c-sharp", "chunkscope"):
            assert cache_mod._installed_version(dist) == version(dist)

    def test_damaged_entry_is_a_miss_never_a_wrong_chunk(
        self, tmp_path: Path, project: Path
    ) -> None:
        """An entry whose bytes changed under its checksum is chunked afresh and rewritten."""
        db = tmp_path / "c.db"
        options = ChunkOptions(cache=str(db))
        run([project], options)
        cache_mod.close_all()
        source = (project / "app/main.py").read_bytes()
        key = cache_key(source, "python", options)
        with closing(sqlite3.connect(db)) as conn:
            (value,) = conn.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
            forged = value.replace(b"App", b"Ppa")
            assert forged != value
            conn.execute("UPDATE entries SET value = ? WHERE key = ?", (forged, key))
            conn.commit()
        results = {r.path: r for r in run([project], options)}
        assert results["app/main.py"].cache == "miss"
        assert [c.name for c in results["app/main.py"].chunks] == [None, "App", "run", "main"]
        cache_mod.close_all()
        assert {r.path: r.cache for r in run([project], options)}["app/main.py"] == "hit"


class TestEncoding:
    """The stored value holds no path and no text, and round-trips exactly."""

    def test_round_trip_for_another_path(self) -> None:
        """Decoding for a new path gives what chunking at that path gives."""
        source = (STDLIB / "json" / "decoder.py").read_bytes()
        at_a = chunk_source(source, "a/decoder.py")
        at_b = chunk_source(source, "b/decoder.py")
        value = encode(at_a)
        assert b"decoder.py" not in value and b"JSONDecoder" in value
        assert len(value) < len(source) / 4
        decoded = decode(value, source, "b/decoder.py", "python")
        assert decoded.chunks == at_b.chunks

    def test_out_of_bounds_entry_is_refused(self) -> None:
        """An entry that does not fit the bytes it is decoded against raises, not slices."""
        value = encode(chunk_source(b"def f():\n    return 1\n", "f.py"))
        with pytest.raises(ValueError):
            decode(value, b"def f():\n", "f.py", "python")


class TestSharedSafely:
    """Many processes on one cache: serialised writes, crash-safe commits."""

    def test_two_processes_with_jobs_write_at_once(self, tmp_path: Path, project: Path) -> None:
        """--jobs 2 and a second process chunk overlapping trees into one cache at once."""
        db = tmp_path / "c.db"
        trees_a = [*REAL_TREES[:2], project]
        trees_b = [REAL_TREES[1], REAL_TREES[2], project]
        plain_a, plain_b = chunk_cli(*trees_a), chunk_cli(*trees_b)

        def start(trees: list[Path], *extra: str) -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "chunkscope",
                    "chunk",
                    *map(str, trees),
                    "--cache",
                    str(db),
                    *extra,
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=cli_env(),
            )

        a, b = start(trees_a, "--jobs", "2"), start(trees_b)
        out_a, err_a = a.communicate(timeout=180)
        out_b, err_b = b.communicate(timeout=180)
        assert (a.returncode, b.returncode) == (0, 0), (err_a, err_b)
        assert out_a == plain_a.stdout and out_b == plain_b.stdout
        assert warnings_of(err_a) == warnings_of(err_b) == []
        with closing(sqlite3.connect(db)) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        report = tmp_path / "r.json"
        again = chunk_cli(*trees_a, *trees_b[2:], "--cache", db, "--report", report)
        assert json.loads(report.read_text())["cache"]["misses"] == 0
        assert again.returncode == 0

    def test_sigkill_mid_write_leaves_a_working_cache(self, tmp_path: Path) -> None:
        """A writer killed at random points in a stream of commits leaves a cache that opens
        without repair, holds only verified entries, and serves identical output."""
        db = tmp_path / "c.db"
        writer = textwrap.dedent(
            f"""
            import os, sys
            from chunkscope import ChunkOptions, chunk_paths
            from chunkscope.cache import Cache, cache_key, encode
            options = ChunkOptions()
            cache = Cache({str(db)!r})
            real = [(r, open(os.path.join({str(REAL_TREES[0])!r}, r.path), "rb").read())
                    for r in chunk_paths([{str(REAL_TREES[0])!r}], options)
                    if r.outcome == "chunked"]
            for result, source in real:
                cache.put(cache_key(source, "python", options), encode(result))
            print("ready", flush=True)
            n = 0
            while True:  # big entries under fresh keys: the process is nearly always writing
                n += 1
                cache.put(os.urandom(16), os.urandom(1 << 18))
            """
        )
        plain = plain_output(REAL_TREES[0])
        for delay in (0.05, 0.2, 0.4):
            proc = subprocess.Popen(
                [sys.executable, "-c", writer], stdout=subprocess.PIPE, env=cli_env()
            )
            try:
                assert proc.stdout is not None
                assert proc.stdout.readline() == b"ready\n"
                time.sleep(delay)
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
            handle = Cache(str(db), check=True)
            assert handle.notes == []
            handle.close()
            with closing(sqlite3.connect(db)) as conn:
                rows = conn.execute("SELECT key, value, checksum FROM entries").fetchall()
            assert rows and all(cache_mod._checksum(k, v) == s for k, v, s in rows)
            report = tmp_path / "r.json"
            done = chunk_cli(REAL_TREES[0], "--cache", db, "--report", report)
            assert done.stdout == plain
            assert warnings_of(done.stderr) == []
            assert json.loads(report.read_text())["cache"]["misses"] == 0


class TestBadCache:
    """Whatever sits at the path, the output is right and the user hears about it once."""

    def _check(
        self, project: Path, db: Path, event: str, **kw: object
    ) -> subprocess.CompletedProcess[bytes]:
        done = chunk_cli(project, "--cache", db, **kw)
        assert done.returncode == 0, done.stderr
        assert done.stdout == plain_output(project)
        warned = warnings_of(done.stderr)
        assert [w["event"] for w in warned] == [event], warned
        return done

    def _filled(self, project: Path, db: Path) -> None:
        """A cache of ``project``, closed cleanly: everything in the file, no -wal or -shm."""
        assert run([project], ChunkOptions(cache=str(db)))
        cache_mod.close_all()
        with closing(sqlite3.connect(db)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert not os.path.exists(f"{db}-wal")

    def test_foreign_text_file_is_left_alone(self, tmp_path: Path, project: Path) -> None:
        """Pointing --cache at someone's file never changes it."""
        db = tmp_path / "notes.txt"
        db.write_text("my notes\n" * 50)
        self._check(project, db, "cache.unavailable")
        assert db.read_text() == "my notes\n" * 50

    def test_foreign_sqlite_database_is_left_alone(self, tmp_path: Path, project: Path) -> None:
        """Another program's SQLite file is not mistaken for a cache."""
        db = tmp_path / "app.db"
        with closing(sqlite3.connect(db)) as conn:
            conn.execute("CREATE TABLE users (name TEXT)")
            conn.execute("INSERT INTO users VALUES ('ada')")
            conn.commit()
        before = db.read_bytes()
        self._check(project, db, "cache.unavailable")
        assert db.read_bytes() == before

    def test_corrupted_cache_is_rebuilt(self, tmp_path: Path, project: Path) -> None:
        """Garbage over the cache's pages: one warning, rebuilt, the next run hits."""
        db = tmp_path / "c.db"
        self._filled(project, db)
        data = bytearray(db.read_bytes())
        assert len(data) > 3 * 4096
        data[4096:] = os.urandom(len(data) - 4096)
        db.write_bytes(bytes(data))
        self._check(project, db, "cache.rebuilt")
        report = tmp_path / "r.json"
        chunk_cli(project, "--cache", db, "--report", report)
        assert json.loads(report.read_text())["cache"]["misses"] == 0

    def test_truncated_cache_is_rebuilt(self, tmp_path: Path, project: Path) -> None:
        """A cache cut short (a copy interrupted, a full disk) is rebuilt."""
        db = tmp_path / "c.db"
        self._filled(project, db)
        size = db.stat().st_size
        with open(db, "r+b") as fh:
            fh.truncate(size // 2)
        self._check(project, db, "cache.rebuilt")

    def test_older_schema_is_rebuilt(self, tmp_path: Path, project: Path) -> None:
        """A cache written by an older chunkscope is replaced, then used."""
        db = tmp_path / "c.db"
        with closing(sqlite3.connect(db)) as conn:
            conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
            conn.execute("CREATE TABLE chunks (path TEXT, data BLOB)")
            conn.execute("INSERT INTO chunks VALUES ('x', x'00')")
            conn.commit()
        self._check(project, db, "cache.rebuilt")
        with closing(sqlite3.connect(db)) as conn:
            tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master")}
        assert "chunks" not in tables and "entries" in tables

    def test_newer_schema_is_not_touched(self, tmp_path: Path, project: Path) -> None:
        """A cache from a newer chunkscope is left for it; this run goes uncached."""
        db = tmp_path / "c.db"
        with closing(sqlite3.connect(db)) as conn:
            conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
            conn.execute("PRAGMA user_version=99")
            conn.execute("CREATE TABLE future (x)")
        self._check(project, db, "cache.unavailable")
        with closing(sqlite3.connect(db)) as conn:
            assert conn.execute("PRAGMA user_version").fetchone() == (99,)

    @pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs util-linux setpriv")
    @pytest.mark.parametrize("existing", [False, True])
    def test_read_only_folder(
        self, tmp_path: Path, project: Path, drop_dac: tuple[str, ...], existing: bool
    ) -> None:
        """No cache can be created or opened for writing in a read-only folder: uncached.

        As root (the test machines), the run drops the capabilities that override modes.
        """
        folder = tmp_path / "ro"
        folder.mkdir()
        db = folder / "c.db"
        if existing:
            self._filled(project, db)
        folder.chmod(0o555)
        try:
            done = subprocess.run(
                [
                    *drop_dac,
                    sys.executable,
                    "-m",
                    "chunkscope",
                    "chunk",
                    str(project),
                    "--cache",
                    str(db),
                ],
                capture_output=True,
                timeout=120,
                env=cli_env(),
                check=False,
            )
        finally:
            folder.chmod(0o755)
        assert done.returncode == 0, done.stderr
        assert done.stdout == plain_output(project)
        assert [w["event"] for w in warnings_of(done.stderr)] == ["cache.unavailable"]

    @pytest.mark.parametrize(
        "jobs, event", [("1", "cache.write_failed"), ("2", "cache.worker_failed")]
    )
    def test_full_disk(self, tmp_path: Path, jobs: str, event: str) -> None:
        """Writes failing with a full file system (simulated with RLIMIT_FSIZE) cost one
        warning, in-process or from --jobs workers; the output is right and the cache still
        works afterwards."""
        db = tmp_path / "c.db"
        tree = REAL_TREES[1]
        plain = plain_output(tree)

        def small_files() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

        done = chunk_cli(tree, "--cache", db, "--jobs", jobs, preexec_fn=small_files)
        assert done.returncode == 0, done.stderr
        assert done.stdout == plain
        assert [w["event"] for w in warnings_of(done.stderr)] == [event]
        handle = Cache(str(db), check=True)
        assert handle.notes == [] and handle.stats()["entries"] > 0
        handle.close()
        again = chunk_cli(tree, "--cache", db)
        assert again.stdout == plain and warnings_of(again.stderr) == []

    def test_full_disk_in_process_marks_the_file(
        self, tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """SQLite's own 'disk is full' on a store: that file says error, output unchanged."""
        real = cache_mod._connect

        def tiny(path: str) -> sqlite3.Connection:
            conn = real(path)
            conn.execute("PRAGMA max_page_count=12")
            return conn

        monkeypatch.setattr(cache_mod, "_connect", tiny)
        results = run([REAL_TREES[1]], ChunkOptions(cache=str(tmp_path / "c.db")))
        assert comparable(results) == comparable(run([REAL_TREES[1]], ChunkOptions()))
        states = [r.cache for r in results if r.outcome == "chunked"]
        assert states.count("error") == 1
        assert "miss" in states


class TestBounded:
    """--cache-max-bytes evicts the least recently used entries."""

    def test_bound_holds_and_recent_entries_stay(self, tmp_path: Path) -> None:
        """Filling past the bound keeps the entries under it, evicting the oldest first."""
        db = str(tmp_path / "c.db")
        bound = 40_000  # entries hold no text: the email package takes about 70 kB
        options = ChunkOptions(cache=db, cache_max_bytes=bound)
        run([REAL_TREES[0]], options)  # json: the oldest entries
        recent = run([REAL_TREES[1]], options)  # email: newer, and over the bound
        handle = cache_mod.open_cache(db, bound).cache
        assert handle is not None
        handle.flush()
        assert 0 < handle.used_bytes() <= bound

        def held(tree: Path, results: list[FileResult]) -> list[bool]:
            keys = [
                cache_key((tree / r.path).read_bytes(), "python", options)
                for r in results
                if r.outcome == "chunked"
            ]
            return [handle.get(key) is not None for key in keys]

        assert held(REAL_TREES[1], recent)[-5:] == [True] * 5
        assert not any(held(REAL_TREES[0], run([REAL_TREES[0]], ChunkOptions())))

    def test_hits_refresh_an_entry(self, tmp_path: Path) -> None:
        """An old entry that keeps being used outlives newer unused ones."""
        db = str(tmp_path / "c.db")
        handle = Cache(db, max_bytes=10**9)
        old, new = os.urandom(1 << 15), os.urandom(1 << 15)  # each on pages of its own
        handle.put(b"k" * 16, old)
        handle.put(b"n" * 16, new)
        assert handle.get(b"k" * 16) == old
        handle.flush()
        handle.put(b"z" * 16, os.urandom(1 << 15))
        handle.prune(max_bytes=handle.used_bytes() - 1)
        assert handle.get(b"k" * 16) == old
        assert handle.get(b"n" * 16) is None
        handle.close()


class TestCli:
    """The flags, the environment variable and ``chunkscope cache``."""

    def test_env_variable_and_summary_table(self, tmp_path: Path, project: Path) -> None:
        """CHUNKSCOPE_CACHE turns the cache on; the summary table counts hits and misses."""
        env = cli_env(CHUNKSCOPE_CACHE=str(tmp_path / "c.db"))
        out = tmp_path / "out.jsonl"
        first = chunk_cli(project, "--output", out, env=env)
        second = chunk_cli(project, "--output", out, env=env)
        assert "cache miss" in first.stderr.decode() and "cache hit" in second.stderr.decode()
        hit_row = next(r for r in second.stderr.decode().splitlines() if "cache hit" in r)
        assert hit_row.split()[3] == "11"  # every chunked file of the project
        assert (tmp_path / "c.db").exists()

    def test_no_cache_unless_asked(self, tmp_path: Path, project: Path) -> None:
        """Without --cache or the variable, nothing is written and the report says null."""
        report = tmp_path / "r.json"
        chunk_cli(project, "--report", report, cwd=tmp_path)
        assert json.loads(report.read_text())["cache"] is None
        assert sorted(p.name for p in tmp_path.iterdir()) == ["project", "r.json"]

    def test_cache_folder_must_exist(self, tmp_path: Path, project: Path) -> None:
        """A --cache in a missing folder is a usage error, like --output."""
        done = chunk_cli(project, "--cache", tmp_path / "nope" / "c.db")
        assert done.returncode == 2 and b"does not exist" in done.stderr

    def test_stats_prune_clear(self, tmp_path: Path, project: Path) -> None:
        """stats reports entries; prune bounds them; clear empties; a foreign file is refused."""
        db = tmp_path / "c.db"
        run(list(REAL_TREES[:2]), ChunkOptions(cache=str(db)))
        cache_mod.close_all()

        def cache_cmd(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
            return subprocess.run(
                [sys.executable, "-m", "chunkscope", "cache", *map(str, args)],
                capture_output=True,
                timeout=60,
                env=cli_env(),
                check=False,
            )

        stats = json.loads(cache_cmd("stats", db, "--json").stdout)
        assert stats["entries"] > 30 and stats["entry_bytes"] > 40_000
        assert cache_cmd("prune", db, "--max-bytes", "30000").returncode == 0
        pruned = json.loads(cache_cmd("stats", db, "--json").stdout)
        assert 0 < pruned["entries"] < stats["entries"]
        assert pruned["entry_bytes"] <= 30_000
        assert pruned["file_bytes"] + pruned["wal_bytes"] < stats["file_bytes"]
        assert cache_cmd("clear", db).returncode == 0
        assert json.loads(cache_cmd("stats", db, "--json").stdout)["entries"] == 0
        other = tmp_path / "other.txt"
        other.write_text("x")
        refused = cache_cmd("clear", other)
        assert refused.returncode == 2 and other.read_text() == "x"
        assert cache_cmd("stats", tmp_path / "missing.db").returncode == 2
