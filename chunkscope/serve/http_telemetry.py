"""HTTP server spans and RED metrics for ``chunkscope serve``, from
opentelemetry-instrumentation-fastapi with the stable HTTP semantic conventions
(``http_server_request_duration_seconds_*``, ``http_server_active_requests``)."""

from __future__ import annotations

import os
from typing import Any

from chunkscope import names as N

EXCLUDED_URLS = "/healthz,/readyz,/metrics"
"""Probes and scrapes are neither traced nor counted in the RED metrics."""


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
    if os.environ.get(N.SEMCONV_OPT_IN_ENV):
        return
    os.environ[N.SEMCONV_OPT_IN_ENV] = "http"
    from opentelemetry.instrumentation._semconv import (
        _OpenTelemetrySemanticConventionStability as Stability,
    )

    with Stability._lock:
        Stability._initialized = False
    Stability._initialize()
