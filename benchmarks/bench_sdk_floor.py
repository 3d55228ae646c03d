"""The floor of telemetry cost: bare OpenTelemetry SDK calls per file, against chunking a file.

The telemetry budget is at most 3 % overhead with three spans per file (file, parse,
extract) and four histogram records per file, 100 % sampled and exported. Whatever the
instrumentation does, it cannot cost less than the SDK calls it must make. This script
measures, in one process, with no chunkscope instrumentation at all:

* ``warm``: CPU per file of exactly those SDK calls in a tight loop (a file span with two
  child spans and the contract's attributes, four histogram records with an exemplar context,
  a batch span processor and the stock OTLP protobuf encoder, serialised and dropped);
* ``interleaved``: ``chunk_paths`` over a folder (default: the Python stdlib) making the
  same calls after every file, against ``chunk_paths`` alone, in alternating rounds. This is
  the real floor: between two parses the SDK's code and data are cold, and it costs more.

Usage: ``python benchmarks/bench_sdk_floor.py [FOLDER] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import statistics
import sysconfig
import time
from collections.abc import Callable, Sequence
from typing import Any


def sdk_calls() -> tuple[Callable[[], None], Callable[[], None]]:
    """One file's worth of bare SDK calls, and a flush that waits for their export."""
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class EncodeAndDrop(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            encode_spans(spans).SerializeToString()
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(EncodeAndDrop()))
    tracer = provider.get_tracer("floor")
    meter = MeterProvider(metric_readers=[InMemoryMetricReader()]).get_meter("floor")
    histograms = [meter.create_histogram(f"h{i}", unit="s") for i in range(4)]
    lang = {"chunkscope.language": "python"}
    outcome = {"chunkscope.language": "python", "chunkscope.outcome": "ok"}
    file_attrs: dict[str, Any] = {
        "code.file.path": "pkg/module.py",
        "chunkscope.language": "python",
        "chunkscope.outcome": "chunked",
        "chunkscope.file.size": 12345,
        "chunkscope.chunk.count": 34,
    }
    stages: tuple[tuple[str, dict[str, Any]], ...] = (
        (
            "chunkscope.parse",
            {
                "chunkscope.language": "python",
                "chunkscope.parse.has_error": False,
                "chunkscope.tree.node_count": 4321,
            },
        ),
        ("chunkscope.extract", {"chunkscope.language": "python", "chunkscope.chunk.count": 34}),
    )

    def one_file() -> None:
        span = tracer.start_span("chunkscope.file")
        ctx = trace.set_span_in_context(span)
        for name, attrs in stages:
            child = tracer.start_span(name, context=ctx)
            child.set_attributes(attrs)
            child.end()
        span.set_attributes(file_attrs)
        span.end()
        histograms[0].record(0.001, outcome, ctx)
        histograms[1].record(0.001, lang, ctx)
        histograms[2].record(0.002, outcome, ctx)
        histograms[3].record(300.0, lang, ctx)

    def flush() -> None:
        provider.force_flush()

    return one_file, flush


def chunk_round(folder: str, after_file: Callable[[], None] | None) -> tuple[float, int]:
    """CPU seconds (all threads) to chunk ``folder``, calling ``after_file`` per chunked file."""
    import chunkscope

    started = time.process_time()
    files = 0
    for result in chunkscope.chunk_paths([folder]):
        if result.outcome == "chunked":
            files += 1
            if after_file is not None:
                after_file()
    return time.process_time() - started, files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=sysconfig.get_paths()["stdlib"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    one_file, flush = sdk_calls()
    chunk_round(args.folder, None)  # warm-up: grammars, page cache
    plain: list[float] = []
    with_sdk: list[float] = []
    warm: list[float] = []
    files = 0
    for index in range(args.repeat):
        for mode in ("plain", "sdk") if index % 2 == 0 else ("sdk", "plain"):
            if mode == "plain":
                seconds, files = chunk_round(args.folder, None)
                plain.append(seconds)
            else:
                seconds, files = chunk_round(args.folder, one_file)
                started = time.process_time()
                flush()
                with_sdk.append(seconds + time.process_time() - started)
        started = time.process_time()
        for _ in range(files):
            one_file()
        flush()
        warm.append((time.process_time() - started) / files)
    chunk_s, sdk_s = statistics.median(plain), statistics.median(with_sdk)
    per_file_us = chunk_s / files * 1e6
    warm_us = statistics.median(warm) * 1e6
    print(f"{args.folder}: {files} chunked files, {args.repeat} alternating rounds, CPU time")
    print(f"  chunking alone              {chunk_s:7.3f} s  ({per_file_us:.0f} us per file)")
    print(f"  + bare SDK calls per file   {sdk_s:7.3f} s  ({(sdk_s / chunk_s - 1) * 100:+.1f} %)")
    print(
        f"  the same calls, warm loop   {warm_us:7.1f} us per file "
        f"({warm_us / per_file_us * 100:.1f} % of chunking)"
    )
    print("  telemetry budget: 3 %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
