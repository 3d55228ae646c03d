"""Admission control and shutdown, against a real ``chunkscope serve`` subprocess."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
from serve_support import ServeProcess, is_ready, wait_until

from chunkscope.serve.limits import Limits
from chunkscope.serve.pool import ChunkPool

FLOOD = 48
MEMORY_BUDGET_BYTES = 1024 * 1024 * 1024


def tree_rss(pid: int) -> int:
    proc = psutil.Process(pid)
    return proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(True))


async def flood(url: str, bodies: list[tuple[str, bytes]]) -> list[httpx.Response]:
    """Send every body at once on its own connection; gather every response."""
    limits = httpx.Limits(max_connections=len(bodies))
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        return await asyncio.gather(
            *(client.post("/v1/chunk", params={"path": p}, content=b) for p, b in bodies)
        )


class TestChunkPool:
    def test_admission_stops_at_capacity_and_resumes(self) -> None:
        """workers + max_queue tickets are handed out, the next is refused, a release frees one."""

        async def scenario() -> list[bool]:
            pool = ChunkPool(Limits(workers=1, max_queue=2).resolved(), threads=True)
            await pool.start()
            try:
                tickets = [pool.admit() for _ in range(3)]
                refused = pool.admit()
                assert all(t is not None for t in tickets)
                tickets[0].drop()  # type: ignore[union-attr]
                again = pool.admit()
                return [refused is None, again is not None, pool.admitted == 3]
            finally:
                await pool.close()

        assert asyncio.run(scenario()) == [True, True, True]

    def test_not_ready_pool_admits_nothing(self) -> None:
        """Before the workers are warm, every request is shed rather than queued."""
        pool = ChunkPool(Limits(workers=1, max_queue=1).resolved(), threads=True)
        assert pool.admit() is None


def test_flood_is_shed_with_429_and_nothing_is_lost(
    serve_process: Callable[..., ServeProcess], large_sources: list[tuple[str, bytes]]
) -> None:
    """A flood far over capacity: every request answered 200 or 429, memory bounded."""
    server = serve_process("--workers", "1", "--max-queue", "2", "--retry-after", "3")
    bodies = [large_sources[i % len(large_sources)] for i in range(FLOOD)]
    responses = asyncio.run(flood(server.url, bodies))
    assert len(responses) == FLOOD
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 429}, statuses
    assert statuses.count(200) >= 3
    assert statuses.count(429) >= 1
    for r in responses:
        if r.status_code == 429:
            assert r.headers["retry-after"] == "3"
            assert r.json()["error"]["code"] == "overloaded"
        else:
            assert r.json()["outcome"] == "chunked"
            assert r.json()["chunks"]
    assert tree_rss(server.proc.pid) < MEMORY_BUDGET_BYTES

    def drained() -> bool:
        return httpx.get(f"{server.url}/readyz").json()["in_flight"] == 0

    wait_until(drained, 60, "every admitted request to be released")
    again = httpx.post(f"{server.url}/v1/chunk", params={"path": "x.py"}, content=b"x = 1\n")
    assert again.status_code == 200


def test_sigterm_finishes_in_flight_requests(
    serve_process: Callable[..., ServeProcess], large_sources: list[tuple[str, bytes]]
) -> None:
    """SIGTERM with requests in flight: they complete, new connections are refused, exit 0."""
    server = serve_process("--workers", "1", "--max-queue", "4", "--shutdown-grace", "60")
    name, source = max(large_sources, key=lambda item: len(item[1]))
    big = source * 8
    in_flight = 3

    async def scenario() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, timeout=120) as client:
            requests = [
                asyncio.create_task(client.post("/v1/chunk", params={"path": name}, content=big))
                for _ in range(in_flight)
            ]

            def admitted() -> bool:
                return httpx.get(f"{server.url}/readyz").json()["in_flight"] == in_flight

            await asyncio.to_thread(wait_until, admitted, 60, "the requests to be admitted")
            server.terminate()

            def refusing() -> bool:
                try:
                    httpx.get(f"{server.url}/healthz", timeout=2)
                except httpx.ConnectError:
                    return True
                except httpx.HTTPError:
                    return False
                return False

            await asyncio.to_thread(wait_until, refusing, 60, "the listener to close")
            return await asyncio.gather(*requests)

    responses = asyncio.run(scenario())
    assert [r.status_code for r in responses] == [200] * in_flight
    assert all(r.json()["outcome"] == "chunked" for r in responses)
    assert server.proc.wait(timeout=60) == 0
    assert '"drained": true' in server.stderr


def test_default_worker_count_is_the_cores(serve_process: Callable[..., ServeProcess]) -> None:
    """--workers 0 sizes the pool to the cores this process may use."""
    server = serve_process("--workers", "0")
    assert httpx.get(f"{server.url}/readyz").json()["workers"] == len(os.sched_getaffinity(0))


def test_serve_rejects_bad_flags(tmp_path: Path) -> None:
    """A negative worker count is a usage error (exit 2), not a traceback."""

    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from chunkscope.cli import main; sys.exit(main())",
            "serve",
            "--workers",
            "-1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "must be 0 or more" in proc.stderr


def test_a_dead_worker_costs_one_request_not_the_service(
    serve_process: Callable[..., ServeProcess], large_sources: list[tuple[str, bytes]]
) -> None:
    """A worker killed mid-request: that request gets 503 worker_lost, the next one 200."""
    server = serve_process("--workers", "1", "--max-file-bytes", "8000000")
    name, source = max(large_sources, key=lambda item: len(item[1]))
    big = source * (6_000_000 // len(source))

    def workers() -> list[psutil.Process]:
        children = psutil.Process(server.proc.pid).children(recursive=True)
        return [c for c in children if "resource_tracker" not in " ".join(c.cmdline())]

    async def scenario() -> httpx.Response:
        async with httpx.AsyncClient(base_url=server.url, timeout=120) as client:
            request = asyncio.create_task(
                client.post("/v1/chunk", params={"path": name}, content=big)
            )

            def in_worker() -> bool:
                return httpx.get(f"{server.url}/readyz").json()["running"] == 1

            await asyncio.to_thread(wait_until, in_worker, 60, "the request to reach a worker")
            (worker,) = workers()
            worker.kill()
            return await request

    response = asyncio.run(scenario())
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "worker_lost"
    assert "retry-after" in response.headers
    wait_until(lambda: is_ready(server.url), 60, "the rebuilt pool")
    again = httpx.post(f"{server.url}/v1/chunk", params={"path": "x.py"}, content=b"x = 1\n")
    assert again.status_code == 200


def test_a_worker_that_died_while_idle_costs_no_request(
    serve_process: Callable[..., ServeProcess],
) -> None:
    """A worker killed between requests: the next request is served by a rebuilt pool."""
    server = serve_process("--workers", "1")
    (worker,) = [
        c
        for c in psutil.Process(server.proc.pid).children(recursive=True)
        if "resource_tracker" not in " ".join(c.cmdline())
    ]
    worker.kill()
    worker.wait(timeout=30)
    response = httpx.post(
        f"{server.url}/v1/chunk", params={"path": "x.py"}, content=b"def f():\n    return 1\n"
    )
    assert response.status_code == 200
    assert [c["name"] for c in response.json()["chunks"]] == ["f"]
