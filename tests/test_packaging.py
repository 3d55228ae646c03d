"""The distribution says one thing about itself: one version, the licence it declares."""

from __future__ import annotations

import tomllib
from importlib.metadata import version

from repo import REPO

import chunkscope


def test_one_version_everywhere() -> None:
    """pyproject's dynamic version, the installed metadata and both instrumentations agree."""
    from opentelemetry.instrumentation.chunkscope import __version__ as instrumentation
    from opentelemetry.instrumentation.treesitter_chunker import __version__ as tsc_version

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert version("chunkscope") == chunkscope.__version__ == instrumentation == tsc_version


def test_license_file_is_the_declared_one() -> None:
    """LICENSE holds the Apache 2.0 text that pyproject declares."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    text = (REPO / "LICENSE").read_text()
    assert project["license"] == {"text": "Apache-2.0"}
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_every_package_is_in_the_distribution() -> None:
    """Each folder with an ``__init__.py`` under a package dir is listed, so the wheel has it."""
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = set()
    for name, folder in setuptools["package-dir"].items():
        for init in (REPO / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(REPO / folder).parts
            found.add(".".join((name, *parts)))
    assert found == set(setuptools["packages"])
