"""Telemetry's steady-state cost in instructions executed: a figure the machine's load cannot move.

CPU and wall time on a shared machine move by several percent between two processes running
the same code; the number of instructions does not. This runs ``chunk_paths`` on a set of
stdlib folders under ``valgrind --tool=callgrind``, telemetry off and on (the default policy,
exporting over OTLP/HTTP to a local sink), for one round and for three. The difference
between three rounds and one is two rounds of steady state, with start-up and the final
flush cancelled out; on against off is the telemetry's share of the work.

Under valgrind a round takes about fifty times longer, so everything driven by the wall clock
is set to what it does in a native run: the metric reader and the batch processors export
only when flushed at the end (natively they run every 10 and 5 seconds, a few times per
run), the slow-file rule is off (natively a handful of files), and the per-second reservoir
is replaced by the share of files it keeps natively (``--kept``, default 3 %: 10 files per
second plus 1 % of the rest on the stdlib).

It measures work, not time: cache misses, which make the same work cost more between parses
than in a warm loop, are not counted. Usage: ``python benchmarks/bench_instructions.py
[FOLDER ...] [--kept 0.03]`` (a few minutes; needs valgrind).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_telemetry import FLUSH, _env, _free_port, start_http_sink

_LOOP = (
    FLUSH
    + r"""
import os, sys
import chunkscope
for _ in range(int(sys.argv[1])):
    for _result in chunkscope.chunk_paths(sys.argv[2:]):
        pass
if os.environ.get("CHUNKSCOPE_OTEL"):
    flush_telemetry()
"""
)
_STDLIB = sysconfig.get_paths()["stdlib"]
DEFAULT_FOLDERS = [os.path.join(_STDLIB, n) for n in ("email", "json", "asyncio", "logging", "xml")]
_NEVER_MS = "100000000"


def instructions(rounds: int, folders: list[str], env: dict[str, str]) -> int:
    """Instructions callgrind counted for one process running ``rounds`` rounds."""
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-c",
            _LOOP,
            str(rounds),
            *folders,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from callgrind:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", default=DEFAULT_FOLDERS)
    parser.add_argument(
        "--kept", type=float, default=0.03, help="share of files whose spans are kept"
    )
    args = parser.parse_args(argv)
    port = _free_port()
    sink = start_http_sink(port)
    try:
        off = _env("off", port, 10000)
        on = _env("policy", port, 10000)
        on.update(
            OTEL_METRIC_EXPORT_INTERVAL=_NEVER_MS,
            OTEL_BSP_SCHEDULE_DELAY=_NEVER_MS,
            OTEL_BLRP_SCHEDULE_DELAY=_NEVER_MS,
            CHUNKSCOPE_OTEL_SLOW_FILE_MS=_NEVER_MS,
            CHUNKSCOPE_OTEL_FILE_RESERVOIR="0",
            CHUNKSCOPE_OTEL_FILE_RATIO=str(args.kept),
        )
        runs = {("off", 1): off, ("off", 3): off, ("on", 1): on, ("on", 3): on}
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            counts = dict(
                zip(
                    runs,
                    pool.map(lambda k: instructions(k[1], args.folders, runs[k]), runs),
                    strict=True,
                )
            )
    finally:
        sink.shutdown()
    steady = {m: counts[(m, 3)] - counts[(m, 1)] for m in ("off", "on")}
    startup = counts[("on", 1)] - counts[("off", 1)] - (steady["on"] - steady["off"]) // 2
    print(f"folders: {', '.join(os.path.basename(f) for f in args.folders)}; kept {args.kept:.0%}")
    off_m, on_m = steady["off"] / 1e6, steady["on"] / 1e6
    print(
        f"steady state, two rounds: off {off_m:,.1f} M, on {on_m:,.1f} M instructions"
        f" -> {(steady['on'] / steady['off'] - 1) * 100:+.2f} %"
    )
    print(f"start-up and final flush added by telemetry: {startup / 1e6:,.0f} M instructions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
