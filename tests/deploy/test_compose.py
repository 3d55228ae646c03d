"""deploy/docker-compose.yml as the reference compose loader (compose-go) sees it."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from repo import REPO

DEPLOY = REPO / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
PINNED = re.compile(r"^[\w.\-/]+:(v?\d+\.\d+\.\d+)$")


def load(
    composecheck_bin: Path, env_file: Path, *profiles: str
) -> subprocess.CompletedProcess[str]:
    extra = ["-profile", ",".join(profiles)] if profiles else []
    return subprocess.run(
        [str(composecheck_bin), "-f", str(COMPOSE), "-env-file", str(env_file), *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example env file with a password filled in."""
    env = tmp_path_factory.mktemp("env") / ".env"
    example = (DEPLOY / ".env.example").read_text()
    env.write_text(example.replace("GRAFANA_ADMIN_PASSWORD=", "GRAFANA_ADMIN_PASSWORD=s3cret-test"))
    return env


@pytest.fixture(scope="module")
def project(composecheck_bin: Path, env_file: Path) -> dict:
    """The project compose-go resolves, no profile enabled (`docker compose up`)."""
    result = load(composecheck_bin, env_file)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def with_service(composecheck_bin: Path, env_file: Path) -> dict:
    """The project with the `service` profile (`docker compose --profile service up`)."""
    result = load(composecheck_bin, env_file, "service")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_stack_has_the_six_services(project: dict) -> None:
    assert set(project["services"]) == {
        "otel-collector",
        "jaeger",
        "prometheus",
        "alertmanager",
        "loki",
        "grafana",
    }


def test_every_image_is_pinned_to_a_release(project: dict) -> None:
    """No `latest`, no bare name: each image carries an x.y.z tag."""
    for name, service in project["services"].items():
        assert PINNED.match(service["image"]), (name, service["image"])


def test_collector_image_matches_the_ocb_release() -> None:
    """compose runs the same collector release the tests build with ocb."""
    manifest = yaml.safe_load((DEPLOY / "collector" / "builder-config.yaml").read_text())
    images = {s["image"] for s in yaml.safe_load(COMPOSE.read_text())["services"].values()}
    assert f"otel/opentelemetry-collector-contrib:{manifest['dist']['version']}" in images


def test_ports_are_published_on_loopback_only(project: dict) -> None:
    ports = [p for s in project["services"].values() for p in s.get("ports", [])]
    assert ports
    assert {p["host_ip"] for p in ports} == {"127.0.0.1"}
    published = {int(p["published"]) for p in ports}
    assert {3000, 16686, 9090, 9093, 3100, 4317, 4318, 13133} <= published


def test_healthchecks_where_the_image_can_run_one(project: dict) -> None:
    """Every service but the collector (a FROM-scratch image) has a healthcheck."""
    for name, service in project["services"].items():
        if name == "otel-collector":
            continue
        assert service["healthcheck"]["test"][0] == "CMD-SHELL", name


def test_state_lives_in_named_volumes(project: dict) -> None:
    assert set(project["volumes"]) == {
        "prometheus-data",
        "alertmanager-data",
        "loki-data",
        "grafana-data",
    }
    for name in ("prometheus", "alertmanager", "loki", "grafana"):
        kinds = {v["type"] for v in project["services"][name]["volumes"]}
        assert "volume" in kinds, name


def test_mounted_config_files_exist(project: dict) -> None:
    """Every bind mount points at a file or folder in the repository."""
    binds = [
        v["source"]
        for s in project["services"].values()
        for v in s.get("volumes", [])
        if v["type"] == "bind"
    ]
    assert binds
    for source in binds:
        assert Path(source).exists(), source
    assert str(REPO / "otel-collector.yaml") in binds


def test_grafana_password_comes_from_the_env_file(project: dict) -> None:
    env = project["services"]["grafana"]["environment"]
    assert env["GF_SECURITY_ADMIN_PASSWORD"] == "s3cret-test"


