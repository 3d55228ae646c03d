"""Fixtures for the instrumentation tests: in-memory SDK pipelines, a known source tree,
and a way to run chunkscope in a fresh process with a controlled environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.instrumentation.chunkscope import ChunkscopeInstrumentor
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otel_support import SOURCES, Telemetry


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small tree: two Python files (one with a syntax error), Go, binary and empty files."""
    for rel, data in SOURCES.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return tmp_path / "pkg"


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    """chunkscope instrumented with in-memory span, metric and log pipelines (TestBase-style)."""
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    logs = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    instrumentor = ChunkscopeInstrumentor()
    instrumentor.instrument(
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
    )
    try:
        yield Telemetry(spans, reader, logs, tracer_provider, meter_provider, logger_provider)
    finally:
        instrumentor.uninstrument()
