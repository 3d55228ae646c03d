"""The one pass that turns grafanalib's dashboard JSON into Grafana's current dashboard model.

grafanalib 0.7.1 (its last release) still writes the pre-Grafana-7 model: every unset field as
``null``, the legacy grid (``span``, ``height``, ``minSpan``, top-level ``rows``), the old
template tag keys and a row panel carrying every field of a graph panel. Grafana reads all of
that and migrates it on load, but its published JSON Schema (``tests/dashboards/grafana-schema/``,
generated from Grafana's own CUE kinds) rejects it, and a file that needs migrating is one
Grafana rewrites the first time someone saves it. So after ``to_json_data`` every dashboard goes
through :func:`normalise`, which does exactly three things, each listed here rather than
inferred, so that a key the generator gets wrong still fails the schema test:

1. drops ``null`` values: Grafana reads an absent key as its default. The one ``null`` that
   means something, a threshold step's ``value`` (-Infinity, the base step), is kept;
2. drops the legacy keys in :data:`LEGACY_KEYS` (dashboard, panel, template variable);
3. reduces row panels to the row model (:data:`ROW_KEYS`), and a template variable's empty
   ``current`` (grafanalib writes ``{"text": null, "value": null}``) to nothing, so Grafana
   selects the default.

Panel options Grafana's schema requires (a stat's ``wideLayout``, a legend's ``showLegend``)
are choices, not clean-up: the builders in ``panels`` set them.

>>> normalise({"rows": [], "panels": [{"type": "row", "span": None, "title": "A", "id": 1,
...            "collapsed": False, "panels": [], "targets": []}], "gnetId": None})
{'panels': [{'type': 'row', 'title': 'A', 'id': 1, 'collapsed': False, 'panels': []}]}
"""

from __future__ import annotations

from typing import Any

__all__ = ["LEGACY_KEYS", "ROW_KEYS", "normalise"]

LEGACY_KEYS: dict[str, frozenset[str]] = {
    # Pre-5.0 row layout and pre-7.0 dashboard options, replaced by gridPos and graphTooltip.
    "dashboard": frozenset({"rows", "hideControls", "sharedCrosshair", "style"}),
    # Pre-5.0 grid sizing (span/height/minSpan), and panel state Grafana never persists.
    "panel": frozenset({"span", "height", "minSpan", "editable", "error"}),
    # Tag-based variables, removed in Grafana 7.
    "variable": frozenset({"tagsQuery", "tagValuesQuery", "useTags", "tags"}),
    # The timepicker's list of relative ranges, removed in Grafana 8.
    "timepicker": frozenset({"time_options"}),
}
"""Keys grafanalib writes that Grafana's current model no longer has, by where they appear."""

ROW_KEYS = frozenset(
    {"collapsed", "datasource", "gridPos", "id", "panels", "repeat", "title", "type"}
)
"""Everything a row panel has in the current model; grafanalib's RowPanel writes a graph's keys."""


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _keep_base_thresholds(panel: dict[str, Any]) -> None:
    """Put back the ``value: null`` of threshold steps that :func:`_drop_nulls` removed."""
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    for step in defaults.get("thresholds", {}).get("steps", []):
        step.setdefault("value", None)


def _panel(panel: dict[str, Any]) -> dict[str, Any]:
    if panel.get("type") == "row":
        row = {k: v for k, v in panel.items() if k in ROW_KEYS}
        row["panels"] = [_panel(p) for p in row.get("panels", [])]
        return row
    out = {k: v for k, v in panel.items() if k not in LEGACY_KEYS["panel"]}
    _keep_base_thresholds(out)
    return out


def _variable(variable: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in variable.items() if k not in LEGACY_KEYS["variable"]}
    current = {k: v for k, v in out.get("current", {}).items() if k not in LEGACY_KEYS["variable"]}
    if "text" in current and "value" in current:
        out["current"] = current
    else:
        out.pop("current", None)
    return out


def normalise(dashboard: dict[str, Any]) -> dict[str, Any]:
    """Return ``dashboard`` (grafanalib's JSON as plain data) in Grafana's current model."""
    out = {k: v for k, v in _drop_nulls(dashboard).items() if k not in LEGACY_KEYS["dashboard"]}
    if "timepicker" in out:
        out["timepicker"] = {
            k: v for k, v in out["timepicker"].items() if k not in LEGACY_KEYS["timepicker"]
        }
    out["panels"] = [_panel(p) for p in out.get("panels", [])]
    templating = out.get("templating")
    if templating is not None:
        templating["list"] = [_variable(v) for v in templating.get("list", [])]
    return out
