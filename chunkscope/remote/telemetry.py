"""The ``--remote`` client's telemetry: an HTTP client span per request, metrics per replica.

Imported only when chunkscope telemetry is on in this process. The httpx instrumentation
makes one ``POST`` client span per attempt under the run span and injects W3C
``traceparent`` into the request, so the server's span (and its file, parse and extract
spans) joins the client's trace. Metrics, as Prometheus names them:

- ``chunkscope_remote_requests_total``: requests by replica (``server_address``,
  ``server_port``) and ``http_response_status_code`` (``0``: no answer);
- ``chunkscope_remote_retries_total``: requests sent again, by replica and
  ``chunkscope_retry_reason`` (``overloaded`` for 429, ``failed`` for 5xx or no answer);
- ``chunkscope_remote_request_duration_seconds``: request latency by replica;
- ``chunkscope_remote_local_total``: files chunked in the client because the service
  cannot take them.

Names live in ``chunkscope.names``. A file a replica chunked is recorded there, under the
server span; the client's run span only counts it (``model.RecordedElsewhere``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from chunkscope import names as N
from chunkscope.remote.client import RemoteMetrics


def replica_attributes(url: str) -> dict[str, Any]:
    """``server.address``/``server.port`` of a base URL, as the HTTP semconv spell a peer."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return {N.SERVER_ADDRESS: parts.hostname or "", N.SERVER_PORT: port}


class OtelRemoteMetrics(RemoteMetrics):
    """``RemoteMetrics`` recorded through an OpenTelemetry meter."""

    def __init__(self, meter_provider: Any = None) -> None:
        from opentelemetry import metrics

        meter = metrics.get_meter("chunkscope.remote", meter_provider=meter_provider)

        def counter(name: str) -> Any:
            _, unit, description = N.METRICS[name]
            return meter.create_counter(name, unit=unit, description=description)

        self._requests = counter(N.REMOTE_REQUESTS)
        self._retries = counter(N.REMOTE_RETRIES)
        self._local = counter(N.REMOTE_LOCAL)
        _, unit, description = N.METRICS[N.REMOTE_DURATION]
        self._duration = meter.create_histogram(
            N.REMOTE_DURATION,
            unit=unit,
            description=description,
            explicit_bucket_boundaries_advisory=list(N.DURATION_BUCKETS),
        )
        self._replicas: dict[str, dict[str, Any]] = {}

    def _replica(self, url: str) -> dict[str, Any]:
        found = self._replicas.get(url)
        if found is None:
            found = self._replicas[url] = replica_attributes(url)
        return found

    def request(self, replica: str, status: int | None, seconds: float) -> None:
        attrs = {**self._replica(replica), N.HTTP_STATUS_CODE: status or 0}
        self._requests.add(1, attrs)
        self._duration.record(seconds, self._replica(replica))

    def retry(self, replica: str, reason: str) -> None:
        self._retries.add(1, {**self._replica(replica), N.RETRY_REASON: reason})

    def local(self, reason: str) -> None:
        self._local.add(1, {N.LOCAL_REASON: reason})


def instrument(
    client: Any, tracer_provider: Any = None, meter_provider: Any = None
) -> RemoteMetrics:
    """Trace ``client``'s requests and return the metrics hooks; never raises."""
    from chunkscope.logs import get_logger

    try:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor.instrument_client(
            client, tracer_provider=tracer_provider, meter_provider=meter_provider
        )
    except Exception as exc:  # no httpx instrumentation installed: metrics still work
        get_logger().warning("remote.tracing_off", error=f"{type(exc).__name__}: {exc}")
    try:
        return OtelRemoteMetrics(meter_provider)
    except Exception as exc:
        get_logger().warning("remote.metrics_off", error=f"{type(exc).__name__}: {exc}")
        return RemoteMetrics()
