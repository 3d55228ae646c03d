"""Helpers that run the real stack as local processes for the end-to-end tests.

Session fixtures start Jaeger v2 (in-memory), VictoriaLogs (the log store: Loki's Go module is
AGPL-licensed and not used here), the chunkscope collector running the repo's
``otel-collector.yaml`` unchanged (only environment variables: its ``otlp_http/loki`` exporter
points at VictoriaLogs' OTLP endpoint through ``LOKI_ENDPOINT``), and Debian's Prometheus with a
config derived from ``deploy/prometheus/prometheus.yml`` and the generated rules. Everything
listens on free 127.0.0.1 ports; every wait is a bounded poll; teardown stops the processes; a
failing e2e test gets the processes' logs attached to its report.

Binaries come from ``CHUNKSCOPE_OTELCOL_BIN`` / ``CHUNKSCOPE_JAEGER_BIN`` /
``CHUNKSCOPE_VICTORIALOGS_BIN`` or, when unset, from ``deploy/build-binaries.sh`` (seconds with
a warm cache). Prometheus is ``prometheus`` on PATH (or ``CHUNKSCOPE_PROMETHEUS_BIN``).
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from binaries import deploy_binary
from chunkscope_dashboards.alertmanager import alertmanager_config
from chunkscope_dashboards.config import Config, load_config
from chunkscope_dashboards.generate import to_yaml
from repo import REPO

DEPLOY = REPO / "deploy"
ALERTING_OVERLAY = Path(__file__).with_name("alerting-overlay.yaml")
STARTUP_TIMEOUT = 60.0

RUNNING: list[Process] = []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """Status and body; connection errors and HTTP errors are answers, not exceptions."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
    except (OSError, urllib.error.URLError):
        return 0, b""


def get_json(url: str, params: dict[str, Any] | None = None) -> Any:
    if params:
        url = f"{url}?{urllib.parse.urlencode(params)}"
    status, body = http_get(url)
    assert status == 200, f"GET {url} -> {status}: {body[:500]!r}"
    return json.loads(body)


