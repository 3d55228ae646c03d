"""The service's telemetry: HTTP RED from the FastAPI instrumentation, pool saturation
metrics, ``/metrics`` rendering and the flush at shutdown.

Imported by the app unconditionally but touches OpenTelemetry only when telemetry is on
(``CHUNKSCOPE_OTEL``), keeping the service's telemetry-off path free of the SDK.

Metrics, as Prometheus names them:

- ``chunkscope_serve_queue_depth`` (up-down counter ``chunkscope.serve.queue.depth``):
  admitted requests waiting for a free worker;
- ``chunkscope_serve_shed_total`` (counter ``chunkscope.serve.shed``): requests refused
  with 429;
- ``http_server_request_duration_seconds_*`` and ``http_server_active_requests`` from
  opentelemetry-instrumentation-fastapi (stable HTTP semantic conventions).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import replace
from typing import Any

from chunkscope import names as N
from chunkscope.logs import get_logger
from chunkscope.serve.pool import Measured, PoolMetrics

_log = get_logger()

SEMCONV_OPT_IN = "OTEL_SEMCONV_STABILITY_OPT_IN"
EXCLUDED_URLS = "/healthz,/readyz,/metrics"
"""Probes and scrapes are neither traced nor counted in the RED metrics."""


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


def instrument_app(app: Any, tracer_provider: Any = None, meter_provider: Any = None) -> None:
    """HTTP server spans and RED metrics; the chunker's spans nest under the server span."""
    _stable_http_semconv()
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        excluded_urls=EXCLUDED_URLS,
        exclude_spans=["receive", "send"],
    )


def _stable_http_semconv() -> None:
    """Emit ``http.server.request.duration`` (seconds), the name the dashboards query.

    With ``CHUNKSCOPE_OTEL=1`` the instrumentation's bootstrap already defaults the opt-in
    to ``http`` before anything is instrumented. An app built in a process that instrumented
    earlier with the variable unset (providers passed in, as in tests) has the old mode
    cached: the variable is read once per process, so unless the user chose a mode, choose
    the stable one and re-read it (through the instrumentation library's private class,
    the only way to re-read it).
    """
    if os.environ.get(SEMCONV_OPT_IN):
        return
    os.environ[SEMCONV_OPT_IN] = "http"
    from opentelemetry.instrumentation._semconv import (
        _OpenTelemetrySemanticConventionStability as Stability,
    )

    with Stability._lock:
        Stability._initialized = False
    Stability._initialize()


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


def attach_prometheus(meter_provider: Any = None) -> Any:
    """Give ``/metrics`` a Prometheus reader on the provider, unless one exists already.

    ``CHUNKSCOPE_PROMETHEUS_PORT`` makes the instrumentation add one (with its own scrape
    port); without it the service adds its own, so ``/metrics`` on the service port shows
    the same registry. Returns the reader added, for ``detach_prometheus``, or None.
    """
    from opentelemetry import metrics

    provider = meter_provider or metrics.get_meter_provider()
    add = getattr(provider, "add_metric_reader", None)
    if add is None or os.environ.get(N.PROMETHEUS_PORT_ENV, "").strip():
        return None
    try:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader

        readers = getattr(provider, "_metric_readers", ())
        if any(isinstance(r, PrometheusMetricReader) for r in readers):
            return None
        reader = PrometheusMetricReader()
        add(reader)
        return reader
    except Exception as exc:
        _log.warning("serve.metrics_endpoint_off", error=f"{type(exc).__name__}: {exc}")
        return None


def detach_prometheus(reader: Any, meter_provider: Any = None) -> None:
    """Undo ``attach_prometheus`` (unregisters the reader's collector too); never raises."""
    from opentelemetry import metrics

    provider = meter_provider or metrics.get_meter_provider()
    with contextlib.suppress(Exception):
        provider.remove_metric_reader(reader)


def prometheus_text(accept: str) -> tuple[bytes, str]:
    """The process's prometheus_client registry, as opentelemetry-exporter-prometheus fills it."""
    from prometheus_client import REGISTRY
    from prometheus_client.exposition import choose_encoder

    encoder, content_type = choose_encoder(accept)
    return encoder(REGISTRY), content_type


def flush(timeout_millis: int = 5000) -> None:
    """Push out buffered spans and metrics before the process exits; never raises."""
    from opentelemetry import metrics, trace

    for provider in (trace.get_tracer_provider(), metrics.get_meter_provider()):
        force_flush = getattr(provider, "force_flush", None)
        if force_flush is None:
            continue
        # telemetry must never turn a clean shutdown into a crash
        with contextlib.suppress(Exception):
            force_flush(timeout_millis)
