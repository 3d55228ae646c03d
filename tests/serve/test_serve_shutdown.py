"""Bounded shutdown: ``chunkscope serve`` exits within the shutdown grace plus the telemetry
deadline, whatever its workers and its collector are doing."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from serve_support import ServeProcess, free_port, wait_until
from workers import spawned_worker_started

from chunkscope.serve.limits import Limits

GRACE = 1.0
TELEMETRY_DEADLINE = 2.0
SLACK = 4.0
"""Process teardown (killing the worker, interpreter exit) on a busy shared machine."""


class BlackHole:
    """A loopback TCP listener that accepts every connection and never answers: the
    collector that is there and is not."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self._listener.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole()
    yield hole
    hole.close()


def slow_batch(source: bytes, count: int) -> bytes:
    """A batch of stdlib code that keeps one worker busy for many seconds."""
    text = source.decode()
    files = [{"path": f"f{i}.py", "content": text} for i in range(count)]
    return json.dumps({"files": files}).encode()


def test_black_hole_collector_and_busy_worker_cannot_stall_the_exit(
    serve_process: Callable[..., ServeProcess],
    black_hole: BlackHole,
    large_sources: list[tuple[str, bytes]],
) -> None:
    """SIGTERM with a request still chunking and every export hanging: the request gets a
    JSON 503 when the grace runs out, and the process exits 0 within grace + telemetry
    deadline, without waiting for the worker's native work or the collector."""
    _, source = max(large_sources, key=lambda item: len(item[1]))
    body = slow_batch(source * 6, 12)
    server = serve_process(
        "--workers",
        "1",
        "--shutdown-grace",
        str(GRACE),
        "--max-body-bytes",
        str(len(body) + 1),
        "--max-file-bytes",
        str(len(source) * 6 + 1),
        "--timeout",
        "600",
        env={
            "CHUNKSCOPE_OTEL": "1",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{black_hole.port}",
            "OTEL_EXPORTER_OTLP_INSECURE": "true",
            "CHUNKSCOPE_OTEL_SHUTDOWN_TIMEOUT": str(TELEMETRY_DEADLINE),
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        },
    )
    for i in range(3):  # spans and metrics waiting to be exported
        httpx.post(f"{server.url}/v1/chunk", params={"path": f"{i}.py"}, content=b"x = 1\n")
    answers: list[httpx.Response] = []

    def send() -> None:
        answers.append(
            httpx.post(
                f"{server.url}/v1/chunk/batch",
                content=body,
                headers={"content-type": "application/json"},
                timeout=120,
            )
        )

    client = threading.Thread(target=send, daemon=True)
    client.start()

    def running() -> bool:
        return httpx.get(f"{server.url}/readyz").json()["running"] == 1

    wait_until(running, 60, "the batch to reach the worker")
    assert black_hole.accepted, "the exporter never connected to the black hole"
    started = time.monotonic()
    server.terminate()
    code = server.proc.wait(timeout=60)
    took = time.monotonic() - started
    client.join(timeout=10)

    assert code == 0, server.stderr
    assert took < GRACE + TELEMETRY_DEADLINE + SLACK, f"exit took {took:.1f} s"
    (answer,) = answers
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["error"]["code"] == "shutting_down"


def test_default_shutdown_fits_a_30_second_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kubernetes' default termination grace is 30 s: the default shutdown grace plus the
    default telemetry deadline plus the worker stop leave room under it."""
    from opentelemetry.instrumentation.chunkscope import _shutdown

    from chunkscope.serve.pool import WORKER_EXIT_SECONDS
    from chunkscope.serve.server import UVICORN_BACKSTOP_SECONDS

    for name in (_shutdown.TIMEOUT_ENV, "OTEL_EXPORTER_OTLP_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    total = (
        Limits().shutdown_grace_seconds
        + _shutdown.timeout_seconds()
        + WORKER_EXIT_SECONDS
        + UVICORN_BACKSTOP_SECONDS
    )
    assert total < 30


def test_ctrl_c_while_the_workers_start_exits_cleanly() -> None:
    """A Ctrl-C to the process group while the pool's spawned workers are still importing
    stops the server like any other Ctrl-C: status 130, no traceback, no hang (a worker killed
    before it ignored the signal used to break the pool's start-up)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "chunkscope", "serve", "--port", str(free_port()), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )

    try:
        wait_until(lambda: spawned_worker_started(proc.pid), 30, "a spawned pool worker")
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, stderr.decode()
    assert b"Traceback" not in stderr
