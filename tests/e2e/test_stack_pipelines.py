"""Each signal travels the real collector to its backend, independent of the instrumentation:
OTLP/HTTP JSON in; Jaeger, Prometheus and the log store (VictoriaLogs, fed by the collector's
Loki exporter) out."""

from __future__ import annotations

import json
import os
import secrets
import time
import urllib.request
from typing import Any

import pytest
from e2e_stack import Stack, get_json, wait_until

pytestmark = pytest.mark.e2e


def post_otlp(stack: Stack, signal: str, payload: dict[str, Any]) -> None:
    req = urllib.request.Request(
        f"{stack.collector.otlp_http}/v1/{signal}",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200


def resource(service: str) -> dict[str, Any]:
    return {
        "attributes": [
            {"key": "service.name", "value": {"stringValue": service}},
            {"key": "process.command_line", "value": {"stringValue": "app --token=hunter2"}},
        ]
    }


def test_trace_reaches_jaeger_with_resource_processing(stack: Stack) -> None:
    """A span sent to the collector is queryable in Jaeger, tagged with the deployment
    environment and stripped of the command line."""
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    now = time.time_ns()
    post_otlp(
        stack,
        "traces",
        {
            "resourceSpans": [
                {
                    "resource": resource("stack-probe"),
                    "scopeSpans": [
                        {
                            "spans": [
                                {
                                    "traceId": trace_id,
                                    "spanId": span_id,
                                    "name": "probe",
                                    "kind": 1,
                                    "startTimeUnixNano": str(now - 1_000_000),
                                    "endTimeUnixNano": str(now),
                                }
                            ]
                        }
                    ],
                }
            ]
        },
    )
    trace = wait_until(lambda: stack.jaeger.trace(trace_id), 30, "the probe trace in Jaeger")
    process = next(iter(trace["processes"].values()))
    tags = {t["key"]: t["value"] for t in process["tags"]}
    assert process["serviceName"] == "stack-probe"
    assert tags["deployment.environment.name"] == "e2e"
    assert "process.command_line" not in tags


def test_metric_reaches_prometheus_with_resource_labels(stack: Stack) -> None:
    """A counter sent over OTLP is scraped from the collector's prometheus exporter."""
    now = time.time_ns()
    post_otlp(
        stack,
        "metrics",
        {
            "resourceMetrics": [
                {
                    "resource": resource("stack-probe"),
                    "scopeMetrics": [
                        {
                            "metrics": [
                                {
                                    "name": "stack.probe.events",
                                    "unit": "1",
                                    "sum": {
                                        "aggregationTemporality": 2,
                                        "isMonotonic": True,
                                        "dataPoints": [
                                            {
                                                "asInt": "7",
                                                "startTimeUnixNano": str(now - 10**9),
                                                "timeUnixNano": str(now),
                                            }
                                        ],
                                    },
                                }
                            ]
                        }
                    ],
                }
            ]
        },
    )
    query = 'stack_probe_events_total{service_name="stack-probe"}'
    result = wait_until(lambda: stack.prometheus.query(query), 30, query)
    assert float(result[0]["value"][1]) == 7
    assert result[0]["metric"]["deployment_environment_name"] == "e2e"
    assert "process_command_line" not in result[0]["metric"]


def test_collector_self_telemetry_is_scraped(stack: Stack) -> None:
    """The collector's otelcol_* metrics (for the pipeline dashboard) reach Prometheus."""
    targets = get_json(f"{stack.prometheus.url}/api/v1/targets")["data"]["activeTargets"]
    jobs = {t["labels"]["job"] for t in targets}
    assert {"otel-collector", "otel-collector-exporter"} <= jobs
    wait_until(
        lambda: all(
            t["health"] == "up"
            for t in get_json(f"{stack.prometheus.url}/api/v1/targets")["data"]["activeTargets"]
        ),
        30,
        "all scrape targets up",
    )
    assert wait_until(
        lambda: stack.prometheus.query(
            '{__name__=~"otelcol_(process_uptime|receiver_accepted_spans).*", job="otel-collector"}'
        ),
        30,
        "otelcol self metrics",
    )


def test_log_is_stored_and_queried_back_by_trace_id(stack: Stack) -> None:
    """A log record sent to the collector leaves through its otlp_http/loki exporter, is stored
    by VictoriaLogs, and comes back from a LogsQL query by trace_id with its body, severity,
    span id and resource (command line dropped by the collector)."""
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    post_otlp(
        stack,
        "logs",
        {
            "resourceLogs": [
                {
                    "resource": resource("stack-probe"),
                    "scopeLogs": [
                        {
                            "logRecords": [
                                {
                                    "timeUnixNano": str(time.time_ns()),
                                    "severityText": "INFO",
                                    "body": {"stringValue": "probe log"},
                                    "traceId": trace_id,
                                    "spanId": span_id,
                                }
                            ]
                        }
                    ],
                }
            ]
        },
    )
    [record] = wait_until(
        lambda: stack.logs.query(f'trace_id:="{trace_id}"'), 30, "the probe log in VictoriaLogs"
    )
    assert record["_msg"] == "probe log"
    assert (record["span_id"], record["severity_text"]) == (span_id, "INFO")
    assert record["service.name"] == "stack-probe"
    assert record["deployment.environment.name"] == "e2e"
    assert "process.command_line" not in record
    assert "hunter2" not in json.dumps(record)


def test_collector_process_runs_the_committed_config(stack: Stack) -> None:
    """The stack's collector got the repo file itself, not a copy."""
    args = stack.collector.process.args
    assert any(a.endswith(f"{os.sep}otel-collector.yaml") and "tests" not in a for a in args)
