"""What telemetry costs: chunking throughput with it off, on, and never imported.

Three long-lived worker processes chunk the same folder (default: the Python stdlib) in
interleaved rounds, so load from anything else on the machine falls on all three alike:

* ``pristine``: ``CHUNKSCOPE_OTEL`` unset; OpenTelemetry is never imported;
* ``off``: the instrumentation imported, instrumented and uninstrumented again;
* ``on``: ``CHUNKSCOPE_OTEL=1``, all three signals, 100 % sampled, OTLP/gRPC to a local
  receiver (in this process) that accepts and discards everything.

Usage: ``python benchmarks/bench_telemetry.py [FOLDER] [--repeat N] [--interval-ms MS]``.
Prints the median MB/s of each mode and the overheads, by wall time and by the process's
CPU time (all threads, so the exporters' work counts; steadier on a busy machine);
``--json`` for machine output.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import sysconfig
from concurrent import futures
from typing import Any

_WORKER = r"""
import json, os, sys, time
mode = sys.argv[1]
if mode == "off":
    from opentelemetry.instrumentation.chunkscope import ChunkscopeInstrumentor
    ChunkscopeInstrumentor().instrument()
    ChunkscopeInstrumentor().uninstrument()
import chunkscope
if mode == "pristine":
    assert not any(m.startswith("opentelemetry") for m in sys.modules), "pristine imported otel"
folder = sys.argv[2]
for line in sys.stdin:
    started, cpu = time.perf_counter(), time.process_time()
    size = files = 0
    for result in chunkscope.chunk_paths([folder]):
        size += result.size if result.outcome == "chunked" else 0
        files += 1
    print(json.dumps({"seconds": time.perf_counter() - started, "bytes": size, "files": files,
                      "cpu": time.process_time() - cpu}), flush=True)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_sink(port: int) -> Any:
    """A local OTLP/gRPC receiver for all three signals that accepts and discards."""
    import grpc
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
    from opentelemetry.proto.collector.metrics.v1 import (
        metrics_service_pb2,
        metrics_service_pb2_grpc,
    )
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

    class Traces(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request: Any, context: Any) -> Any:
            return trace_service_pb2.ExportTraceServiceResponse()

    class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
        def Export(self, request: Any, context: Any) -> Any:
            return metrics_service_pb2.ExportMetricsServiceResponse()

    class Logs(logs_service_pb2_grpc.LogsServiceServicer):
        def Export(self, request: Any, context: Any) -> Any:
            return logs_service_pb2.ExportLogsServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), server)
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(Logs(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server


def _spawn(mode: str, folder: str, port: int, interval_ms: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "CHUNKSCOPE_"))}
    if mode == "on":
        env.update(
            CHUNKSCOPE_OTEL="1",
            OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}",
            OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
            OTEL_TRACES_SAMPLER="always_on",
            OTEL_METRIC_EXPORT_INTERVAL=str(interval_ms),
        )
    return subprocess.Popen(
        [sys.executable, "-c", _WORKER, mode, folder],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def _round(worker: subprocess.Popen[str]) -> dict[str, float]:
    assert worker.stdin is not None and worker.stdout is not None
    worker.stdin.write("run\n")
    worker.stdin.flush()
    line = worker.stdout.readline()
    if not line:
        raise RuntimeError("benchmark worker died")
    return json.loads(line)


def run(folder: str, repeat: int, interval_ms: int) -> dict[str, Any]:
    port = _free_port()
    sink = start_sink(port)
    modes = ("pristine", "off", "on")
    workers = {mode: _spawn(mode, folder, port, interval_ms) for mode in modes}
    samples: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    try:
        for mode in modes:  # warm-up: grammars, queries, page cache
            _round(workers[mode])
        for index in range(repeat):
            order = modes if index % 2 == 0 else tuple(reversed(modes))
            for mode in order:
                samples[mode].append(_round(workers[mode]))
    finally:
        for worker in workers.values():
            if worker.stdin is not None:
                worker.stdin.close()
        for worker in workers.values():
            worker.wait(timeout=60)
        sink.stop(grace=None)
    seconds = {m: statistics.median(s["seconds"] for s in samples[m]) for m in modes}
    cpu = {m: statistics.median(s["cpu"] for s in samples[m]) for m in modes}
    size = samples["on"][0]["bytes"]
    return {
        "folder": folder,
        "files": samples["on"][0]["files"],
        "megabytes": round(size / 1e6, 3),
        "repeat": repeat,
        "median_mb_per_s": {m: round(size / 1e6 / seconds[m], 3) for m in modes},
        "median_seconds": {m: round(seconds[m], 3) for m in modes},
        "overhead_on_vs_off_pct": round((seconds["on"] / seconds["off"] - 1) * 100, 2),
        "overhead_off_vs_pristine_pct": round((seconds["off"] / seconds["pristine"] - 1) * 100, 2),
        "median_cpu_seconds": {m: round(cpu[m], 3) for m in modes},
        "cpu_overhead_on_vs_off_pct": round((cpu["on"] / cpu["off"] - 1) * 100, 2),
        "cpu_overhead_off_vs_pristine_pct": round((cpu["off"] / cpu["pristine"] - 1) * 100, 2),
        "all_seconds": {m: [round(s["seconds"], 3) for s in samples[m]] for m in modes},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=sysconfig.get_paths()["stdlib"])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--interval-ms",
        type=int,
        default=10000,
        help="OTEL_METRIC_EXPORT_INTERVAL for the 'on' worker",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = run(args.folder, args.repeat, args.interval_ms)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"{report['folder']}: {report['files']} files, {report['megabytes']} MB, "
        f"{report['repeat']} interleaved rounds"
    )
    for mode, rate in report["median_mb_per_s"].items():
        print(f"  {mode:9s} {rate:8.3f} MB/s  (median {report['median_seconds'][mode]} s)")
    print(f"  overhead on vs off:        {report['overhead_on_vs_off_pct']:+.2f} %")
    print(f"  overhead off vs pristine:  {report['overhead_off_vs_pristine_pct']:+.2f} %")
    print(
        f"  CPU time (all threads) on vs off:       {report['cpu_overhead_on_vs_off_pct']:+.2f} %"
    )
    print(
        f"  CPU time (all threads) off vs pristine: "
        f"{report['cpu_overhead_off_vs_pristine_pct']:+.2f} %"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
