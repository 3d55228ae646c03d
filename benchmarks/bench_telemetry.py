"""What telemetry costs: steady state, start-up, whole runs and ``--jobs 2``, side by side.

Everything exports to a local OTLP/gRPC receiver (in this process) that accepts and discards,
with all three signals on and every root sampled. Four measures, each interleaved so that
load from anything else on the machine falls on every mode alike:

1. **Steady state.** Long-lived worker processes chunk the same folder (default: the Python
   stdlib) round after round: ``pristine`` (OpenTelemetry never imported), ``off`` (the
   instrumentation imported, instrumented and uninstrumented again), ``policy``
   (``CHUNKSCOPE_OTEL=1`` with the default file-span policy) and ``all``
   (``CHUNKSCOPE_OTEL_FILE_SPANS=all``: a span subtree for every file). Wall and CPU time
   (all threads, so the exporters' work counts). Each round ends by flushing the spans and
   logs it recorded, so their export is counted in the round that caused it and does not
   run on into the next worker's round.
2. **Start-up.** ``chunkscope chunk`` on one file as a whole process, telemetry on vs off:
   wall time and peak RSS added.
3. **Whole run.** ``chunkscope chunk`` on the folder as a whole process, default policy vs
   off, start-up and the final flush included.
4. **--jobs 2.** The same whole run with telemetry on, ``--jobs 2`` against one job.

Usage: ``python benchmarks/bench_telemetry.py [FOLDER] [--repeat N] [--workers N] [--json]``.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import socket
import statistics
import subprocess
import sys
import sysconfig
import threading
import time
from concurrent import futures
from typing import Any

MODES = ("pristine", "off", "policy", "all")

FLUSH = r"""
def flush_telemetry():
    # Export what this process recorded now: a round's spans and logs are its own cost, and
    # no exporter tail runs on into another worker's round.
    from opentelemetry import trace
    from opentelemetry._logs import get_logger_provider
    trace.get_tracer_provider().force_flush()
    get_logger_provider().force_flush()
"""
"""Worker-script source defining ``flush_telemetry()``, for every benchmark worker."""

_WORKER = (
    FLUSH
    + r"""
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
    if mode in ("policy", "all"):
        flush_telemetry()
    print(json.dumps({"seconds": time.perf_counter() - started, "bytes": size, "files": files,
                      "cpu": time.process_time() - cpu}), flush=True)
"""
)


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


class _HttpSink(http.server.BaseHTTPRequestHandler):
    """OTLP/HTTP: read the protobuf body, answer 200 with an empty (valid) response."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def start_http_sink(port: int) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _HttpSink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


PROTOCOL_CHOICE = ["http/protobuf"]
"""Set by ``--protocol``; the default is what ``CHUNKSCOPE_OTEL=1`` uses when none is set."""


def _env(mode: str, port: int, interval_ms: int) -> dict[str, str]:
    """The environment of a process in ``mode``: nothing of OTel unless it is on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "CHUNKSCOPE_"))}
    if mode in ("policy", "all"):
        env.update(
            CHUNKSCOPE_OTEL="1",
            OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}",
            OTEL_TRACES_SAMPLER="always_on",
            OTEL_METRIC_EXPORT_INTERVAL=str(interval_ms),
        )
        if PROTOCOL_CHOICE[0] != "http/protobuf":
            env["OTEL_EXPORTER_OTLP_PROTOCOL"] = PROTOCOL_CHOICE[0]
    if mode == "all":
        env["CHUNKSCOPE_OTEL_FILE_SPANS"] = "all"
    return env


def _spawn(mode: str, folder: str, port: int, interval_ms: int) -> subprocess.Popen[str]:
    env = _env(mode, port, interval_ms)
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


def _pct(value: float, base: float) -> float:
    return round((value / base - 1) * 100, 2)


def steady_state(
    folder: str, repeat: int, port: int, interval_ms: int, per_mode: int = 2
) -> dict[str, Any]:
    """Rounds of every mode, interleaved, on ``per_mode`` worker processes each.

    Several processes per mode because two processes running the same code differ by a
    percent or two (memory layout, hash seeds): one process per mode would charge that to
    the mode.
    """
    workers = {
        mode: [_spawn(mode, folder, port, interval_ms) for _ in range(per_mode)] for mode in MODES
    }
    samples: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    try:
        for mode in MODES:  # warm-up: grammars, queries, page cache
            for worker in workers[mode]:
                _round(worker)
        for index in range(repeat):
            for slot in range(per_mode):
                order = MODES if (index + slot) % 2 == 0 else tuple(reversed(MODES))
                for mode in order:
                    samples[mode].append(_round(workers[mode][slot]))
    finally:
        every = [worker for group in workers.values() for worker in group]
        for worker in every:
            if worker.stdin is not None:
                worker.stdin.close()
        for worker in every:
            worker.wait(timeout=60)
    seconds = {m: statistics.median(s["seconds"] for s in samples[m]) for m in MODES}
    cpu = {m: statistics.median(s["cpu"] for s in samples[m]) for m in MODES}
    size = samples["off"][0]["bytes"]
    return {
        "files": samples["off"][0]["files"],
        "megabytes": round(size / 1e6, 3),
        "median_mb_per_s": {m: round(size / 1e6 / seconds[m], 3) for m in MODES},
        "wall_pct_vs_off": {m: _pct(seconds[m], seconds["off"]) for m in MODES},
        "cpu_pct_vs_off": {m: _pct(cpu[m], cpu["off"]) for m in MODES},
        "off_vs_pristine_wall_pct": _pct(seconds["off"], seconds["pristine"]),
        "off_vs_pristine_cpu_pct": _pct(cpu["off"], cpu["pristine"]),
        "all_seconds": {m: [round(s["seconds"], 3) for s in samples[m]] for m in MODES},
    }


Job = tuple[list[str], dict[str, str]]
"""A ``chunkscope`` command line and its environment."""


def _cli(job: Job) -> tuple[float, float]:
    """Wall and CPU seconds of one ``chunkscope`` process."""
    args, env = job
    before = os.times()
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "chunkscope", *args],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - started
    after = os.times()
    cpu = (after.children_user + after.children_system) - (
        before.children_user + before.children_system
    )
    return wall, cpu


def _interleaved(jobs: dict[str, Job], repeat: int) -> dict[str, tuple[float, float]]:
    """Median wall and CPU seconds of each job, run in alternating order ``repeat`` times."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in jobs}
    names = list(jobs)
    for index in range(repeat):
        for name in names if index % 2 == 0 else list(reversed(names)):
            samples[name].append(_cli(jobs[name]))
    return {
        name: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
        for name, v in samples.items()
    }


