"""``chunkscope doctor`` against the real collector, Jaeger and Prometheus."""

from __future__ import annotations

import subprocess
import sys

import pytest
from e2e_stack import Stack

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
    for name in ("collector health", "OTLP gRPC", "OTLP HTTP", "Prometheus rules", "Jaeger query"):
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
