"""Fixtures for the dashboards tests: the repo layout and the generated files.

The real tools (promtool, prometheus, node's LogQL parser) are suite-wide fixtures in
``tests/conftest.py``; tests that use them are in the ``deploy`` tier.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from chunkscope_dashboards.config import DEFAULT
from chunkscope_dashboards.generate import ALERTING_DIR, DASHBOARD_DIR, RULES_DIR, render


@pytest.fixture(scope="session")
def rendered() -> dict[Path, str]:
    """Every generated file for the default config, in memory."""
    return render(DEFAULT)


@pytest.fixture(scope="session")
def dashboards(rendered: dict[Path, str]) -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(text) for p, text in rendered.items() if p.parent == DASHBOARD_DIR}


@pytest.fixture(scope="session")
def rule_files(repo: Path) -> list[Path]:
    files = sorted((repo / RULES_DIR).glob("*.yml"))
    assert files, f"no rule files in {RULES_DIR}: run chunkscope dashboards generate"
    return files


@pytest.fixture(scope="session")
def alert_provisioning(rendered: dict[Path, str]) -> dict[str, Any]:
    return yaml.safe_load(rendered[ALERTING_DIR / "chunkscope-alerts.yaml"])
