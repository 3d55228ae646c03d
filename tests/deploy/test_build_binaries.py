"""deploy/build-binaries.sh caches by version and does not rebuild what it already has.

The tests run it with ``--check`` first, so they never start a Go build themselves."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml
from binaries import BUILD_COMMAND
from repo import REPO

SCRIPT = REPO / "deploy" / "build-binaries.sh"


def run(*targets: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *targets], capture_output=True, text=True, timeout=3000
    )


def paths(stdout: str) -> dict[str, Path]:
    return {k: Path(v) for k, v in (line.split("=", 1) for line in stdout.splitlines())}


def test_rerun_reuses_the_cached_binaries() -> None:
    """On a warm cache a run prints the paths --check found and leaves the files untouched."""
    checked = run("--check")
    assert checked.returncode == 0, f"not built: run `{BUILD_COMMAND}` first\n{checked.stderr}"
    built = paths(checked.stdout)
    assert set(built) == {
        "CHUNKSCOPE_OTELCOL_BIN",
        "CHUNKSCOPE_JAEGER_BIN",
        "CHUNKSCOPE_COMPOSECHECK_BIN",
        "CHUNKSCOPE_VICTORIALOGS_BIN",
    }
    mtimes = {k: p.stat().st_mtime_ns for k, p in built.items()}
    second = run()
    assert second.returncode == 0, second.stderr
    assert paths(second.stdout) == built
    assert {k: p.stat().st_mtime_ns for k, p in built.items()} == mtimes
    assert "building" not in second.stderr


def test_check_builds_nothing_and_names_the_command(tmp_path: Path) -> None:
    """--check on an empty cache exits 3 naming the build command, and creates no binary."""
    result = subprocess.run(
        ["bash", str(SCRIPT), "--check", "jaeger"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CHUNKSCOPE_BIN_CACHE": str(tmp_path)},
    )
    assert result.returncode == 3
    assert f"jaeger is not built: run `{BUILD_COMMAND}`" in result.stderr
    assert not [p for p in tmp_path.iterdir() if not p.name.startswith(".")]


def test_binaries_live_outside_the_repo_named_by_version() -> None:
    built = paths(run("--check").stdout)
    manifest = yaml.safe_load((REPO / "deploy" / "collector" / "builder-config.yaml").read_text())
    assert f"-{manifest['dist']['version']}-" in built["CHUNKSCOPE_OTELCOL_BIN"].name
    assert "v1.76.0" in built["CHUNKSCOPE_JAEGER_BIN"].name
    assert built["CHUNKSCOPE_VICTORIALOGS_BIN"].name == "victoria-logs-v1.52.1"
    for path in built.values():
        assert REPO not in path.parents
        assert os.access(path, os.X_OK)


def test_unknown_target_is_refused() -> None:
    result = run("loki")
    assert result.returncode == 2
    assert "unknown target: loki" in result.stderr
