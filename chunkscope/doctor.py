"""Is the observability stack up? The checks behind ``chunkscope doctor``, declared as data.

Each ``Check`` names a component, the URL it probes, the probe, and the one line that fixes it
when it fails. Probes use only the standard library (no OpenTelemetry, no HTTP client
dependency) and every one is bounded by a timeout, so the doctor answers in seconds even when
half the stack is a black hole. Endpoints default to what deploy/docker-compose.yml publishes
on localhost and can be moved by environment variables or flags:

    >>> from chunkscope.doctor import Endpoints, build_checks, run_checks
    >>> results = run_checks(build_checks(Endpoints.from_env({})), timeout=0.5)
    >>> [r.check.name for r in results][:2]
    ['collector health', 'OTLP gRPC']
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from chunkscope import names as N

__all__ = [
    "Check",
    "CheckFailed",
    "Endpoints",
    "Result",
    "build_checks",
    "run_checks",
]

DEFAULT_TIMEOUT = 3.0
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_H2_EMPTY_SETTINGS = struct.pack(">I", 0)[1:] + bytes([4, 0]) + struct.pack(">I", 0)
"""HTTP/2 frame header: 24-bit length 0, type 4 (SETTINGS), flags 0, stream 0."""
_UP = "docker compose -f deploy/docker-compose.yml --env-file deploy/.env up -d"


class CheckFailed(Exception):
    """A probe's verdict: the component answered wrongly or not at all (message says how)."""


@dataclass(frozen=True)
class Endpoints:
    """Where each component listens. Defaults are the ports compose publishes on localhost."""

    collector_health: str = "http://localhost:13133/"
    otlp_grpc: str = "localhost:4317"
    otlp_http: str = "http://localhost:4318"
    prometheus: str = "http://localhost:9090"
    jaeger: str = "http://localhost:16686"
    loki: str = "http://localhost:3100"
    alertmanager: str = "http://localhost:9093"
    grafana: str = "http://localhost:3000"
    grafana_user: str = "admin"
    grafana_password: str | None = field(default=None, repr=False)

    ENV: ClassVar[dict[str, str]] = {
        "collector_health": "CHUNKSCOPE_COLLECTOR_HEALTH_URL",
        "otlp_grpc": "CHUNKSCOPE_OTLP_GRPC_ENDPOINT",
        "otlp_sdk": "OTEL_EXPORTER_OTLP_ENDPOINT",
        "otlp_http": "CHUNKSCOPE_OTLP_HTTP_ENDPOINT",
        "prometheus": "CHUNKSCOPE_PROMETHEUS_URL",
        "jaeger": "CHUNKSCOPE_JAEGER_URL",
        "loki": "CHUNKSCOPE_LOKI_URL",
        "alertmanager": "CHUNKSCOPE_ALERTMANAGER_URL",
        "grafana": "CHUNKSCOPE_GRAFANA_URL",
        "grafana_user": "GRAFANA_ADMIN_USER",
        "grafana_password": "GRAFANA_ADMIN_PASSWORD",
    }
    """Field -> environment variable. The Grafana login reuses deploy/.env's names; the check of
    the protocol chunkscope exports with falls back to the SDK's own OTEL_EXPORTER_OTLP_ENDPOINT."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: str | None) -> Endpoints:
        """Defaults, then the environment, then non-empty ``overrides`` (the CLI flags)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = overrides.get(f.name) or env.get(cls.ENV[f.name])
            if not value and f.name == ("otlp_grpc" if _sdk_uses_grpc(env) else "otlp_http"):
                value = env.get(cls.ENV["otlp_sdk"])
            if value:
                values[f.name] = value
        return cls(**values)


def _sdk_uses_grpc(env: Mapping[str, str]) -> bool:
    return (env.get(N.OTLP_PROTOCOL_ENV, "").strip() or N.DEFAULT_OTLP_PROTOCOL) == "grpc"


@dataclass(frozen=True)
class Check:
    """One thing the doctor verifies: ``probe(url, timeout)`` returns a short detail or raises."""

    name: str
    url: str
    probe: Callable[[str, float], str]
    fix: str


@dataclass(frozen=True)
class Result:
    check: Check
    ok: bool
    detail: str
    seconds: float


