"""The uncached ``chunkscope chunk`` output that other runs must match, run once per input.

Output paths are relative to each tree, so every copy of the same files prints the same bytes:
tests that chunk the same project, each in its own folder, share one run.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

_SEEN: dict[bytes, bytes] = {}


def _digest(trees: tuple[Path, ...]) -> bytes:
    """Names and bytes of every file under ``trees``: equal for copies of the same files."""
    digest = hashlib.blake2b()
    for tree in trees:
        for path in sorted(tree.rglob("*")):
            if path.is_file():
                digest.update(f"{path.relative_to(tree)}\0".encode() + path.read_bytes())
        digest.update(b"\1")
    return digest.digest()


def plain_output(*trees: Path) -> bytes:
    """What ``chunkscope chunk TREES`` prints with no flags and no ``CHUNKSCOPE_`` or
    ``OTEL_`` variables (so no cache and no telemetry)."""
    key = _digest(trees)
    if key not in _SEEN:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CHUNKSCOPE_", "OTEL_"))}
        done = subprocess.run(
            [sys.executable, "-m", "chunkscope", "chunk", *map(os.fspath, trees)],
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        _SEEN[key] = done.stdout
    return _SEEN[key]
