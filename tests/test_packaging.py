"""The distribution says one thing about itself: one version, the licence it declares."""

from __future__ import annotations

import tomllib
from importlib.metadata import version

from repo import REPO

import chunkscope


def test_one_version_everywhere() -> None:
    """pyproject's dynamic version, the installed metadata and the instrumentation agree."""
    from opentelemetry.instrumentation.chunkscope import __version__ as instrumentation

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert version("chunkscope") == chunkscope.__version__ == instrumentation


def test_license_file_is_the_declared_one() -> None:
    """LICENSE holds the Apache 2.0 text that pyproject declares."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    text = (REPO / "LICENSE").read_text()
    assert project["license"] == {"text": "Apache-2.0"}
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
