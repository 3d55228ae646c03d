"""Flush and shut down all three signals within one deadline.

The SDK's providers shut down one after the other at exit, each waiting up to the export
timeout when the collector is down, so three signals could add three timeouts. Here they
shut down in parallel threads joined against a single deadline: a short CLI run still loses
nothing when the collector is up, and waits at most the timeout when it is not. A deadline
that passes means telemetry was lost: that is the run's one ``telemetry.export_failed``
warning, unless an exporter already gave it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from chunkscope import names as N

TIMEOUT_ENV = N.SHUTDOWN_TIMEOUT_ENV
_lock = threading.Lock()
_shut_down: weakref.WeakSet[Any] = weakref.WeakSet()
"""Providers already shut down here. Weak, not ``id()``: an id is reused once its object is
gone, and a new provider must never be taken for an old one."""
"""Providers already shut down here (by id): a second shutdown, such as the one at exit
after the service's own, returns at once instead of waiting out a dead collector again."""


def timeout_seconds() -> float:
    """The shutdown deadline: ``CHUNKSCOPE_OTEL_SHUTDOWN_TIMEOUT``, else the OTLP export timeout."""
    for name in (TIMEOUT_ENV, "OTEL_EXPORTER_OTLP_TIMEOUT"):
        raw = os.environ.get(name, "").strip()
        if raw:
            try:
                value = float(raw)
            except ValueError:
                continue
            if value > 0:
                return value
    return 10.0


def run_bounded(calls: Sequence[Callable[[], Any]], timeout: float) -> bool:
    """Run ``calls`` in parallel daemon threads; True when all finished before the deadline."""

    def guarded(call: Callable[[], Any]) -> None:
        with contextlib.suppress(Exception):
            call()

    threads = [threading.Thread(target=guarded, args=(c,), daemon=True) for c in calls]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in threads)


def global_providers() -> list[Any]:
    from opentelemetry import metrics, trace
    from opentelemetry._logs import get_logger_provider

    return [trace.get_tracer_provider(), metrics.get_meter_provider(), get_logger_provider()]


def shutdown(providers: Sequence[Any], timeout: float | None = None) -> bool:
    """Shut ``providers`` down in parallel within ``timeout`` seconds, each at most once."""
    with _lock:
        todo = [p for p in providers if not _already(p)]
    return _bounded("shutdown", todo, timeout)


def _already(provider: Any) -> bool:
    """Whether ``provider`` was shut down here before; marks it as shut down now."""
    try:
        if provider in _shut_down:
            return True
        _shut_down.add(provider)
    except TypeError:  # not weakly referenceable: shut it down every time it is asked
        pass
    return False


def flush(providers: Sequence[Any], timeout: float | None = None) -> bool:
    """Force-flush ``providers`` in parallel within ``timeout`` seconds."""
    return _bounded("force_flush", providers, timeout)


def _bounded(method: str, providers: Sequence[Any], timeout: float | None) -> bool:
    limit = timeout_seconds() if timeout is None else timeout
    calls = [getattr(p, method) for p in providers if callable(getattr(p, method, None))]
    done = run_bounded(calls, limit)
    if not done:
        from opentelemetry.instrumentation.chunkscope._safety import warn_undelivered

        warn_undelivered(
            f"telemetry {method} did not finish within {limit:g} s: "
            "the collector did not answer, what was not yet sent is lost"
        )
    return done


def shutdown_at_exit(providers: Sequence[Any]) -> None:
    """Replace the providers' own sequential atexit shutdowns with one bounded one."""
    for provider in providers:
        atexit.unregister(provider.shutdown)
    atexit.register(shutdown, list(providers))
