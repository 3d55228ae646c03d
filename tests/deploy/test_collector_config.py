"""otel-collector.yaml and the ocb manifest agree, and the built collector accepts the config."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from repo import REPO

CONFIG = REPO / "otel-collector.yaml"
MANIFEST = REPO / "deploy" / "collector" / "builder-config.yaml"
KINDS = ("receivers", "processors", "exporters", "extensions", "connectors")


def config_components(path: Path) -> set[tuple[str, str]]:
    """(kind, type) of every component a collector config declares (``otlp_grpc/jaeger`` is
    type ``otlp_grpc``)."""
    doc = yaml.safe_load(path.read_text())
    return {(kind, key.split("/")[0]) for kind in KINDS for key in doc.get(kind) or {}}


def manifest_modules() -> set[str]:
    doc = yaml.safe_load(MANIFEST.read_text())
    return {entry["gomod"] for kind in (*KINDS, "providers") for entry in doc.get(kind) or []}


def binary_components(otelcol_bin: Path) -> dict[str, list[dict[str, str]]]:
    out = subprocess.run(
        [str(otelcol_bin), "components"], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    return yaml.safe_load(out)


def validate(otelcol_bin: Path, *configs: Path, env: dict[str, str] | None = None):
    args = [str(otelcol_bin), "validate"] + [f"--config={c}" for c in configs]
    return subprocess.run(args, capture_output=True, text=True, timeout=60, env=env)


def test_binary_is_built_from_exactly_the_manifest(otelcol_bin: Path) -> None:
    """Every module the manifest pins is in the binary and the binary has nothing else."""
    comps = binary_components(otelcol_bin)
    built = {e["module"] for kind in (*KINDS, "providers") for e in comps.get(kind) or []}
    assert built == manifest_modules()


def test_manifest_lists_exactly_the_components_the_configs_use(otelcol_bin: Path) -> None:
    """The manifest holds exactly what otel-collector.yaml uses, nothing more."""
    comps = binary_components(otelcol_bin)
    built = {(kind, e["name"]) for kind in KINDS for e in comps.get(kind) or []}
    assert built == config_components(CONFIG)


def test_every_declared_component_is_in_a_pipeline() -> None:
    """No dead config: each receiver, processor and exporter serves a pipeline."""
    doc = yaml.safe_load(CONFIG.read_text())
    pipelines = doc["service"]["pipelines"]
    for kind in ("receivers", "processors", "exporters"):
        in_pipelines = {name for p in pipelines.values() for name in p.get(kind, [])}
        assert set(doc[kind]) == in_pipelines, kind
    assert set(doc["service"]["extensions"]) == set(doc["extensions"])


def test_pipelines_put_memory_limiter_first_and_batch_last() -> None:
    doc = yaml.safe_load(CONFIG.read_text())
    for name, pipeline in doc["service"]["pipelines"].items():
        assert pipeline["processors"][0] == "memory_limiter", name
        assert pipeline["processors"][-1] == "batch", name


def test_every_exporter_queues_and_push_exporters_retry() -> None:
    """Every exporter has a sending queue; those that push also retry (prometheus is scraped,
    so it has nothing to retry)."""
    exporters = yaml.safe_load(CONFIG.read_text())["exporters"]
    for name, cfg in exporters.items():
        assert cfg["sending_queue"]["enabled"] is True, name
        if not name.startswith("prometheus"):
            assert cfg["retry_on_failure"]["enabled"] is True, name
    assert {n for n in exporters if not n.startswith("prometheus")}


def test_every_endpoint_comes_from_the_environment_with_a_compose_default() -> None:
    """The same file runs in compose and in the tests: each endpoint is ${env:NAME:-default}."""
    text = CONFIG.read_text()
    doc = yaml.safe_load(text)
    endpoints = [
        doc["extensions"]["health_check"]["endpoint"],
        *(p["endpoint"] for p in doc["receivers"]["otlp"]["protocols"].values()),
        *(e["endpoint"] for e in doc["exporters"].values()),
    ]
    for endpoint in endpoints:
        assert endpoint.startswith("${env:") and ":-" in endpoint, endpoint
    assert "${env:LOKI_ENDPOINT:-http://loki:3100/otlp}" in text
    assert "${env:JAEGER_ENDPOINT:-jaeger:4317}" in text


def test_collector_validates_the_repo_config(otelcol_bin: Path) -> None:
    """`otelcol validate` accepts otel-collector.yaml exactly as committed."""
    result = validate(otelcol_bin, CONFIG)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("snippet", "complaint"),
    [
        ("exporters:\n  debug: {}\n", "debug"),
        ("processors:\n  memory_limiter:\n    check_interval: 0s\n", "check_interval"),
    ],
)
def test_validate_rejects_components_outside_the_manifest(
    otelcol_bin: Path, tmp_path: Path, snippet: str, complaint: str
) -> None:
    """The validation above is meaningful: a component the distribution lacks, or a bad
    setting, is refused."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(snippet)
    result = validate(otelcol_bin, CONFIG, bad)
    assert result.returncode != 0
    assert complaint in result.stderr
