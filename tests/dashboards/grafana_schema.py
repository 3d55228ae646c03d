"""Validate dashboard JSON against Grafana's published JSON Schemas (``grafana-schema/``).

Three layers, as Grafana itself splits the model: the dashboard (``dashboard.jsonschema.json``,
the v1 model, no unknown keys), each panel's ``options`` and ``fieldConfig.defaults.custom``
against its panel type's ``Options`` and ``FieldConfig`` definitions, and each query target
against its datasource's query schema. Export-only keys (``__inputs``, ``__requires``,
``__elements``) are removed first, as the schemas' README says. Jaeger targets have no schema in
that set; :func:`schema_errors` reports them as unchecked, never as valid.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_DIR = Path(__file__).with_name("grafana-schema")
EXPORT_ONLY = ("__inputs", "__requires", "__elements")
PANEL_TYPES = ("timeseries", "stat", "logs", "table", "heatmap")
QUERY_TYPES = ("prometheus", "loki")
UNSCHEMED_QUERY_TYPES = ("jaeger",)


@cache
def _schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / f"{name}.jsonschema.json").read_text(encoding="utf-8"))


@cache
def _validator(name: str, definition: str | None = None) -> jsonschema.Draft7Validator:
    schema = dict(_schema(name))
    if definition is not None:
        schema["$ref"] = f"#/definitions/{definition}"
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def _errors(validator: jsonschema.Draft7Validator, data: Any, where: str) -> Iterator[str]:
    for err in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        detail = err.message
        if err.context:
            best = jsonschema.exceptions.best_match(err.context)
            detail = f"{best.message} (at {list(best.absolute_path)})"
        yield f"{where}{list(err.absolute_path)}: {detail[:300]}"


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def schema_errors(dashboard: dict[str, Any]) -> list[str]:
    """Every schema error in ``dashboard``, one line each naming where; [] when it conforms."""
    data = {k: v for k, v in dashboard.items() if k not in EXPORT_ONLY}
    errors = list(_errors(_validator("dashboard"), data, "dashboard"))
    for panel in _panels(data.get("panels", [])):
        kind = panel.get("type")
        if kind == "row":
            continue
        where = f"panel {panel.get('title')!r} ({kind})"
        if kind not in PANEL_TYPES:
            errors.append(f"{where}: no schema for panel type {kind!r}")
            continue
        errors += _errors(_validator(kind, "Options"), panel.get("options", {}), f"{where} options")
        custom = panel.get("fieldConfig", {}).get("defaults", {}).get("custom", {})
        if "FieldConfig" in _schema(kind)["definitions"]:
            errors += _errors(_validator(kind, "FieldConfig"), custom, f"{where} custom")
        elif custom:
            errors.append(f"{where} custom: {kind} has no custom field config, got {custom}")
        for target in panel.get("targets", []):
            ds = target.get("datasource", {}).get("type")
            if ds in UNSCHEMED_QUERY_TYPES:
                continue
            if ds not in QUERY_TYPES:
                errors.append(f"{where} target {target.get('refId')}: no schema for {ds!r}")
                continue
            errors += _errors(_validator(ds), target, f"{where} target {target.get('refId')}")
    return errors


def unchecked_targets(dashboard: dict[str, Any]) -> list[str]:
    """Targets whose datasource has no query schema here (Jaeger), as ``panel/refId``."""
    return [
        f"{panel.get('title')}/{target.get('refId')}"
        for panel in _panels(dashboard.get("panels", []))
        for target in panel.get("targets", [])
        if target.get("datasource", {}).get("type") in UNSCHEMED_QUERY_TYPES
    ]
