"""What the treesitter-chunker instrumentation costs treesitter-chunker itself.

The corpus is the one ``bench_telemetry.py`` uses (default: the Python stdlib, walked as
``chunkscope chunk`` walks it), its Python files chunked with treesitter-chunker's own
``chunker.chunk_file(path, "python")``. Long-lived worker processes chunk it in interleaved
rounds, so load from anything else on the machine falls on all of them alike:

* ``pristine``: only ``import chunker``; OpenTelemetry is never imported;
* ``off``: the instrumentation imported, instrumented and uninstrumented again;
* ``policy``: ``CHUNKSCOPE_OTEL=1`` and ``import chunkscope`` before ``import chunker``, the
  default file-span policy, all three signals exported over OTLP (``bench_telemetry``'s
  environment and local sinks that discard; OTLP/HTTP unless ``--protocol grpc``);
* ``all``: as ``policy`` with ``CHUNKSCOPE_OTEL_FILE_SPANS=all``, every file's spans kept.

Usage: ``python benchmarks/bench_treesitter_chunker.py [FOLDER] [--repeat N] [--limit N]
[--modes pristine,off,policy,all] [--protocol http/protobuf|grpc] [--fresh]
[--policy-file-spans none] [--json]``.
``--fresh`` starts a new worker process for every round (after a 20-file warm-up in it).
Prints median seconds per mode, by wall time and by the process's CPU time (all threads, so
exporters count; steadier on a busy machine), and the overheads of ``policy`` and ``all``
against ``off`` and ``pristine``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_telemetry
from bench_telemetry import (
    FLUSH,
    MODES,
    _env,
    _free_port,
    _pct,
    _round,
    start_http_sink,
    start_sink,
)

_WORKER = (
    FLUSH
    + r"""
import json, sys, time
mode, listing = sys.argv[1], sys.argv[2]
if mode == "off":
    from opentelemetry.instrumentation.treesitter_chunker import TreesitterChunkerInstrumentor
    TreesitterChunkerInstrumentor().instrument()
    TreesitterChunkerInstrumentor().uninstrument()
if mode in ("policy", "all"):
    import chunkscope  # CHUNKSCOPE_OTEL=1: treesitter-chunker is instrumented when imported
import chunker
if mode == "pristine":
    assert not any(m.startswith("opentelemetry") for m in sys.modules), "pristine imported otel"
if mode in ("policy", "all"):
    assert type(chunker.core.chunk_text).__name__ == "FunctionWrapper", "not instrumented"
with open(listing) as fh:
    files = fh.read().splitlines()
for path in files[:20]:  # warm-up: grammar, first-call caches
    chunker.chunk_file(path, "python")
for line in sys.stdin:
    started, cpu = time.perf_counter(), time.process_time()
    chunks = errors = 0
    for path in files:
        try:
            chunks += len(chunker.chunk_file(path, "python"))
        except Exception:
            errors += 1
    if mode in ("policy", "all"):
        flush_telemetry()
    print(json.dumps({"seconds": time.perf_counter() - started, "chunks": chunks,
                      "errors": errors, "cpu": time.process_time() - cpu}), flush=True)
