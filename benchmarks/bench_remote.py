"""``chunk --remote`` against local replicas vs ``chunk --jobs 2``, side by side in one run.

    $ python benchmarks/bench_remote.py                      # stdlib, 3 interleaved rounds
    $ python benchmarks/bench_remote.py --rounds 5 --batches 1,8,32 --json remote.json
    $ python benchmarks/bench_remote.py --rss-only           # size the k8s resources

Two ``chunkscope serve --workers 1`` replicas on loopback give the fleet the same two
chunking processes as a local ``--jobs 2``; the client, both servers and both workers share
the machine's cores, as the local run's parent and workers do. Each round runs every
variant once, in turn, on the same tree; the figures are medians.

Per-file HTTP overhead is reported two ways: the CPU seconds every process of the remote
run spent (client, servers, workers) minus the local run's, per file; and the round trip
of a one-line file with one request in flight.

``--rss-only`` starts one replica as a pod runs it (``--workers 2``, telemetry on, spans
and metrics produced but exported nowhere), sends the corpus through it, and prints the
peak resident memory of the server and of each worker: the figures deploy/k8s sizes the
Deployment's requests and limits from.
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
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil

SERVE = [sys.executable, "-m", "chunkscope", "serve"]
CHUNK = [sys.executable, "-m", "chunkscope", "chunk", "-q"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(otel: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "CHUNKSCOPE_"))}
    if otel:
        env.update(
            CHUNKSCOPE_OTEL="1",
            OTEL_TRACES_EXPORTER="none",
            OTEL_METRICS_EXPORTER="none",
            OTEL_LOGS_EXPORTER="none",
        )
    return env


@contextmanager
def replicas(count: int, workers: int, otel: bool = False) -> Iterator[list[psutil.Popen]]:
    """``count`` ready ``chunkscope serve`` processes; stopped (SIGTERM, bounded) on exit."""
    procs: list[psutil.Popen] = []
    try:
        for _ in range(count):
            port = _free_port()
            proc = psutil.Popen(
                [*SERVE, "--port", str(port), "--workers", str(workers)],
                env=_env(otel),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            proc.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
            procs.append(proc)
        for proc in procs:
            deadline = time.monotonic() + 90
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"chunkscope serve exited with {proc.returncode}")
                try:
                    if httpx.get(f"{proc.url}/readyz", timeout=2).status_code == 200:  # type: ignore[attr-defined]
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("chunkscope serve did not become ready")
                time.sleep(0.1)
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=60)
            except psutil.TimeoutExpired:
                proc.kill()


def tree_cpu(procs: list[psutil.Popen]) -> float:
    """User + system CPU seconds of the servers and their live workers."""
    total = 0.0
    for proc in procs:
        for p in [proc, *proc.children(recursive=True)]:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
    return total


def run_chunk(corpus: str, out: Path, extra: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (its own and its workers') of one CLI run."""
    started = time.perf_counter()
    proc = subprocess.Popen([*CHUNK, corpus, "-o", str(out), *extra], env=_env(False))
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"chunkscope chunk {extra} exited with {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def round_trip(url: str, n: int = 200) -> float:
    """Median seconds of a one-line file's request, one in flight."""
    body = {"files": [{"path": "a.py", "content": "x = 1\n"}]}
    times = []
    with httpx.Client() as client:
        for _ in range(n):
            started = time.perf_counter()
            client.post(f"{url}/v1/chunk/batch", json=body).raise_for_status()
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def count_files(path: Path) -> tuple[int, int]:
    report = json.loads(path.read_text())
    return report["files"]["total"], report["bytes"]


def bench(args: argparse.Namespace) -> dict[str, object]:
    out = Path(args.workdir)
    out.mkdir(parents=True, exist_ok=True)
    batches = [int(b) for b in args.batches.split(",")]
    subprocess.run(
        [*CHUNK, args.corpus, "-o", str(out / "ref.jsonl"), "--report", str(out / "ref.json")],
        env=_env(False),
        check=False,
    )
    files, size = count_files(out / "ref.json")
    walls: dict[str, list[float]] = {}
    cpus: dict[str, list[float]] = {}
    identical = True
    with replicas(2, 1) as fleet:
        urls = [x for p in fleet for x in ("--remote", p.url)]  # type: ignore[attr-defined]
        variants = {"local --jobs 2": ["--jobs", "2"]}
        for b in batches:
            variants[f"remote batch {b}"] = [
                *urls,
                "--jobs",
                str(args.inflight),
                "--remote-batch",
                str(b),
            ]
        for _ in range(args.rounds):
            for name, extra in variants.items():
                before = tree_cpu(fleet) if name.startswith("remote") else 0.0
                target = out / f"{name.replace(' ', '_')}.jsonl"
                wall, cpu = run_chunk(args.corpus, target, extra)
                cpu += tree_cpu(fleet) - before if name.startswith("remote") else 0.0
                walls.setdefault(name, []).append(wall)
                cpus.setdefault(name, []).append(cpu)
                identical &= target.read_bytes() == (out / "ref.jsonl").read_bytes()
        rtt = round_trip(fleet[0].url)  # type: ignore[attr-defined]
    local = statistics.median(walls["local --jobs 2"])
    local_cpu = statistics.median(cpus["local --jobs 2"])
    rows = {}
    for name in walls:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        rows[name] = {
            "seconds": round(wall, 3),
            "mb_per_second": round(size / 1e6 / wall, 3),
            "vs_local_jobs2": round(local / wall, 3),
            "cpu_seconds": round(cpu, 3),
            "extra_cpu_ms_per_file": round((cpu - local_cpu) / files * 1000, 3),
        }
    return {
        "corpus": args.corpus,
        "files": files,
        "bytes": size,
        "rounds": args.rounds,
        "in_flight": args.inflight,
        "identical_output": identical,
        "round_trip_ms_one_line_file": round(rtt * 1000, 3),
        "variants": rows,
    }


def rss(args: argparse.Namespace) -> dict[str, object]:
    """Peak RSS of a pod-shaped replica (2 workers, telemetry on) after chunking the corpus."""
    out = Path(args.workdir)
    out.mkdir(parents=True, exist_ok=True)
    with replicas(1, 2, otel=True) as fleet:
        server = fleet[0]
        idle = {p.pid: p.memory_info().rss for p in [server, *server.children(recursive=True)]}
        run_chunk(args.corpus, out / "rss.jsonl", ["--remote", server.url, "--jobs", "6"])  # type: ignore[attr-defined]
        peaks = {}
        for p in [server, *server.children(recursive=True)]:
            status = Path(f"/proc/{p.pid}/status").read_text()
            hwm = next(line for line in status.splitlines() if line.startswith("VmHWM"))
            peaks[p.pid] = int(hwm.split()[1]) * 1024
    mb = 1024 * 1024
    return {
        "idle_mb": round(sum(idle.values()) / mb, 1),
        "peak_mb_by_process": sorted((round(v / mb, 1) for v in peaks.values()), reverse=True),
        "peak_mb_total": round(sum(peaks.values()) / mb, 1),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--corpus", default=sysconfig.get_paths()["stdlib"])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--batches", default="1,8,32", help="--remote-batch values to compare")
    p.add_argument("--inflight", type=int, default=4, help="--jobs of the remote runs")
    p.add_argument("--workdir", default="/tmp/chunkscope-bench-remote")
    p.add_argument("--rss-only", action="store_true")
    p.add_argument("--json", help="write the figures here too")
    args = p.parse_args()
    result = rss(args) if args.rss_only else {**bench(args), "rss": rss(args)}
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