def wait_until(
    predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.2
) -> Any:
    """Poll ``predicate`` until it returns something truthy or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


@dataclass
class Process:
    """A stack component running as a child process, its output in a log file."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                self.args,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.log_path.parent,
                start_new_session=True,
            )
        RUNNING.append(self)
        return self

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def wait_ready(self, url: str, timeout: float = STARTUP_TIMEOUT) -> None:
        def ready() -> bool:
            if not self.running():
                raise AssertionError(f"{self.name} exited during startup:\n{self.logs()}")
            return http_get(url, timeout=2)[0] == 200

        try:
            wait_until(ready, timeout, f"{self.name} at {url}")
        except AssertionError as err:
            raise AssertionError(f"{err}\n--- {self.name} log ---\n{self.logs()}") from None

    def kill(self) -> None:
        """SIGKILL: the abrupt death the 'collector down mid-run' test needs."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=30)

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=15)

    def logs(self, tail: int = 12000) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-tail:]


@dataclass
class Jaeger:
    process: Process
    otlp_grpc: str
    query_url: str

    def traces(self, service: str, **params: Any) -> list[dict[str, Any]]:
        return get_json(
            f"{self.query_url}/api/traces", {"service": service, "limit": 100, **params}
        )["data"]

    def trace(self, trace_id: str) -> dict[str, Any] | None:
        status, body = http_get(f"{self.query_url}/api/traces/{trace_id}")
        if status != 200:
            return None
        data = json.loads(body)["data"]
        return data[0] if data else None


# The collector's otlphttp exporter appends /v1/logs to its endpoint: this base makes it post to
# VictoriaLogs' /insert/opentelemetry/v1/logs, as Loki's base http://loki:3100/otlp does for Loki.
VICTORIALOGS_OTLP_BASE = "/insert/opentelemetry"


@dataclass
class VictoriaLogs:
    """The log store. Records are queried back with LogsQL over its HTTP API."""

    process: Process
    url: str

    @property
    def otlp_base(self) -> str:
        return self.url + VICTORIALOGS_OTLP_BASE

    def query(self, logsql: str, limit: int = 1000) -> list[dict[str, Any]]:
        """Records matching ``logsql`` (one JSON object per line), as VictoriaLogs stored them."""
        data = urllib.parse.urlencode({"query": logsql, "limit": limit}).encode()
        req = urllib.request.Request(f"{self.url}/select/logsql/query", data=data)
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read().decode()
        return [json.loads(line) for line in body.splitlines() if line.strip()]


@dataclass
class Collector:
    process: Process
    otlp_grpc: str
    otlp_http: str
    health_url: str
    exporter_target: str
    self_metrics_target: str


@dataclass
class Prometheus:
    process: Process
    url: str

    def query(self, promql: str) -> list[dict[str, Any]]:
        body = get_json(f"{self.url}/api/v1/query", {"query": promql})
        assert body["status"] == "success", body
        return body["data"]["result"]


def start_jaeger(workdir: Path) -> Jaeger:
    ports = {name: free_port() for name in ("grpc", "http", "query", "qgrpc", "health", "metrics")}
    env = {
        "JAEGER_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{ports['grpc']}",
        "JAEGER_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{ports['http']}",
        "JAEGER_QUERY_HTTP_ENDPOINT": f"127.0.0.1:{ports['query']}",
        "JAEGER_QUERY_GRPC_ENDPOINT": f"127.0.0.1:{ports['qgrpc']}",
        "JAEGER_HEALTH_ENDPOINT": f"127.0.0.1:{ports['health']}",
        "JAEGER_METRICS_HOST": "127.0.0.1",
        "JAEGER_METRICS_PORT": str(ports["metrics"]),
    }
    args = [str(deploy_binary("jaeger")), "--config", str(DEPLOY / "jaeger" / "jaeger.yaml")]
    proc = Process("jaeger", args, env, workdir / "jaeger.log").start()
    proc.wait_ready(f"http://127.0.0.1:{ports['health']}/status")
    return Jaeger(proc, f"127.0.0.1:{ports['grpc']}", f"http://127.0.0.1:{ports['query']}")


def start_victorialogs(workdir: Path) -> VictoriaLogs:
    port = free_port()
    args = [
        str(deploy_binary("victorialogs")),
        f"-httpListenAddr=127.0.0.1:{port}",
        f"-storageDataPath={workdir / 'victoria-logs-data'}",
        "-retentionPeriod=1d",
        "-loggerLevel=WARN",
    ]
    proc = Process("victoria-logs", args, {}, workdir / "victoria-logs.log").start()
    url = f"http://127.0.0.1:{port}"
    proc.wait_ready(f"{url}/health")
    return VictoriaLogs(proc, url)


def start_collector(workdir: Path, jaeger_otlp: str, logs_base: str, name: str) -> Collector:
    """The repo's otel-collector.yaml, unchanged: only its environment variables are set."""
    ports = {n: free_port() for n in ("grpc", "http", "health", "exporter", "self")}
    env = {
        "OTLP_GRPC_ENDPOINT": f"127.0.0.1:{ports['grpc']}",
        "OTLP_HTTP_ENDPOINT": f"127.0.0.1:{ports['http']}",
        "HEALTH_CHECK_ENDPOINT": f"127.0.0.1:{ports['health']}",
        "JAEGER_ENDPOINT": jaeger_otlp,
        "LOKI_ENDPOINT": logs_base,
        "PROMETHEUS_EXPORTER_ENDPOINT": f"127.0.0.1:{ports['exporter']}",
        "OTELCOL_METRICS_HOST": "127.0.0.1",
        "OTELCOL_METRICS_PORT": str(ports["self"]),
        "DEPLOYMENT_ENVIRONMENT": "e2e",
    }
    args = [str(deploy_binary("otelcol")), f"--config={REPO / 'otel-collector.yaml'}"]
    proc = Process(name, args, env, workdir / f"{name}.log").start()
    health = f"http://127.0.0.1:{ports['health']}/"
    proc.wait_ready(health)
    return Collector(
        process=proc,
        otlp_grpc=f"http://127.0.0.1:{ports['grpc']}",
        otlp_http=f"http://127.0.0.1:{ports['http']}",
        health_url=health,
        exporter_target=f"127.0.0.1:{ports['exporter']}",
        self_metrics_target=f"127.0.0.1:{ports['self']}",
    )


