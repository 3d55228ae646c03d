"""``chunkscope chunk`` as a user runs it: a subprocess, its streams, its files, its exit status."""

from __future__ import annotations

import json
import os
import pty
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from hostile_sources import source
from plain_runs import plain_output
from workers import spawned_worker_started

from chunkscope.encode import CHUNK_FIELDS
from chunkscope.serve.limits import default_workers

STDLIB = Path(os.__file__).parent
DROP_DAC = (
    "setpriv",
    "--bounding-set=-dac_override,-dac_read_search",
    "--inh-caps=-dac_override,-dac_read_search",
)
"""Root without the capabilities that bypass file modes, so mode 000 really denies reading."""

SOURCES = {
    "app/main.py": (
        "import os\n\n\nclass App:\n    name = 'app'\n\n    def run(self):\n        return 1\n"
    ),
    "app/util.js": "export function util(a) {\n  return a * 2;\n}\n",
    "app/types.ts": "export interface Shape {\n  area(): number;\n}\n",
    "app/Main.java": "class Main {\n  void go() {}\n}\n",
    "lib/point.go": "package lib\n\ntype P struct{ X int }\n\nfunc (p P) Len() int { return 1 }\n",
    "lib/lib.rs": "pub struct S;\n\nimpl S {\n    pub fn new() -> S { S }\n}\n",
    "lib/unicode.rb": "# héllo ✓\ndef grüß\n  '\u00e9'\nend\n",
    "lib/broken.c": "int main( {\n",
    "README.txt": "not code\n",
    "blob.py": b"\x00\x01binary",
}


def jsonl(data: bytes) -> list[dict[str, object]]:
    """Parse JSON Lines, checking each line is one object with the schema's keys in order."""
    rows = []
    for line in data.decode("utf-8").splitlines():
        row = json.loads(line)
        assert tuple(row) == CHUNK_FIELDS
        rows.append(row)
    return rows


@pytest.fixture
def project(tmp_path: Path, make_tree) -> Path:
    """A small multi-language project with one binary and one unknown file."""
    return make_tree(tmp_path / "project", SOURCES)


