"""Where the Go-built stack binaries are: shared by the deploy and e2e tests.

Tests never build them: ``deploy/build-binaries.sh --check`` only looks in the cache, and a
missing binary fails the test with the one command that builds it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from repo import REPO

BUILD_COMMAND = "bash deploy/build-binaries.sh"


def deploy_binary(target: str) -> Path:
    """``CHUNKSCOPE_<TARGET>_BIN`` if set, else the cached path build-binaries.sh prints."""
    var = f"CHUNKSCOPE_{target.upper()}_BIN"
    if os.environ.get(var):
        return Path(os.environ[var])
    result = subprocess.run(
        ["bash", str(REPO / "deploy" / "build-binaries.sh"), "--check", target],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode == 3:
        pytest.fail(f"{target} is not built: run `{BUILD_COMMAND}` first", pytrace=False)
    assert result.returncode == 0, result.stderr
    for line in result.stdout.splitlines():
        key, _, value = line.partition("=")
        if key == var:
            return Path(value)
    raise AssertionError(f"build-binaries.sh printed no {var}: {result.stdout!r}")
