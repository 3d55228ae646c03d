"""Start ``chunkscope serve`` on a free loopback port and run load scenarios against it.

    $ python benchmarks/bench_service.py --scenarios basic,spike --duration 20 \\
          --json service-bench.json
    $ python benchmarks/bench_service.py --scenarios basic --duration 10 --workers 2 \\
          --save-baseline service-baseline.json   # later: chunkscope bench --results ...

The numbers in docs/service.md come from this script. The load generator runs on the
same machine as the server, so on a 2-core box it takes CPU from the workers: read the
figures as "what this box sustains with its own client", not as the server's ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from chunkscope import baseline
from chunkscope.loadtest import SCENARIOS, format_report, load_corpus, run_scenario


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"chunkscope serve exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("chunkscope serve did not become ready")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--scenarios", default="basic,spike")
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument("--concurrency", type=int)
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--max-queue", type=int, default=0)
    p.add_argument("--corpus")
    p.add_argument(
        "--otel",
        action="store_true",
        help="server with CHUNKSCOPE_OTEL=1 (exporters from the OTEL_* variables)",
    )
    p.add_argument("--json", help="write every scenario report here")
    p.add_argument("--save-baseline", help="write a baseline for chunkscope bench --compare")
    args = p.parse_args()

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable,
        "-c",
        "import sys; from chunkscope.cli import main; sys.exit(main())",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(args.workers),
        "--max-queue",
        str(args.max_queue),
    ]
    env = {**os.environ, "CHUNKSCOPE_OTEL": "1" if args.otel else "0"}
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL)
    try:
        _wait_ready(url, proc)
        corpus = load_corpus(args.corpus)
        reports = {}
        for name in [s.strip() for s in args.scenarios.split(",") if s.strip()]:
            report = asyncio.run(
                run_scenario(
                    url,
                    SCENARIOS[name],
                    corpus,
                    duration=args.duration if name != "spike" else max(args.duration, 10.0),
                    concurrency=args.concurrency,
                )
            )
            reports[name] = report
            print(format_report(report), flush=True)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    if args.json:
        Path(args.json).write_text(json.dumps(reports, indent=2) + "\n", encoding="utf-8")
    if args.save_baseline:
        doc = baseline.document(None, reports)
        Path(args.save_baseline).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
