"""Fixtures for the deploy tests: the Go binaries built (or found in the cache) by
deploy/build-binaries.sh, which is what the CI script runs before pytest."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def deploy_binary(target: str) -> Path:
    """Path of one of the deploy binaries: ``CHUNKSCOPE_<TARGET>_BIN`` if set, else whatever
    build-binaries.sh prints (a warm cache answers in well under a second)."""
    var = f"CHUNKSCOPE_{target.upper()}_BIN"
    if os.environ.get(var):
        return Path(os.environ[var])
    out = subprocess.run(
        ["bash", str(REPO / "deploy" / "build-binaries.sh"), target],
        check=True,
        capture_output=True,
        text=True,
        timeout=3000,
    ).stdout
    for line in out.splitlines():
        key, _, value = line.partition("=")
        if key == var:
            return Path(value)
    raise AssertionError(f"build-binaries.sh printed no {var}: {out!r}")


@pytest.fixture(scope="session")
def otelcol_bin() -> Path:
    return deploy_binary("otelcol")


@pytest.fixture(scope="session")
def composecheck_bin() -> Path:
    return deploy_binary("composecheck")
