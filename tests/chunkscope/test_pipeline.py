"""The pipeline in-process: every file ends chunked, skipped with a reason, or errored."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chunkscope
from chunkscope import SKIP_REASONS, ChunkOptions, FileResult, chunk_file, chunk_paths, chunk_source
from chunkscope.languages import LANGUAGES

OUTCOMES = {"chunked", "skipped", "error"}
DROP_DAC = (
    "setpriv",
    "--bounding-set=-dac_override,-dac_read_search",
    "--inh-caps=-dac_override,-dac_read_search",
)
"""Run a command as root without the two capabilities that let root read any file."""


def _check_result(result: FileResult, source: bytes) -> None:
    """The invariants every result of ``chunk_source`` keeps, whatever the input."""
    assert result.outcome in OUTCOMES
    if result.outcome == "skipped":
        assert result.reason in SKIP_REASONS
    if result.outcome == "error":
        assert result.error
    previous_end = 0
    for chunk in result.chunks:
        assert 0 <= chunk.start_byte < chunk.end_byte <= len(source)
        assert chunk.start_byte >= previous_end
        previous_end = chunk.end_byte
        assert chunk.text == source[chunk.start_byte : chunk.end_byte].decode("utf-8", "replace")
        assert 1 <= chunk.start_line <= chunk.end_line
        assert 1 <= chunk.part <= chunk.parts


class TestChunkSource:
    """``chunk_source``: bytes already in memory."""

    def test_invalid_utf8_decodes_with_replacement(self) -> None:
        """Invalid UTF-8 is chunked, the bad bytes shown as U+FFFD, byte offsets untouched."""
        source = b'# caf\xe9\ndef f():\n    return "\xff\xfe"\n'
        result = chunk_source(source, "bad.py")
        assert result.outcome == "chunked"
        (chunk,) = result.chunks
        assert (chunk.kind, chunk.name, chunk.start_line) == ("function", "f", 1)
        assert chunk.text.startswith("# caf\ufffd\n")
        assert "\ufffd\ufffd" in chunk.text
        assert chunk.end_byte == len(source.rstrip())

    @pytest.mark.parametrize(
        ("source", "path", "reason"),
        [
            (b"", "empty.py", "empty"),
            (b"\x7fELF\x02\x01\x01\x00\x00\x00", "prog.py", "binary"),
            (b"just some words\n", "notes.txt", "unknown_language"),
            (b"x = 1\n" * 400, "big.py", "too_large"),
        ],
    )
    def test_skip_reasons(self, source: bytes, path: str, reason: str) -> None:
        """Empty, binary, unknown and oversized input is skipped with its reason code."""
        result = chunk_source(source, path, options=ChunkOptions(max_file_bytes=1000))
        assert (result.outcome, result.reason, result.chunks) == ("skipped", reason, ())

    def test_language_option_forces_a_grammar(self) -> None:
        """``language`` chunks a file whose name says nothing."""
        result = chunk_source(
            b"def f():\n    pass\n", "notes.txt", options=ChunkOptions(language="py")
        )
        assert (result.outcome, result.language) == ("chunked", "python")
        assert [c.name for c in result.chunks] == ["f"]

    @pytest.mark.parametrize(
        ("language", "source"),
        [
            ("python", b"x = " + b"(" * 50_000 + b"1" + b")" * 50_000 + b"\n"),
            ("python", b"def f():\n    return " + b"[" * 50_000 + b"\n"),
            ("javascript", b"let x = " + b"[" * 50_000 + b"]" * 50_000 + b";\n"),
            ("javascript", b"function f() { return " + b"(" * 50_000 + b"1" + b")" * 50_000 + b"}"),
            ("javascript", b"function a() {\n" * 20_000 + b"}\n" * 20_000),
            ("rust", b"mod m {\n" * 20_000 + b"}\n" * 20_000),
        ],
    )
    def test_deep_nesting_finishes(self, language: str, source: bytes) -> None:
        """Tens of thousands of nested levels chunk without RecursionError, all text kept."""
        result = chunk_source(source, "deep", language)
        assert result.outcome == "chunked", result.error
        _check_result(result, source)
        assert sum(len(c.text) for c in result.chunks) >= 40_000


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(language=st.sampled_from(sorted(LANGUAGES)), source=st.binary(max_size=3000))
def test_random_bytes_never_raise(language: str, source: bytes) -> None:
    """Random bytes through every grammar give exactly one well-formed result, never a raise."""
    result = chunk_source(source, "random", language, ChunkOptions(max_lines=5, max_bytes=200))
    assert isinstance(result, FileResult)
    _check_result(result, source)


_TOKENS = st.sampled_from(
    ["def ", "class ", "fn ", "func ", "function ", "impl ", "struct ", "end\n", "{", "}", "(",
     ")", "[", "]", ":", ";", "\n", "    ", "\t", "x", "Y", "=", "=>", "@d\n", "#", "//", "/*",
     "*/", '"', "'", "\\", "é", "\x00", "\udcff", "<div>", "namespace ", "module "]
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(language=st.sampled_from(sorted(LANGUAGES)), tokens=st.lists(_TOKENS, max_size=400))
def test_random_code_like_input_never_raises(language: str, tokens: list[str]) -> None:
    """Keyword soup (nearly code, so the extractor gets real work) never raises either."""
    source = "".join(tokens).encode("utf-8", "surrogateescape")
    result = chunk_source(source, "soup", language, ChunkOptions(max_lines=4, max_bytes=120))
    _check_result(result, source)


class TestChunkFile:
    """``chunk_file``: one path on disk."""

    def test_relative_to_root(self, tmp_path: Path) -> None:
        """The reported path is relative to ``root`` and uses forward slashes."""
        target = tmp_path / "pkg" / "mod.py"
        target.parent.mkdir()
        target.write_text("def f():\n    return 1\n")
        result = chunk_file(target, root=tmp_path)
        assert (result.path, result.outcome, result.size) == ("pkg/mod.py", "chunked", 22)
        assert result.chunks[0].path == "pkg/mod.py"

    def test_missing_file_is_an_error(self, tmp_path: Path) -> None:
        """A path that does not exist is an error result with the OS message, not a raise."""
        result = chunk_file(tmp_path / "gone.py")
        assert result.outcome == "error"
        assert "No such file" in (result.error or "")

    def test_fifo_is_never_opened(self, tmp_path: Path) -> None:
        """A FIFO is skipped as not_regular; opening it for reading would block forever."""
        fifo = tmp_path / "pipe.py"
        os.mkfifo(fifo)
        code = f"from chunkscope import chunk_file; r = chunk_file({str(fifo)!r}); print(r.reason)"
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, timeout=60, check=True
        )
        assert done.stdout.strip() == b"not_regular"


class TestGrammarAndExtractorBugs:
    """A parser or extractor that raises costs that one file, as an error with the message."""

    def test_extractor_exception_is_an_error_not_an_empty_file(
        self, tmp_path: Path, make_tree, break_extractor
    ) -> None:
        """The failing file is ``error`` with the exception; its neighbour is still chunked."""
        break_extractor("bad.py")
        make_tree(tmp_path, {"bad.py": "def f():\n    return 1\n", "good.py": "X = 1\n"})
        fates = {r.path: (r.outcome, r.error, r.chunks != ()) for r in chunk_paths([tmp_path])}
        assert fates == {
            "bad.py": ("error", "RuntimeError: extractor bug", False),
            "good.py": ("chunked", None, True),
        }

    def test_parser_exception_is_an_error(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A grammar that raises gives ``error`` with the exception type and message."""
        from chunkscope import pipeline

        def parse_as(source: bytes, name: str, deadline: object = None) -> None:
            raise ValueError("grammar bug")

        monkeypatch.setattr(pipeline, "parse_as", parse_as)
        result = chunk_source(b"def f():\n    return 1\n", "f.py")
        assert (result.outcome, result.error, result.chunks) == (
            "error",
            "ValueError: grammar bug",
            (),
        )

    def test_cli_counts_it_as_an_error_and_exits_1(self, tmp_path: Path, make_tree) -> None:
        """On the command line the same bug is exit status 1 and one error in the report."""
        make_tree(tmp_path, {"bad.py": "def f():\n    return 1\n", "good.py": "X = 1\n"})
        code = textwrap.dedent(
            """
            import sys
            from chunkscope import pipeline
            from chunkscope.cli import main
            real = pipeline._extract
            def extract(tree, source, path, options=None, deadline=None):
                if path.endswith("bad.py"):
                    raise RuntimeError("extractor bug")
                return real(tree, source, path, options, deadline)
            pipeline._extract = extract
            sys.exit(main(sys.argv[1:]))
            """
        )
        report = tmp_path / "report.json"
        done = subprocess.run(
            [sys.executable, "-c", code, "chunk", "-q", str(tmp_path / "bad.py"),
             str(tmp_path / "good.py"), "--report", str(report)],
            capture_output=True, text=True, timeout=60, env=_no_telemetry(),
        )  # fmt: skip
        assert done.returncode == 1, done.stderr
        data = json.loads(report.read_text())
        assert data["files"] == {"total": 2, "chunked": 1, "skipped": 0, "errored": 1}
        assert data["errors"] == [{"path": "bad.py", "error": "RuntimeError: extractor bug"}]


