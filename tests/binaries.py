"""Where the Go-built stack binaries are: shared by the deploy and e2e tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def deploy_binary(target: str) -> Path:
    """``CHUNKSCOPE_<TARGET>_BIN`` if set, else the path build-binaries.sh prints.

    The script builds on an empty cache and answers in well under a second on a warm one.
    """
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
