"""A faster OTLP span encoder for the OTLP/gRPC exporter chunkscope configures.

Why: the exporter's stock encoder builds one protobuf object per span, attribute and value,
about 35 µs per span plus 8 µs per attribute on these machines, which alone costs chunking
the stdlib about 3 % (three spans per file). Here each span is written straight in protobuf
wire format, with the bytes of repeated attribute pairs (``chunkscope.language=python``),
resources and scopes cached, and the batch is handed to the exporter as the same
``ExportTraceServiceRequest`` message (parsed back in C). The tests check that the result
equals the stock encoder's message for the same spans; any value this encoder does not
know falls back to the stock encoder for the batch.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200
_CACHE_LIMIT = 8192
_double = struct.Struct("<d").pack
_fixed64 = struct.Struct("<Q").pack
_fixed32 = struct.Struct("<I").pack


class _Unsupported(Exception):
    """A value the wire encoder does not handle; the batch goes to the stock encoder."""


def _slow_varint(value: int) -> bytes:
    if value < 0:
        value &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_SMALL = tuple(_slow_varint(n) for n in range(1 << 14))


def _varint(value: int) -> bytes:
    return _SMALL[value] if 0 <= value < 16384 else _slow_varint(value)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field."""
    size = len(payload)
    return (
        _SMALL[number << 3 | 2] + (_SMALL[size] if size < 16384 else _slow_varint(size)) + payload
    )


def _any_value(value: Any) -> bytes:
    if isinstance(value, bool):
        return b"\x10" + (b"\x01" if value else b"\x00")
    if isinstance(value, str):
        return _field(1, value.encode("utf-8", "surrogatepass"))
    if isinstance(value, int):
        return b"\x18" + _varint(value)
    if isinstance(value, float):
        return b"\x21" + _double(value)
    if isinstance(value, bytes):
        return _field(7, value)
    if isinstance(value, (tuple, list)):
        return _field(5, b"".join(_field(1, _any_value(v)) for v in value))
    raise _Unsupported(type(value).__name__)


