"""Generated dashboards against Grafana's own JSON Schemas (tests/dashboards/grafana-schema/)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from chunkscope_dashboards.generate import DASHBOARD_DIR
from grafana_schema import PANEL_TYPES, schema_errors, unchecked_targets


def _first(dashboard: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(p for p in dashboard["panels"] if p["type"] == kind)


class TestGeneratedDashboards:
    def test_every_dashboard_conforms(self, dashboards: dict[str, dict[str, Any]]) -> None:
        """Dashboard, panel options, custom field config and targets: zero schema errors."""
        errors = {name: schema_errors(d) for name, d in dashboards.items()}
        assert errors == {name: [] for name in dashboards}

    def test_committed_dashboards_conform(self, repo: Path) -> None:
        """What Grafana provisions from deploy/ conforms too, not only the in-memory render."""
        files = sorted((repo / DASHBOARD_DIR).glob("*.json"))
        assert len(files) == 5
        for path in files:
            assert schema_errors(json.loads(path.read_text())) == [], path.name

    def test_every_panel_type_is_covered(self, dashboards: dict[str, dict[str, Any]]) -> None:
        """The five panel types with schemas are all in use, so each schema is exercised."""
        used = {p["type"] for d in dashboards.values() for p in d["panels"]} - {"row"}
        assert used == set(PANEL_TYPES)

    def test_only_jaeger_targets_are_unchecked(self, dashboards: dict[str, dict]) -> None:
        """Jaeger has no query schema in the set: exactly the two trace tables go unchecked."""
        unchecked = [t for d in dashboards.values() for t in unchecked_targets(d)]
        assert unchecked == ["Recent runs/A", "Recent files/A"]


class TestTheCheckCanFail:
    @pytest.mark.parametrize(
        "plant, expected",
        [
            (lambda d: d.update(rows=[]), "dashboard[]: Additional properties"),
            (
                lambda d: d["templating"]["list"][0].update(tagsQuery=""),
                "dashboard['templating', 'list', 0]",
            ),
            (lambda d: d["panels"][1].update(span=4), "dashboard['panels', 1]"),
            (
                lambda d: _first(d, "timeseries")["options"]["legend"].pop("showLegend"),
                "options['legend']: 'showLegend' is a required property",
            ),
            (
                lambda d: _first(d, "timeseries")["fieldConfig"]["defaults"]["custom"].update(
                    lineWidth="thick"
                ),
                "custom['lineWidth']",
            ),
            (
                lambda d: _first(d, "stat")["targets"][0].update(editorMode="sql"),
                "target A['editorMode']",
            ),
        ],
        ids=["rows", "tagsQuery", "span", "required-option", "custom", "query"],
    )
    def test_a_planted_bad_key_is_reported(
        self, dashboards: dict[str, dict[str, Any]], plant: Any, expected: str
    ) -> None:
        """A key Grafana's model does not have, or a wrong value, is an error naming its place."""
        bad = copy.deepcopy(dashboards["chunkscope-overview.json"])
        plant(bad)
        errors = schema_errors(bad)
        assert any(expected in e for e in errors), errors

    def test_grafanalib_raw_output_fails(self) -> None:
        """Without the normalising pass, grafanalib's JSON has dozens of errors per dashboard."""
        from chunkscope_dashboards import DEFAULT, overview
        from grafanalib._gen import DashboardEncoder

        raw = json.loads(json.dumps(overview.build(DEFAULT).to_json_data(), cls=DashboardEncoder))
        assert len(schema_errors(raw)) >= 20
