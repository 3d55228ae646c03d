"""Run the app under uvicorn with graceful shutdown wired to the limits.

uvicorn handles SIGTERM/SIGINT: it stops accepting, lets in-flight requests finish for up to
``timeout_graceful_shutdown`` seconds, then runs the app's lifespan shutdown, which drains
and stops the worker pool and flushes telemetry.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

import uvicorn

from chunkscope.model import DEFAULT_CACHE_MAX_BYTES
from chunkscope.serve.app import create_app
from chunkscope.serve.limits import Limits


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
    resolved = (limits or Limits()).resolved()
    app = create_app(resolved, threads=threads, cache=cache, cache_max_bytes=cache_max_bytes)
    config = uvicorn.Config(
        _fresh_context(app) if app.state.telemetry_on else app,
        host=host,
        port=port,
        lifespan="on",
        log_level=log_level,
        access_log=access_log,
        timeout_graceful_shutdown=int(max(1, resolved.shutdown_grace_seconds)),
        server_header=False,
    )
    # uvicorn re-raises the signal that stopped it once shutdown is done; a graceful stop on
    # SIGTERM is a success, so that re-raise lands on a handler that just returns.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _stopped) if main else None
    try:
        uvicorn.Server(config).run()
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
