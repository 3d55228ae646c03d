"""Telemetry failures stay inside telemetry: one warning, then silence.

Two kinds are handled here. A bug or surprise inside instrumentation code is caught around
the telemetry call (never around the chunker's own call) and reported once. Export failures
(collector down, refusing, slow, misconfigured) are logged by the SDK's exporters and batch
processors once per batch and retry; a filter on those loggers turns the first into one
``telemetry.export_failed`` warning on the chunkscope logger and drops the rest. A collector
that accepts the connection and never answers makes the SDK log nothing before the process
exits; the bounded shutdown notices its deadline passing and gives the same one warning.
"""

from __future__ import annotations

import contextlib
import logging
import threading

_internal = logging.getLogger("opentelemetry.instrumentation.chunkscope")
_lock = threading.Lock()
_reported = False

EXPORT_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
    "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
    "opentelemetry.exporter.otlp.proto.grpc.metric_exporter",
    "opentelemetry.exporter.otlp.proto.grpc._log_exporter",
    "opentelemetry.exporter.otlp.proto.http._common",
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
    "opentelemetry.exporter.otlp.proto.http._log_exporter",
    "opentelemetry.exporter.otlp.proto.common._internal",
    "opentelemetry.sdk._shared_internal",
    "opentelemetry.sdk.trace.export",
    "opentelemetry.sdk._logs._internal.export",
    "opentelemetry.sdk.metrics._internal.export",
)
"""Loggers through which the SDK reports failed or dropped exports."""


def report(error: BaseException) -> None:
    """Note an instrumentation bug once per process; the chunker carries on untouched."""
    global _reported
    with _lock:
        if _reported:
            return
        _reported = True
    with contextlib.suppress(Exception):
        _internal.warning(
            "chunkscope telemetry error, further ones are not reported: %s: %s",
            type(error).__name__,
            error,
        )


_undelivered_lock = threading.RLock()
_undelivered_warned = False
WARNING_WAIT_SECONDS = 1.0
"""How long a second caller waits for the first one's warning to be written. The first is
often an exporter's daemon thread; the interpreter must not exit while it is mid-line."""


def warn_undelivered(detail: str) -> None:
    """The one ``telemetry.export_failed`` warning of a process, whichever failure came first.

    The lock is held while the warning is written, so the exit path, which calls this after
    its deadline, returns only once an exporter thread's warning is out. Reentrant: a warning
    that fails to export comes back here from the same thread and finds it already given.
    """
    global _undelivered_warned
    if not _undelivered_lock.acquire(timeout=WARNING_WAIT_SECONDS):
        return
    try:
        if _undelivered_warned:
            return
        _undelivered_warned = True
        with contextlib.suppress(Exception):
            _log_undelivered(detail)
    finally:
        _undelivered_lock.release()


def _log_undelivered(detail: str) -> None:
    from chunkscope.logs import get_logger

    get_logger().warning(
        "telemetry.export_failed",
        detail=detail[:300],
        note="chunking continues; further telemetry export errors are not logged",
    )


class ExportFailureFilter(logging.Filter):
    """Lets no exporter warning through; turns the first into one chunkscope warning."""

    def __init__(self) -> None:
        super().__init__("chunkscope-export-failures")
        self.suppressed = 0
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        with self._lock:
            self.suppressed += 1
        warn_undelivered(record.getMessage())
        return False


_filter: ExportFailureFilter | None = None


def install_export_filter() -> ExportFailureFilter:
    """Attach the filter to every export logger (idempotent)."""
    global _filter
    if _filter is None:
        _filter = ExportFailureFilter()
        for name in EXPORT_LOGGERS:
            logging.getLogger(name).addFilter(_filter)
    return _filter
