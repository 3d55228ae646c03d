"""Fixtures for the dashboards tests: the repo layout, the generated files, real tools.

promtool and prometheus come from Debian's ``prometheus`` package; node and npm run
``@grafana/lezer-logql``. A missing tool fails the test that needs it (no silent skips): CI
must install them (see dashboards/README in the report).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from chunkscope_dashboards.config import DEFAULT
from chunkscope_dashboards.generate import ALERTING_DIR, DASHBOARD_DIR, RULES_DIR, render

REPO = Path(__file__).resolve().parents[2]
LOGQL_DIR = REPO / "dashboards" / "logql"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} not found on PATH: "
            "apt-get install prometheus prometheus-alertmanager nodejs npm"
        )
    return path


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def promtool() -> str:
    return _tool("promtool")


@pytest.fixture(scope="session")
def prometheus_bin() -> str:
    return _tool("prometheus")


@pytest.fixture(scope="session")
def amtool() -> str:
    return _tool("amtool")


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


@pytest.fixture(scope="session")
def logql_parser() -> Path:
    """dashboards/logql with its node_modules installed from the committed lock file."""
    node_modules = LOGQL_DIR / "node_modules" / "@grafana" / "lezer-logql"
    if not node_modules.is_dir():
        subprocess.run(
            [_tool("npm"), "ci", "--no-audit", "--no-fund"],
            cwd=LOGQL_DIR,
            check=True,
            timeout=300,
            capture_output=True,
        )
    _tool("node")
    return LOGQL_DIR / "parse.mjs"
