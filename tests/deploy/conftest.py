"""Fixtures for the deploy tests: the Go binaries built (or found in the cache) by
deploy/build-binaries.sh, which is what the CI script runs before pytest."""

from __future__ import annotations

from pathlib import Path

import pytest
from binaries import deploy_binary

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def otelcol_bin() -> Path:
    return deploy_binary("otelcol")


@pytest.fixture(scope="session")
def composecheck_bin() -> Path:
    return deploy_binary("composecheck")
