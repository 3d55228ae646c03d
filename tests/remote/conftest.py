"""Fixtures for the ``--remote`` client tests (helpers in remote_support.py)."""

from __future__ import annotations

import pytest
from remote_support import StubFleet


@pytest.fixture
def fleet() -> StubFleet:
    """A fresh stub fleet: every replica answers like the service until scripted otherwise."""
    return StubFleet()
