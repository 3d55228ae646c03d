"""Hostile sources: extraction costs a bounded multiple of parsing, and a file budget ends the rest.

The sources come from ``benchmarks/hostile_sources.py``, which ``bench_worst_case.py``
measures at several sizes; here every language meets each family at 100 KB. Times are the
thread's CPU time, so a busy machine slows both stages alike and the ratio holds.
"""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest
from hostile_sources import DIALECTS, source

from chunkscope import ChunkOptions, chunk_paths, chunk_source, extract, parse
from chunkscope.deadline import TIMEOUT, Deadline, FileTimeout

SIZE = 100_000
FAMILIES = (
    "unclosed_paren",
    "unclosed_bracket",
    "unclosed_brace",
    "unterminated_string",
    "unterminated_comment",
    "garbage",
    "unclosed_then_code",
    "code_then_unclosed",
    "stray_parens",
)
TIMES_PARSE = 8.0
"""Extraction may cost this many parses of the same file (the worst measured is about 3)..."""
SLACK = 0.05
"""...plus this many CPU seconds. Extraction that is quadratic in a run of unnamed tokens, as it
once was, costs some 150 parses at this size (over 300 at 200 KB)."""
UNBUDGETED = ChunkOptions(file_timeout=0)

SLOW_TSX = source("tsx", "garbage", 50_000)[:26_000]
"""26 KB that tree-sitter's TSX grammar takes minutes to parse (24 KB of it: 0.05 s)."""


def _cpu_seconds(language: str, data: bytes) -> tuple[float, float]:
    """CPU seconds of parse and of extract: the run nearest the bound, of up to three."""
    runs = []
    for _ in range(3):
        started = time.thread_time()
        tree = parse(data, language)
        parsed = time.thread_time()
        extract(tree, data, "hostile", UNBUDGETED)
        runs.append((parsed - started, time.thread_time() - parsed))
        if runs[-1][1] <= TIMES_PARSE * runs[-1][0] + SLACK:
            break
    return min(runs, key=lambda run: run[1] - TIMES_PARSE * run[0])


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("language", sorted(DIALECTS))
def test_extract_costs_a_bounded_multiple_of_parse(language: str, family: str) -> None:
    """At 100 KB, extracting never costs more than a few parses of the same bytes."""
    data = source(language, family, SIZE)
    parse_s, extract_s = _cpu_seconds(language, data)
    assert extract_s <= TIMES_PARSE * parse_s + SLACK, (
        f"{language} {family}: extract {extract_s:.3f} s for a {parse_s:.3f} s parse"
    )


@pytest.mark.parametrize("language", sorted(DIALECTS))
def test_definitions_before_a_run_of_brackets_are_all_found(language: str) -> None:
    """The run is skipped by the query, not the code before it: every definition is a chunk."""
    data = DIALECTS[language].code * 50 + b"\n" + b"(" * 20_000 + b"\nx\n"
    result = chunk_source(data, f"f.{language}", language)
    functions = [c for c in result.chunks if c.kind in ("function", "method") and c.name]
    assert result.outcome == "chunked"
    assert len(functions) == 50
    assert result.chunks[-1].has_syntax_error


class TestFileTimeout:
    """``ChunkOptions.file_timeout``: tree-sitter's own cancellation ends a file, not the run."""

    def test_slow_parse_ends_as_timeout_error(self) -> None:
        """A file tree-sitter would parse for minutes ends as ``error``/``timeout`` in budget."""
        started = time.perf_counter()
        result = chunk_source(SLOW_TSX, "slow.tsx", options=ChunkOptions(file_timeout=0.3))
        elapsed = time.perf_counter() - started
        assert (result.outcome, result.reason) == ("error", TIMEOUT)
        assert result.error is not None and result.error.startswith("timeout:")
        assert "in parse" in result.error
        assert elapsed < 3.0

    def test_the_run_goes_on(self, tmp_path: Path) -> None:
        """In a folder, the slow file times out and the files around it are chunked."""
        (tmp_path / "a.py").write_bytes(DIALECTS["python"].code)
        (tmp_path / "b.tsx").write_bytes(SLOW_TSX)
        (tmp_path / "c.go").write_bytes(b"package p\n\n" + DIALECTS["go"].code)
        results = {r.path: r for r in chunk_paths([tmp_path], ChunkOptions(file_timeout=0.3))}
        assert results["b.tsx"].reason == TIMEOUT
        assert results["a.py"].outcome == results["c.go"].outcome == "chunked"
        assert [c.name for c in results["c.go"].chunks if c.kind == "function"] == ["add"]

    def test_parser_is_reset_after_a_stopped_parse(self) -> None:
        """The next parse on the same thread starts afresh, not where the stopped one was."""
        big = DIALECTS["python"].code * 4000
        with pytest.raises(FileTimeout, match="in parse"):
            parse(big, "python", Deadline(0))
        small = b"def f():\n    return 1\n"
        assert str(parse(small, "python", Deadline(5)).root_node) == str(
            parse(small, "python").root_node
        )

    def test_budgeted_parse_gives_the_same_tree(self) -> None:
        """Parsing through the progress callback changes nothing, ``Node.text`` included."""
        data = DIALECTS["rust"].code * 300
        tree = parse(data, "rust", Deadline(30))
        assert str(tree.root_node) == str(parse(data, "rust").root_node)
        assert tree.root_node.children[0].text == data[: tree.root_node.children[0].end_byte]

    def test_budgeted_parse_keeps_no_copy_of_the_source(self) -> None:
        """Ten budgeted parses of 100 KB leave less than one copy behind, not ten."""
        data = DIALECTS["python"].code * 1000
        parse(data, "python", Deadline(30))
        tracemalloc.start()
        try:
            for _ in range(10):
                parse(data, "python", Deadline(30))
            left, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert left < len(data)

    def test_extract_checks_the_deadline(self) -> None:
        """``extract`` stops with ``FileTimeout`` once the deadline has passed."""
        data = DIALECTS["java"].code * 50
        tree = parse(data, "java")
        with pytest.raises(FileTimeout, match="in extract"):
            extract(tree, data, "A.java", deadline=Deadline(0))

    def test_zero_turns_the_budget_off(self) -> None:
        """``file_timeout=0`` never times out, whatever the clock says."""
        data = DIALECTS["c"].code * 100
        result = chunk_source(data, "a.c", options=ChunkOptions(file_timeout=0))
        assert result.outcome == "chunked"
        assert len(result.chunks) == 100
