"""Prometheus and Grafana provisioning files as their own tools and loaders see them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml
from repo import REPO

DEPLOY = REPO / "deploy"
PROVISIONING = DEPLOY / "grafana" / "provisioning"


def datasources() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load((PROVISIONING / "datasources" / "datasources.yaml").read_text())
    return {d["uid"]: d for d in doc["datasources"]}


def test_promtool_accepts_the_config_and_its_rules(promtool: str) -> None:
    """promtool checks prometheus.yml and every rule file it globs (rules/*.yml)."""
    result = subprocess.run(
        [promtool, "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout and "rules found" in result.stdout


def test_prometheus_scrapes_the_collector_exporter_and_self_telemetry() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    assert jobs["otel-collector-exporter"]["static_configs"][0]["targets"] == [
        "otel-collector:8889"
    ]
    assert jobs["otel-collector-exporter"]["honor_labels"] is True
    assert jobs["otel-collector"]["static_configs"][0]["targets"] == ["otel-collector:8888"]
    assert config["rule_files"] == ["rules/*.yml"]
    [am] = config["alerting"]["alertmanagers"]
    assert am["static_configs"] == [{"targets": ["alertmanager:9093"]}]


def test_datasources_link_metrics_logs_and_traces() -> None:
    """Exemplars and log lines open Jaeger; spans open their logs in Loki."""
    ds = datasources()
    assert {d["type"] for d in ds.values()} == {"prometheus", "loki", "jaeger"}
    [exemplar] = ds["prometheus"]["jsonData"]["exemplarTraceIdDestinations"]
    assert (exemplar["name"], exemplar["datasourceUid"]) == ("trace_id", "jaeger")
    [derived] = ds["loki"]["jsonData"]["derivedFields"]
    assert derived["datasourceUid"] == "jaeger"
    assert derived["matcherRegex"] == "trace_id"
    assert derived["url"] == "$${__value.raw}"
    to_logs = ds["jaeger"]["jsonData"]["tracesToLogsV2"]
    assert to_logs["datasourceUid"] == "loki"
    assert "$${__trace.traceId}" in to_logs["query"]
    assert "service_name=" in to_logs["query"]


def test_datasource_urls_are_the_compose_service_names() -> None:
    urls = {uid: d["url"] for uid, d in datasources().items()}
    assert urls == {
        "prometheus": "http://prometheus:9090",
        "jaeger": "http://jaeger:16686",
        "loki": "http://loki:3100",
    }
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    assert {"prometheus", "jaeger", "loki"} <= set(compose["services"])


def test_dashboards_provider_points_at_the_mounted_folder() -> None:
    doc = yaml.safe_load((PROVISIONING / "dashboards" / "chunkscope.yaml").read_text())
    [provider] = doc["providers"]
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./grafana/dashboards:{provider['options']['path']}:ro" in mounts


def test_generated_dashboards_use_provisioned_datasources() -> None:
    """Every datasource uid a generated dashboard names is one the provisioning creates (or a
    template variable resolving to one)."""
    uids = set(datasources())
    dashboards = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
    assert dashboards
    for path in dashboards:
        text = json.loads(path.read_text())
        found: set[str] = set()

        def walk(node: Any, found: set[str] = found) -> None:
            if isinstance(node, dict):
                ds = node.get("datasource")
                if isinstance(ds, dict) and isinstance(ds.get("uid"), str):
                    found.add(ds["uid"])
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(text)
        concrete = {u for u in found if not u.startswith("$")}
        assert concrete <= uids, (path.name, concrete - uids)


def test_traces_to_logs_query_is_valid_logql(logql_parser: Path) -> None:
    """The Jaeger -> Loki query, as Grafana fills it in for a span, parses with Grafana's own
    LogQL grammar (dashboards/logql, @grafana/lezer-logql)."""
    query = datasources()["jaeger"]["jsonData"]["tracesToLogsV2"]["query"]
    filled = (
        query.replace("$$", "$")
        .replace('${__span.tags["service.name"]}', "chunkscope")
        .replace("${__trace.traceId}", "4bf92f3577b34da6a3ce929d0e0e4736")
    )
    assert "$" not in filled
    result = subprocess.run(
        ["node", str(logql_parser)],
        input=json.dumps([filled, "{service_name=}"]),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    good, bad = json.loads(result.stdout)
    assert good["ok"], good["errors"]
    assert not bad["ok"]
