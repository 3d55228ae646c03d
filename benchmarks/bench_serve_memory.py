"""Server memory under six concurrent worst-case requests, with the default limits.

    python benchmarks/bench_serve_memory.py [--workers 2] [--json out.json]

Starts ``chunkscope serve`` on a free loopback port (default limits: 8 MiB bodies, 2 MB
files, replies up to 4 x 8 MiB), then sends each scenario as six requests at once (the
capacity of two workers) and reports the statuses, the reply sizes and the peak RSS of the
server and its workers, sampled every 20 ms:

- ``amplifying``: the largest batch of one-line functions the body limit admits, at the
  smallest chunk options (``max_lines=10``, ``max_bytes=512``): its reply would be about
  21 times the request, so it is refused with 413 ``response_too_large``;
- ``under the cap``: the same source, cut so its reply just fits the reply limit: six
  replies of almost 32 MiB are built and sent;
- ``ordinary``: an 8 MiB batch of standard-library code at the default options.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

import httpx

from chunkscope.amplify import PeakRss, amplifying_batch, tiny_definitions
from chunkscope.serve.limits import Limits
from chunkscope.serve.schema import MIN_MAX_BYTES, MIN_MAX_LINES

CONCURRENT = 6
MIB = 1024 * 1024


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ordinary_batch(limit: int) -> bytes:
    root = Path(sysconfig.get_paths()["stdlib"])
    files: list[dict[str, str]] = []
    size = 0
    for path in sorted(root.glob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        entry = len(json.dumps(text)) + 40
        if size + entry > limit - 100:
            break
        files.append({"path": path.name, "content": text})
        size += entry
    return json.dumps({"files": files}).encode()


def _under_the_cap(reply_limit: int) -> bytes:
    """Tiny definitions whose reply lands at about 95 % of ``reply_limit``."""
    ratio = 21.5
    content = tiny_definitions(int(reply_limit * 0.95 / ratio))
    body = {
        "files": [{"path": "f.py", "content": content}],
        "max_lines": MIN_MAX_LINES,
        "max_bytes": MIN_MAX_BYTES,
    }
    return json.dumps(body).encode()


def _wait_idle(url: str) -> None:
    deadline = time.monotonic() + 600
    while httpx.get(f"{url}/readyz").json()["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.2)


async def _burst(url: str, body: bytes) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=CONCURRENT)
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=300) as client:
        return await asyncio.gather(
            *(client.post("/v1/chunk/batch", content=body, headers=headers) for _ in range(6))
        )


def run(workers: int) -> dict[str, Any]:
    limits = Limits(workers=workers).resolved()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    code = "import sys; from chunkscope.cli import main; sys.exit(main())"
    cmd = [sys.executable, "-c", code, "serve", "--port", str(port), "--workers", str(workers)]
    cmd += ["--timeout", "600"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        pid = httpx.get(f"{url}/healthz").json()["pid"]
        scenarios = {
            "amplifying": amplifying_batch(limits.max_body_bytes, limits.max_file_bytes),
            "under the cap": _under_the_cap(limits.max_response_bytes),
            "ordinary": _ordinary_batch(limits.max_body_bytes),
        }
        with PeakRss(pid) as idle:
            time.sleep(0.5)
        report: dict[str, Any] = {
            "workers": workers,
            "max_body_bytes": limits.max_body_bytes,
            "max_response_bytes": limits.max_response_bytes,
            "idle_rss_mib": round(idle.bytes / MIB, 1),
            "scenarios": {},
        }
        for name, body in scenarios.items():
            _wait_idle(url)
            started = time.monotonic()
            with PeakRss(pid) as peak:
                answers = asyncio.run(_burst(url, body))
            report["scenarios"][name] = {
                "request_mib": round(len(body) / MIB, 2),
                "statuses": sorted({r.status_code for r in answers}),
                "reply_mib": round(max(len(r.content) for r in answers) / MIB, 2),
                "peak_rss_mib": round(peak.bytes / MIB, 1),
                "peak_server_rss_mib": round(peak.root_bytes / MIB, 1),
                "seconds": round(time.monotonic() - started, 1),
            }
        return report
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()
    report = run(args.workers)
    print(f"idle: {report['idle_rss_mib']} MiB (server + {args.workers} workers)")
    print(
        f"{'scenario':<14} {'request':>9} {'status':>8} {'reply':>9} {'peak RSS':>10} {'time':>6}"
    )
    for name, row in report["scenarios"].items():
        print(
            f"{name:<14} {row['request_mib']:>7} M {','.join(map(str, row['statuses'])):>8}"
            f" {row['reply_mib']:>7} M {row['peak_rss_mib']:>8} M {row['seconds']:>5}s"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