class TestOutput:
    """What lands on stdout or in ``--output``."""

    def test_jsonl_default(self, cli, project: Path) -> None:
        """Default output is one JSON object per chunk, sorted by path, and stderr stays quiet."""
        done = cli("chunk", project)
        assert done.returncode == 0, done.stderr
        rows = jsonl(done.stdout)
        assert done.stderr == b""
        paths = [r["path"] for r in rows]
        assert paths == sorted(paths)
        found = {(r["path"], r["kind"], r["name"], r["parent"]) for r in rows}
        assert {
            ("app/main.py", "class", "App", None),
            ("app/main.py", "method", "run", "App"),
            ("lib/point.go", "method", "Len", "P"),
            ("lib/lib.rs", "impl", "S", None),
            ("app/types.ts", "interface", "Shape", None),
            ("lib/unicode.rb", "function", "grüß", None),
        } <= found
        ruby = next(r for r in rows if r["name"] == "grüß")
        assert "# héllo ✓" in ruby["text"]
        assert "héllo ✓".encode() in done.stdout  # ensure_ascii=False: UTF-8, not \\u escapes

    def test_output_file_matches_stdout(self, cli, project: Path, tmp_path: Path) -> None:
        """``--output`` writes the same bytes as stdout would, and the summary goes to stderr."""
        out = tmp_path / "chunks.jsonl"
        to_file = cli("chunk", project, "--output", out)
        assert to_file.returncode == 0
        assert to_file.stdout == b""
        assert out.read_bytes() == plain_output(project)
        assert b"chunked" in to_file.stderr and b"skipped: binary" in to_file.stderr

    def test_json_format(self, cli, project: Path) -> None:
        """``--format json`` is one JSON array holding exactly the JSONL objects."""
        as_json = cli("chunk", project, "--format", "json")
        assert json.loads(as_json.stdout) == jsonl(plain_output(project))

    def test_json_format_empty(self, cli, tmp_path: Path) -> None:
        """With no chunks at all, ``--format json`` is still valid JSON: an empty array."""
        (tmp_path / "notes.txt").write_text("prose\n")
        assert json.loads(cli("chunk", tmp_path, "--format", "json").stdout) == []

    def test_table_format(self, cli, project: Path) -> None:
        """``--format table`` shows one row per chunk with path, lines, kind and qualified name."""
        table = cli("chunk", project, "--format", "table").stdout.decode()
        count = len(jsonl(plain_output(project)))
        lines = table.strip().splitlines()
        assert lines[0].split()[:4] == ["path", "lines", "kind", "name"]
        assert len(lines) == count + 1
        assert any(
            line.split()[:4] == ["app/main.py", "7-8", "method", "App.run"] for line in lines
        )

    def test_limits_reach_the_output(self, cli, tmp_path: Path) -> None:
        """``--max-lines`` splits a long function into numbered parts in the output."""
        body = "".join(f"    v{i} = {i}\n" for i in range(50))
        (tmp_path / "long.py").write_text(f"def long():\n{body}")
        rows = jsonl(cli("chunk", tmp_path, "--max-lines", "10").stdout)
        assert [(r["name"], r["part"], r["parts"]) for r in rows] == [
            ("long", i, len(rows)) for i in range(1, len(rows) + 1)
        ]
        assert len(rows) >= 5
        assert all(int(r["end_line"]) - int(r["start_line"]) < 10 for r in rows)

    def test_language_flag(self, cli, tmp_path: Path) -> None:
        """``--language`` forces a grammar on files whose names say nothing."""
        (tmp_path / "script.txt").write_text("def f():\n    pass\n")
        rows = jsonl(cli("chunk", tmp_path, "--language", "python").stdout)
        assert [(r["language"], r["kind"], r["name"]) for r in rows] == [
            ("python", "function", "f")
        ]

    def test_no_gitignore(self, cli, tmp_path: Path) -> None:
        """Ignored files are skipped by default and chunked with ``--no-gitignore``."""
        (tmp_path / ".gitignore").write_text("gen_*.py\n")
        (tmp_path / "gen_a.py").write_text("A = 1\n")
        assert jsonl(cli("chunk", tmp_path).stdout) == []
        (row,) = jsonl(cli("chunk", tmp_path, "--no-gitignore").stdout)
        assert row["path"] == "gen_a.py"

    def test_verbose_logs_skips_as_json(self, cli, project: Path) -> None:
        """``-v`` logs each skip that lost content on a piped stderr, one JSON object per line;
        ``-vv`` adds the routine ones (a README has no grammar) at debug level."""
        done = cli("chunk", project, "-v")
        events = [json.loads(line) for line in done.stderr.decode().splitlines()]
        skips = {e["path"]: e["reason"] for e in events if e["event"] == "file.skipped"}
        assert skips == {"blob.py": "binary"}
        assert all(e["level"] in ("info", "warning") for e in events)
        done = cli("chunk", project, "-vv")
        events = [json.loads(line) for line in done.stderr.decode().splitlines()]
        skips = {e["path"]: e["level"] for e in events if e["event"] == "file.skipped"}
        assert skips == {"blob.py": "info", "README.txt": "debug"}

    def test_very_verbose_logs_every_chunked_file(self, cli, project: Path) -> None:
        """``-vv`` adds one debug event per chunked file, with its language and chunk count."""
        done = cli("chunk", project, "-vv")
        chunks = jsonl(done.stdout)
        events = [json.loads(line) for line in done.stderr.decode().splitlines()]
        chunked = {e["path"]: e for e in events if e["event"] == "file.chunked"}
        assert {e["level"] for e in chunked.values()} == {"debug"}
        assert sorted(chunked) == sorted({r["path"] for r in chunks})
        for path, event in chunked.items():
            assert event["chunks"] == sum(r["path"] == path for r in chunks)
            assert event["language"] == next(r["language"] for r in chunks if r["path"] == path)
        quiet = cli("chunk", project, "-v")
        assert "file.chunked" not in quiet.stderr.decode()

    def test_undecodable_file_name(self, cli, tmp_path: Path) -> None:
        """A file name that is not UTF-8 still gives valid UTF-8 output naming the file exactly."""
        name = b"caf\xe9.py"
        with open(os.path.join(os.fsencode(tmp_path), name), "wb") as fh:
            fh.write(b"X = 1\n")
        (row,) = jsonl(cli("chunk", tmp_path).stdout)
        assert os.fsencode(str(row["path"])) == name


class TestDeterminism:
    """The same input gives the same bytes."""

    def test_twice_and_with_two_jobs(self, cli, project: Path, tmp_path: Path) -> None:
        """JSONL is byte-identical across runs and with ``--jobs 2``, on real stdlib code too."""
        shutil.copytree(STDLIB / "json", project / "json", ignore=shutil.ignore_patterns("*.pyc"))
        shutil.copytree(STDLIB / "email", project / "email", ignore=shutil.ignore_patterns("*.pyc"))
        first = cli("chunk", project)
        second = cli("chunk", project)
        parallel = cli("chunk", project, "--jobs", "2")
        assert first.returncode == 0
        assert len(first.stdout.splitlines()) > 500
        assert second.stdout == first.stdout
        assert parallel.stdout == first.stdout


