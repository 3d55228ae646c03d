"""deploy/k8s: the kustomization builds with the real kustomize (kubectl's) and wires up."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from repo import REPO

K8S = REPO / "deploy" / "k8s"
KUSTOMIZATION = yaml.safe_load((K8S / "kustomization.yaml").read_text())


def generated_sources() -> list[Path]:
    """Every file a configMapGenerator reads (``key=path`` or plain path)."""
    return [
        (K8S / entry.split("=", 1)[-1]).resolve()
        for gen in KUSTOMIZATION["configMapGenerator"]
        for entry in gen["files"]
    ]


@pytest.fixture(scope="module")
def built(kubectl: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [kubectl, "kustomize", "--load-restrictor=LoadRestrictionsNone", str(K8S)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_resources_and_generator_files_exist() -> None:
    for resource in KUSTOMIZATION["resources"]:
        assert (K8S / resource).is_file(), resource
    for source in generated_sources():
        assert source.is_file(), source


def test_every_generated_dashboard_rule_and_alert_file_is_shipped() -> None:
    """A file the dashboards generator adds must also reach the cluster."""
    sources = set(generated_sources())
    generated = [
        *(REPO / "deploy" / "prometheus" / "rules").glob("*.yml"),
        *(REPO / "deploy" / "grafana" / "dashboards").glob("*.json"),
        *(REPO / "deploy" / "grafana" / "provisioning" / "alerting").glob("*.yaml"),
        REPO / "deploy" / "alertmanager" / "alertmanager.yml",
    ]
    assert generated
    missing = [str(p.relative_to(REPO)) for p in generated if p.resolve() not in sources]
    assert not missing, f"add to deploy/k8s/kustomization.yaml: {missing}"


def test_collector_config_map_is_the_repo_file(built: list[dict[str, Any]]) -> None:
    """The gateway runs otel-collector.yaml byte for byte."""
    maps = by_kind(built, "ConfigMap")
    [name] = [n for n in maps if n.startswith("otel-collector-config-")]
    assert maps[name]["data"]["config.yaml"] == (REPO / "otel-collector.yaml").read_text()


def test_stack_workloads_and_images_match_compose(built: list[dict[str, Any]]) -> None:
    deployments = by_kind(built, "Deployment")
    assert {
        "otel-collector",
        "jaeger",
        "prometheus",
        "alertmanager",
        "loki",
        "grafana",
        "chunkscope",
    } <= set(deployments)
    images = {
        c["image"]
        for d in deployments.values()
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    compose = yaml.safe_load((REPO / "deploy" / "docker-compose.yml").read_text())
    assert images == {s["image"] for s in compose["services"].values()}
    assert all(d["metadata"]["namespace"] == "chunkscope" for d in deployments.values())


def test_volumes_reference_generated_config_maps(built: list[dict[str, Any]]) -> None:
    maps = set(by_kind(built, "ConfigMap"))
    claims = set(by_kind(built, "PersistentVolumeClaim"))
    for name, dep in by_kind(built, "Deployment").items():
        for volume in dep["spec"]["template"]["spec"].get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in maps, (name, volume)
            elif "secret" in volume:
                assert volume["secret"]["optional"] is True, (name, volume)
            elif "emptyDir" in volume:
                continue
            else:
                assert volume["persistentVolumeClaim"]["claimName"] in claims, (name, volume)


def test_services_select_pods_and_named_ports(built: list[dict[str, Any]]) -> None:
    deployments = by_kind(built, "Deployment")
    for name, svc in by_kind(built, "Service").items():
        pod = deployments[name]["spec"]["template"]
        labels = pod["metadata"]["labels"]
        assert svc["spec"]["selector"].items() <= labels.items(), name
        port_names = {p["name"] for c in pod["spec"]["containers"] for p in c["ports"]}
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in port_names, (name, port)


def test_grafana_password_only_from_a_secret(built: list[dict[str, Any]]) -> None:
    grafana = by_kind(built, "Deployment")["grafana"]["spec"]["template"]["spec"]
    env = {e["name"]: e for e in grafana["containers"][0]["env"]}
    password = env["GF_SECURITY_ADMIN_PASSWORD"]
    assert "value" not in password
    assert password["valueFrom"]["secretKeyRef"]["name"] == "grafana-admin"
    assert not by_kind(built, "Secret"), "no secret (and so no default password) is shipped"
