"""deploy/k8s/chunkscope.yaml: the workload agrees with what ``chunkscope serve`` really exposes.

Ports, probes, flags and env are checked against the code (the CLI's parser, the app's
routes, the limits' defaults, the bootstrap's variable name) and the probes against a real
``chunkscope serve`` started with the container's own arguments.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import psutil
import pytest
from test_k8s import REPO, built, by_kind  # noqa: F401  (built is a fixture)

from chunkscope import __version__ as VERSION
from chunkscope import names as N
from chunkscope.cli import build_parser
from chunkscope.serve.app import create_app

DOCKERFILE = (REPO / "Dockerfile").read_text()
TELEMETRY_FLUSH_SECONDS = 5
"""``serve.telemetry.flush``'s default bound after the drain."""


@pytest.fixture(scope="module")
def pod(built: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: F811
    return by_kind(built, "Deployment")["chunkscope"]["spec"]["template"]


@pytest.fixture(scope="module")
def container(pod: dict[str, Any]) -> dict[str, Any]:
    [c] = pod["spec"]["containers"]
    return c


@pytest.fixture(scope="module")
def serve_args(container: dict[str, Any]) -> Any:
    """The container's arguments as the real ``chunkscope`` parser reads them."""
    return build_parser(container["args"]).parse_args(container["args"])


def get_routes() -> set[str]:
    app = create_app(telemetry_on=False)
    return {r.path for r in app.routes if "GET" in getattr(r, "methods", set())}


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_the_args_are_a_valid_serve_command(serve_args: Any) -> None:
    assert serve_args.command == "serve"
    assert serve_args.host == "0.0.0.0"


def test_container_port_is_the_port_serve_binds(container: dict[str, Any], serve_args: Any) -> None:
    [port] = container["ports"]
    assert port["containerPort"] == serve_args.port


def test_probes_hit_routes_the_app_serves_on_the_named_port(container: dict[str, Any]) -> None:
    """readiness /readyz, liveness /healthz, a startup probe, all GET routes of the app."""
    routes = get_routes()
    probes = {
        k: container[k]["httpGet"] for k in ("readinessProbe", "livenessProbe", "startupProbe")
    }
    assert probes["readinessProbe"]["path"] == "/readyz"
    assert probes["livenessProbe"]["path"] == "/healthz"
    for name, probe in probes.items():
        assert probe["path"] in routes, name
        assert probe["port"] == container["ports"][0]["name"], name


def test_workers_match_the_cpu_request(container: dict[str, Any], serve_args: Any) -> None:
    """One worker per requested core; 0 (auto) would count the node's cores."""
    cpu = container["resources"]["requests"]["cpu"]
    assert serve_args.workers >= 1
    assert str(serve_args.workers) == cpu


def test_termination_outlasts_the_drain(pod: dict[str, Any], container: dict[str, Any]) -> None:
    """preStop + --shutdown-grace + the telemetry flush fit in the grace period."""
    args = build_parser(container["args"]).parse_args(container["args"])
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    needed = float(pre_stop[1]) + args.shutdown_grace + TELEMETRY_FLUSH_SECONDS
    assert pod["spec"]["terminationGracePeriodSeconds"] > needed


def test_hardened(pod: dict[str, Any], container: dict[str, Any]) -> None:
    """Non-root (the image's own user), read-only root, no capabilities, no escalation."""
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    spec = pod["spec"]["securityContext"]
    assert spec["runAsNonRoot"] is True
    user = re.search(r"^USER (\d+)$", DOCKERFILE, re.M)
    assert user and int(user.group(1)) == spec["runAsUser"]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert "/tmp" in mounts  # multiprocessing needs somewhere writable


def test_image_is_pinned_to_the_package_version(container: dict[str, Any]) -> None:
    name, _, tag = container["image"].rpartition(":")
    assert name and tag == VERSION and tag != "latest"
    base = re.search(r"^FROM (\S+)$", DOCKERFILE, re.M)
    assert base and re.fullmatch(r"python:\d+\.\d+\.\d+-slim(-\w+)?", base.group(1))
    assert re.search(r"^RUN pip install .*-c constraints\.txt \. ", DOCKERFILE, re.M)


def test_telemetry_pushes_otlp_to_the_collector_service(
    built: list[dict[str, Any]],  # noqa: F811
    container: dict[str, Any],
) -> None:
    """CHUNKSCOPE_OTEL as chunkscope.names spells it; the endpoint is the collector's gRPC port."""
    env = env_of(container)
    assert env[N.OTEL_ENV] in N.TRUE_VALUES
    assert env["OTEL_SERVICE_NAME"] == "chunkscope-serve"
    assert "service.instance.id=$(POD_NAME)" in env["OTEL_RESOURCE_ATTRIBUTES"]
    endpoint = httpx.URL(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
    collector = by_kind(built, "Service")[endpoint.host]
    ports = {p["port"]: p["name"] for p in collector["spec"]["ports"]}
    assert ports[endpoint.port] == "otlp-grpc"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc"


def test_hpa_pdb_and_service_target_the_workload(built: list[dict[str, Any]]) -> None:  # noqa: F811
    pods = by_kind(built, "Deployment")["chunkscope"]["spec"]["template"]["metadata"]["labels"]
    hpa = by_kind(built, "HorizontalPodAutoscaler")["chunkscope"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "chunkscope"
    assert [m["resource"]["name"] for m in hpa["metrics"]] == ["cpu"]
    pdb = by_kind(built, "PodDisruptionBudget")["chunkscope"]["spec"]
    assert pdb["selector"]["matchLabels"].items() <= pods.items()
    assert pdb["minAvailable"] < hpa["minReplicas"]  # a drain can always evict one pod
    [port] = by_kind(built, "Service")["chunkscope"]["spec"]["ports"]
    assert port["port"] == 8080 and port["targetPort"] == "http"


@pytest.fixture(scope="module")
def running(container: dict[str, Any]) -> Iterator[tuple[str, psutil.Popen]]:
    """``chunkscope serve`` with the container's arguments, on a loopback port instead."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [a for a in container["args"] if not a.startswith(("--host", "--port"))]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "CHUNKSCOPE_"))}
    proc = psutil.Popen(
        [sys.executable, "-m", "chunkscope", *args, "--host=127.0.0.1", f"--port={port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        import time

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert proc.poll() is None
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except psutil.TimeoutExpired:
            proc.kill()


def test_probes_answer_200_on_a_real_serve(
    container: dict[str, Any], running: tuple[str, psutil.Popen]
) -> None:
    url, _ = running
    for key in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert httpx.get(url + container[key]["httpGet"]["path"], timeout=5).status_code == 200


def test_memory_request_holds_a_warm_pod(
    container: dict[str, Any], running: tuple[str, psutil.Popen]
) -> None:
    """The warm server and its workers fit the request (telemetry off here, so with margin)."""
    _, proc = running
    rss = sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])
    request = container["resources"]["requests"]["memory"]
    limit = container["resources"]["limits"]["memory"]
    mib = {"Mi": 1 << 20, "Gi": 1 << 30}
    as_bytes = [int(v[:-2]) * mib[v[-2:]] for v in (request, limit)]
    assert rss < as_bytes[0] < as_bytes[1]