"""
)


def python_files(folder: str, limit: int | None) -> list[str]:
    """The Python files ``chunkscope chunk FOLDER`` would chunk, in its order."""
    from chunkscope.model import ChunkOptions
    from chunkscope.walker import walk

    found = [
        e.path
        for e in walk([folder], ChunkOptions())
        if e.skip is None and e.error is None and e.path.endswith(".py")
    ]
    return found[:limit] if limit else found


POLICY_FILE_SPANS: list[str | None] = [None]
"""Set by ``--policy-file-spans``: ``CHUNKSCOPE_OTEL_FILE_SPANS`` for the ``policy`` worker."""


def _spawn(mode: str, listing: str, port: int) -> subprocess.Popen[str]:
    env = _env(mode, port, 10000)
    if mode == "policy" and POLICY_FILE_SPANS[0]:
        env["CHUNKSCOPE_OTEL_FILE_SPANS"] = POLICY_FILE_SPANS[0]
    return subprocess.Popen(
        [sys.executable, "-c", _WORKER, mode, listing],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )


def _close(worker: subprocess.Popen[str]) -> None:
    if worker.stdin is not None and not worker.stdin.closed:
        worker.stdin.close()
    worker.wait(timeout=120)


def run(
    folder: str, repeat: int, limit: int | None, modes: tuple[str, ...], fresh: bool = False
) -> dict[str, Any]:
    """``fresh``: a new worker process for every round, so a process's own luck (memory
    layout, the CPU it lands on) averages out over rounds instead of sticking to one mode."""
    files = python_files(folder, limit)
    port = _free_port()
    grpc = bench_telemetry.PROTOCOL_CHOICE[0] == "grpc"
    grpc_sink = start_sink(port) if grpc else None
    http_sink = None if grpc else start_http_sink(port)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("\n".join(files))
        listing = fh.name
    samples: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    workers: dict[str, subprocess.Popen[str]] = {}
    try:
        if fresh:
            for index in range(repeat):
                order = modes if index % 2 == 0 else tuple(reversed(modes))
                for mode in order:
                    workers[mode] = worker = _spawn(mode, listing, port)
                    samples[mode].append(_round(worker))
                    _close(worker)
        else:
            workers = {mode: _spawn(mode, listing, port) for mode in modes}
            for mode in modes:  # warm-up: page cache, allocator
                _round(workers[mode])
            for index in range(repeat):
                order = modes if index % 2 == 0 else tuple(reversed(modes))
                for mode in order:
                    samples[mode].append(_round(workers[mode]))
    finally:
        for worker in workers.values():
            _close(worker)
        if grpc_sink is not None:
            grpc_sink.stop(grace=None)
        if http_sink is not None:
            http_sink.shutdown()
        os.unlink(listing)
    seconds = {m: statistics.median(s["seconds"] for s in samples[m]) for m in modes}
    cpu = {m: statistics.median(s["cpu"] for s in samples[m]) for m in modes}
    chunks = {m: samples[m][0]["chunks"] for m in modes}
    assert len(set(chunks.values())) == 1, f"modes produced different chunk counts: {chunks}"
    report: dict[str, Any] = {
        "folder": folder,
        "files": len(files),
        "chunks": next(iter(chunks.values())),
        "errors": samples[modes[0]][0]["errors"],
        "repeat": repeat,
        "protocol": bench_telemetry.PROTOCOL_CHOICE[0],
        "fresh_processes": fresh,
        "policy_file_spans": POLICY_FILE_SPANS[0] or "policy",
        "median_seconds": {m: round(seconds[m], 3) for m in modes},
        "median_cpu_seconds": {m: round(cpu[m], 3) for m in modes},
        "all_seconds": {m: [round(s["seconds"], 3) for s in samples[m]] for m in modes},
        "all_cpu_seconds": {m: [round(s["cpu"], 3) for s in samples[m]] for m in modes},
        "overhead_pct": {},
    }
    for measured in ("policy", "all"):
        for base in ("off", "pristine"):
            if measured in modes and base in modes:
                report["overhead_pct"][f"{measured} vs {base}"] = {
                    "wall": _pct(seconds[measured], seconds[base]),
                    "cpu": _pct(cpu[measured], cpu[base]),
                }
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=sysconfig.get_paths()["stdlib"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="only the first N files")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--protocol", choices=("http/protobuf", "grpc"), default="http/protobuf")
    parser.add_argument("--fresh", action="store_true", help="a new worker process for every round")
    parser.add_argument(
        "--policy-file-spans",
        choices=("policy", "all", "none"),
        default=None,
        help="CHUNKSCOPE_OTEL_FILE_SPANS of the policy worker (none: metrics and logs only)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    POLICY_FILE_SPANS[0] = args.policy_file_spans
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    bench_telemetry.PROTOCOL_CHOICE[0] = args.protocol
    report = run(args.folder, args.repeat, args.limit, modes, args.fresh)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"{report['folder']}: {report['files']} Python files, {report['chunks']} chunks "
        f"({report['errors']} files raised), {report['repeat']} interleaved rounds, "
        f"OTLP {report['protocol']} to a local sink"
    )
    for mode in modes:
        print(
            f"  {mode:9s} median wall {report['median_seconds'][mode]:8.3f} s   "
            f"CPU {report['median_cpu_seconds'][mode]:8.3f} s"
        )
    for name, pct in report["overhead_pct"].items():
        print(f"  overhead {name:18s} wall {pct['wall']:+6.2f} %   CPU {pct['cpu']:+6.2f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