class TestReport:
    """``--report FILE``: the run in numbers, agreeing with the output."""

    def test_report_matches_output(self, cli, project: Path, tmp_path: Path) -> None:
        """Counts, skip reasons with paths, and per-language totals agree with the JSONL."""
        report_path = tmp_path / "run.json"
        done = cli("chunk", project, "--report", report_path)
        rows = jsonl(done.stdout)
        report = json.loads(report_path.read_text())
        assert report["files"] == {"total": 10, "chunked": 8, "skipped": 2, "errored": 0}
        assert report["chunks"] == len(rows)
        assert report["skipped"]["binary"]["paths"] == ["blob.py"]
        assert report["skipped"]["unknown_language"]["paths"] == ["README.txt"]
        assert report["errors"] == []
        per_language = Counter(str(r["language"]) for r in rows)
        assert {k: v["chunks"] for k, v in report["languages"].items()} == dict(per_language)
        sizes = {rel: len(c if isinstance(c, bytes) else c.encode()) for rel, c in SOURCES.items()}
        assert report["bytes"] == sum(sizes[p] for p in sizes if p not in ("blob.py", "README.txt"))
        assert report["languages"]["python"]["files"] == 1
        assert report["languages"]["c"]["syntax_errors"] == 1
        assert report["seconds"] > 0


class TestExitStatus:
    """0 all accounted for, 1 some file errored, 2 usage error; never a traceback."""

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["chunk", "--bogus", "."], b"unrecognized arguments: --bogus"),
            (["chunk", "does/not/exist"], b"no such file or directory: does/not/exist"),
            (["chunk", ".", "--language", "cobol"], b"unknown --language 'cobol'"),
            (["chunk", ".", "--max-lines", "0"], b"must be at least 1"),
            (["chunk", ".", "--jobs", "many"], b"not a whole number"),
            (["chunk", ".", "--file-timeout", "-1"], b"must be 0 (off) or more"),
            (["chunk", ".", "--file-timeout", "nan"], b"must be 0 (off) or more"),
            (["chunk", ".", "--file-timeout", "soon"], b"not a number"),
            (["chunk", ".", "--format", "xml"], b"invalid choice: 'xml'"),
            (["chunk", ".", "--output", "/no/such/dir/out.jsonl"], b"does not exist"),
            (["chunk"], b"the following arguments are required: PATH"),
        ],
    )
    def test_usage_errors(self, cli, tmp_path: Path, args: list[str], message: bytes) -> None:
        """A usage error exits 2 with one line on stderr and nothing on stdout."""
        done = cli(*args, cwd=tmp_path)
        assert done.returncode == 2
        assert done.stdout == b""
        assert message in done.stderr
        assert b"Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) <= 2  # argparse adds its usage line

    def test_full_disk_exits_1(self, cli, project: Path) -> None:
        """A write failure (``/dev/full``: no space left) is one line and exit 1."""
        done = cli("chunk", project, "--output", "/dev/full")
        assert done.returncode == 1
        assert done.stderr.decode().splitlines() == [
            "chunkscope chunk: cannot write output: [Errno 28] No space left on device"
        ]

    @pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs util-linux setpriv")
    def test_unreadable_file_exits_1(self, cli, project: Path, tmp_path: Path) -> None:
        """An unreadable file is an error: listed in the report, exit 1, other files still chunked.

        Runs as root without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH, so mode 000 denies root too.
        """
        secret = project / "app" / "secret.py"
        secret.write_text("TOKEN = 1\n")
        secret.chmod(0)
        report_path = tmp_path / "run.json"
        done = cli("chunk", project, "--report", report_path, prefix=DROP_DAC)
        assert done.returncode == 1
        assert b"Traceback" not in done.stderr
        report = json.loads(report_path.read_text())
        assert report["errors"] == [{"path": "app/secret.py", "error": "Permission denied"}]
        assert report["files"]["errored"] == 1
        assert report["files"]["chunked"] == 8
        assert report["chunks"] == len(jsonl(done.stdout))


