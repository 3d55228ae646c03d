"""``chunk --remote`` against two real ``chunkscope serve`` replicas on loopback, both exporting
to the real collector and Jaeger: output identical to a local run, a replica killed mid-run
costs no file, a shedding replica is waited for, and Jaeger holds one trace across services."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from e2e_stack import Process, Stack, free_port, wait_until

pytestmark = pytest.mark.e2e

STDLIB = Path(sysconfig.get_paths()["stdlib"])
CORPUS = ("json", "email", "http", "xml", "urllib", "logging", "asyncio", "unittest")
"""Real Python packages of the standard library: a few hundred files, some large."""
TIMING = ("seconds", "mb_per_second", "finished_at", "output", "options", "slowest")
WALK_SKIPS = ("ignored", "symlink", "symlink_loop", "not_regular")
"""Skips the client's walk decides: those files are never sent."""


@dataclass
class Replica:
    process: Process
    url: str
    service: str

    def killpg(self) -> None:
        """SIGKILL the server and its workers: a pod lost without warning."""
        assert self.process.popen is not None
        os.killpg(self.process.popen.pid, signal.SIGKILL)
        self.process.popen.wait(timeout=30)


def otel_env(stack: Stack, service: str, **extra: str) -> dict[str, str]:
    return {
        "CHUNKSCOPE_OTEL": "1",
        "OTEL_SERVICE_NAME": service,
        "OTEL_EXPORTER_OTLP_ENDPOINT": stack.collector.otlp_grpc,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_METRIC_EXPORT_INTERVAL": "500",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "OTEL_BLRP_SCHEDULE_DELAY": "200",
        **extra,
    }


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "CHUNKSCOPE_"))}


@pytest.fixture
def replicas(stack: Stack, tmp_path: Path) -> Iterator[Callable[..., Replica]]:
    """Factory: a ``chunkscope serve`` with telemetry on, ready; stopped at teardown."""
    started: list[Replica] = []

    def start(service: str, *args: str) -> Replica:
        port = free_port()
        env = {**clean_env(), **otel_env(stack, service, CHUNKSCOPE_OTEL_FILE_SPANS="all")}
        cmd = [sys.executable, "-m", "chunkscope", "serve", "--port", str(port), *args]
        proc = Process(f"serve-{port}", cmd, env, tmp_path / f"serve-{port}.log").start()
        replica = Replica(proc, f"http://127.0.0.1:{port}", service)
        started.append(replica)
        proc.wait_ready(f"{replica.url}/readyz")
        return replica

    yield start
    for replica in started:
        replica.process.stop()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of a few standard-library packages (no .gitignore rules of the host apply)."""
    import shutil

    root = tmp_path_factory.mktemp("corpus") / "tree"
    for name in CORPUS:
        shutil.copytree(STDLIB / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.fixture(scope="module")
def local(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, dict[str, Any]]:
    """The local run every remote run must equal: its JSONL bytes and its report."""
    out = tmp_path_factory.mktemp("local")
    done = chunk(corpus, out, [], clean_env())
    assert done.returncode == 0, done.stderr
    return (out / "chunks.jsonl").read_bytes(), comparable(out / "report.json")


def chunk(corpus: Path, out: Path, extra: list[str], env: dict[str, str]) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "chunkscope", "chunk", str(corpus), "-q",
         "-o", str(out / "chunks.jsonl"), "--report", str(out / "report.json"), *extra],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def start_chunk(corpus: Path, out: Path, extra: list[str], env: dict[str, str]) -> Any:
    return subprocess.Popen(
        [sys.executable, "-m", "chunkscope", "chunk", str(corpus), "-q",
         "-o", str(out / "chunks.jsonl"), "--report", str(out / "report.json"), *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def comparable(report_path: Path) -> dict[str, Any]:
    report = json.loads(report_path.read_text())
    for key in TIMING:
        report.pop(key)
    return report


def remote_args(*fleet: Replica, jobs: int = 4, batch: int = 4) -> list[str]:
    urls = [arg for r in fleet for arg in ("--remote", r.url)]
    return [*urls, "--jobs", str(jobs), "--remote-batch", str(batch)]


def prom_value(stack: Stack, query: str) -> float:
    result = stack.prometheus.query(query)
    return sum(float(r["value"][1]) for r in result)


def test_remote_output_is_identical_and_one_trace_spans_both_services(
    stack: Stack,
    replicas: Callable[..., Replica],
    corpus: Path,
    local: tuple[bytes, dict[str, Any]],
    tmp_path: Path,
) -> None:
    """Same JSONL bytes and report as a local run; Jaeger holds one trace of the run with the
    client's run and HTTP spans and the servers' HTTP, file, parse and extract spans."""
    server = f"chunkscope-serve-e2e-{secrets.token_hex(4)}"
    client = f"chunkscope-remote-e2e-{secrets.token_hex(4)}"
    a, b = replicas(server, "--workers", "1"), replicas(server, "--workers", "1")
    env = {**clean_env(), **otel_env(stack, client)}
    done = chunk(corpus, tmp_path, remote_args(a, b), env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "chunks.jsonl").read_bytes() == local[0]
    assert comparable(tmp_path / "report.json") == local[1]
    walk_skips = sum(
        s["count"] for reason, s in local[1]["skipped"].items() if reason in WALK_SKIPS
    )
    sent = local[1]["files"]["total"] - walk_skips

    def problems() -> list[str]:
        """What is missing from the run's trace, as Jaeger has it now (empty when whole)."""
        traces = stack.jaeger.traces(client)
        if len(traces) != 1:
            return [f"{len(traces)} traces for {client}"]
        trace = stack.jaeger.trace(traces[0]["traceID"])
        return trace_problems(trace, client, server, sent) if trace else ["trace not found"]

    try:
        wait_until(lambda: not problems(), 90, "one whole trace of the run")
    except AssertionError:
        raise AssertionError("\n".join(problems())) from None