def test_there_is_no_default_admin_password(composecheck_bin: Path) -> None:
    """With the example env file unchanged, compose refuses to start and says why."""
    result = load(composecheck_bin, DEPLOY / ".env.example")
    assert result.returncode != 0
    assert "GRAFANA_ADMIN_PASSWORD" in result.stderr


def test_loader_rejects_an_invalid_file(composecheck_bin: Path, tmp_path: Path) -> None:
    """The loader checks the compose-spec schema, so the checks above are meaningful."""
    bad = tmp_path / "docker-compose.yml"
    bad.write_text("services:\n  x:\n    image: busybox:1.36.1\n    ports: 3000\n    restrt: no\n")
    result = subprocess.run(
        [str(composecheck_bin), "-f", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "restrt" in result.stderr or "ports" in result.stderr


def test_alertmanager_runs_the_generated_config_and_reads_no_secret_from_the_repo(
    project: dict,
) -> None:
    """Alertmanager mounts the generated config; channel secrets come from a git-ignored folder
    of files, and Prometheus waits for Alertmanager to be ready."""
    am = project["services"]["alertmanager"]
    binds = {v["target"]: v["source"] for v in am["volumes"] if v["type"] == "bind"}
    assert binds["/etc/alertmanager/alertmanager.yml"] == str(
        DEPLOY / "alertmanager" / "alertmanager.yml"
    )
    secrets = Path(binds["/etc/alertmanager/secrets"])
    assert (secrets / ".gitignore").read_text().splitlines()[-2:] == ["*", "!.gitignore"]
    tracked = subprocess.run(
        ["git", "ls-files", str(secrets)], capture_output=True, text=True, cwd=REPO, check=True
    ).stdout.split()
    assert [Path(t).name for t in tracked] == [".gitignore"]
    assert "alertmanager" in project["services"]["prometheus"]["depends_on"]


class TestChunkscopeService:
    """The `chunkscope` service behind the `service` profile, checked against the code."""

    def test_only_with_its_profile(self, project: dict, with_service: dict) -> None:
        assert "chunkscope" not in project["services"]
        assert with_service["services"]["chunkscope"]["profiles"] == ["service"]

    def test_command_is_a_serve_the_cli_accepts(self, with_service: dict) -> None:
        """The published port is the one serve binds; stop_grace_period outlasts the drain."""
        from chunkscope.cli import build_parser

        service = with_service["services"]["chunkscope"]
        args = build_parser(service["command"]).parse_args(service["command"])
        assert (args.command, args.host) == ("serve", "0.0.0.0")
        [port] = service["ports"]
        assert port["target"] == args.port and port["host_ip"] == "127.0.0.1"
        grace = float(service["stop_grace_period"].rstrip("s"))
        assert grace > args.shutdown_grace

    def test_healthcheck_hits_the_readiness_route(self, with_service: dict) -> None:
        from chunkscope.serve.app import create_app

        routes = {r.path for r in create_app(telemetry_on=False).routes}
        test = " ".join(with_service["services"]["chunkscope"]["healthcheck"]["test"])
        [path] = re.findall(r"http://127\.0\.0\.1:\d+(/\w+)", test)
        assert path == "/readyz" and path in routes

    def test_image_is_the_k8s_image_and_built_here(self, with_service: dict) -> None:
        service = with_service["services"]["chunkscope"]
        k8s = yaml.safe_load_all((DEPLOY / "k8s" / "chunkscope.yaml").read_text())
        [deployment] = [d for d in k8s if d["kind"] == "Deployment"]
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert service["image"] == container["image"]
        assert PINNED.match(service["image"])
        assert Path(service["build"]["context"], service["build"]["dockerfile"]).is_file()

    def test_telemetry_goes_to_the_collector_service(self, with_service: dict) -> None:
        from chunkscope import names as N

        env = with_service["services"]["chunkscope"]["environment"]
        assert env[N.OTEL_ENV] in N.TRUE_VALUES
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4317"
        assert "otel-collector" in with_service["services"]

    def test_hardened(self, with_service: dict) -> None:
        service = with_service["services"]["chunkscope"]
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in service["security_opt"]
