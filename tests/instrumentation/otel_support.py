"""Shared by the instrumentation tests: a known source tree with a canary that must never be
exported, in-memory SDK pipelines, and a way to run chunkscope in a fresh process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
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
