"""Session fixtures for the end-to-end tests: the real stack (Jaeger v2, VictoriaLogs, the
chunkscope collector running the repo's otel-collector.yaml, Prometheus, Alertmanager) as local
processes on
127.0.0.1; see e2e_stack.py for how each one is started, configured and polled."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_stack import (
    RUNNING,
    Collector,
    Process,
    Stack,
    e2e_alerting_config,
    start_alertmanager,
    start_collector,
    start_jaeger,
    start_prometheus,
    start_victorialogs,
    start_webhook_sink,
)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Jaeger, VictoriaLogs, the collector, Prometheus and Alertmanager (delivering to a loopback
    webhook), up and ready, shared by the e2e tests."""
    workdir = tmp_path_factory.mktemp("stack")
    webhook, server = start_webhook_sink()
    started: list[Process] = []
    try:
        alertmanager = start_alertmanager(workdir, e2e_alerting_config(webhook.url))
        started.append(alertmanager.process)
        jaeger = start_jaeger(workdir)
        started.append(jaeger.process)
        logs = start_victorialogs(workdir)
        started.append(logs.process)
        collector = start_collector(workdir, jaeger.otlp_grpc, logs.otlp_base, "otelcol")
        started.append(collector.process)
        prometheus = start_prometheus(workdir, collector, alertmanager.target)
        started.append(prometheus.process)
        yield Stack(jaeger, collector, prometheus, logs, alertmanager, webhook, workdir)
    finally:
        for proc in reversed(started):
            proc.stop()
        server.shutdown()


@pytest.fixture
def spare_collector(stack: Stack, tmp_path: Path) -> Iterator[Collector]:
    """A second collector of the same config for tests that kill it."""
    collector = start_collector(
        tmp_path, stack.jaeger.otlp_grpc, stack.logs.otlp_base, "otelcol-spare"
    )
    try:
        yield collector
    finally:
        collector.process.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """On an e2e failure, attach the stack processes' logs to the report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and item.get_closest_marker("e2e") is not None:
        for proc in RUNNING:
            with contextlib.suppress(OSError):
                report.sections.append((f"{proc.name} log (tail)", proc.logs()))
