"""Run the app under uvicorn with connection limits and a bounded graceful shutdown.

uvicorn handles SIGTERM/SIGINT: it stops accepting and lets in-flight requests finish.
Here the pool is told at once (``begin_shutdown``), so a request still running after
``shutdown_grace_seconds`` is answered 503 instead of waiting on its worker; then the
app's lifespan shutdown terminates busy workers and flushes telemetry within its own
deadline. The exit takes at most the grace plus the telemetry deadline plus about 2 s.

Connections are guarded by ``protocol.GuardedH11Protocol`` (header deadline, connection
cap, JSON refusals), idle keep-alive connections close after ``keep_alive_seconds``, and
repeated connection errors are logged once per interval (``lograte``).
"""

from __future__ import annotations

import math
import signal
import socket
import threading
from types import FrameType
from typing import Any

import uvicorn

from chunkscope.model import DEFAULT_CACHE_MAX_BYTES
from chunkscope.serve import lograte
from chunkscope.serve.app import create_app
from chunkscope.serve.limits import Limits, accept_backlog
from chunkscope.serve.pool import ChunkPool
from chunkscope.serve.protocol import guarded_protocol

UVICORN_BACKSTOP_SECONDS = 2
"""uvicorn's own grace runs this much past ours, so our JSON 503s go out before it cancels."""


class _Server(uvicorn.Server):
    """uvicorn's server, telling the pool when shutdown starts, its connection logs
    rate-limited while it serves."""

    def __init__(self, config: uvicorn.Config, pool: ChunkPool, grace: float) -> None:
        super().__init__(config)
        self.pool = pool
        self.grace = grace

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        lograte.install()
        await super().serve(sockets)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.pool.begin_shutdown(self.grace)
        await super().shutdown(sockets)


def build(
    host: str = "127.0.0.1",
    port: int = 8080,
    limits: Limits | None = None,
    *,
    threads: bool = False,
    log_level: str = "warning",
    access_log: bool = False,
    cache: str | None = None,
    cache_max_bytes: int = DEFAULT_CACHE_MAX_BYTES,
) -> uvicorn.Server:
    """The configured server, not started: ``run`` starts it, tests ``await server.serve()``."""
    resolved = (limits or Limits()).resolved()
    app = create_app(resolved, threads=threads, cache=cache, cache_max_bytes=cache_max_bytes)
    grace = resolved.shutdown_grace_seconds
    config = uvicorn.Config(
        _fresh_context(app) if app.state.telemetry_on else app,
        host=host,
        port=port,
        lifespan="on",
        log_level=log_level,
        access_log=access_log,
        http=guarded_protocol(resolved),
        timeout_keep_alive=resolved.keep_alive_seconds,
        h11_max_incomplete_event_size=resolved.max_header_bytes,
        backlog=accept_backlog(),
        timeout_graceful_shutdown=math.ceil(grace) + UVICORN_BACKSTOP_SECONDS,
        server_header=False,
    )
    return _Server(config, app.state.pool, grace)


def run(
    host: str = "127.0.0.1",
    port: int = 8080,
    limits: Limits | None = None,
    *,
    threads: bool = False,
    log_level: str = "warning",
    access_log: bool = False,
    cache: str | None = None,
    cache_max_bytes: int = DEFAULT_CACHE_MAX_BYTES,
) -> None:
    """Serve until SIGTERM (returns after the graceful shutdown) or SIGINT (raises
    KeyboardInterrupt after it)."""
    server = build(
        host,
        port,
        limits,
        threads=threads,
        log_level=log_level,
        access_log=access_log,
        cache=cache,
        cache_max_bytes=cache_max_bytes,
    )
    # uvicorn re-raises the signal that stopped it once shutdown is done; a graceful stop on
    # SIGTERM is a success, so that re-raise lands on a handler that just returns.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _stopped) if main else None
    try:
        server.run()
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)


def _stopped(signum: int, frame: FrameType | None) -> None:
    """SIGTERM after uvicorn's own handler is gone: the graceful shutdown already ran."""


def _fresh_context(app: Any) -> Any:
    """The app, entered from an empty OpenTelemetry context on every request.

    Why: under concurrent keep-alive requests uvicorn can start a request while an earlier
    request's span is still the current one (opentelemetry-python#4396); the instrumentation
    then makes an INTERNAL child of that stale span and ignores the request's ``traceparent``,
    so a ``chunk --remote`` trace loses the server's subtree. With the context reset first,
    every request's span is a SERVER span under what the client sent.
    """
    from opentelemetry import context as otel_context

    async def fresh(scope: Any, receive: Any, send: Any) -> None:
        token = otel_context.attach(otel_context.Context())
        try:
            await app(scope, receive, send)
        finally:
            otel_context.detach(token)

    return fresh
