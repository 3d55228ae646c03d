"""Fixtures for the instrumentation tests: in-memory SDK pipelines, a known source tree,
and a way to run chunkscope in a fresh process with a controlled environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.instrumentation.chunkscope import ChunkscopeInstrumentor
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

CANARY = "CANARY_e41b7f_do_not_export"
"""Appears in the sample sources (as code, comment and string); must never be exported."""

SOURCES: dict[str, bytes] = {
    "pkg/a.py": (
        b"# " + CANARY.encode() + b"\n"
        b"def f():\n    return '" + CANARY.encode() + b"'\n\n\n"
        b"class C:\n    def m(self):\n        return 2\n"
    ),
    "pkg/broken.py": b"def broken(:\n    pass\n\n\ndef fine():\n    return 1\n",
    "pkg/lib.go": b"package main\n\nfunc Add(a, b int) int { return a + b }\n",
    "pkg/data.bin": b"\x00\x01\x02" + CANARY.encode(),
    "pkg/empty.py": b"",
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small tree: two Python files (one with a syntax error), Go, binary and empty files."""
    for rel, data in SOURCES.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return tmp_path / "pkg"


@dataclass
class Telemetry:
    spans_exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    logs_exporter: InMemoryLogRecordExporter
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    logger_provider: LoggerProvider

    def spans(self) -> list[ReadableSpan]:
        return list(self.spans_exporter.get_finished_spans())

    def by_name(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans() if s.name == name]

    def metrics(self) -> dict[str, Any]:
        data = self.reader.get_metrics_data()
        found: dict[str, Any] = {}
        if data is None:
            return found
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    found[metric.name] = metric
        return found

    def logs(self) -> list[Any]:
        return [data.log_record for data in self.logs_exporter.get_finished_logs()]


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


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without any OTEL_* or CHUNKSCOPE_* setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "CHUNKSCOPE_"))}
    env.update(extra)
    return env


def run_python(
    code: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout
    )


def run_cli(
    args: list[str], env: dict[str, str], timeout: float = 120, prefix: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``chunkscope ARGS`` in a fresh process (optionally behind ``prefix``)."""
    script = shutil.which("chunkscope")
    assert script is not None, "the chunkscope console script is not installed"
    command = [*(prefix or []), script, *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
