"""Run the app under uvicorn with graceful shutdown wired to the limits.

uvicorn handles SIGTERM/SIGINT: it stops accepting, lets in-flight requests finish for up to
``timeout_graceful_shutdown`` seconds, then runs the app's lifespan shutdown, which drains
and stops the worker pool and flushes telemetry.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

import uvicorn

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
) -> None:
    """Serve until SIGTERM (returns after the graceful shutdown) or SIGINT (raises
    KeyboardInterrupt after it)."""
    resolved = (limits or Limits()).resolved()
    app = create_app(resolved, threads=threads)
    config = uvicorn.Config(
        app,
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