class TestBadInput:
    """Hostile trees end, and every file is in the report."""

    def test_fifo_symlink_loop_and_friends(self, cli, tmp_path: Path, make_tree) -> None:
        """FIFOs, link loops, huge, binary, empty, 50k-deep files: the run ends, all counted."""
        root = make_tree(
            tmp_path / "t",
            {
                "ok.py": "def ok():\n    return 1\n",
                "empty.py": "",
                "huge.py": "x = 1\n" * 150_000,
                "bin.js": b"\x89PNG\r\n\x1a\n\x00\x00",
                "deep.py": b"x = " + b"(" * 50_000 + b"1" + b")" * 50_000 + b"\n",
                "deep.js": b"let y = " + b"[" * 50_000 + b"]" * 50_000 + b";\n",
                "nested.js": b"function a() {" * 50_000 + b"}" * 50_000,
                "bad.rb": b"def f\n  puts '\xff\xfe'\nend\n",
                "data.csv": "a,b\n",
            },
        )
        os.mkfifo(root / "pipe.py")
        (root / "loop").symlink_to(root)
        report_path = tmp_path / "run.json"
        for extra in ([], ["--follow-symlinks"]):
            done = cli("chunk", root, "--max-file-bytes", "800000", "--report", report_path, *extra)
            assert done.returncode == 0, done.stderr
            report = json.loads(report_path.read_text())
            skipped = {p: r for r, v in report["skipped"].items() for p in v["paths"]}
            assert report["files"]["total"] == 11
            assert skipped == {
                "bin.js": "binary",
                "data.csv": "unknown_language",
                "empty.py": "empty",
                "huge.py": "too_large",
                "loop/" if extra else "loop": "symlink_loop" if extra else "symlink",
                "pipe.py": "not_regular",
            }
            rows = jsonl(done.stdout)
            assert {r["path"] for r in rows} == {
                "bad.rb",
                "deep.js",
                "deep.py",
                "nested.js",
                "ok.py",
            }
            nested = [r for r in rows if r["path"] == "nested.js"]
            assert len(nested) >= 1000
            assert [r["parent"] for r in nested[:3]] == [None, "a", "a.a"]
            assert nested[999]["parent"] == ".".join(["a"] * 999)
            assert any("\ufffd" in str(r["text"]) for r in rows if r["path"] == "bad.rb")


