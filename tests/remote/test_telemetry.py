"""The ``--remote`` client's telemetry: one trace from the run to each request, per-replica
metrics, and no second recording of files a replica already recorded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.instrumentation.chunkscope import ChunkscopeInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from remote_support import StubFleet

import chunkscope
from chunkscope import ChunkOptions
from chunkscope import names as N
from chunkscope.model import RecordedElsewhere
from chunkscope.remote import RemoteChunker, client, telemetry

A, B = "http://10.0.0.1:8080", "http://10.0.0.2:9090"


@pytest.fixture
def otel(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[InMemorySpanExporter, InMemoryMetricReader]]:
    """chunkscope instrumented with in-memory providers; the client's telemetry uses them."""
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    monkeypatch.setattr(
        client, "_telemetry", lambda c: telemetry.instrument(c, tracer_provider, meter_provider)
    )
    instrumentor = ChunkscopeInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        yield spans, reader
    finally:
        instrumentor.uninstrument()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for i in range(6):
        (tmp_path / f"m{i}.py").write_text(f"def f{i}():\n    return {i}\n")
    (tmp_path / "notes.txt").write_text("no grammar\n")
    return tmp_path


def points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


def test_each_request_is_a_client_span_of_the_run_and_carries_its_context(
    otel: tuple[InMemorySpanExporter, InMemoryMetricReader], tree: Path, fleet: StubFleet
) -> None:
    """run -> POST (one per request), and the request's traceparent names that POST span."""
    spans, _ = otel
    remote = RemoteChunker([A, B], batch=1, transport=fleet.transport)
    results = list(chunkscope.chunk_paths([str(tree)], ChunkOptions(jobs=2), executor=remote))
    assert all(isinstance(r.timings, RecordedElsewhere) for r in results)
    finished = spans.get_finished_spans()
    [run] = [s for s in finished if s.name == N.SPAN_RUN]
    posts = [s for s in finished if s.kind.name == "CLIENT"]
    sent = [r for reqs in fleet.requests.values() for r in reqs]
    assert len(posts) == len(sent) == 7
    assert {s.parent.span_id for s in posts} == {run.context.span_id}
    for request in sent:
        _, trace_id, parent_id, _ = request.headers["traceparent"].split("-")
        assert int(trace_id, 16) == run.context.trace_id
        assert int(parent_id, 16) in {s.context.span_id for s in posts}
    assert not [s for s in finished if s.name == N.SPAN_FILE]  # the replicas recorded them
    assert run.attributes[N.RUN_FILES_CHUNKED] == 6
    assert run.attributes[N.RUN_FILES_SKIPPED] == 1


def test_metrics_by_replica_and_no_second_count_of_files(
    otel: tuple[InMemorySpanExporter, InMemoryMetricReader], tree: Path, fleet: StubFleet
) -> None:
    """Requests, retries and latency carry the replica; chunkscope.files stays the replicas'."""
    _, reader = otel
    shed = {"left": 2}

    def shedding(request: httpx.Request) -> httpx.Response | None:
        if shed["left"]:
            shed["left"] -= 1
            return httpx.Response(429, headers={"Retry-After": "0"})
        return None

    fleet.scripts[B] = shedding
    remote = RemoteChunker([A, B], batch=1, transport=fleet.transport, sleep=lambda s: None)
    list(chunkscope.chunk_paths([str(tree)], ChunkOptions(jobs=2), executor=remote))
    found = points(reader)
    requests = {
        (p.attributes[N.SERVER_PORT], p.attributes[N.HTTP_STATUS_CODE]): p.value
        for p in found[N.REMOTE_REQUESTS]
    }
    assert requests[(9090, 429)] == 2
    assert sum(requests.values()) == 7 + 2
    [retries] = found[N.REMOTE_RETRIES]
    assert dict(retries.attributes) == {
        N.SERVER_ADDRESS: "10.0.0.2",
        N.SERVER_PORT: 9090,
        N.RETRY_REASON: "overloaded",
    }
    assert retries.value == 2
    latency = {p.attributes[N.SERVER_PORT]: p.count for p in found[N.REMOTE_DURATION]}
    assert sum(latency.values()) == 9 and set(latency) == {8080, 9090}
    assert N.FILES not in found or all(p.value == 0 for p in found[N.FILES])