class WireEncoder:
    """Encodes SDK spans as an ``ExportTraceServiceRequest`` in protobuf wire format."""

    def __init__(self) -> None:
        self._pairs: dict[tuple[str, Any], bytes] = {}
        self._blocks: dict[int, tuple[Any, bytes]] = {}

    def _key_value(self, key: str, value: Any) -> bytes:
        # Only strings and bools: an int key would collide with the bool of equal hash.
        cacheable = isinstance(value, bool) or (isinstance(value, str) and len(value) < 64)
        if cacheable:
            found = self._pairs.get((key, value))
            if found is not None:
                return found
        encoded = _field(1, key.encode("utf-8", "surrogatepass")) + _field(2, _any_value(value))
        if cacheable:
            if len(self._pairs) >= _CACHE_LIMIT:
                self._pairs.clear()
            self._pairs[(key, value)] = encoded
        return encoded

    def _attributes(self, number: int, attributes: Any) -> bytes:
        if not attributes:
            return b""
        tag = _varint(number << 3 | 2)
        out = []
        for key, value in attributes.items():
            kv = self._key_value(key, value)
            out.append(tag + _varint(len(kv)) + kv)
        return b"".join(out)

    def _block(self, obj: Any, build: Any) -> bytes:
        """Resource and scope bytes, built once per object (kept alive with the cache)."""
        found = self._blocks.get(id(obj))
        if found is not None and found[0] is obj:
            return found[1]
        encoded = build(obj)
        if len(self._blocks) >= 64:
            self._blocks.clear()
        self._blocks[id(obj)] = (obj, encoded)
        return encoded

    def _resource(self, resource: Any) -> bytes:
        return self._attributes(1, resource.attributes)

    def _scope(self, scope: Any) -> bytes:
        if scope is None:
            return b""
        out = _field(1, scope.name.encode()) if scope.name else b""
        if scope.version:
            out += _field(2, scope.version.encode())
        out += self._attributes(3, scope.attributes)
        return out

    def _span(self, span: Any) -> bytes:
        ctx = span.get_span_context()
        parent = span.parent
        out = [
            b"\x0a\x10" + ctx.trace_id.to_bytes(16, "big"),
            b"\x12\x08" + ctx.span_id.to_bytes(8, "big"),
        ]
        if ctx.trace_state:
            state = ",".join(f"{k}={v}" for k, v in ctx.trace_state.items())
            out.append(_field(3, state.encode()))
        flags = _HAS_IS_REMOTE
        if parent is not None:
            out.append(b"\x22\x08" + parent.span_id.to_bytes(8, "big"))
            if parent.is_remote:
                flags |= _IS_REMOTE
        out.append(_field(5, span.name.encode("utf-8", "surrogatepass")))
        out.append(b"\x30" + _varint(span.kind.value + 1))
        out.append(b"\x39" + _fixed64(span.start_time))
        out.append(b"\x41" + _fixed64(span.end_time))
        out.append(self._attributes(9, span.attributes))
        if span.dropped_attributes:
            out.append(b"\x50" + _varint(span.dropped_attributes))
        for event in span.events:
            body = b"\x09" + _fixed64(event.timestamp) + _field(2, event.name.encode())
            body += self._attributes(3, event.attributes)
            if event.dropped_attributes:
                body += b"\x20" + _varint(event.dropped_attributes)
            out.append(_field(11, body))
        if span.dropped_events:
            out.append(b"\x60" + _varint(span.dropped_events))
        for link in span.links:
            body = b"\x0a\x10" + link.context.trace_id.to_bytes(16, "big")
            body += b"\x12\x08" + link.context.span_id.to_bytes(8, "big")
            body += self._attributes(4, link.attributes)
            if link.dropped_attributes:
                body += b"\x28" + _varint(link.dropped_attributes)
            link_flags = _HAS_IS_REMOTE | (_IS_REMOTE if link.context.is_remote else 0)
            body += b"\x35" + _fixed32(link_flags)
            out.append(_field(13, body))
        if span.dropped_links:
            out.append(b"\x70" + _varint(span.dropped_links))
        status = span.status
        status_body = b""
        if status.description:
            status_body += _field(2, status.description.encode("utf-8", "surrogatepass"))
        if status.status_code.value:
            status_body += b"\x18" + _varint(status.status_code.value)
        out.append(b"\x7a" + _varint(len(status_body)) + status_body)
        out.append(b"\x85\x01" + _fixed32(flags))
        return b"".join(out)

    def encode(self, spans: Sequence[Any]) -> bytes:
        groups: dict[int, tuple[Any, dict[int, tuple[Any, list[bytes]]]]] = {}
        for span in spans:
            resource = span.resource
            scope = span.instrumentation_scope
            by_scope = groups.setdefault(id(resource), (resource, {}))[1]
            by_scope.setdefault(id(scope), (scope, []))[1].append(self._span(span))
        out = []
        for resource, by_scope in groups.values():
            body = _field(1, self._block(resource, self._resource))
            for scope, encoded in by_scope.values():
                scope_body = _field(1, self._block(scope, self._scope))
                scope_body += b"".join(_field(2, s) for s in encoded)
                if scope is not None and scope.schema_url:
                    scope_body += _field(3, scope.schema_url.encode())
                body += _field(2, scope_body)
            if resource.schema_url:
                body += _field(3, resource.schema_url.encode())
            out.append(_field(1, body))
        return b"".join(out)


class FastOTLPSpanExporter(OTLPSpanExporter):
    """The SDK's OTLP/gRPC span exporter with the wire encoder; all else is the SDK's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wire = WireEncoder()

    def _translate_data(self, data: Sequence[Any]) -> ExportTraceServiceRequest:
        try:
            return ExportTraceServiceRequest.FromString(self._wire.encode(data))
        except _Unsupported:
            return encode_spans(data)
