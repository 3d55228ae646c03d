"""``chunkscope doctor`` against components that are not there: every check fails, within its
timeout, and the output says how to fix each one. Loki and Grafana cannot run on the test
machines, so their checks also meet small local stand-ins answering as the real APIs do: a
check that is wrong about a healthy component fails here."""

from __future__ import annotations

import base64
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from listeners import silent_listener

from chunkscope.doctor import Endpoints, build_checks, run_checks


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word: the hung-service case."""
    with silent_listener() as port:
        yield port


def endpoints_at(port: int) -> dict[str, str]:
    base = f"http://127.0.0.1:{port}"
    return {
        "collector_health": base + "/",
        "otlp_grpc": f"127.0.0.1:{port}",
        "otlp_http": base,
        "prometheus": base,
        "jaeger": base,
        "loki": base,
        "alertmanager": base,
        "grafana": base,
    }


def doctor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chunkscope", "doctor", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


class TestEndpoints:
    def test_defaults_match_the_compose_ports(self) -> None:
        """Without configuration the doctor looks where compose publishes the stack."""
        ep = Endpoints.from_env({})
        assert ep.collector_health == "http://localhost:13133/"
        assert ep.otlp_grpc == "localhost:4317"
        assert (ep.prometheus, ep.jaeger) == ("http://localhost:9090", "http://localhost:16686")
        assert (ep.loki, ep.grafana) == ("http://localhost:3100", "http://localhost:3000")

    def test_flags_beat_environment_beat_defaults(self) -> None:
        env = {"CHUNKSCOPE_PROMETHEUS_URL": "http://env:1", "CHUNKSCOPE_JAEGER_URL": "http://env:2"}
        ep = Endpoints.from_env(env, prometheus="http://flag:3", jaeger=None)
        assert ep.prometheus == "http://flag:3"
        assert ep.jaeger == "http://env:2"

    def test_the_check_of_the_sdk_protocol_follows_the_sdk_endpoint(self) -> None:
        """The OTLP check of the protocol chunkscope exports with probes where it will export:
        HTTP unless OTEL_EXPORTER_OTLP_PROTOCOL says grpc."""
        grpc_sdk = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        }
        assert Endpoints.from_env(grpc_sdk).otlp_grpc == "http://c:4317"
        assert Endpoints.from_env(grpc_sdk).otlp_http == "http://localhost:4318"
        default = Endpoints.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"})
        assert default.otlp_http == "http://c:4318"
        assert default.otlp_grpc == "localhost:4317"

    def test_password_is_not_in_the_repr(self) -> None:
        assert "hunter2" not in repr(Endpoints.from_env({"GRAFANA_ADMIN_PASSWORD": "hunter2"}))


class TestChecksAgainstClosedPorts:
    def test_every_check_fails_with_unreachable(self) -> None:
        port = closed_port()
        results = run_checks(build_checks(Endpoints(**endpoints_at(port))), timeout=2)
        assert len(results) == 11
        assert not any(r.ok for r in results)
        grafana_dashboards = results[-1]
        assert "GRAFANA_ADMIN_PASSWORD" in grafana_dashboards.detail
        assert all("unreachable" in r.detail for r in results[:-1])

    def test_a_hung_service_fails_at_the_timeout(self, silent_port: int) -> None:
        """A port that accepts and never answers is reported as down, not waited on forever."""
        results = run_checks(build_checks(Endpoints(**endpoints_at(silent_port))), timeout=0.5)
        assert not any(r.ok for r in results)
        assert any("timed out" in r.detail for r in results)

    def test_grpc_check_tells_a_non_grpc_listener_apart(self) -> None:
        """An HTTP/1 server on the OTLP gRPC port is reported as not speaking gRPC."""
        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), http.server.BaseHTTPRequestHandler
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            ep = Endpoints(otlp_grpc=f"127.0.0.1:{server.server_address[1]}")
            grpc = [c for c in build_checks(ep) if c.name == "OTLP gRPC"]
            [result] = run_checks(grpc, timeout=2)
        finally:
            server.shutdown()
            server.server_close()
        assert not result.ok
        assert "no HTTP/2 (gRPC) server" in result.detail


class TestDoctorCommand:
    def test_exit_status_and_one_fix_line_per_failed_check(self) -> None:
        port = closed_port()
        flags = {
            "--collector-health-url": f"http://127.0.0.1:{port}/",
            "--otlp-grpc": f"127.0.0.1:{port}",
            "--otlp-http": f"http://127.0.0.1:{port}",
            "--prometheus-url": f"http://127.0.0.1:{port}",
            "--jaeger-url": f"http://127.0.0.1:{port}",
            "--loki-url": f"http://127.0.0.1:{port}",
            "--alertmanager-url": f"http://127.0.0.1:{port}",
            "--grafana-url": f"http://127.0.0.1:{port}",
        }
        args = [a for pair in flags.items() for a in pair]
        result = doctor(*args, "--timeout", "2")
        assert result.returncode == 1
        fixes = [line for line in result.stdout.splitlines() if line.startswith("fix: ")]
        assert len(fixes) == 11
        assert "fix: Prometheus ready: start Prometheus: docker compose" in result.stdout
        assert "FAIL" in result.stdout and "unreachable" in result.stdout

    def test_skip_leaves_components_out(self) -> None:
        port = closed_port()
        result = doctor(
            "--collector-health-url",
            f"http://127.0.0.1:{port}/",
            "--otlp-grpc",
            f"127.0.0.1:{port}",
            "--otlp-http",
            f"http://127.0.0.1:{port}",
            "--skip",
            "prometheus,jaeger,loki,alertmanager,grafana",
            "--timeout",
            "1",
        )
        assert result.returncode == 1
        fixes = [
            line.split(":")[1].strip()
            for line in result.stdout.splitlines()
            if line.startswith("fix: ")
        ]
        assert fixes == ["collector health", "OTLP gRPC", "OTLP HTTP"]

    def test_json_format_lists_every_check(self) -> None:
        """--format json: one object per check, for scripts; exit status as for the table."""
        port = closed_port()
        flags = [f"--{n}" for n in ("otlp-http", "prometheus-url", "jaeger-url")]
        args = [a for f in flags for a in (f, f"http://127.0.0.1:{port}")]
        args += ["--otlp-grpc", f"127.0.0.1:{port}"]
        result = doctor(*args, "--skip", "collector,loki,alertmanager,grafana", "--format", "json")
        assert result.returncode == 1
        checks = json.loads(result.stdout)
        assert [c["check"] for c in checks][:1] == ["OTLP gRPC"]
        assert not any(c["ok"] for c in checks)
        assert all("unreachable" in c["detail"] for c in checks)

    def test_unknown_component_is_a_usage_error(self) -> None:
        result = doctor("--skip", "tempo")
        assert result.returncode == 2
        assert "tempo" in result.stderr


GRAFANA_USER, GRAFANA_PASSWORD = "admin", "s3cret"
PROVISIONED = ["chunkscope-overview", "chunkscope-languages", "chunkscope-resources"]


class _StandIn(http.server.BaseHTTPRequestHandler):
    """Loki's ``/ready`` and Grafana's ``/api/health`` and ``/api/search``, as documented."""

    database = "ok"

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/ready":
            self._send(200, b"ready\n", "text/plain")
        elif url.path == "/api/health":
            body = {"commit": "abc", "database": self.database, "version": "11.3.0"}
            self._send(200, json.dumps(body).encode())
        elif url.path == "/api/search":
            self._search(parse_qs(url.query))
        else:
            self._send(404, b"404 page not found\n", "text/plain")

    def _search(self, query: dict[str, list[str]]) -> None:
        token = base64.b64encode(f"{GRAFANA_USER}:{GRAFANA_PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {token}":
            self._send(401, b'{"message":"Invalid username or password"}')
            return
        wanted = query.get("type") == ["dash-db"] and query.get("folderUIDs") == ["chunkscope"]
        found = [{"uid": uid, "type": "dash-db", "folderUid": "chunkscope"} for uid in PROVISIONED]
        self._send(200, json.dumps(found if wanted else []).encode())

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def stand_in() -> Iterator[type[_StandIn]]:
    """Loki and Grafana stand-ins on one loopback port; set ``.database`` to break Grafana."""
    handler = type("StandIn", (_StandIn,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.base = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


def _loki_and_grafana(base: str, password: str | None) -> dict[str, tuple[bool, str]]:
    ep = Endpoints(loki=base, grafana=base, grafana_user=GRAFANA_USER, grafana_password=password)
    checks = [c for c in build_checks(ep) if c.name.startswith(("Loki", "Grafana"))]
    return {r.check.name: (r.ok, r.detail) for r in run_checks(checks, timeout=2)}


class TestChecksAgainstHealthyStandIns:
    def test_loki_and_grafana_pass_when_healthy(self, stand_in) -> None:
        """Ready Loki, healthy Grafana with the provisioned dashboards: every check is ok."""
        assert _loki_and_grafana(stand_in.base, GRAFANA_PASSWORD) == {
            "Loki ready": (True, "ready"),
            "Grafana health": (True, "Grafana 11.3.0"),
            "Grafana dashboards": (True, "3 dashboards"),
        }

    def test_wrong_password_and_a_broken_database_fail(self, stand_in) -> None:
        """A refused login and a Grafana whose database is down are failures with the reason."""
        stand_in.database = "failing"
        results = _loki_and_grafana(stand_in.base, "wrong")
        assert results["Loki ready"] == (True, "ready")
        assert results["Grafana health"] == (False, "database failing")
        ok, detail = results["Grafana dashboards"]
        assert not ok and detail.startswith("HTTP 401")

    def test_doctor_command_passes_on_healthy_loki_and_grafana(self, stand_in) -> None:
        """``chunkscope doctor`` exits 0 with every row ok when only Loki and Grafana are asked."""
        env = {**os.environ, "GRAFANA_ADMIN_USER": GRAFANA_USER}
        env["GRAFANA_ADMIN_PASSWORD"] = GRAFANA_PASSWORD
        result = doctor(
            "--loki-url", stand_in.base, "--grafana-url", stand_in.base,
            "--skip", "collector,otlp,prometheus,jaeger,alertmanager", "--timeout", "2", env=env,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        assert "fix:" not in result.stdout
        for name in ("Loki ready", "Grafana health", "Grafana dashboards"):
            row = next(line for line in result.stdout.splitlines() if name in line)
            assert " ok " in row, row
