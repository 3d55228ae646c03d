"""HTTP spans parent the chunker's spans; RED, saturation and chunker metrics are recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.instrumentation.chunkscope import ChunkscopeInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from serve_support import OtlpTraceSink, ServeProcess, wait_until

from chunkscope.names import SERVE_QUEUE_DEPTH as QUEUE_DEPTH
from chunkscope.names import SERVE_SHED as SHED
from chunkscope.serve import Limits, create_app

SOURCE = b"import os\n\n\ndef secret_canary_fn():\n    return 'canary-text-1234'\n"


class Telemetry:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def metrics(self) -> dict[str, list[Any]]:
        """Data points by metric name."""
        out: dict[str, list[Any]] = {}
        data = self.reader.get_metrics_data()
        for rm in data.resource_metrics if data else ():
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    out.setdefault(metric.name, []).extend(metric.data.data_points)
        return out


@pytest.fixture
def otel(monkeypatch: pytest.MonkeyPatch) -> Iterator[Telemetry]:
    # Unset for the app (which then opts in to stable HTTP semconv), restored afterwards.
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "")
    t = Telemetry()
    instrumentor = ChunkscopeInstrumentor()
    instrumentor.instrument(tracer_provider=t.tracer_provider, meter_provider=t.meter_provider)
    try:
        yield t
    finally:
        instrumentor.uninstrument()


async def exercise(app: Any, calls: list[tuple[str, dict[str, Any]]], hold: int = 0) -> list[int]:
    """Run the app's lifespan, optionally take ``hold`` admission slots, make the calls."""
    statuses: list[int] = []
    async with app.router.lifespan_context(app):
        tickets = [app.state.pool.admit() for _ in range(hold)]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            for path, kwargs in calls:
                statuses.append((await client.post(path, **kwargs)).status_code)
        for ticket in tickets:
            ticket.drop()
    return statuses


