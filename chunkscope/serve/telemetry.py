"""The service's own telemetry: the on/off switch, pool saturation metrics, recording the
workers' results under the HTTP span, and the flush at shutdown.

Imported by the app unconditionally but touches OpenTelemetry only when telemetry is on
(``CHUNKSCOPE_OTEL``), keeping the service's telemetry-off path free of the SDK. HTTP spans
and RED metrics are ``http_telemetry``'s, the ``/metrics`` page ``prometheus_endpoint``'s.

Metrics, as Prometheus names them:

- ``chunkscope_serve_queue_depth`` (up-down counter ``chunkscope.serve.queue.depth``):
  admitted requests waiting for a free worker;
- ``chunkscope_serve_shed_total`` (counter ``chunkscope.serve.shed``): requests refused
  with 429.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from chunkscope import names as N
from chunkscope.logs import get_logger
from chunkscope.serve.pool import Measured, PoolMetrics

_log = get_logger()


def enabled() -> bool:
    """``CHUNKSCOPE_OTEL`` as the instrumentation reads it; ``OTEL_SDK_DISABLED`` wins."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return os.environ.get(N.OTEL_ENV, "").strip().lower() in N.TRUE_VALUES


class OtelPoolMetrics(PoolMetrics):
    """Pool hooks recorded through an OpenTelemetry meter."""

    def __init__(self, meter_provider: Any = None) -> None:
        from opentelemetry import metrics

        meter = metrics.get_meter("chunkscope.serve", meter_provider=meter_provider)
        _, unit, description = N.METRICS[N.SERVE_QUEUE_DEPTH]
        self._queue = meter.create_up_down_counter(
            N.SERVE_QUEUE_DEPTH, unit=unit, description=description
        )
        _, unit, description = N.METRICS[N.SERVE_SHED]
        self._shed = meter.create_counter(N.SERVE_SHED, unit=unit, description=description)
        self._shed.add(0)  # a series from the start, so rate() is 0 rather than absent
        self._queue.add(0)

    def queued(self, delta: int) -> None:
        self._queue.add(delta)

    def shed(self) -> None:
        self._shed.add(1)


def pool_metrics(meter_provider: Any = None) -> PoolMetrics:
    return OtelPoolMetrics(meter_provider)


class _Shape:
    """What the recorder reads of a chunk: its kind and byte span."""

    __slots__ = ("end_byte", "kind", "start_byte")

    def __init__(self, kind: str, size: int) -> None:
        self.kind = kind
        self.start_byte = 0
        self.end_byte = size


def record(measured: list[Measured]) -> None:
    """Record the files a worker chunked, in this process, under the current (HTTP) span.

    Workers import no OpenTelemetry: each sends back its results' ``timings`` and the
    (kind, size) of each chunk, rebuilt here as ``_Shape``, and ``record_result`` turns them
    into metric points and, where the keep policy says so, file spans. Never raises.
    """
    try:
        from opentelemetry.instrumentation.chunkscope import record_result

        for view, shapes in measured:
            chunks = tuple(_Shape(kind, size) for kind, size in shapes)
            record_result(replace(view, chunks=chunks))  # type: ignore[arg-type]
    except Exception as exc:  # telemetry never breaks a response
        _log.warning("serve.record_failed", error=f"{type(exc).__name__}: {exc}")


def close(tracer_provider: Any = None, meter_provider: Any = None) -> bool:
    """At the end of the app's life: flush the providers passed to ``create_app`` (their
    owner shuts them down), or flush and shut down the global ones, in parallel within the
    instrumentation's shutdown deadline (``CHUNKSCOPE_OTEL_SHUTDOWN_TIMEOUT``, default the
    OTLP export timeout). Never raises and never waits past the deadline, whatever the
    collector does; True when everything finished in time."""
    from opentelemetry.instrumentation.chunkscope import _shutdown

    given = [p for p in (tracer_provider, meter_provider) if p is not None]
    if given:
        return _shutdown.flush(given)
    return _shutdown.shutdown(_shutdown.global_providers())
