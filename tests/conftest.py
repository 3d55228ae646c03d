"""Suite-wide setup: the test tiers, and the external tools some tests run.

This folder is on ``sys.path``, so area tests share ``repo`` and ``binaries``.

Tiers: plain ``pytest`` runs the fast tier, which needs nothing but ``pip install -e
'.[test]'`` and npm on PATH (the treesitter-chunker tests chunk its JavaScript sources). A
test that asks for one of :data:`TOOL_FIXTURES` (a Go-built binary, promtool, node's LogQL
parser, kubectl) is marked ``deploy`` here, and one that asks for one of
:data:`SERVICE_FIXTURES` (a ``chunkscope serve`` process driven under load, killed or stopped)
``e2e``, like the tests that start the stack, which are marked in their modules. The fast
tier runs on pytest-xdist workers; a run that can select e2e or deploy tests runs in one
process. ``tests/run.sh`` installs the tools and runs every tier.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from binaries import deploy_binary
from repo import REPO


def _cache_bytecode() -> None:
    """Let this session, its xdist workers and its subprocesses cache bytecode, outside the tree.

    Why: where ``PYTHONDONTWRITEBYTECODE`` is set (as on this project's machines), every one
    of the suite's few hundred ``chunkscope`` subprocesses would compile the package from
    source again. ``PYTHONPYCACHEPREFIX`` keeps the files out of the repository, in the same
    cache folder as the Go-built binaries.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ.setdefault("PYTHONPYCACHEPREFIX", str(Path.home() / ".cache/chunkscope/pycache"))
    sys.dont_write_bytecode = False
    sys.pycache_prefix = os.environ["PYTHONPYCACHEPREFIX"]


_cache_bytecode()

TOOL_FIXTURES = frozenset(
    {
        "otelcol_bin",
        "composecheck_bin",
        "promtool",
        "prometheus_bin",
        "amtool",
        "logql_parser",
        "kubectl",
    }
)
"""Fixtures that need a tool ``tests/run.sh`` installs: their tests are in the deploy tier."""

SERVICE_FIXTURES = frozenset({"serve_process", "stack", "spare_collector"})
"""Fixtures that run services as processes, end to end: their tests are in the e2e tier."""

LOGQL_DIR = REPO / "dashboards" / "logql"


SERIAL_MARKERS = ("e2e", "deploy")
"""Tiers that run in one process, never on xdist workers: their session fixtures start one
stack each per process, and the alert tests' timing wants the CPU to itself."""


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Turn the xdist workers off (``-n0``) when ``-m`` can select an e2e or deploy test, as
    ``pytest -m ""`` or ``pytest -m e2e`` do: the fast tier alone runs in parallel."""
    from _pytest.mark.expression import Expression  # what -m itself is evaluated with

    if config.option.markexpr:
        expression = Expression.compile(config.option.markexpr)
        if not any(expression.evaluate(_only(marker)) for marker in SERIAL_MARKERS):
            return
    config.option.numprocesses = 0


def _only(marker: str) -> Callable[..., bool]:
    """A ``-m`` matcher for a test that carries ``marker`` and no other."""
    return lambda name, **_: name == marker


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses an installed tool ``deploy`` and every one that runs services
    ``e2e``, so the fast tier leaves them out."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if TOOL_FIXTURES & used:
            item.add_marker(pytest.mark.deploy)
        if SERVICE_FIXTURES & used:
            item.add_marker(pytest.mark.e2e)


def _tool(name: str) -> str:
    """A tool on PATH; a missing one fails the test (no silent skip) with how to get it."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found on PATH: bash tests/run.sh installs it", pytrace=False)
    return path


@pytest.fixture
def break_extractor(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """``break_extractor(path)``: the extractor raises ``RuntimeError("extractor bug")`` for the
    file reported as ``path``, and works for every other file, as a real extractor bug would."""

    def breaks(broken: str) -> None:
        from chunkscope import pipeline

        real = pipeline._extract

        def extract(tree, source, path, options=None, deadline=None):  # type: ignore[no-untyped-def]
            if path == broken:
                raise RuntimeError("extractor bug")
            return real(tree, source, path, options, deadline)

        monkeypatch.setattr(pipeline, "_extract", extract)

    return breaks


@pytest.fixture(scope="session")
def repo() -> Path:
    """The checkout under test."""
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
def kubectl() -> str:
    return _tool("kubectl")


@pytest.fixture(scope="session")
def otelcol_bin() -> Path:
    return deploy_binary("otelcol")


@pytest.fixture(scope="session")
def composecheck_bin() -> Path:
    return deploy_binary("composecheck")


@pytest.fixture(scope="session")
def logql_parser() -> Path:
    """dashboards/logql's parse script, once ``npm ci`` has installed its lock file."""
    node_modules = LOGQL_DIR / "node_modules" / "@grafana" / "lezer-logql"
    if not node_modules.is_dir():
        pytest.fail(
            "run `(cd dashboards/logql && npm ci)` first (tests/run.sh does)", pytrace=False
        )
    _tool("node")
    return LOGQL_DIR / "parse.mjs"