def prometheus_config(
    collector: Collector, rules_dir: Path, alertmanager: str | None = None
) -> dict[str, Any]:
    """deploy/prometheus/prometheus.yml with the test's targets, a 1s cadence and absolute rule
    paths; jobs, labels, relabelling and the alerting block stay as committed."""
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [
        str(rules_dir / Path(p).relative_to("rules")) for p in config["rule_files"]
    ]
    targets = {
        "otel-collector:8889": collector.exporter_target,
        "otel-collector:8888": collector.self_metrics_target,
    }
    for job in config["scrape_configs"]:
        for static in job["static_configs"]:
            static["targets"] = [targets[t] for t in static["targets"]]
    for am in config["alerting"]["alertmanagers"]:
        for static in am["static_configs"]:
            static["targets"] = [alertmanager] if alertmanager else []
    return config


def start_prometheus(
    workdir: Path,
    collector: Collector,
    alertmanager: str | None = None,
    rules_dir: Path = DEPLOY / "prometheus" / "rules",
    name: str = "prometheus",
) -> Prometheus:
    binary = os.environ.get("CHUNKSCOPE_PROMETHEUS_BIN") or shutil.which("prometheus")
    assert binary, "Prometheus not found: apt-get install -y prometheus"
    port = free_port()
    config_path = workdir / f"{name}.yml"
    config_path.write_text(yaml.safe_dump(prometheus_config(collector, rules_dir, alertmanager)))
    args = [
        binary,
        f"--config.file={config_path}",
        f"--storage.tsdb.path={workdir / f'{name}-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--enable-feature=exemplar-storage",
        "--web.enable-lifecycle",
    ]
    proc = Process(name, args, {}, workdir / f"{name}.log").start()
    url = f"http://127.0.0.1:{port}"
    proc.wait_ready(f"{url}/-/ready")

    def targets_up() -> bool:
        targets = get_json(f"{url}/api/v1/targets")["data"]["activeTargets"]
        return len(targets) == 2 and all(t["health"] == "up" for t in targets)

    wait_until(targets_up, STARTUP_TIMEOUT, "Prometheus to scrape both collector targets")
    return Prometheus(proc, url)


@dataclass
class Delivery:
    """One webhook notification as Alertmanager posted it."""

    received: float
    payload: dict[str, Any]


@dataclass
class WebhookSink:
    """The alert channel of the tests: a loopback HTTP server recording every POST body."""

    url: str
    deliveries: list[Delivery] = field(default_factory=list)

    def alerts(self, **labels: str) -> list[tuple[float, str, dict[str, Any]]]:
        """(time received, status, alert) for every delivered alert carrying ``labels``."""
        return [
            (d.received, alert["status"], alert)
            for d in list(self.deliveries)
            for alert in d.payload.get("alerts", [])
            if all(alert["labels"].get(k) == v for k, v in labels.items())
        ]


def start_webhook_sink() -> tuple[WebhookSink, http.server.ThreadingHTTPServer]:
    sink = WebhookSink(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            sink.deliveries.append(Delivery(time.time(), json.loads(body)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sink.url = f"http://127.0.0.1:{server.server_address[1]}/alerts"
    return sink, server


@dataclass
class Alertmanager:
    process: Process
    url: str

    @property
    def target(self) -> str:
        return self.url.removeprefix("http://")


def e2e_alerting_config(webhook_url: str) -> Config:
    """The dashboards' config with the test overlay (fast rules and notifications) applied and
    the webhook pointed at the tests' sink."""
    return dataclasses.replace(load_config(ALERTING_OVERLAY), alert_webhook_url=webhook_url)


def start_alertmanager(workdir: Path, cfg: Config) -> Alertmanager:
    """Debian's Alertmanager running the config generated from ``cfg``; clustering off."""
    binary = (
        os.environ.get("CHUNKSCOPE_ALERTMANAGER_BIN")
        or shutil.which("prometheus-alertmanager")
        or shutil.which("alertmanager")
    )
    assert binary, "Alertmanager not found: apt-get install -y prometheus-alertmanager"
    port = free_port()
    config_path = workdir / "alertmanager.yml"
    config_path.write_text(to_yaml(alertmanager_config(cfg)))
    args = [
        binary,
        f"--config.file={config_path}",
        f"--storage.path={workdir / 'alertmanager-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    proc = Process("alertmanager", args, {}, workdir / "alertmanager.log").start()
    url = f"http://127.0.0.1:{port}"
    proc.wait_ready(f"{url}/-/ready")
    return Alertmanager(proc, url)


@dataclass
class Stack:
    jaeger: Jaeger
    collector: Collector
    prometheus: Prometheus
    logs: VictoriaLogs
    alertmanager: Alertmanager
    webhook: WebhookSink
    workdir: Path
