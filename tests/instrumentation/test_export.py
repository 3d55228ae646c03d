"""Export for real: OTLP over gRPC and HTTP to a local receiver, a dead collector, --jobs,
the Prometheus endpoint, and a canary string that must never leave the process."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from listeners import silent_listener
from otel_support import CANARY, clean_env, run_cli
from otlp_receiver import GrpcReceiver, HttpReceiver, Received, free_port

CONTRACT_METRICS = {
    "chunkscope.parse.duration",
    "chunkscope.extract.duration",
    "chunkscope.file.duration",
    "chunkscope.files",
    "chunkscope.bytes",
    "chunkscope.chunks",
    "chunkscope.chunk.size",
    "chunkscope.files.active",
}


def _otel_env(endpoint: str, protocol: str = "grpc", **extra: str) -> dict[str, str]:
    settings = {
        "CHUNKSCOPE_OTEL": "1",
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_TIMEOUT": "5",
    }
    return clean_env(**{**settings, **extra})


def _chunk(project: Path, env: dict[str, str], *more: str) -> tuple[str, str, int]:
    done = run_cli(["chunk", "-q", *more, str(project)], env)
    return done.stdout, done.stderr, done.returncode


def _check_all_signals(received: Received) -> None:
    spans = received.spans()
    assert sorted({s.name for s in spans}) == [
        "chunkscope.extract",
        "chunkscope.file",
        "chunkscope.parse",
        "chunkscope.run",
    ]
    assert received.metric_names() >= CONTRACT_METRICS
    assert "process.cpu.time" in received.metric_names()
    (run,) = [s for s in spans if s.name == "chunkscope.run"]
    records = received.log_records()
    summary = [r for r in records if r.body.string_value == "run.summary"]
    assert summary and summary[0].trace_id == run.trace_id
    resource = received.requests["traces"][0].resource_spans[0].resource
    attrs = {a.key: a.value.string_value for a in resource.attributes}
    assert attrs["service.name"] == "chunkscope"


class TestOTLP:
    def test_grpc(self, project: Path) -> None:
        """Traces, metrics and logs arrive over OTLP/gRPC and decode with opentelemetry-proto."""
        with GrpcReceiver() as receiver:
            _, stderr, code = _chunk(project, _otel_env(receiver.endpoint))
            assert code == 0, stderr
            _check_all_signals(receiver.received)

    def test_http(self, project: Path) -> None:
        """The same over OTLP/HTTP with protobuf bodies on /v1/traces, /v1/metrics, /v1/logs."""
        with HttpReceiver() as receiver:
            _, stderr, code = _chunk(project, _otel_env(receiver.endpoint, "http/protobuf"))
            assert code == 0, stderr
            _check_all_signals(receiver.received)

    def test_canary_never_exported(self, project: Path) -> None:
        """A string in the sources appears in no exported byte: spans, metrics or logs."""
        with GrpcReceiver() as receiver:
            stdout, stderr, code = _chunk(project, _otel_env(receiver.endpoint), "-v")
            assert code == 0, stderr
            assert CANARY in stdout  # the chunks do carry it: the test input is right
            raw = receiver.received.raw
            signals = {k for k, v in receiver.received.requests.items() if v}
        assert signals == {"traces", "metrics", "logs"}
        assert all(CANARY.encode() not in payload for payload in raw)

    def test_jobs_join_the_run_trace(self, project: Path) -> None:
        """With --jobs 2 the workers' file spans are children of the parent's run span."""
        with GrpcReceiver() as receiver:
            _, stderr, code = _chunk(project, _otel_env(receiver.endpoint), "--jobs", "2")
            assert code == 0, stderr
            spans = receiver.received.spans()
            metrics = receiver.received.requests["metrics"]
        (run,) = [s for s in spans if s.name == "chunkscope.run"]
        files = [s for s in spans if s.name == "chunkscope.file"]
        assert len(files) == 5
        assert {s.trace_id for s in files} == {run.trace_id}
        assert {s.parent_span_id for s in files} == {run.span_id}
        parses = [s for s in spans if s.name == "chunkscope.parse"]
        assert len(parses) == 3 and {s.trace_id for s in parses} == {run.trace_id}
        total = 0
        for request in metrics:
            for rm in request.resource_metrics:
                for sm in rm.scope_metrics:
                    for metric in sm.metrics:
                        if metric.name == "chunkscope.files":
                            total = max(total, sum(p.as_int for p in metric.sum.data_points))
        assert total == 5


def _timed_chunk(project: Path, env: dict[str, str], *more: str) -> tuple[str, str, int, float]:
    started = time.monotonic()
    out, err, code = _chunk(project, env, *more)
    return out, err, code, time.monotonic() - started


def _export_warnings(stderr: str) -> list[dict[str, object]]:
    lines = [line for line in stderr.splitlines() if "telemetry.export_failed" in line]
    return [json.loads(line) for line in lines]


@contextlib.contextmanager
def _black_hole() -> Iterator[str]:
    """An OTLP endpoint that accepts every connection and never answers."""
    with silent_listener() as port:
        yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def _http_collector(status: int, delay: float = 0.0) -> Iterator[str]:
    """An OTLP/HTTP stand-in answering every export with ``status`` after ``delay`` seconds."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(delay)
            with contextlib.suppress(OSError):
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