def by_name(spans: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def make_app(t: Telemetry, **limits: Any) -> Any:
    return create_app(
        Limits(workers=1, **limits),
        threads=True,
        telemetry_on=True,
        tracer_provider=t.tracer_provider,
        meter_provider=t.meter_provider,
    )


def test_http_span_parents_file_span_parents_parse_and_extract(otel: Telemetry) -> None:
    """POST /v1/chunk -> chunkscope.file -> chunkscope.parse / chunkscope.extract, one trace."""
    app = make_app(otel)
    statuses = asyncio.run(
        exercise(app, [("/v1/chunk", {"params": {"path": "a.py"}, "content": SOURCE})])
    )
    assert statuses == [200]
    spans = list(otel.spans.get_finished_spans())
    (server,) = [s for s in spans if s.kind == SpanKind.SERVER]
    assert server.name == "POST /v1/chunk"
    assert server.attributes["http.route"] == "/v1/chunk"
    assert server.attributes["http.response.status_code"] == 200
    (file_span,) = by_name(spans, "chunkscope.file")
    (parse,) = by_name(spans, "chunkscope.parse")
    (extract,) = by_name(spans, "chunkscope.extract")
    assert file_span.parent is not None and parse.parent is not None
    assert extract.parent is not None
    assert file_span.parent.span_id == server.context.span_id
    assert parse.parent.span_id == file_span.context.span_id
    assert extract.parent.span_id == file_span.context.span_id
    assert {s.context.trace_id for s in (server, file_span, parse, extract)} == {
        server.context.trace_id
    }
    assert file_span.attributes["chunkscope.language"] == "python"
    exported = repr([dict(s.attributes or {}) for s in spans])
    assert "canary" not in exported


def test_red_saturation_and_chunker_metrics(otel: Telemetry) -> None:
    """HTTP duration by route, queue depth, shed count and the workers' chunker metrics."""
    app = make_app(otel, max_queue=1)
    call = ("/v1/chunk", {"params": {"path": "a.py"}, "content": SOURCE})
    assert asyncio.run(exercise(app, [call, call])) == [200, 200]
    assert asyncio.run(exercise(make_app(otel, max_queue=1), [call], hold=2)) == [429]
    points = otel.metrics()
    durations = points["http.server.request.duration"]
    routes = {
        (p.attributes.get("http.route"), p.attributes.get("http.response.status_code"))
        for p in durations
    }
    assert ("/v1/chunk", 200) in routes
    assert ("/v1/chunk", 429) in routes
    assert sum(p.value for p in points[SHED]) == 1
    assert sum(p.value for p in points[QUEUE_DEPTH]) == 0
    files = {p.attributes["chunkscope.outcome"]: p.value for p in points["chunkscope.files"]}
    assert files == {"chunked": 2}
    parse_count = sum(p.count for p in points["chunkscope.parse.duration"])
    assert parse_count == 2
    chunks = {p.attributes["chunkscope.chunk.kind"]: p.value for p in points["chunkscope.chunks"]}
    assert chunks == {"code": 2, "function": 2}


def test_telemetry_off_records_nothing(otel: Telemetry) -> None:
    """With telemetry off the app adds no HTTP spans or service metrics of its own."""
    app = create_app(Limits(workers=1), threads=True, telemetry_on=False)
    call = ("/v1/chunk", {"params": {"path": "a.py"}, "content": SOURCE})
    assert asyncio.run(exercise(app, [call])) == [200]
    spans = otel.spans.get_finished_spans()
    assert not [s for s in spans if s.kind == SpanKind.SERVER]
    assert SHED not in otel.metrics()


def resource_attr(resource: Any, key: str) -> Any:
    for kv in resource.attributes:
        if kv.key == key:
            return kv.value.int_value or kv.value.string_value
    return None


def test_worker_process_spans_join_the_http_trace_and_metrics_are_scraped(
    serve_process: Callable[..., ServeProcess],
) -> None:
    """Real server, real worker process, OTLP out: the server records the worker's result as a
    file span under its HTTP span; /metrics shows RED, saturation and chunker metrics."""
    sink = OtlpTraceSink()
    try:
        server = serve_process(
            "--workers",
            "1",
            env={
                "CHUNKSCOPE_OTEL": "1",
                "OTEL_SERVICE_NAME": "chunkscope-serve-test",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                "OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint,
                "OTEL_METRICS_EXPORTER": "none",
                "OTEL_LOGS_EXPORTER": "none",
                "OTEL_BSP_SCHEDULE_DELAY": "100",
                "OTEL_SEMCONV_STABILITY_OPT_IN": "",
            },
        )
        r = httpx.post(f"{server.url}/v1/chunk", params={"path": "a.py"}, content=SOURCE)
        assert r.status_code == 200
        wait_until(
            lambda: bool(sink.named("chunkscope.file")) and bool(sink.named("POST /v1/chunk")),
            60,
            "the server and worker spans to be exported",
        )
        ((server_resource, http_span),) = sink.named("POST /v1/chunk")
        ((file_resource, file_span),) = sink.named("chunkscope.file")
        assert file_span.trace_id == http_span.trace_id
        assert file_span.parent_span_id == http_span.span_id
        assert resource_attr(server_resource, "service.name") == "chunkscope-serve-test"
        # One process records: the worker's file comes out of the server's own providers.
        assert resource_attr(file_resource, "service.instance.id") == resource_attr(
            server_resource, "service.instance.id"
        )
        assert http_span.start_time_unix_nano <= file_span.start_time_unix_nano
        assert file_span.end_time_unix_nano <= http_span.end_time_unix_nano
        wait_until(lambda: bool(sink.named("chunkscope.parse")), 60, "the parse span")
        ((_, parse_span),) = sink.named("chunkscope.parse")
        assert parse_span.parent_span_id == file_span.span_id

        text = httpx.get(f"{server.url}/metrics").text
        assert "http_server_request_duration_seconds_bucket{" in text
        assert 'http_route="/v1/chunk"' in text
        assert "chunkscope_serve_queue_depth" in text
        assert "chunkscope_serve_shed_total" in text
        assert "chunkscope_files_total{" in text and 'chunkscope_outcome="chunked"' in text
        assert "canary" not in text
    finally:
        sink.close()


def test_sigterm_flushes_spans_still_in_the_batch(
    serve_process: Callable[..., ServeProcess],
) -> None:
    """With a one-minute batch delay nothing is exported while serving; SIGTERM flushes the
    server's HTTP span and the worker's file span before the process exits."""
    sink = OtlpTraceSink()
    try:
        server = serve_process(
            "--workers",
            "1",
            env={
                "CHUNKSCOPE_OTEL": "1",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                "OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint,
                "OTEL_METRICS_EXPORTER": "none",
                "OTEL_LOGS_EXPORTER": "none",
                "OTEL_BSP_SCHEDULE_DELAY": "60000",
            },
        )
        r = httpx.post(f"{server.url}/v1/chunk", params={"path": "a.py"}, content=SOURCE)
        assert r.status_code == 200
        assert sink.named("POST /v1/chunk") == []
        assert server.stop() == 0
        assert len(sink.named("POST /v1/chunk")) == 1
        assert len(sink.named("chunkscope.file")) == 1
    finally:
        sink.close()


def test_telemetry_off_imports_no_opentelemetry_sdk() -> None:
    """With CHUNKSCOPE_OTEL unset the service adds no OpenTelemetry module to FastAPI's own.

    FastAPI imports the OpenTelemetry *API* itself (a no-op without an SDK); the service
    loads nothing beyond that set: no SDK, exporter or instrumentation."""
    import json
    import os
    import subprocess
    import sys

    listing = "print(json.dumps(sorted(m for m in sys.modules if m.startswith('opentelemetry'))))"
    fastapi_only = "import json, sys, fastapi; " + listing
    service = (
        "import json, sys; from chunkscope.serve import create_app, Limits; "
        "create_app(Limits(workers=1), threads=True); " + listing
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHUNKSCOPE_", "OTEL_"))}
    loaded = []
    for code in (fastapi_only, service):
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr
        loaded.append(set(json.loads(out.stdout)))
    assert loaded[1] == loaded[0]
    assert not any(m.startswith(("opentelemetry.sdk", "opentelemetry.exporter")) for m in loaded[1])
    assert not any(m.startswith("opentelemetry.instrumentation") for m in loaded[1])


def test_no_source_text_in_any_signal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A canary in code, comments, strings and a rejected body reaches no span, metric
    point or log record of the service, whatever the outcome of the request."""
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import (
        InMemoryLogRecordExporter,
        SimpleLogRecordProcessor,
    )

    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "")
    monkeypatch.setenv("CHUNKSCOPE_OTEL_FILE_SPANS", "all")
    canary = "CANARY_serve_7f3a91"
    t = Telemetry()
    logs = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    instrumentor = ChunkscopeInstrumentor()
    instrumentor.instrument(
        tracer_provider=t.tracer_provider,
        meter_provider=t.meter_provider,
        logger_provider=logger_provider,
    )
    try:
        source = (
            f"# {canary}\ndef {canary}_fn():\n    return '{canary}'\n\ndef broken(:\n"
        ).encode()
        calls = [
            ("/v1/chunk", {"params": {"path": "a.py"}, "content": source}),
            ("/v1/chunk", {"params": {"path": "b.weird"}, "content": source}),
            (
                "/v1/chunk/batch",
                {"json": {"files": [{"path": "c.py", "content": source.decode()}]}},
            ),
            ("/v1/chunk/batch", {"content": b'{"files": [' + canary.encode()}),
        ]
        statuses = asyncio.run(exercise(make_app(t), calls))
    finally:
        instrumentor.uninstrument()
    assert statuses == [200, 422, 200, 400]
    spans = list(t.spans.get_finished_spans())
    assert by_name(spans, "chunkscope.file"), "the file spans must be exported to check them"
    exported = repr(
        [
            (
                s.name,
                dict(s.attributes or {}),
                s.status.description,
                [(e.name, dict(e.attributes or {})) for e in s.events],
            )
            for s in spans
        ]
    )
    exported += repr(
        {name: [dict(p.attributes or {}) for p in points] for name, points in t.metrics().items()}
    )
    records = [d.log_record for d in logs.get_finished_logs()]
    exported += repr([(r.body, dict(r.attributes or {})) for r in records])
    assert "chunkscope.file" in exported and "chunkscope.files" in exported
    assert canary not in exported
