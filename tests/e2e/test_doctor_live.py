"""``chunkscope doctor`` against the real collector, Jaeger, Prometheus, Alertmanager and
VictoriaLogs, with and without ``--probe``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from chunkscope_dashboards.queries import all_promql, runnable
from e2e_stack import Stack

from chunkscope.names import PROBE_SERVICE

pytestmark = pytest.mark.e2e


def run_doctor(stack: Stack, *extra: str) -> subprocess.CompletedProcess[str]:
    args = [
        "--collector-health-url",
        stack.collector.health_url,
        "--otlp-grpc",
        stack.collector.otlp_grpc,
        "--otlp-http",
        stack.collector.otlp_http,
        "--prometheus-url",
        stack.prometheus.url,
        "--jaeger-url",
        stack.jaeger.query_url,
        "--alertmanager-url",
        stack.alertmanager.url,
        *extra,
    ]
    return subprocess.run(
        [sys.executable, "-m", "chunkscope", "doctor", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_doctor_passes_on_a_healthy_stack(stack: Stack) -> None:
    """Every check of the running components is ok (Loki and Grafana cannot run here)."""
    result = run_doctor(stack, "--skip", "loki,grafana")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "fix:" not in result.stdout
    names = ("collector health", "OTLP gRPC", "OTLP HTTP", "Prometheus rules", "Jaeger query")
    for name in (*names, "Alertmanager ready"):
        row = next(line for line in result.stdout.splitlines() if name in line)
        assert " ok " in row, row


def test_doctor_reports_the_missing_parts_of_a_partial_stack(stack: Stack) -> None:
    """With Loki and Grafana absent (their default ports closed here), only they fail."""
    result = run_doctor(
        stack, "--loki-url", "http://127.0.0.1:9", "--grafana-url", "http://127.0.0.1:9"
    )
    assert result.returncode == 1
    failed = sorted(
        line.split(":")[1].strip() for line in result.stdout.splitlines() if line.startswith("fix:")
    )
    assert failed == ["Grafana dashboards", "Grafana health", "Loki ready"]


def test_probe_follows_a_signal_through_every_hop(stack: Stack, record_property) -> None:
    """--probe against the running stack: the span reaches Jaeger, the point Prometheus, the
    log record VictoriaLogs (LogsQL: the log store here; the LogQL hop is unit-tested against a
    Loki query stub), Alertmanager is ready; each hop with its latency, exit 0."""
    result = run_doctor(
        stack,
        "--probe",
        "--format",
        "json",
        "--logs-api",
        "victorialogs",
        "--loki-url",
        stack.logs.url,
        "--deadline",
        "60",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    hops = {h["name"]: h for h in report["hops"]}
    assert list(hops) == [
        "collector accepts OTLP",
        "Jaeger has the trace",
        "Prometheus has the series",
        "log store has the line",
        "Alertmanager ready",
    ]
    assert all(h["ok"] for h in hops.values()), hops
    for name, hop in hops.items():
        record_property(f"probe {name} s", round(hop["seconds"], 2))
    print("\nprobe latencies: " + ", ".join(f"{n}: {h['seconds']:.2f} s" for n, h in hops.items()))
    assert stack.jaeger.trace(report["trace_id"]) is not None
    [record] = stack.logs.query(f'service.name:="{PROBE_SERVICE}" AND "{report["probe_id"]}"')
    assert record["trace_id"] == report["trace_id"]


def test_probe_series_stay_off_the_dashboards(stack: Stack) -> None:
    """After a probe, no dashboard or rule query returns a series of the probe's service."""
    result = run_doctor(
        stack,
        "--probe",
        "--format",
        "json",
        "--logs-api",
        "victorialogs",
        "--loki-url",
        stack.logs.url,
        "--deadline",
        "60",
    )
    assert result.returncode == 0, result.stdout
    assert stack.prometheus.query(f'{{job="{PROBE_SERVICE}"}}')  # the probe's data is there
    leaking = [
        where
        for where, expr in all_promql()
        for series in stack.prometheus.query(runnable(expr))
        if PROBE_SERVICE in json.dumps(series["metric"])
    ]
    assert not leaking
