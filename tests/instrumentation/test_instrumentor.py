"""ChunkscopeInstrumentor: round trip, suppression, no-op providers, safety, path modes."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import wrapt
from opentelemetry._logs import NoOpLoggerProvider
from opentelemetry.instrumentation.chunkscope import ChunkscopeInstrumentor
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NoOpTracerProvider
from otel_support import Telemetry

import chunkscope
from chunkscope import extractor, parser, pipeline

WRAPPED = [
    (parser, "parse"),
    (extractor, "extract"),
    (pipeline, "chunk_source"),
    (pipeline, "chunk_file"),
    (pipeline, "chunk_paths"),
    (chunkscope, "parse"),
    (chunkscope, "extract"),
    (chunkscope, "chunk_source"),
    (chunkscope, "chunk_file"),
    (chunkscope, "chunk_paths"),
]


def _chunks(project: Path) -> list[Any]:
    return [(r.path, r.outcome, r.chunks) for r in chunkscope.chunk_paths([project])]


class TestRoundTrip:
    def test_uninstrument_restores_originals(self) -> None:
        """instrument() wraps every hook; uninstrument() puts the very same functions back."""
        originals = {(m.__name__, n): getattr(m, n) for m, n in WRAPPED}
        instrumentor = ChunkscopeInstrumentor()
        instrumentor.instrument(tracer_provider=TracerProvider())
        try:
            for module, name in WRAPPED:
                assert isinstance(getattr(module, name), wrapt.FunctionWrapper), name
        finally:
            instrumentor.uninstrument()
        for module, name in WRAPPED:
            assert getattr(module, name) is originals[(module.__name__, name)], name

    def test_no_spans_after_uninstrument(self, project: Path) -> None:
        """Once uninstrumented, chunking produces no spans at all."""
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        instrumentor = ChunkscopeInstrumentor()
        instrumentor.instrument(tracer_provider=provider)
        instrumentor.uninstrument()
        _chunks(project)
        assert exporter.get_finished_spans() == ()

    def test_reinstrument_counts_once(self, telemetry: Telemetry, project: Path) -> None:
        """Instrumenting again with the same meter provider does not double the counters."""
        instrumentor = ChunkscopeInstrumentor()
        instrumentor.uninstrument()
        instrumentor.instrument(
            tracer_provider=telemetry.tracer_provider,
            meter_provider=telemetry.meter_provider,
            logger_provider=telemetry.logger_provider,
        )
        chunkscope.chunk_file(project / "a.py")
        files = telemetry.metrics()["chunkscope.files"].data.data_points
        assert sum(p.value for p in files) == 1
        assert len(telemetry.by_name("chunkscope.file")) == 1

    def test_same_chunks_with_and_without(self, telemetry: Telemetry, project: Path) -> None:
        """Instrumentation does not change a single chunk."""
        instrumented = _chunks(project)
        ChunkscopeInstrumentor().uninstrument()
        try:
            assert _chunks(project) == instrumented
        finally:
            ChunkscopeInstrumentor().instrument(
                tracer_provider=telemetry.tracer_provider,
                meter_provider=telemetry.meter_provider,
                logger_provider=telemetry.logger_provider,
            )


def _measured(telemetry: Telemetry) -> dict[str, float]:
    """Per metric, the sum of its points' values (counters) or counts (histograms)."""
    totals: dict[str, float] = {}
    for name, metric in telemetry.metrics().items():
        points = metric.data.data_points
        totals[name] = sum(getattr(p, "value", None) or getattr(p, "count", 0) for p in points)
    return totals


class TestSuppressionAndNoop:
    def test_suppress_instrumentation(self, telemetry: Telemetry, project: Path) -> None:
        """Inside suppress_instrumentation() nothing is traced, measured or changed."""
        with suppress_instrumentation():
            results = _chunks(project)
        assert results
        assert telemetry.spans() == []
        assert "chunkscope.parse.duration" not in telemetry.metrics()

    def test_noop_providers(self, telemetry: Telemetry, project: Path) -> None:
        """Re-instrumented with no-op providers, the chunker works and nothing is recorded,
        not even in the SDK providers it was instrumented with before."""
        plain = _chunks(project)
        instrumentor = ChunkscopeInstrumentor()
        instrumentor.uninstrument()
        instrumentor.instrument(
            tracer_provider=NoOpTracerProvider(),
            meter_provider=NoOpMeterProvider(),
            logger_provider=NoOpLoggerProvider(),
        )
        telemetry.spans_exporter.clear()
        telemetry.logs_exporter.clear()
        before = _measured(telemetry)
        assert before["chunkscope.files"] > 0  # the SDK providers did record the first run
        try:
            results = _chunks(project)
        finally:
            instrumentor.uninstrument()
        assert results == plain
        assert telemetry.spans() == []
        assert telemetry.logs() == []
        assert _measured(telemetry) == before


class _BrokenTracer:
    def start_span(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("tracer bug")


class _BrokenProvider:
    def get_tracer(self, *args: Any, **kwargs: Any) -> Any:
        return _BrokenTracer()


class TestSafety:
    def test_instrumentation_errors_never_reach_the_caller(
        self, project: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A tracer that raises on every call: same chunks, one warning, no exception."""
        from opentelemetry.instrumentation.chunkscope import _safety

        expected = _chunks(project)
        monkey_reported = _safety._reported
        _safety._reported = False
        instrumentor = ChunkscopeInstrumentor()
        instrumentor.instrument(tracer_provider=_BrokenProvider())
        try:
            with caplog.at_level("WARNING", logger="opentelemetry.instrumentation.chunkscope"):
                assert _chunks(project) == expected
                assert chunkscope.parse(b"x = 1\n", "python").root_node.type == "module"
        finally:
            instrumentor.uninstrument()
            _safety._reported = monkey_reported
        warnings = [r for r in caplog.records if "telemetry error" in r.getMessage()]
        assert len(warnings) == 1


class TestPathModes:
    @pytest.mark.parametrize("mode", ["hash", "none"])
    def test_path_mode(self, mode: str, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """CHUNKSCOPE_OTEL_PATHS=hash shows a digest, =none leaves the path out."""
        monkeypatch.setenv("CHUNKSCOPE_OTEL_PATHS", mode)
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        instrumentor = ChunkscopeInstrumentor()
        instrumentor.instrument(tracer_provider=provider)
        try:
            chunkscope.chunk_file(project / "a.py")
        finally:
            instrumentor.uninstrument()
        spans = exporter.get_finished_spans()
        shown = {s.attributes.get("code.file.path") for s in spans} - {None}
        if mode == "none":
            assert shown == set()
        else:
            digest = hashlib.blake2b(b"a.py", digest_size=8).hexdigest()
            assert shown == {digest}


class TestUsageDoc:
    def test_module_docstring_example_runs(self, capsys: pytest.CaptureFixture[str]) -> None:
        """The example in the package docstring runs and prints what its comment says."""
        import textwrap

        import opentelemetry.instrumentation.chunkscope as package

        doc = package.__doc__ or ""
        code = textwrap.dedent(doc.split("::\n\n", 1)[1].split("\n\n``instrument()``", 1)[0])
        expected = next(line for line in code.splitlines() if line.startswith("# ["))[2:]
        exec(compile(code, "docstring-example", "exec"), {})
        assert capsys.readouterr().out.strip() == expected