def _no_telemetry() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("CHUNKSCOPE_", "OTEL_"))}


class TestChunkPaths:
    """``chunk_paths``: a stream with one result per file."""

    def test_every_file_accounted_for(self, tmp_path: Path, make_tree) -> None:
        """A mixed tree gives one result per entry, in path order, each with its fate."""
        make_tree(
            tmp_path,
            {
                "a.py": "def a():\n    pass\n",
                "b.bin.py": b"\x00\x01\x02binary",
                "c.go": "package c\n\nfunc C() {}\n",
                "d.txt": "prose\n",
                "e.py": "",
                "f.rb": b"def f\n  '\xff\xfe'\nend\n",
                "huge.js": "let x = 1;\n" * 300,
                "sub/g.rs": "fn g() {}\n",
                "tool": "#!/usr/bin/env bash\ngreet() { echo hi; }\n",
            },
        )
        options = ChunkOptions(max_file_bytes=2000)
        results = list(chunk_paths([tmp_path], options))
        fates = {r.path: (r.outcome, r.reason, r.language) for r in results}
        assert fates == {
            "a.py": ("chunked", None, "python"),
            "b.bin.py": ("skipped", "binary", None),
            "c.go": ("chunked", None, "go"),
            "d.txt": ("skipped", "unknown_language", None),
            "e.py": ("skipped", "empty", None),
            "f.rb": ("chunked", None, "ruby"),
            "huge.js": ("skipped", "too_large", None),
            "sub/g.rs": ("chunked", None, "rust"),
            "tool": ("chunked", None, "bash"),
        }
        assert [r.path for r in results] == sorted(fates)

    def test_jobs_give_the_same_results(self, tmp_path: Path) -> None:
        """Two worker processes give exactly the results of one, in the same order."""
        stdlib = Path(os.__file__).parent
        shutil.copytree(stdlib / "json", tmp_path / "json")
        shutil.copytree(
            stdlib / "email", tmp_path / "email", ignore=shutil.ignore_patterns("*.pyc")
        )
        serial = [(r.path, r.outcome, r.chunks) for r in chunk_paths([tmp_path])]
        parallel = [
            (r.path, r.outcome, r.chunks) for r in chunk_paths([tmp_path], ChunkOptions(jobs=2))
        ]
        assert len(serial) > 30
        assert parallel == serial

    def test_deeply_nested_folders(self, tmp_path: Path) -> None:
        """Folders 200 deep are walked without recursion and the file at the bottom is found."""
        deep = tmp_path
        for _ in range(200):
            deep = deep / "d"
        deep.mkdir(parents=True)
        (deep / "x.py").write_text("X = 1\n")
        (result,) = chunk_paths([tmp_path])
        assert result.outcome == "chunked"
        assert result.path == "d/" * 200 + "x.py"

    @pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs util-linux setpriv")
    def test_unreadable_file_and_folder_are_errors(self, tmp_path: Path, make_tree) -> None:
        """Files and folders the user may not read are errors with the OS message.

        Tests run as root, who reads anything; so the check runs as root without the
        CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH capabilities, where mode 000 means no.
        """
        make_tree(tmp_path, {"ok.py": "x = 1\n", "secret.py": "y = 2\n", "locked/z.py": "z = 3\n"})
        (tmp_path / "secret.py").chmod(0)
        (tmp_path / "locked").chmod(0)
        code = textwrap.dedent(
            f"""
            from chunkscope import chunk_paths
            for r in chunk_paths([{str(tmp_path)!r}]):
                print(r.path, r.outcome, r.error)
            """
        )
        try:
            done = subprocess.run(
                [*DROP_DAC, sys.executable, "-c", code], capture_output=True, timeout=60, check=True
            )
        finally:
            (tmp_path / "locked").chmod(0o755)
        assert done.stdout.decode().splitlines() == [
            "locked/ error Permission denied",
            "ok.py chunked None",
            "secret.py error Permission denied",
        ]


