"""``CHUNKSCOPE_OTEL=1``: configure the SDK from the standard variables, then instrument.

Called by ``import chunkscope`` only when the variable is on, so with it off nothing of
OpenTelemetry is imported. The SDK is configured through its own machinery
(``opentelemetry.sdk._configuration``: the exporter entry points, ``OTEL_*_EXPORTER``, the
OTLP protocol, the sampler and id generator variables; the exporters read their own
endpoint, headers and timeout variables), one signal at a time, and only for the signals
whose provider the application has not set: an application's providers are never replaced.

Differences from ``opentelemetry-instrument``, on purpose: exporters default to ``otlp``
(localhost:4317) when ``OTEL_*_EXPORTER`` is unset, ``service.name`` defaults to
``chunkscope``, histogram Views pin chunkscope's buckets, and the three signals shut down
in parallel within one deadline. Multiprocessing children (``--jobs`` workers, a server's
worker processes) never get here: ``import chunkscope`` skips telemetry in them, and the
parent records their results.
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from typing import Any

from chunkscope import names as N

SEMCONV_OPT_IN_ENV = N.SEMCONV_OPT_IN_ENV
_PROCESS_METRICS: dict[str, list[str] | None] = {
    "process.cpu.time": ["user", "system"],
    "process.cpu.utilization": ["user", "system"],
    "process.memory.usage": None,
    "process.memory.virtual": None,
    "process.thread.count": None,
    "process.open_file_descriptor.count": None,
    "process.context_switches": ["involuntary", "voluntary"],
    "cpython.gc.collections": None,
    "cpython.gc.collected_objects": None,
}
"""Process-level metrics only: the chunker's footprint, not the host's."""

_log = logging.getLogger("opentelemetry.instrumentation.chunkscope")


def enabled(environ: Any = None) -> bool:
    """Whether ``CHUNKSCOPE_OTEL`` asks for telemetry (1, true, yes or on)."""
    env = os.environ if environ is None else environ
    return env.get(N.OTEL_ENV, "").strip().lower() in N.TRUE_VALUES


def sdk_disabled() -> bool:
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def disabled_by_user(name: str = "chunkscope") -> bool:
    names = os.environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "")
    listed = {n.strip() for n in names.split(",")}
    return name in listed or "*" in listed


def autoinstrument() -> None:
    """Entry point for ``import chunkscope``; never raises, never configures twice."""
    try:
        if sdk_disabled() or disabled_by_user():
            return
        from opentelemetry.instrumentation.chunkscope import ChunkscopeInstrumentor

        instrumentor = ChunkscopeInstrumentor()
        if instrumentor.is_instrumented_by_opentelemetry or ChunkscopeInstrumentor._busy:
            return
        stable_http_semconv()
        created = configure_sdk()
        instrumentor.instrument()
        if not disabled_by_user("treesitter_chunker"):
            from opentelemetry.instrumentation.treesitter_chunker import instrument_on_import

            instrument_on_import()
        if created:
            freeze_startup_objects()
    except Exception as exc:
        _log.warning(
            "chunkscope telemetry is off, it could not start: %s: %s", type(exc).__name__, exc
        )


def freeze_startup_objects() -> None:
    """Move every object alive now out of the cyclic garbage collector's reach (``gc.freeze``).

    Why: the SDK, its exporters and their imports add tens of thousands of long-lived objects
    that every full collection would otherwise traverse again, and a chunker that allocates
    many Python objects (treesitter-chunker) pays for that on every file (docs/telemetry.md,
    "What it costs"). Frozen objects are still freed by reference counting; only cycles among
    them are never collected, which for modules, classes and providers that live as long as
    the process costs nothing. Done only in a process whose providers chunkscope configured
    (``CHUNKSCOPE_OTEL=1``).
    """
    import gc

    gc.freeze()


def stable_http_semconv() -> None:
    """Default ``OTEL_SEMCONV_STABILITY_OPT_IN`` to ``http`` unless the user chose a mode.

    The HTTP instrumentations a chunkscope service uses then emit the stable
    ``http.server.request.duration`` (seconds) the dashboards query, not the deprecated
    ``http.server.duration``. It must be set before the first ``instrument()``: the
    instrumentation library reads the variable once per process, at that point.
    """
    if not os.environ.get(SEMCONV_OPT_IN_ENV, "").strip():
        os.environ[SEMCONV_OPT_IN_ENV] = "http"


def _resource_attributes() -> dict[str, str]:
    """Defaults that OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES may override."""
    given = os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
    keys = {item.split("=", 1)[0].strip() for item in given.split(",") if "=" in item}
    attrs: dict[str, str] = {}
    if not os.environ.get("OTEL_SERVICE_NAME") and "service.name" not in keys:
        attrs["service.name"] = "chunkscope"
    if "service.instance.id" not in keys:
        attrs["service.instance.id"] = str(uuid.uuid4())
    return attrs


def default_protocol() -> None:
    """Default the OTLP protocol to ``http/protobuf`` unless the user chose one.

    The OTLP specification recommends it as the default; the Python SDK still defaults to
    gRPC, whose native library adds about 14 MB and 60 ms to every process that loads it.
    """
    chosen = [
        name
        for name in os.environ
        if name.startswith("OTEL_EXPORTER_OTLP_") and name.endswith("_PROTOCOL")
    ]
    if not any(os.environ[name].strip() for name in chosen):
        os.environ[N.OTLP_PROTOCOL_ENV] = N.DEFAULT_OTLP_PROTOCOL


def _exporter_names(signal: str) -> list[str]:
    from opentelemetry.sdk._configuration import _get_exporter_entry_point, _get_exporter_names

    variable = f"OTEL_{signal.upper()}_EXPORTER"
    if os.environ.get(variable, "").strip():
        return _get_exporter_names(signal)  # type: ignore[arg-type]
    return [_get_exporter_entry_point("otlp", signal)]  # type: ignore[arg-type]


def _unset(provider: Any) -> bool:
    # The API hands out a proxy until a provider is set; a set provider is never a proxy.
    return type(provider).__name__.lstrip("_").startswith("Proxy")


def configure_sdk() -> list[Any]:
    """Set up the providers the application has not set; return the ones created here."""
    from opentelemetry import metrics, trace
    from opentelemetry._logs import get_logger_provider
    from opentelemetry.instrumentation.chunkscope import _safety, _shutdown
    from opentelemetry.sdk._configuration import (
        _get_id_generator,
        _get_sampler,
        _import_exporters,
        _import_id_generator,
        _import_sampler,
        _init_logging,
        _init_tracing,
    )
    from opentelemetry.sdk.resources import Resource

    want_traces = _unset(trace.get_tracer_provider())
    want_metrics = _unset(metrics.get_meter_provider())
    want_logs = _unset(get_logger_provider())
    if not (want_traces or want_metrics or want_logs):
        return []
    _safety.install_export_filter()
    default_protocol()
    resource = Resource.create(_resource_attributes())
    spans, readers, logs = _import_exporters(
        _exporter_names("traces") if want_traces else [],
        _exporter_names("metrics") if want_metrics else [],
        _exporter_names("logs") if want_logs else [],
    )
    created: list[Any] = []
    if want_traces:
        _init_tracing(
            exporters=_faster(spans),
            id_generator=_import_id_generator(_get_id_generator()),
            sampler=_import_sampler(_get_sampler()),
            resource=resource,
        )
        created.append(trace.get_tracer_provider())
    if want_metrics:
        created.append(_init_metrics(readers, resource))
    if want_logs:
        _init_logging(logs, resource, setup_logging_handler=False)
        created.append(get_logger_provider())
    _shutdown.shutdown_at_exit(created)
    return created


def _faster(exporters: dict[str, type]) -> dict[str, type]:
    """The stock OTLP/gRPC span exporter, with the wire encoder of ``_otlp`` swapped in.

    Looked up in ``sys.modules``: only a chosen gRPC exporter is loaded, and importing it here
    would load grpcio (14 MB) into a process that exports over HTTP.
    """
    grpc_exporter = sys.modules.get("opentelemetry.exporter.otlp.proto.grpc.trace_exporter")
    if grpc_exporter is None:
        return exporters
    from opentelemetry.instrumentation.chunkscope._otlp import FastOTLPSpanExporter

    return {
        name: FastOTLPSpanExporter if cls is grpc_exporter.OTLPSpanExporter else cls
        for name, cls in exporters.items()
    }


def _init_metrics(exporters: dict[str, type], resource: Any) -> Any:
    """``_init_metrics`` of the SDK plus chunkscope's Views, Prometheus and process metrics."""
    from opentelemetry import metrics
    from opentelemetry.instrumentation.chunkscope._metrics import views
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader

    readers: list[MetricReader] = []
    for exporter_or_reader in exporters.values():
        if issubclass(exporter_or_reader, MetricReader):
            readers.append(exporter_or_reader())
        else:
            readers.append(PeriodicExportingMetricReader(exporter_or_reader()))
    prometheus = _prometheus_reader()
    if prometheus is not None:
        readers.append(prometheus)
    provider = MeterProvider(resource=resource, metric_readers=readers, views=views())
    metrics.set_meter_provider(provider)
    _process_metrics(provider)
    return provider


def _prometheus_reader() -> Any:
    """A scrape endpoint on ``CHUNKSCOPE_PROMETHEUS_PORT`` (loopback unless told otherwise)."""
    raw = os.environ.get(N.PROMETHEUS_PORT_ENV, "").strip()
    if not raw:
        return None
    try:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import start_http_server

        addr = os.environ.get(N.PROMETHEUS_ADDR_ENV, "127.0.0.1").strip() or "127.0.0.1"
        reader = PrometheusMetricReader()
        start_http_server(int(raw), addr=addr)
        return reader
    except Exception as exc:
        _log.warning("chunkscope metrics endpoint on port %s is off: %s", raw, exc)
        return None


def _process_metrics(provider: Any) -> None:
    try:
        from opentelemetry.instrumentation.system_metrics import SystemMetricsInstrumentor

        instrumentor = SystemMetricsInstrumentor(config=_PROCESS_METRICS)
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(meter_provider=provider)
    except Exception as exc:
        _log.warning("process metrics are off: %s", exc)
