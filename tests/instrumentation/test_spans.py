"""Spans: the run -> file -> parse/extract tree with its exact attributes."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.trace import SpanKind, StatusCode
from otel_support import SOURCES, Telemetry

import chunkscope
from chunkscope import pipeline
from chunkscope.model import ChunkOptions


def _results(project: Path) -> dict[str, chunkscope.FileResult]:
    return {r.path: r for r in chunkscope.chunk_paths([project])}


class TestSpanTree:
    def test_run_file_parse_extract_tree(self, telemetry: Telemetry, project: Path) -> None:
        """Each file span is a child of the one run span; parse and extract are its children."""
        results = _results(project)
        (run,) = telemetry.by_name("chunkscope.run")
        files = telemetry.by_name("chunkscope.file")
        assert run.parent is None
        assert run.kind is SpanKind.INTERNAL
        assert sorted(s.attributes["code.file.path"] for s in files) == sorted(results)
        for span in files:
            assert span.parent is not None and span.parent.span_id == run.context.span_id
            assert span.context.trace_id == run.context.trace_id
        by_id = {s.context.span_id: s for s in files}
        for stage in ("chunkscope.parse", "chunkscope.extract"):
            parents = [by_id[s.parent.span_id] for s in telemetry.by_name(stage)]
            chunked = {p for p, r in results.items() if r.outcome == "chunked"}
            assert sorted(p.attributes["code.file.path"] for p in parents) == sorted(chunked)

    def test_exact_attributes_of_a_chunked_file(self, telemetry: Telemetry, project: Path) -> None:
        """The file, parse and extract spans of a.py carry exactly the documented attributes."""
        result = _results(project)["a.py"]
        (file_span,) = [
            s
            for s in telemetry.by_name("chunkscope.file")
            if s.attributes["code.file.path"] == "a.py"
        ]
        assert dict(file_span.attributes) == {
            "chunkscope.chunker": "chunkscope",
            "code.file.path": "a.py",
            "chunkscope.outcome": "chunked",
            "chunkscope.language": "python",
            "chunkscope.file.size": result.size,
            "chunkscope.chunk.count": len(result.chunks),
            "chunkscope.file.span.reason": "reservoir",
        }
        children = {
            s.name: s
            for s in telemetry.spans()
            if s.parent is not None and s.parent.span_id == file_span.context.span_id
        }
        parse = dict(children["chunkscope.parse"].attributes)
        assert parse.pop("chunkscope.tree.node_count") > 10
        assert parse == {"chunkscope.language": "python", "chunkscope.parse.has_error": False}
        assert dict(children["chunkscope.extract"].attributes) == {
            "chunkscope.language": "python",
            "chunkscope.chunk.count": len(result.chunks),
        }

    def test_skipped_and_syntax_error_files(self, telemetry: Telemetry, project: Path) -> None:
        """Skipped files carry their reason; a syntax error shows on the file and parse spans."""
        _results(project)
        files = {s.attributes["code.file.path"]: s for s in telemetry.by_name("chunkscope.file")}
        assert dict(files["data.bin"].attributes) == {
            "chunkscope.chunker": "chunkscope",
            "code.file.path": "data.bin",
            "chunkscope.outcome": "skipped",
            "chunkscope.file.size": len(SOURCES["pkg/data.bin"]),
            "chunkscope.skip.reason": "binary",
            "chunkscope.file.span.reason": "reservoir",
        }
        assert files["empty.py"].attributes["chunkscope.skip.reason"] == "empty"
        assert files["broken.py"].attributes["chunkscope.outcome"] == "chunked"
        broken_parse = [
            s
            for s in telemetry.by_name("chunkscope.parse")
            if s.parent.span_id == files["broken.py"].context.span_id
        ]
        assert broken_parse[0].attributes["chunkscope.parse.has_error"] is True

    def test_run_totals(self, telemetry: Telemetry, project: Path) -> None:
        """The run span ends with the run's totals."""
        results = _results(project)
        (run,) = telemetry.by_name("chunkscope.run")
        assert dict(run.attributes) == {
            "chunkscope.chunker": "chunkscope",
            "chunkscope.run.jobs": 1,
            "chunkscope.run.paths": 1,
            "chunkscope.run.files.chunked": 3,
            "chunkscope.run.files.skipped": 2,
            "chunkscope.run.files.errored": 0,
            "chunkscope.run.chunks": sum(len(r.chunks) for r in results.values()),
            "chunkscope.run.bytes": sum(r.size for r in results.values() if r.outcome == "chunked"),
            "chunkscope.run.file_spans.kept": 5,
            "chunkscope.run.file_spans.dropped": 0,
        }

    def test_run_span_not_current_in_caller(self, telemetry: Telemetry, project: Path) -> None:
        """While the caller handles a result, the run span is not the current span."""
        from opentelemetry import trace

        seen = [
            trace.get_current_span().get_span_context().is_valid
            for _ in chunkscope.chunk_paths([project])
        ]
        assert seen and not any(seen)

    def test_closing_early_ends_the_run_span(self, telemetry: Telemetry, project: Path) -> None:
        """Breaking out of the loop still ends the run span (one file seen)."""
        gen = chunkscope.chunk_paths([project])
        next(gen)
        gen.close()
        (run,) = telemetry.by_name("chunkscope.run")
        assert run.end_time is not None
        assert run.attributes["chunkscope.run.files.chunked"] == 1

    def test_reexports_are_traced_once(self, telemetry: Telemetry) -> None:
        """chunkscope.parse/extract/chunk_source give one span each, as the module functions."""
        tree = chunkscope.parse(b"x = 1\n", "py")
        chunkscope.extract(tree, b"x = 1\n", "x.py", ChunkOptions())
        assert [s.name for s in telemetry.spans()] == ["chunkscope.parse", "chunkscope.extract"]
        telemetry.spans_exporter.clear()
        chunkscope.chunk_source(b"def g():\n    pass\n", "g.py")
        names = sorted(s.name for s in telemetry.spans())
        assert names == ["chunkscope.extract", "chunkscope.file", "chunkscope.parse"]
        telemetry.spans_exporter.clear()
        pipeline.chunk_source(b"def g():\n    pass\n", "g.py")
        assert len(telemetry.by_name("chunkscope.file")) == 1

    def test_chunk_file_gives_one_file_span(self, telemetry: Telemetry, project: Path) -> None:
        """chunk_file records its result: one file subtree, no run span."""
        chunkscope.chunk_file(project / "a.py")
        assert sorted(s.name for s in telemetry.spans()) == [
            "chunkscope.extract",
            "chunkscope.file",
            "chunkscope.parse",
        ]