SHUTDOWN_TIMEOUT = 3.0
"""The export timeout these tests set: the documented bound on a run's extra time."""
STARTUP_SLACK = 2.5
"""What a run with telemetry on may cost beyond the timeout: importing and starting the SDK.
Smaller than the timeout, so three signals shut down one after another (three timeouts) fail."""


class TestCollectorDown:
    """A collector that is down, silent, slow or refusing: same chunks, one warning, bounded."""

    def _check(
        self, project: Path, endpoint: str, protocol: str = "grpc", *more: str
    ) -> dict[str, object]:
        plain_out, _, plain_code, plain = _timed_chunk(project, clean_env(), *more)
        env = _otel_env(endpoint, protocol, OTEL_EXPORTER_OTLP_TIMEOUT=f"{SHUTDOWN_TIMEOUT:g}")
        out, err, code, elapsed = _timed_chunk(project, env, *more)
        assert (out, code) == (plain_out, plain_code)
        assert "Traceback" not in err
        warnings = _export_warnings(err)
        assert len(warnings) == 1, err
        assert warnings[0]["level"] == "warning"
        assert elapsed - plain <= SHUTDOWN_TIMEOUT + STARTUP_SLACK, (elapsed, plain)
        return warnings[0]

    def test_closed_port(self, project: Path) -> None:
        """Nobody listening: same output and exit code, one warning, bounded extra time."""
        self._check(project, f"http://127.0.0.1:{free_port()}")

    def test_black_hole_collector(self, project: Path) -> None:
        """Accepts and never answers: the shutdown deadline passes, and that is the warning."""
        with _black_hole() as endpoint:
            self._check(project, endpoint)

    def test_black_hole_with_jobs(self, project: Path) -> None:
        """``--jobs 2``: only the parent holds telemetry, so only it waits, once, within the
        same bound, and the workers' files are in the same output."""
        with _black_hole() as endpoint:
            self._check(project, endpoint, "http/protobuf", "--jobs", "2")

    def test_black_hole_over_http(self, project: Path) -> None:
        """The same silent collector over OTLP/HTTP: one warning, the same bound."""
        with _black_hole() as endpoint:
            self._check(project, endpoint, "http/protobuf")

    def test_slow_collector(self, project: Path) -> None:
        """Answers, but only after the export timeout: one warning, the same bound."""
        with _http_collector(200, delay=SHUTDOWN_TIMEOUT + 2) as endpoint:
            self._check(project, endpoint, "http/protobuf")

    def test_refusing_collector(self, project: Path) -> None:
        """A collector rejecting every export (HTTP 400): same output, one warning."""
        with _http_collector(400) as endpoint:
            self._check(project, endpoint, "http/protobuf")


_SERVE = """
import sys, chunkscope
results = list(chunkscope.chunk_paths([sys.argv[1]]))
print("ready", len(results), flush=True)
sys.stdin.read()
"""


class TestPrometheus:
    def test_scrape(self, project: Path) -> None:
        """CHUNKSCOPE_PROMETHEUS_PORT serves chunkscope_files_total for scraping."""
        import subprocess
        import sys

        port = free_port()
        env = clean_env(
            CHUNKSCOPE_OTEL="1",
            CHUNKSCOPE_PROMETHEUS_PORT=str(port),
            OTEL_TRACES_EXPORTER="none",
            OTEL_METRICS_EXPORTER="none",
            OTEL_LOGS_EXPORTER="none",
        )
        proc = subprocess.Popen(
            [sys.executable, "-c", _SERVE, str(project)],
            env=env,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().startswith("ready 5")
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                text = r.read().decode()
        finally:
            proc.communicate(input="", timeout=30)
        lines = [line for line in text.splitlines() if line.startswith("chunkscope_files_total{")]
        assert any('chunkscope_outcome="chunked"' in line and "python" in line for line in lines)
        total = sum(float(line.rsplit(" ", 1)[1]) for line in lines)
        assert total == 5
        assert "chunkscope_parse_duration_seconds_bucket" in text
        assert "chunkscope_chunk_size_bytes_bucket" in text


class TestStandardVariables:
    def test_sampler_and_resource(self, project: Path) -> None:
        """OTEL_TRACES_SAMPLER=always_off drops spans, not metrics; resource variables apply."""
        with GrpcReceiver() as receiver:
            env = _otel_env(
                receiver.endpoint,
                OTEL_TRACES_SAMPLER="always_off",
                OTEL_SERVICE_NAME="chunker-ci",
                OTEL_RESOURCE_ATTRIBUTES="deployment.environment=test",
            )
            _, stderr, code = _chunk(project, env)
            assert code == 0, stderr
            received = receiver.received
        assert received.spans() == []
        assert received.metric_names() >= CONTRACT_METRICS
        resource = received.requests["metrics"][0].resource_metrics[0].resource
        attrs = {a.key: a.value.string_value for a in resource.attributes}
        assert attrs["service.name"] == "chunker-ci"
        assert attrs["deployment.environment"] == "test"
        assert attrs["service.instance.id"]

    def test_misconfigured_protocol(self, project: Path) -> None:
        """An unknown OTLP protocol: telemetry stays off with one warning, chunks unchanged."""
        plain_out, _, plain_code = _chunk(project, clean_env())
        env = _otel_env("http://127.0.0.1:9", "carrier-pigeon")
        out, err, code = _chunk(project, env)
        assert (out, code) == (plain_out, plain_code)
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and "telemetry is off" in lines[0], err
