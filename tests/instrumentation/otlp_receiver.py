"""A minimal OTLP receiver for tests: gRPC and HTTP/protobuf, decoding with opentelemetry-proto.

It stands in for a collector's ``otlp`` receiver: it accepts what the SDK exporters send
for traces, metrics and logs, decodes each request into its protobuf message and keeps it,
so tests can assert on what actually went over the wire.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib
from collections.abc import Callable
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

_REQUESTS = {
    "traces": trace_service_pb2.ExportTraceServiceRequest,
    "metrics": metrics_service_pb2.ExportMetricsServiceRequest,
    "logs": logs_service_pb2.ExportLogsServiceRequest,
}
_RESPONSES = {
    "traces": trace_service_pb2.ExportTraceServiceResponse,
    "metrics": metrics_service_pb2.ExportMetricsServiceResponse,
    "logs": logs_service_pb2.ExportLogsServiceResponse,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Received:
    """Decoded export requests by signal, safe to read while the receiver runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[str, list[Any]] = {"traces": [], "metrics": [], "logs": []}
        self.raw: list[bytes] = []

    def add(self, signal: str, message: Any, raw: bytes) -> None:
        with self._lock:
            self.requests[signal].append(message)
            self.raw.append(raw)

    def span_names(self) -> list[str]:
        with self._lock:
            return [
                span.name
                for request in self.requests["traces"]
                for rs in request.resource_spans
                for ss in rs.scope_spans
                for span in ss.spans
            ]

    def spans(self) -> list[Any]:
        with self._lock:
            return [
                span
                for request in self.requests["traces"]
                for rs in request.resource_spans
                for ss in rs.scope_spans
                for span in ss.spans
            ]

    def metric_names(self) -> set[str]:
        with self._lock:
            return {
                metric.name
                for request in self.requests["metrics"]
                for rm in request.resource_metrics
                for sm in rm.scope_metrics
                for metric in sm.metrics
            }

    def log_records(self) -> list[Any]:
        with self._lock:
            return [
                record
                for request in self.requests["logs"]
                for rl in request.resource_logs
                for sl in rl.scope_logs
                for record in sl.log_records
            ]

    def wait_for(self, predicate: Callable[[Received], bool], timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.05)
        return predicate(self)


class GrpcReceiver:
    """OTLP/gRPC: TraceService, MetricsService and LogsService on 127.0.0.1."""

    def __init__(self) -> None:
        self.received = Received()
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        received = self.received

        def servicer(base: type, signal: str) -> Any:
            class Servicer(base):  # type: ignore[misc, valid-type]
                def Export(self, request: Any, context: Any) -> Any:
                    received.add(signal, request, request.SerializeToString())
                    return _RESPONSES[signal]()

            return Servicer()

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(
            servicer(trace_service_pb2_grpc.TraceServiceServicer, "traces"), self.server
        )
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(
            servicer(metrics_service_pb2_grpc.MetricsServiceServicer, "metrics"), self.server
        )
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(
            servicer(logs_service_pb2_grpc.LogsServiceServicer, "logs"), self.server
        )
        self.server.add_insecure_port(f"127.0.0.1:{self.port}")

    def __enter__(self) -> GrpcReceiver:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop(grace=None)


class HttpReceiver:
    """OTLP/HTTP with protobuf bodies on /v1/traces, /v1/metrics and /v1/logs."""

    def __init__(self) -> None:
        self.received = Received()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                signal = self.path.rsplit("/", 1)[-1]
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                if signal not in _REQUESTS:
                    self.send_response(404)
                    self.end_headers()
                    return
                message = _REQUESTS[signal]()
                message.ParseFromString(body)
                received.add(signal, message, body)
                payload = _RESPONSES[signal]().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HttpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