def trace_problems(trace: dict[str, Any], client: str, server: str, sent: int) -> list[str]:
    """client run -> client POST (each) -> server POST /v1/chunk/batch -> chunkscope.file
    (one per file sent) -> chunkscope.parse / chunkscope.extract, across both services."""
    spans = {s["spanID"]: s for s in trace["spans"]}
    service = {pid: p["serviceName"] for pid, p in trace["processes"].items()}
    by_name: dict[str, list[dict[str, Any]]] = {}
    for span in spans.values():
        by_name.setdefault(span["operationName"], []).append(span)

    def parent(span: dict[str, Any]) -> dict[str, Any] | None:
        refs = [r for r in span.get("references", []) if r["refType"] == "CHILD_OF"]
        return spans.get(refs[0]["spanID"]) if refs else None

    def parent_name(span: dict[str, Any]) -> str | None:
        found = parent(span)
        return found["operationName"] if found else None

    out = []
    if set(service.values()) != {client, server}:
        out.append(f"services {sorted(set(service.values()))}")
    runs = by_name.get("chunkscope.run", [])
    if len(runs) != 1 or parent(runs[0]) is not None or service[runs[0]["processID"]] != client:
        out.append(f"{len(runs)} root run spans of {client}")
    posts = by_name.get("POST", [])
    handled = by_name.get("POST /v1/chunk/batch", [])
    files = by_name.get("chunkscope.file", [])
    stages = by_name.get("chunkscope.parse", []) + by_name.get("chunkscope.extract", [])
    checks = [
        ("client POST", posts, "chunkscope.run", client),
        ("server POST", handled, "POST", server),
        ("file", files, "POST /v1/chunk/batch", server),
        ("stage", stages, "chunkscope.file", server),
    ]
    for what, group, wanted, owner in checks:
        wrong = [s for s in group if parent_name(s) != wanted or service[s["processID"]] != owner]
        if not group or wrong:
            out.append(f"{len(wrong)} of {len(group)} {what} spans not children of {wanted}")
    if len(posts) != len(handled):
        out.append(f"{len(posts)} client requests but {len(handled)} server spans")
    if len(files) != sent:
        out.append(f"{len(files)} file spans for {sent} files sent")
    return out


def test_a_replica_killed_mid_run_loses_no_file(
    stack: Stack,
    replicas: Callable[..., Replica],
    corpus: Path,
    local: tuple[bytes, dict[str, Any]],
    tmp_path: Path,
) -> None:
    """SIGKILL one of two replicas while the run is using it: the run finishes with exit 0,
    the same output as a local run, and its files were retried on the other replica."""
    server = f"chunkscope-serve-kill-{secrets.token_hex(4)}"
    client = f"chunkscope-remote-kill-{secrets.token_hex(4)}"
    a, b = replicas(server, "--workers", "1"), replicas(server, "--workers", "1")
    env = {**clean_env(), **otel_env(stack, client)}
    proc = start_chunk(corpus, tmp_path, remote_args(a, b, batch=1), env)
    out = tmp_path / "chunks.jsonl"
    # The output, not Prometheus: its export and scrape lag let the run near its end first.
    wait_until(lambda: out.exists() and out.stat().st_size > 0, 90, "the run's first chunks")
    assert proc.poll() is None, "the run ended before a replica could be killed"
    a.killpg()
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    assert (tmp_path / "chunks.jsonl").read_bytes() == local[0]
    assert comparable(tmp_path / "report.json") == local[1]
    port = a.url.rsplit(":", 1)[1]
    failed = (
        f'sum(chunkscope_remote_retries_total{{job="{client}", server_port="{port}", '
        f'chunkscope_retry_reason="failed"}})'
    )
    wait_until(
        lambda: prom_value(stack, failed) >= 1, 60, "retries counted against the dead replica"
    )


def test_a_shedding_replica_is_waited_for(
    stack: Stack,
    replicas: Callable[..., Replica],
    corpus: Path,
    local: tuple[bytes, dict[str, Any]],
    tmp_path: Path,
) -> None:
    """A replica admitting two requests at a time answers the rest with 429: the client
    backs off (counted as overloaded retries) and the run completes identical to local."""
    server = f"chunkscope-serve-shed-{secrets.token_hex(4)}"
    client = f"chunkscope-remote-shed-{secrets.token_hex(4)}"
    shedding = replicas(server, "--workers", "1", "--max-queue", "1", "--retry-after", "0")
    env = {**clean_env(), **otel_env(stack, client)}
    done = chunk(corpus, tmp_path, remote_args(shedding, jobs=6, batch=8), env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "chunks.jsonl").read_bytes() == local[0]
    assert comparable(tmp_path / "report.json") == local[1]
    overloaded = (
        f'sum(chunkscope_remote_retries_total{{job="{client}", '
        f'chunkscope_retry_reason="overloaded"}})'
    )
    shed = f'sum(chunkscope_serve_shed_total{{job="{server}"}})'
    wait_until(lambda: prom_value(stack, overloaded) >= 1, 60, "overloaded retries in Prometheus")
    wait_until(lambda: prom_value(stack, shed) >= 1, 60, "the replica's shed counter")
