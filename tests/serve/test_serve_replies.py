"""Reply amplification: tiny chunks cannot turn a request into a reply many times its size,
nor the server's memory into a multiple of its request limits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
from serve_support import ServeProcess

from chunkscope.amplify import PeakRss, amplifying_batch
from chunkscope.loadtest.rss import tree_rss

MAX_BODY = 512 * 1024
MAX_FILE = 200_000
REPLY_LIMIT = 4 * MAX_BODY
CONCURRENT = 6
GROWTH_BOUND = 60 * 1024 * 1024
"""Peak RSS over idle (server and worker) for six such requests: measured at 33 MiB here,
against 78 MiB with the reply limit lifted (``--max-response-bytes 1000000000``) or before
it existed, when each answer was a 7.9 MiB reply to a 0.4 MiB request."""


async def burst(url: str, body: bytes) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=CONCURRENT)
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        return await asyncio.gather(
            *(
                client.post("/v1/chunk/batch", content=body, headers=headers)
                for _ in range(CONCURRENT)
            )
        )


def test_six_amplifying_requests_are_refused_within_a_memory_bound(
    serve_process: Callable[..., ServeProcess],
) -> None:
    """Six batches at once whose replies would be about 20 times their size: each gets
    413 response_too_large naming the limit, and the server's memory stays bounded."""
    server = serve_process(
        "--workers",
        "1",
        "--max-queue",
        str(CONCURRENT - 1),
        "--max-body-bytes",
        str(MAX_BODY),
        "--max-file-bytes",
        str(MAX_FILE),
    )
    body = amplifying_batch(MAX_BODY, MAX_FILE)
    pid = httpx.get(f"{server.url}/healthz").json()["pid"]
    idle = tree_rss(pid) or 0
    with PeakRss(pid) as peak:
        answers = asyncio.run(burst(server.url, body))
    assert {r.status_code for r in answers} == {413}, [r.text[:200] for r in answers]
    for r in answers:
        assert r.json()["error"]["code"] == "response_too_large"
        assert str(REPLY_LIMIT) in r.json()["error"]["message"]
    assert peak.bytes - idle < GROWTH_BOUND, f"grew {(peak.bytes - idle) / 2**20:.0f} MiB"