class TestTerminal:
    """Progress and summary on a terminal; silence on pipes."""

    def test_progress_and_summary_on_a_tty(self, project: Path) -> None:
        """stderr on a terminal shows a progress bar and a summary; stdout stays clean JSONL."""
        master, slave = pty.openpty()
        seen = bytearray()

        def drain() -> None:  # read while the child writes, so a full terminal never blocks it
            while True:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every writer closed the terminal
                    return
                if not data:
                    return
                seen.extend(data)

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "chunkscope", "chunk", str(project)],
            stdout=subprocess.PIPE,
            stderr=slave,
            env=env,
        )
        os.close(slave)
        stdout, _ = proc.communicate(timeout=60)
        reader.join(timeout=10)
        os.close(master)
        assert proc.returncode == 0
        assert len(jsonl(stdout)) > 5
        text = bytes(seen).decode("utf-8", "replace")
        assert "files" in text and "kB" in text  # the progress bar's counters
        assert "chunkscope: 10 files" in text
        assert "skipped: binary" in text

    def test_quiet_suppresses_summary(self, cli, project: Path, tmp_path: Path) -> None:
        """``--quiet`` keeps stderr empty even when output goes to a file."""
        done = cli("chunk", project, "--output", tmp_path / "o.jsonl", "--quiet")
        assert (done.returncode, done.stderr) == (0, b"")

    def test_closed_pipe_is_not_a_traceback(self, project: Path) -> None:
        """A reader that stops early (``| head -1``) ends the run quietly."""
        shutil.copytree(STDLIB / "email", project / "email", ignore=shutil.ignore_patterns("*.pyc"))
        proc = subprocess.Popen(
            [sys.executable, "-m", "chunkscope", "chunk", str(project)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()
        stderr = proc.stderr.read()
        proc.wait(timeout=60)
        assert json.loads(first)["path"]
        assert b"Traceback" not in stderr
        assert b"BrokenPipe" not in stderr


class TestLimits:
    """``--jobs`` within the CPUs, ``--report`` checked first, ``--file-timeout`` per file."""

    def test_jobs_capped_at_the_cpus(self, cli, project: Path, tmp_path: Path) -> None:
        """``--jobs 1000`` warns once and runs one worker per CPU, with the same output."""
        report_path = tmp_path / "run.json"
        done = cli("chunk", project, "--jobs", "1000", "--report", report_path)
        cpus = default_workers()
        assert done.returncode == 0
        assert done.stderr.decode().splitlines() == [
            f"chunkscope chunk: warning: --jobs 1000 is more than the {cpus} CPUs here;"
            f" using {cpus}"
        ]
        assert json.loads(report_path.read_text())["options"]["jobs"] == cpus
        assert done.stdout == plain_output(project)

    @pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs util-linux setpriv")
    def test_unwritable_report_is_a_usage_error_before_the_run(
        self, cli, project: Path, tmp_path: Path
    ) -> None:
        """A ``--report`` that cannot be written stops the run before it starts: exit 2."""
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        out = tmp_path / "chunks.jsonl"
        done = cli(
            "chunk", project, "--report", locked / "run.json", "--output", out, prefix=DROP_DAC
        )
        assert done.returncode == 2
        assert done.stderr.decode().splitlines() == [
            f"chunkscope chunk: error: --report {locked / 'run.json'}: Permission denied"
        ]
        assert not out.exists()

    def test_file_timeout_ends_one_file(self, cli, tmp_path: Path, make_tree) -> None:
        """A file past ``--file-timeout`` is an error, reason timeout; the others are chunked."""
        root = make_tree(
            tmp_path / "src",
            {"a.py": SOURCES["app/main.py"], "b.tsx": source("tsx", "garbage", 50_000)[:26_000]},
        )
        report_path = tmp_path / "run.json"
        started = time.monotonic()
        done = cli("chunk", root, "--file-timeout", "0.3", "--report", report_path)
        assert time.monotonic() - started < 30
        assert done.returncode == 1
        report = json.loads(report_path.read_text())
        assert report["files"] == {"total": 2, "chunked": 1, "skipped": 0, "errored": 1}
        [error] = report["errors"]
        assert error["path"] == "b.tsx"
        assert error["error"].startswith("timeout: over the 0.3 s budget per file")
        assert report["options"]["file_timeout"] == 0.3
        assert {row["path"] for row in jsonl(done.stdout)} == {"a.py"}


def _output_begun(proc: subprocess.Popen[bytes], out: Path) -> bool:
    return out.exists() and out.stat().st_size > 100_000


def _a_worker_starting(proc: subprocess.Popen[bytes], out: Path) -> bool:
    return spawned_worker_started(proc.pid)


def _interrupted_run(
    project: Path, tmp_path: Path, *args: str, when: Callable[..., bool] = _output_begun
) -> tuple[int, bytes, list[object], dict[str, object]]:
    """Run ``chunk --format json`` on ``project``, Ctrl-C it (the whole process group, as a
    terminal does) once ``when`` says so (by default once output has begun), and return its
    status, stderr, output and report."""
    out, report_path = tmp_path / "chunks.json", tmp_path / "run.json"
    command = [sys.executable, "-m", "chunkscope", "chunk", str(project), "--format", "json"]
    proc = subprocess.Popen(
        [*command, "--output", str(out), "--report", str(report_path), "--quiet", *args],
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if when(proc, out):
                break
            time.sleep(0.005)
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    report = json.loads(report_path.read_text())
    return proc.returncode, stderr, json.loads(out.read_bytes()), report


class TestInterrupt:
    """Ctrl-C stops between files: valid JSON out, a report marked interrupted, exit 130."""

    @pytest.fixture
    def many(self, tmp_path: Path) -> Path:
        """Three hundred copies of a 30 KB module: seconds of work, so Ctrl-C lands mid-run."""
        root = tmp_path / "many"
        root.mkdir()
        text = (STDLIB / "argparse.py").read_bytes()[:30_000]
        for i in range(300):
            (root / f"m{i:03}.py").write_bytes(text)
        return root

    @pytest.mark.parametrize("jobs", ["1", "2"])
    def test_ctrl_c_leaves_valid_json_and_a_report(
        self, many: Path, tmp_path: Path, jobs: str
    ) -> None:
        """The JSON array is closed, the report counts what was written, and says interrupted."""
        status, stderr, chunks, report = _interrupted_run(many, tmp_path, "--jobs", jobs)
        assert status == 130
        assert b"Traceback" not in stderr
        assert b"interrupted" in stderr
        assert report["interrupted"] is True
        assert 0 < report["files"]["total"] < 300
        assert report["chunks"] == len(chunks)
        assert {c["path"] for c in chunks} <= {f"m{i:03}.py" for i in range(300)}

    def test_ctrl_c_while_workers_start(self, many: Path, tmp_path: Path) -> None:
        """A Ctrl-C that reaches a ``--jobs`` worker before it has set itself to ignore it
        neither breaks the pool (a traceback, an empty report) nor hangs the run."""
        status, stderr, chunks, report = _interrupted_run(
            many, tmp_path, "--jobs", "2", when=_a_worker_starting
        )
        assert status == 130, stderr.decode()
        assert b"Traceback" not in stderr
        assert report["interrupted"] is True
        assert report["chunks"] == len(chunks)