def _peak_rss_mb(job: Job) -> float:
    """Peak RSS of one ``chunkscope`` process, read by a fresh parent (RUSAGE_CHILDREN)."""
    args, env = job
    code = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
        "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, sys.executable, "-m", "chunkscope", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout.strip()) / 1024


def whole_processes(folder: str, repeat: int, port: int, interval_ms: int) -> dict[str, Any]:
    off, on = _env("off", port, interval_ms), _env("policy", port, interval_ms)
    candidate = os.path.join(folder, "os.py")
    one_file = candidate if os.path.isfile(candidate) else folder
    small = ["chunk", one_file, "--output", os.devnull]
    big = ["chunk", folder, "--output", os.devnull]
    startup = _interleaved({"off": (small, off), "on": (small, on)}, max(repeat * 3, 6))
    rss = {"off": _peak_rss_mb((small, off)), "on": _peak_rss_mb((small, on))}
    whole = _interleaved({"off": (big, off), "on": (big, on)}, repeat)
    jobs = _interleaved({"one job": (big, on), "jobs 2": ([*big, "--jobs", "2"], on)}, repeat)
    return {
        "startup_ms": {k: round(w * 1000, 1) for k, (w, _) in startup.items()},
        "startup_added_ms": round((startup["on"][0] - startup["off"][0]) * 1000, 1),
        "startup_peak_rss_mb": {k: round(v, 1) for k, v in rss.items()},
        "startup_added_rss_mb": round(rss["on"] - rss["off"], 1),
        "whole_run_seconds": {k: round(w, 3) for k, (w, _) in whole.items()},
        "whole_run_wall_pct": _pct(whole["on"][0], whole["off"][0]),
        "whole_run_cpu_pct": _pct(whole["on"][1], whole["off"][1]),
        "jobs2_speedup_with_telemetry": round(jobs["one job"][0] / jobs["jobs 2"][0], 2),
    }


def run(folder: str, repeat: int, interval_ms: int, per_mode: int = 2) -> dict[str, Any]:
    port = _free_port()
    grpc_sink = start_sink(port) if PROTOCOL_CHOICE[0] == "grpc" else None
    http_sink = None if grpc_sink else start_http_sink(port)
    try:
        report: dict[str, Any] = {"folder": folder, "repeat": repeat}
        report["protocol"] = PROTOCOL_CHOICE[0]
        report["steady_state"] = steady_state(folder, repeat, port, interval_ms, per_mode)
        report["processes"] = whole_processes(folder, repeat, port, interval_ms)
    finally:
        if grpc_sink is not None:
            grpc_sink.stop(grace=None)
        if http_sink is not None:
            http_sink.shutdown()
    return report


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
    parser.add_argument("--protocol", choices=("http/protobuf", "grpc"), default=PROTOCOL_CHOICE[0])
    parser.add_argument(
        "--workers", type=int, default=2, help="worker processes per mode in the steady state"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    PROTOCOL_CHOICE[0] = args.protocol
    report = run(args.folder, args.repeat, args.interval_ms, args.workers)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    st, pr = report["steady_state"], report["processes"]
    print(
        f"{report['folder']}: {st['files']} files, {st['megabytes']} MB, {args.repeat} rounds, "
        f"OTLP {PROTOCOL_CHOICE[0]} to a local sink"
    )
    print("steady state (long-lived processes), median of interleaved rounds:")
    for mode in MODES:
        print(
            f"  {mode:9s} {st['median_mb_per_s'][mode]:8.3f} MB/s   "
            f"wall {st['wall_pct_vs_off'][mode]:+6.2f} %   CPU {st['cpu_pct_vs_off'][mode]:+6.2f} %"
            "  (vs off)"
        )
    print(
        f"  off vs pristine: wall {st['off_vs_pristine_wall_pct']:+.2f} %, "
        f"CPU {st['off_vs_pristine_cpu_pct']:+.2f} %"
    )
    print("whole processes (chunkscope chunk), telemetry on = default policy:")
    print(
        f"  start-up, one file: {pr['startup_ms']} ms -> +{pr['startup_added_ms']} ms, "
        f"peak RSS {pr['startup_peak_rss_mb']} MB -> +{pr['startup_added_rss_mb']} MB"
    )
    print(
        f"  whole run on the folder: {pr['whole_run_seconds']} s -> wall "
        f"{pr['whole_run_wall_pct']:+.2f} %, CPU {pr['whole_run_cpu_pct']:+.2f} %"
    )
    print(f"  --jobs 2 vs one job, telemetry on: {pr['jobs2_speedup_with_telemetry']:.2f} x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
