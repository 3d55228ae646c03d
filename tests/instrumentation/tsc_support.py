"""Shared by the treesitter-chunker tests: real Python and JavaScript sources on this machine,
and treesitter-chunker instrumented with in-memory pipelines."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sysconfig
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.instrumentation.treesitter_chunker import TreesitterChunkerInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otel_support import Telemetry

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def python_files(count: int, max_bytes: int = 40_000) -> list[Path]:
    """Real Python modules from the standard library, small enough to keep tests quick."""
    found = [p for p in sorted(STDLIB.glob("*.py")) if 0 < p.stat().st_size <= max_bytes]
    return found[:count]


def npm_lib() -> Path:
    """npm's own JavaScript sources: real code that any machine with node's tools has."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(
            "npm not found on PATH: the JavaScript corpus is npm's own sources "
            "(node's npm, which tests/run.sh also needs for the LogQL parser)",
            pytrace=False,
        )
    lib = Path(os.path.realpath(npm)).parents[1] / "lib"
    assert lib.is_dir(), lib
    return lib


def javascript_files(count: int, max_bytes: int = 40_000) -> list[Path]:
    found = [p for p in sorted(npm_lib().rglob("*.js")) if 0 < p.stat().st_size <= max_bytes]
    return found[:count]


def copy_tree(files: Iterable[Path], target: Path) -> Path:
    """Copies with unique names into one folder: a directory run over known files."""
    target.mkdir(parents=True, exist_ok=True)
    for index, path in enumerate(files):
        shutil.copy(path, target / f"{index:03d}_{path.name}")
    return target


def as_data(chunks: Iterable[Any]) -> list[dict[str, Any]]:
    """Every field of every chunk, for exact comparisons."""
    return [dataclasses.asdict(chunk) for chunk in chunks]


def instrumented() -> tuple[TreesitterChunkerInstrumentor, Telemetry]:
    """treesitter-chunker instrumented with in-memory span and metric pipelines."""
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    instrumentor = TreesitterChunkerInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    telemetry = Telemetry(spans, reader, None, tracer_provider, meter_provider, None)  # type: ignore[arg-type]
    return instrumentor, telemetry
