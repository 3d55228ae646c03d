"""What a treesitter-chunker user sees: chunkscope's span tree, metric names and units, the
chunker attribute, errors and cache hits, and the three ways to turn it on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import chunker
import pytest
from chunker.repo import processor
from opentelemetry.instrumentation.chunkscope import ChunkscopeInstrumentor
from opentelemetry.instrumentation.treesitter_chunker import TreesitterChunkerInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    InMemoryMetricReader,
    MetricExporter,
    MetricExportResult,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode
from otel_support import Telemetry, clean_env, run_python
from tsc_support import copy_tree, instrumented, javascript_files, python_files

import chunkscope
from chunkscope import names as N


@pytest.fixture
def tsc(monkeypatch: pytest.MonkeyPatch) -> Iterator[Telemetry]:
    """Every file keeps its spans, so the tree can be checked file by file."""
    monkeypatch.setenv(N.FILE_SPANS_ENV, "all")
    instrumentor, telemetry = instrumented()
    try:
        yield telemetry
    finally:
        instrumentor.uninstrument()


def _children(telemetry: Telemetry, parent: ReadableSpan) -> dict[str, ReadableSpan]:
    return {
        s.name: s
        for s in telemetry.spans()
        if s.parent is not None and s.parent.span_id == parent.context.span_id
    }


def _points(telemetry: Telemetry, name: str) -> list[Any]:
    metric = telemetry.metrics().get(name)
    return [] if metric is None else list(metric.data.data_points)


class TestSpans:
    def test_file_parse_extract_for_python_and_javascript(self, tsc: Telemetry) -> None:
        """Each chunk_file call is a file span with parse and extract children, exact attributes."""
        files = [(p, "python") for p in python_files(3)] + [
            (p, "javascript") for p in javascript_files(3)
        ]
        chunks = {p.name: chunker.chunk_file(p, lang) for p, lang in files}
        spans = {s.attributes[N.CODE_FILE_PATH]: s for s in tsc.by_name(N.SPAN_FILE)}
        assert sorted(spans) == sorted(chunks)
        for (path, language), name in zip(files, chunks, strict=True):
            span = spans[name]
            assert span.parent is None
            assert dict(span.attributes) == {
                N.CHUNKER: N.CHUNKER_TREESITTER,
                N.CODE_FILE_PATH: name,
                N.OUTCOME: "chunked",
                N.LANGUAGE: language,
                N.FILE_SIZE: len(path.read_bytes()),
                N.CHUNK_COUNT: len(chunks[name]),
                N.FILE_SPAN_REASON: "all",
            }
            children = _children(tsc, span)
            assert sorted(children) == [N.SPAN_EXTRACT, N.SPAN_PARSE]
            parse, extract = children[N.SPAN_PARSE], children[N.SPAN_EXTRACT]
            assert parse.attributes[N.TREE_NODE_COUNT] > 10
            tree = chunker.get_parser(language).parse(path.read_bytes())
            assert parse.attributes[N.PARSE_HAS_ERROR] is tree.root_node.has_error
            assert parse.attributes[N.TREE_NODE_COUNT] == tree.root_node.descendant_count
            assert extract.attributes[N.CHUNK_COUNT] == len(chunks[name])
            assert span.start_time <= parse.start_time <= parse.end_time <= extract.start_time
            assert extract.end_time <= span.end_time

    def test_chunk_text_with_a_syntax_error(self, tsc: Telemetry) -> None:
        """A source tree-sitter recovers from is chunked, with has_error on the parse span."""
        chunker.chunk_text("def broken(:\n    pass\n", "python", file_path="b.py")
        (span,) = tsc.by_name(N.SPAN_FILE)
        assert span.attributes[N.CODE_FILE_PATH] == "b.py"
        assert _children(tsc, span)[N.SPAN_PARSE].attributes[N.PARSE_HAS_ERROR] is True

    def test_language_not_found_is_an_error(self, tsc: Telemetry) -> None:
        """An unavailable grammar: error outcome on the file and parse spans and in the metrics."""
        with pytest.raises(chunker.LanguageNotFoundError):
            chunker.chunk_text("fn main() {}\n", "rust", file_path="m.rs")
        (span,) = tsc.by_name(N.SPAN_FILE)
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes[N.OUTCOME] == "error"
        assert span.attributes[N.ERROR_TYPE] == "LanguageNotFoundError"
        children = _children(tsc, span)
        assert list(children) == [N.SPAN_PARSE]
        assert children[N.SPAN_PARSE].status.status_code is StatusCode.ERROR
        files = {
            (p.attributes[N.LANGUAGE], p.attributes[N.OUTCOME]): p.value
            for p in _points(tsc, N.FILES)
        }
        assert files == {("rust", "error"): 1}
        (parse,) = _points(tsc, N.PARSE_DURATION)
        assert parse.attributes[N.OUTCOME] == N.PARSE_ERROR and parse.count == 1

    def test_stream_is_one_file(self, tsc: Telemetry) -> None:
        """chunk_file_streaming: one file span, parse and extract, the streamed chunk count."""
        path = python_files(2)[1]
        count = len(list(chunker.chunk_file_streaming(path, "python")))
        (span,) = tsc.by_name(N.SPAN_FILE)
        assert span.attributes[N.CHUNK_COUNT] == count > 0
        assert sorted(_children(tsc, span)) == [N.SPAN_EXTRACT, N.SPAN_PARSE]

    def test_threads_of_the_repo_processor_keep_the_callers_span(self, tsc: Telemetry) -> None:
        """A file chunked on the repo processor's thread pool is a child of the submitter's span."""
        tracer = tsc.tracer_provider.get_tracer("test")
        with (
            tracer.start_as_current_span("caller") as caller,
            processor.ThreadPoolExecutor(max_workers=2) as pool,
        ):
            pool.submit(chunker.chunk_text, "x = 1\n", "python", file_path="x.py").result()
        (span,) = tsc.by_name(N.SPAN_FILE)
        assert span.parent is not None and span.parent.span_id == caller.get_span_context().span_id


class TestDirectoryRuns:
    def test_pool_files_are_children_of_the_run(
        self, tsc: Telemetry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """chunk_directory: one run span; each file measured in the pool is its child."""
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        folder = copy_tree(python_files(6), tmp_path / "src")
        found = chunker.chunk_directory(folder, "python", num_workers=2, use_cache=False)
        (run,) = tsc.by_name(N.SPAN_RUN)
        files = tsc.by_name(N.SPAN_FILE)
        assert sorted(s.attributes[N.CODE_FILE_PATH] for s in files) == sorted(
            p.name for p in found
        )
        for span in files:
            assert span.parent is not None and span.parent.span_id == run.context.span_id
            assert sorted(_children(tsc, span)) == [N.SPAN_EXTRACT, N.SPAN_PARSE]
        attrs = dict(run.attributes)
        assert attrs[N.CHUNKER] == N.CHUNKER_TREESITTER
        assert attrs[N.RUN_FILES_CHUNKED] == 6
        assert attrs[N.RUN_CHUNKS] == sum(map(len, found.values()))

    def test_cache_hit_is_recorded_as_a_cache_hit(
        self, tsc: Telemetry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A second run served by the SQLite cache: cache-hit file spans, no parse recorded,
        and chunkscope.cache.lookups counts 4 misses then 4 hits."""
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        folder = copy_tree(python_files(4), tmp_path / "src")
        chunker.chunk_directory(folder, "python", num_workers=2)
        parses = sum(p.count for p in _points(tsc, N.PARSE_DURATION))
        assert {s.attributes[N.CACHE_HIT] for s in tsc.by_name(N.SPAN_FILE)} == {False}
        tsc.spans_exporter.clear()
        chunker.chunk_directory(folder, "python", num_workers=2)
        files = tsc.by_name(N.SPAN_FILE)
        assert len(files) == 4 and parses == 4
        for span in files:
            assert span.attributes[N.CACHE_HIT] is True
            assert _children(tsc, span) == {}
        assert sum(p.count for p in _points(tsc, N.PARSE_DURATION)) == parses
        assert sum(p.value for p in _points(tsc, N.FILES)) == 8
        lookups = {p.attributes[N.CACHE_RESULT]: p.value for p in _points(tsc, N.CACHE_LOOKUPS)}
        assert lookups == {"miss": 4, "hit": 4}

    def test_forked_pool_children_export_nothing(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The SDK restarts its metric reader in fork children; they must not export the
        parent's counters under its identity: every export comes from this process."""
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        log = tmp_path / "exports.txt"

        class PidLog(MetricExporter):
            def export(self, *_args: Any, **_kwargs: Any) -> MetricExportResult:
                with log.open("a") as fh:
                    fh.write(f"{os.getpid()}\n")
                return MetricExportResult.SUCCESS

            def force_flush(self, timeout_millis: float = 10_000) -> bool:
                return True

            def shutdown(self, *_args: Any, **_kwargs: Any) -> None:
                return None

        reader = PeriodicExportingMetricReader(PidLog(), export_interval_millis=50)
        provider = MeterProvider(metric_readers=[reader])
        instrumentor = TreesitterChunkerInstrumentor()
        instrumentor.instrument(meter_provider=provider)
        try:
            folder = copy_tree(python_files(12), tmp_path / "src")
            found = chunker.chunk_directory(folder, "python", num_workers=1, use_cache=False)
        finally:
            instrumentor.uninstrument()
            provider.shutdown()
        assert len(found) == 12
        pids = set(log.read_text().split())
        assert pids == {str(os.getpid())}


class TestMetrics:
    def test_same_names_and_units_as_chunkscope(self, tsc: Telemetry, tmp_path: Path) -> None:
        """The metric names and units are chunkscope's; every point says which chunker."""
        source = tmp_path / "a.py"
        source.write_text("def f():\n    return 1\n\n\nclass C:\n    pass\n")
        chunker.chunk_file(source, "python")
        reader = InMemoryMetricReader()
        own = ChunkscopeInstrumentor()
        own.instrument(meter_provider=MeterProvider(metric_readers=[reader]))
        try:
            list(chunkscope.chunk_paths([str(tmp_path)]))
        finally:
            own.uninstrument()
        theirs = {
            m.name: m.unit
            for rm in reader.get_metrics_data().resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
        }
        ours = {name: metric.unit for name, metric in tsc.metrics().items()}
        assert ours == theirs
        for name in ours:
            for point in _points(tsc, name):
                assert point.attributes[N.CHUNKER] == N.CHUNKER_TREESITTER, name


_SCRIPT = """
import json, sys
{prelude}
import chunker
chunker.chunk_text("def f():\\n    return 1\\n", "python", file_path="f.py")
print(json.dumps({{"wrapped": type(chunker.core.chunk_text).__name__}}))
"""


def _spans_printed(stdout: str) -> list[str]:
    return [line.split('"')[3] for line in stdout.splitlines() if line.strip().startswith('"name"')]


class TestTurningOn:
    CONSOLE: ClassVar[dict[str, str]] = {
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        N.FILE_SPANS_ENV: "all",
    }

    def test_chunkscope_otel_instruments_chunker_when_imported(self) -> None:
        """CHUNKSCOPE_OTEL=1 with chunkscope imported: treesitter-chunker is traced too."""
        code = _SCRIPT.format(prelude="import chunkscope\nassert 'chunker' not in sys.modules")
        done = run_python(code, clean_env(CHUNKSCOPE_OTEL="1", **self.CONSOLE))
        assert done.returncode == 0, done.stderr[-2000:]
        assert '"wrapped": "FunctionWrapper"' in done.stdout
        assert sorted(_spans_printed(done.stdout)) == [
            N.SPAN_EXTRACT,
            N.SPAN_FILE,
            N.SPAN_PARSE,
        ]

    def test_opentelemetry_instrument_loads_the_entry_point(self) -> None:
        """Zero-code: opentelemetry-instrument picks up the treesitter_chunker entry point."""
        command = shutil.which("opentelemetry-instrument")
        assert command is not None
        done = subprocess.run(
            [command, sys.executable, "-c", _SCRIPT.format(prelude="")],
            env=clean_env(**self.CONSOLE),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert N.SPAN_FILE in _spans_printed(done.stdout)

    def test_nothing_happens_without_treesitter_chunker(self) -> None:
        """Without an importable chunker, CHUNKSCOPE_OTEL=1 imports and wraps nothing of it."""
        code = textwrap.dedent(
            """
            import json, sys
            sys.modules["chunker"] = None  # as if treesitter-chunker were not installed
            import chunkscope
            result = chunkscope.chunk_source(b"def f():\\n    return 1\\n", "f.py")
            try:
                import chunker
            except ImportError:
                pass
            print(json.dumps({"outcome": result.outcome,
                              "chunker": [m for m in sys.modules if m.startswith("chunker.")]}))
            """
        )
        done = run_python(code, clean_env(CHUNKSCOPE_OTEL="1", **self.CONSOLE))
        assert done.returncode == 0, done.stderr[-2000:]
        (line,) = [x for x in done.stdout.splitlines() if x.startswith('{"outcome"')]
        assert json.loads(line) == {"outcome": "chunked", "chunker": []}
        assert "treesitter-chunker telemetry" not in done.stderr

    def test_spawned_pool_children_measure_their_files(self, tmp_path: Path) -> None:
        """Under spawn the children install the measurement and the parent records each file."""
        folder = copy_tree(python_files(4), tmp_path / "src")
        script = tmp_path / "spawned.py"
        script.write_text(
            textwrap.dedent(
                f"""
                import json, multiprocessing
                import chunker
                from opentelemetry.sdk.trace import TracerProvider
                from opentelemetry.sdk.trace.export import SimpleSpanProcessor
                from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
                    InMemorySpanExporter,
                )
                from opentelemetry.instrumentation.treesitter_chunker import (
                    TreesitterChunkerInstrumentor,
                )

                if __name__ == "__main__":
                    multiprocessing.set_start_method("spawn")
                    exporter = InMemorySpanExporter()
                    provider = TracerProvider()
                    provider.add_span_processor(SimpleSpanProcessor(exporter))
                    TreesitterChunkerInstrumentor().instrument(tracer_provider=provider)
                    chunker.chunk_directory({str(folder)!r}, "python", num_workers=2,
                                            use_cache=False)
                    names = [s.name for s in exporter.get_finished_spans()]
                    print(json.dumps({{n: names.count(n) for n in set(names)}}))
                """
            )
        )
        env = clean_env(HOME=str(tmp_path), **{N.FILE_SPANS_ENV: "all"})
        done = subprocess.run(
            [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=240
        )
        assert done.returncode == 0, done.stderr[-2000:]
        counts = json.loads(done.stdout.strip().splitlines()[-1])
        assert counts == {N.SPAN_RUN: 1, N.SPAN_FILE: 4, N.SPAN_PARSE: 4, N.SPAN_EXTRACT: 4}


def test_paths_never_leave_the_run_root(tmp_path: Path) -> None:
    """A file outside the working directory is shown by its name only, not its full path."""
    from opentelemetry.instrumentation.treesitter_chunker._record import display_path

    assert display_path(str(tmp_path / "a" / "b.py"), str(tmp_path)) == os.path.join("a", "b.py")
    assert display_path("/somewhere/else/c.py", str(tmp_path)) == "c.py"
