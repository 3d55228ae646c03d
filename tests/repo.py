"""The checkout the tests run in, for tests that read its files (deploy/, docs/, pyproject)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
