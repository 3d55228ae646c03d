"""Helpers shared by the service tests (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

STARTUP_SECONDS = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` until true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def is_ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def live_app(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a background thread; yield its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: is_ready(url) or not thread.is_alive(), STARTUP_SECONDS, "the app")
        assert thread.is_alive(), "uvicorn thread died during startup"
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=60)


@contextmanager
def live_server(limits: Any, *, threads: bool = True) -> Iterator[tuple[str, Any]]:
    """``chunkscope serve``'s own server (guarded protocol, bounded shutdown) in a background
    thread; yield its base URL and the server."""
    from chunkscope.serve.server import build

    port = free_port()
    server = build("127.0.0.1", port, limits, threads=threads)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: is_ready(url) or not thread.is_alive(), STARTUP_SECONDS, "the server")
        assert thread.is_alive(), "server thread died during startup"
        yield url, server
    finally:
        server.should_exit = True
        thread.join(timeout=60)


class RawResponse:
    """What came back on a raw socket: status, headers, body, and whether the server closed."""

    def __init__(self, data: bytes, closed: bool) -> None:
        head, _, self.body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/") else 0
        self.headers = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
        }
        self.closed = closed

    def json(self) -> Any:
        import json

        return json.loads(self.body)


def read_raw(sock: socket.socket, timeout: float) -> RawResponse:
    """Read until the server closes the connection or a whole response has arrived."""
    deadline = time.monotonic() + timeout
    data = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            part = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            return RawResponse(data, True)
        if not part:
            return RawResponse(data, True)
        data += part
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep and b"content-length:" in head.lower():
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            if len(body) >= length:
                return RawResponse(data, False)
    return RawResponse(data, False)


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=5)


class ServeProcess:
    """A real ``chunkscope serve`` subprocess and what it wrote to stderr."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, stderr_path: Path) -> None:
        self.proc = proc
        self.url = url
        self.stderr_path = stderr_path

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 60.0) -> int:
        if self.proc.poll() is None:
            self.terminate()
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=10)


class OtlpTraceSink:
    """An OTLP/HTTP receiver on loopback that keeps every span it is sent (decoded with
    opentelemetry-proto) and accepts metrics and logs without keeping them."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

        self.spans: list[tuple[Any, Any]] = []
        lock = self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if self.path == "/v1/traces":
                    request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
                    with lock:
                        for rs in request.resource_spans:
                            for ss in rs.scope_spans:
                                sink.spans.extend((rs.resource, span) for span in ss.spans)
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def named(self, name: str) -> list[tuple[Any, Any]]:
        with self._lock:
            return [(r, s) for r, s in self.spans if s.name == name]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
