"""deploy/build-binaries.sh caches by version and does not rebuild what it already has."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "build-binaries.sh"


def run(*targets: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *targets], capture_output=True, text=True, timeout=3000
    )


def paths(stdout: str) -> dict[str, Path]:
    return {k: Path(v) for k, v in (line.split("=", 1) for line in stdout.splitlines())}


def test_rerun_reuses_the_cached_binaries() -> None:
    """A second run prints the same paths and leaves the files untouched."""
    first = run()
    assert first.returncode == 0, first.stderr
    built = paths(first.stdout)
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


def test_binaries_live_outside_the_repo_named_by_version() -> None:
    built = paths(run().stdout)
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
