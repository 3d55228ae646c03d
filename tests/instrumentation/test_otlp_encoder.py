"""The wire span encoder produces exactly the message of the SDK's own OTLP encoder."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.instrumentation.chunkscope._otlp import FastOTLPSpanExporter, WireEncoder
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode
from otel_support import Telemetry

import chunkscope


def _decode(encoder: WireEncoder, spans: object) -> ExportTraceServiceRequest:
    return ExportTraceServiceRequest.FromString(encoder.encode(spans))  # type: ignore[arg-type]


class TestWireEncoder:
    def test_chunkscope_spans(self, telemetry: Telemetry, project: Path) -> None:
        """Spans of a real run, errors included, encode to the stock encoder's message."""
        list(chunkscope.chunk_paths([project]))
        with pytest.raises(ValueError):
            chunkscope.parse(b"x", "no-such-language")
        spans = telemetry.spans()
        assert len(spans) > 5
        encoder = WireEncoder()
        assert _decode(encoder, spans) == encode_spans(spans)
        assert _decode(encoder, spans) == encode_spans(spans)  # again, from the caches

    def test_every_field_kind(self) -> None:
        """Kinds, links, events, status, remote parents, arrays, negatives, floats, unicode."""
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracer = provider.get_tracer("t", "1.2", schema_url="https://example.test/s")
        other = provider.get_tracer("u")
        root = tracer.start_span("root", kind=SpanKind.SERVER)
        ctx = trace.set_span_in_context(root)
        for index, kind in enumerate(SpanKind):
            span = (tracer if index % 2 else other).start_span(
                f"span-{index}-ü",
                context=ctx,
                kind=kind,
                links=[Link(root.get_span_context(), {"weight": 0.5})],
            )
            span.set_attributes(
                {
                    "s": "välue",
                    "empty": "",
                    "b": index % 2 == 0,
                    "i": -(10**index) * 7,
                    "big": 2**62,
                    "f": 1.25,
                    "strings": ("a", "b"),
                    "ints": (1, -2, 3),
                    "path": "x/" * 80,
                }
            )
            span.add_event("note", {"n": index})
            if index == 2:
                span.set_status(Status(StatusCode.ERROR, "went wrong"))
            elif index == 3:
                span.set_status(Status(StatusCode.OK))
            span.end()
        root.end()
        spans = exporter.get_finished_spans()
        assert _decode(WireEncoder(), spans) == encode_spans(spans)

    def test_exporter_falls_back_for_unknown_values(self) -> None:
        """A value the wire encoder does not know goes through the stock encoder instead."""
        finished = ReadableSpan(
            name="s",
            context=SpanContext(1, 2, False),
            attributes={"ok": 1, "odd": {"a": 1}},
            start_time=1,
            end_time=2,
            resource=Resource.create({}),
        )
        fast = FastOTLPSpanExporter(endpoint="http://127.0.0.1:9", insecure=True)
        try:
            assert fast._translate_data([finished]) == encode_spans([finished])
        finally:
            fast.shutdown()