class TestErrors:
    def test_parse_exception_recorded(self, telemetry: Telemetry) -> None:
        """An unknown language raises to the caller, with the exception on an ERROR span."""
        with pytest.raises(ValueError, match="unknown language"):
            chunkscope.parse(b"x", "cobol-77")
        (span,) = telemetry.by_name("chunkscope.parse")
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes["error.type"] == "ValueError"
        assert [e.name for e in span.events] == ["exception"]

    def test_extractor_failure_costs_one_file(
        self, telemetry: Telemetry, project: Path, break_extractor
    ) -> None:
        """A crashing extractor: the file errors, its spans are ERROR, the run goes on."""
        break_extractor("lib.go")
        results = _results(project)
        assert results["lib.go"].outcome == "error"
        assert results["a.py"].outcome == "chunked"
        files = {s.attributes["code.file.path"]: s for s in telemetry.by_name("chunkscope.file")}
        assert files["lib.go"].status.status_code is StatusCode.ERROR
        assert files["lib.go"].attributes["error.type"] == "RuntimeError"
        failed = [
            s
            for s in telemetry.by_name("chunkscope.extract")
            if s.status.status_code is StatusCode.ERROR
        ]
        assert len(failed) == 1 and failed[0].attributes["error.type"] == "RuntimeError"
        assert "extractor bug" not in str(failed[0].status.description)
