"""The ``chunker`` variable: pick chunkscope, treesitter-chunker, or compare both."""

from __future__ import annotations

from typing import Any

import pytest
from chunkscope_dashboards.base import CHUNKER, CHUNKER_LABEL
from chunkscope_dashboards.config import DEFAULT
from chunkscope_dashboards.generate import dashboard_data
from chunkscope_dashboards.queries import selectors

from chunkscope import names as N

CHUNKER_DASHBOARDS = ("chunkscope-overview.json", "chunkscope-languages.json")


def _dashboards() -> dict[str, dict[str, Any]]:
    return dashboard_data(DEFAULT)


def _chunker_selectors(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """Every selector of a chunker metric in the dashboard's panels."""
    found = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            for name, block in selectors(target.get("expr", "")):
                if name.startswith("chunkscope_") and not name.startswith("chunkscope_serve"):
                    found.append((f"{panel['title']}: {name}", block))
    return found


def test_label_is_the_attribute_as_prometheus_names_it() -> None:
    """The label is chunkscope.chunker with dots as underscores."""
    assert CHUNKER_LABEL == N.CHUNKER.replace(".", "_") == "chunkscope_chunker"


@pytest.mark.parametrize("name", CHUNKER_DASHBOARDS)
def test_variable_lists_the_chunkers_and_allows_several(name: str) -> None:
    """A multi-select variable over the chunker label values, All meaning any chunker."""
    (var,) = [v for v in _dashboards()[name]["templating"]["list"] if v["name"] == "chunker"]
    assert var["multi"] is True and var["includeAll"] is True and var["allValue"] == ".+"
    assert var["query"].endswith(f", {CHUNKER_LABEL})")
    assert var["query"].startswith("label_values(chunkscope_files_total{")


@pytest.mark.parametrize("name", CHUNKER_DASHBOARDS)
def test_every_chunker_selector_follows_the_variable(name: str) -> None:
    """Each chunkscope_* selector is narrowed by the chosen chunkers."""
    found = _chunker_selectors(_dashboards()[name])
    assert len(found) > 10
    missing = [where for where, block in found if CHUNKER not in block]
    assert not missing, missing


def test_latency_panels_compare_the_chunkers() -> None:
    """Overview's latency lines are per chunker, so picking both shows them side by side."""
    panels = {p["title"]: p for p in _dashboards()["chunkscope-overview.json"]["panels"]}
    for title in ("Parse latency", "Extract latency", "File latency"):
        for target in panels[title]["targets"]:
            assert f"by ({CHUNKER_LABEL}, le)" in target["expr"], title
            assert target["legendFormat"].startswith("{{" + CHUNKER_LABEL + "}}"), title