class TestStageTimes:
    def test_every_result_carries_nested_stage_times_with_telemetry_off(
        self, tmp_path: Path
    ) -> None:
        """Chunked files have parse then extract inside the file; skips only the file's span."""
        (tmp_path / "a.py").write_text("def f():\n    return 1\n\n\nclass C:\n    pass\n")
        (tmp_path / "b.bin").write_bytes(b"\0\1\2")
        before = time.time_ns()
        results = {r.path: r for r in chunkscope.chunk_paths([tmp_path])}
        after = time.time_ns()
        t = results["a.py"].timings
        assert before <= t.start_ns <= t.parse_start_ns <= t.parse_end_ns
        assert t.parse_end_ns <= t.extract_start_ns <= t.extract_end_ns <= t.end_ns <= after
        assert t.node_count > 10 and t.has_syntax_error is False
        assert results["a.py"].seconds == (t.end_ns - t.start_ns) / 1e9
        skipped = results["b.bin"].timings
        assert before <= skipped.start_ns <= skipped.end_ns <= after
        assert (skipped.parse_start_ns, skipped.extract_end_ns, skipped.node_count) == (0, 0, 0)

    def test_a_failing_extractor_leaves_parse_times_and_an_error(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An extractor bug costs the file (outcome error) but its parse is still timed."""
        from chunkscope import pipeline

        def boom(*args: object, **kwargs: object) -> None:
            raise RuntimeError("extractor bug")

        monkeypatch.setattr(pipeline, "_extract", boom)
        (tmp_path / "a.py").write_text("x = 1\n")
        (result,) = chunkscope.chunk_paths([tmp_path])
        assert result.outcome == "error" and result.error == "RuntimeError: extractor bug"
        assert result.chunks == ()
        t = result.timings
        assert 0 < t.parse_start_ns <= t.parse_end_ns <= t.extract_start_ns <= t.extract_end_ns