def _request(
    url: str,
    timeout: float,
    *,
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=data, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read(1_000_000)
    except urllib.error.HTTPError as err:
        return err.code, err.read(4096)
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise CheckFailed(f"unreachable: {reason}") from None


def _expect_200(url: str, timeout: float, **kwargs: Any) -> bytes:
    status, body = _request(url, timeout, **kwargs)
    if status != 200:
        raise CheckFailed(f"HTTP {status}: {body[:120].decode(errors='replace').strip()}")
    return body


def _json(url: str, timeout: float, **kwargs: Any) -> Any:
    body = _expect_200(url, timeout, **kwargs)
    try:
        return json.loads(body)
    except ValueError:
        raise CheckFailed(f"not JSON: {body[:80]!r}") from None


def probe_http_ok(url: str, timeout: float) -> str:
    """Readiness endpoints (collector health_check, Loki /ready, Prometheus /-/ready)."""
    body = _expect_200(url, timeout)
    return body[:60].decode(errors="replace").strip() or "HTTP 200"


def probe_otlp_grpc(endpoint: str, timeout: float) -> str:
    """Speaks HTTP/2 to the OTLP gRPC port and expects the server's SETTINGS frame, which tells
    a gRPC server apart from any other listener without needing grpcio."""
    parsed = urllib.parse.urlsplit(endpoint if "://" in endpoint else f"//{endpoint}")
    host, port = parsed.hostname or "localhost", parsed.port or 4317
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(_H2_PREFACE + _H2_EMPTY_SETTINGS)
            header = sock.recv(9)
    except OSError as err:
        raise CheckFailed(f"unreachable: {err}") from None
    if len(header) < 9 or header[3] != 4:
        raise CheckFailed("port open but no HTTP/2 (gRPC) server answered")
    return "HTTP/2 SETTINGS received"


def probe_otlp_http(base: str, timeout: float) -> str:
    """Posts an empty OTLP/JSON trace export: a collector accepts it with 200 and stores nothing."""
    url = base.rstrip("/") + "/v1/traces"
    _expect_200(url, timeout, data=b"{}", headers={"Content-Type": "application/json"})
    return "empty export accepted"


def probe_prometheus_rules(base: str, timeout: float) -> str:
    groups = _json(base.rstrip("/") + "/api/v1/rules", timeout)["data"]["groups"]
    rules = sum(len(g["rules"]) for g in groups)
    if not rules:
        raise CheckFailed("no rules loaded")
    return f"{len(groups)} groups, {rules} rules"


def probe_prometheus_targets(base: str, timeout: float) -> str:
    targets = _json(base.rstrip("/") + "/api/v1/targets", timeout)["data"]["activeTargets"]
    if not targets:
        raise CheckFailed("no scrape targets")
    down = [f"{t['labels'].get('job')} {t['scrapeUrl']}" for t in targets if t["health"] != "up"]
    if down:
        raise CheckFailed("down: " + ", ".join(down))
    return f"{len(targets)} targets up"


def probe_jaeger(base: str, timeout: float) -> str:
    services = _json(base.rstrip("/") + "/api/services", timeout).get("data") or []
    return f"{len(services)} services"


def _grafana_auth(user: str, password: str | None) -> dict[str, str]:
    if not password:
        raise CheckFailed("no password: set GRAFANA_ADMIN_PASSWORD")
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def probe_grafana_health(base: str, timeout: float) -> str:
    health = _json(base.rstrip("/") + "/api/health", timeout)
    if health.get("database") != "ok":
        raise CheckFailed(f"database {health.get('database')}")
    return f"Grafana {health.get('version', '?')}"


def _probe_grafana_dashboards(user: str, password: str | None) -> Callable[[str, float], str]:
    def probe(base: str, timeout: float) -> str:
        url = base.rstrip("/") + "/api/search?type=dash-db&folderUIDs=chunkscope"
        found = _json(url, timeout, headers=_grafana_auth(user, password))
        if not found:
            raise CheckFailed("no dashboards in the chunkscope folder")
        return f"{len(found)} dashboards"

    return probe


def build_checks(ep: Endpoints) -> list[Check]:
    """Every check, in the order the data flows: collector in, then each backend, then Grafana."""
    return [
        Check(
            "collector health",
            ep.collector_health,
            probe_http_ok,
            f"start the collector: {_UP} otel-collector",
        ),
        Check(
            "OTLP gRPC",
            ep.otlp_grpc,
            probe_otlp_grpc,
            "expose the collector's OTLP gRPC port or set OTEL_EXPORTER_OTLP_ENDPOINT to it",
        ),
        Check(
            "OTLP HTTP",
            ep.otlp_http,
            probe_otlp_http,
            "expose the collector's OTLP HTTP port (4318) and check otel-collector.yaml receivers",
        ),
        Check(
            "Prometheus ready",
            ep.prometheus.rstrip("/") + "/-/ready",
            probe_http_ok,
            f"start Prometheus: {_UP} prometheus",
        ),
        Check(
            "Prometheus rules",
            ep.prometheus,
            probe_prometheus_rules,
            "run `chunkscope dashboards generate` and reload Prometheus (rules/*.yml)",
        ),
        Check(
            "Prometheus targets",
            ep.prometheus,
            probe_prometheus_targets,
            "make the collector reachable from Prometheus (:8888 and :8889 in prometheus.yml)",
        ),
        Check("Jaeger query", ep.jaeger, probe_jaeger, f"start Jaeger: {_UP} jaeger"),
        Check(
            "Loki ready",
            ep.loki.rstrip("/") + "/ready",
            probe_http_ok,
            f"start Loki: {_UP} loki (it can take ~15 s to report ready)",
        ),
        Check(
            "Alertmanager ready",
            ep.alertmanager.rstrip("/") + "/-/ready",
            probe_http_ok,
            f"start Alertmanager: {_UP} alertmanager",
        ),
        Check("Grafana health", ep.grafana, probe_grafana_health, f"start Grafana: {_UP} grafana"),
        Check(
            "Grafana dashboards",
            ep.grafana,
            _probe_grafana_dashboards(ep.grafana_user, ep.grafana_password),
            "set GRAFANA_ADMIN_PASSWORD; then `chunkscope dashboards generate` and restart grafana",
        ),
    ]


def _run_one(check: Check, timeout: float) -> Result:
    start = time.perf_counter()
    try:
        detail, ok = check.probe(check.url, timeout), True
    except CheckFailed as err:
        detail, ok = str(err), False
    except Exception as err:  # a surprising answer is still a failed check, not a crash
        detail, ok = f"{type(err).__name__}: {err}", False
    return Result(check, ok, detail, time.perf_counter() - start)


def run_checks(checks: Sequence[Check], timeout: float = DEFAULT_TIMEOUT) -> list[Result]:
    """Runs the checks concurrently (so the whole doctor takes about one timeout, not the sum),
    returning results in the checks' order."""
    if not checks:
        return []
    with ThreadPoolExecutor(max_workers=len(checks)) as pool:
        return list(pool.map(lambda c: _run_one(c, timeout), checks))
