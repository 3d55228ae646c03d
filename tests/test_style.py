"""The house style is enforced, not hoped for: the tree is ruff-clean and ruff-formatted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ruff_check_passes() -> None:
    """Lint rules from pyproject.toml hold on every Python file."""
    result = _ruff("check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_leaves_the_tree_unchanged() -> None:
    """Every Python file is already in ruff's format."""
    result = _ruff("format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr
