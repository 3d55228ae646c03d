"""``/metrics`` on the service port: a Prometheus reader on the meter provider, rendered
from prometheus_client's registry as opentelemetry-exporter-prometheus fills it."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from chunkscope import names as N
from chunkscope.logs import get_logger

_log = get_logger()


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
