"""Panel builders that cannot forget the basics: unit, description, datasource, rate window.

Every dashboard module builds panels only through these helpers, so the dashboard lint
(tests/dashboards/test_lint.py) holds by construction: a rate without ``$__rate_interval`` is
refused here, at generation time, not discovered in Grafana.

>>> p = timeseries("Files/s", "Files finished per second.", "ops",
...                [("sum(rate(chunkscope_files_total[$__rate_interval]))", "files")])
>>> p.unit, p.dataSource["uid"]
('ops', '${datasource}')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import attr
from grafanalib import core as g

from .promql import RATE_INTERVAL

__all__ = [
    "DS_JAEGER",
    "DS_LOKI",
    "DS_PROMETHEUS",
    "HeatmapPanel",
    "JaegerTarget",
    "LokiTarget",
    "PromTarget",
    "Row",
    "TablePanel",
    "heatmap",
    "layout",
    "logs",
    "stat",
    "timeseries",
    "traces_table",
]

DS_PROMETHEUS = {"type": "prometheus", "uid": "${datasource}"}
DS_LOKI = {"type": "loki", "uid": "${loki_datasource}"}
DS_JAEGER = {"type": "jaeger", "uid": "${jaeger_datasource}"}
# On a dashboard with several datasource variables each is named after its type (linter rule).
DS_PROMETHEUS_MULTI = {"type": "prometheus", "uid": "${prometheus_datasource}"}

_RANGE_FN = re.compile(r"\b(rate|irate|increase|delta|idelta|deriv)\(([^\[]*)\[([^\]]+)\]")

_LEGEND_SHOWN = {"options": {"legend": {"showLegend": True}}}
"""grafanalib leaves out ``showLegend``, which Grafana's schema requires of every legend."""

Row = tuple[str, list[g.Panel]]
"""A dashboard row: its title and its panels, left to right."""


def check_rate_windows(expr: str) -> None:
    """Refuse a range function whose window is not ``$__rate_interval``.

    A fixed window shows noise when zoomed out and gaps when the scrape interval changes;
    ``$__rate_interval`` is always at least four scrapes wide.
    """
    for fn, _, window in _RANGE_FN.findall(expr):
        if window != RATE_INTERVAL:
            raise ValueError(f"{fn}() over [{window}] in {expr!r}: use [{RATE_INTERVAL}]")


@attr.s
class PromTarget(g.Target):
    """A Prometheus query; ``exemplar`` shows trace exemplars on latency panels."""

    exemplar: bool = attr.ib(default=False)

    def to_json_data(self) -> dict[str, Any]:
        data = super().to_json_data()
        data.update(
            {
                "editorMode": "code",
                "exemplar": self.exemplar,
                "range": not self.instant,
            }
        )
        for noise in ("target", "metric", "step", "query"):
            data.pop(noise, None)
        return data


@attr.s
class LokiTarget:
    """A LogQL query (logs or metric) against the Loki datasource."""

    expr: str = attr.ib()
    refId: str = attr.ib(default="A")
    legendFormat: str = attr.ib(default="")
    datasource: dict[str, str] = attr.ib(factory=lambda: dict(DS_LOKI))

    def to_json_data(self) -> dict[str, Any]:
        return {
            "datasource": self.datasource,
            "editorMode": "code",
            "expr": self.expr,
            "legendFormat": self.legendFormat,
            "queryType": "range",
            "refId": self.refId,
        }


@attr.s
class JaegerTarget:
    """A Jaeger trace search; the result table links each trace id to the trace view."""

    service: str = attr.ib()
    operation: str = attr.ib()
    refId: str = attr.ib(default="A")
    limit: int = attr.ib(default=20)

    def to_json_data(self) -> dict[str, Any]:
        return {
            "datasource": dict(DS_JAEGER),
            "limit": self.limit,
            "operation": self.operation,
            "queryType": "search",
            "refId": self.refId,
            "service": self.service,
        }


def _prom_targets(
    queries: Sequence[tuple[str, str]], exemplars: bool, ds: dict[str, str] = DS_PROMETHEUS
) -> list[PromTarget]:
    targets = []
    for i, (expr, legend) in enumerate(queries):
        check_rate_windows(expr)
        targets.append(
            PromTarget(
                expr=expr,
                legendFormat=legend,
                refId=chr(ord("A") + i),
                datasource=dict(ds),
                exemplar=exemplars,
                interval="",
            )
        )
    return targets


def _thresholds(steps: Sequence[tuple[float | None, str]]) -> list[dict[str, Any]]:
    return [{"color": color, "value": value} for value, color in steps]


def timeseries(
    title: str,
    description: str,
    unit: str,
    queries: Sequence[tuple[str, str]],
    *,
    exemplars: bool = False,
    stack: bool = False,
    threshold: float | None = None,
    width: int = 8,
    height: int = 8,
    ds: dict[str, str] = DS_PROMETHEUS,
) -> g.TimeSeries:
    """A time series panel; ``threshold`` draws the alert's budget as a dashed red line."""
    steps: list[tuple[float | None, str]] = [(None, "green")]
    if threshold is not None:
        steps.append((threshold, "red"))
    return g.TimeSeries(
        title=title,
        description=description,
        dataSource=dict(ds),
        targets=_prom_targets(queries, exemplars, ds),
        unit=unit,
        stacking={"group": "A", "mode": "normal"} if stack else {"group": "A", "mode": "none"},
        fillOpacity=20 if stack else 10,
        lineWidth=1,
        showPoints="never",
        legendDisplayMode="table",
        legendPlacement="right" if width >= 16 else "bottom",
        legendCalcs=["mean", "max", "lastNotNull"],
        tooltipMode="multi",
        tooltipSort="desc",
        thresholds=_thresholds(steps),
        thresholdsStyleMode="dashed" if threshold is not None else "off",
        gridPos=g.GridPos(h=height, w=width, x=0, y=0),
        maxDataPoints=None,
        extraJson=_LEGEND_SHOWN,
    )


def stat(
    title: str,
    description: str,
    unit: str,
    expr: str,
    *,
    thresholds: Sequence[tuple[float | None, str]] = ((None, "green"),),
    width: int = 4,
    height: int = 4,
) -> g.Stat:
    """A single number with a sparkline: the current value of ``expr``."""
    return g.Stat(
        title=title,
        description=description,
        dataSource=dict(DS_PROMETHEUS),
        targets=_prom_targets([(expr, "")], exemplars=False),
        format=unit,
        reduceCalc="lastNotNull",
        graphMode="area",
        colorMode="value",
        noValue="0",
        thresholdType="absolute",
        thresholds=_thresholds(thresholds),
        gridPos=g.GridPos(h=height, w=width, x=0, y=0),
        maxDataPoints=None,
        extraJson={
            "options": {
                "wideLayout": True,
                "showPercentChange": False,
                "percentChangeColorMode": "standard",
            }
        },
    )


@attr.s
class HeatmapPanel(g.Panel):
    """Grafana's current heatmap: everything in ``options`` and ``fieldConfig``.

    grafanalib's ``Heatmap`` writes the pre-9 plugin's panel-level keys (``cards``,
    ``dataFormat``, ``xAxis``...), which the current model does not have.
    """

    options: dict[str, Any] = attr.ib(factory=dict)
    unit: str = attr.ib(default="")

    def to_json_data(self) -> dict[str, Any]:
        return self.panel_json(
            {
                "type": "heatmap",
                "options": self.options,
                "fieldConfig": {
                    "defaults": {
                        "unit": self.unit,
                        "custom": {"scaleDistribution": {"type": "linear"}},
                    },
                    "overrides": [],
                },
            }
        )


@attr.s
class TablePanel(g.Table):
    """A table in the current model: grafanalib's ``Table`` also writes the pre-8 table's
    panel-level ``columns``, ``fontSize``, ``color`` and ``mappings``."""

    def to_json_data(self) -> dict[str, Any]:
        return self.panel_json(
            {
                "type": g.TABLE_TYPE,
                "fieldConfig": {
                    "defaults": {
                        "custom": {
                            "align": self.align,
                            "filterable": self.filterable,
                            "inspect": False,
                        },
                        "color": {"mode": self.colorMode},
                        "mappings": self.mappings,
                        "unit": self.unit,
                    },
                    "overrides": self.overrides,
                },
                "options": {
                    "frameIndex": 0,
                    "showHeader": self.showHeader,
                    "cellHeight": "sm",
                    "sortBy": self.sortBy,
                },
            }
        )


def heatmap(
    title: str,
    description: str,
    unit: str,
    bucket_expr: str,
    *,
    exemplars: bool = True,
    width: int = 12,
    height: int = 8,
) -> HeatmapPanel:
    """A heatmap of pre-bucketed histogram data (``sum by (le) (rate(..._bucket))``)."""
    targets = _prom_targets([(bucket_expr, "{{le}}")], exemplars)
    targets = [attr.evolve(t, format="heatmap") for t in targets]
    return HeatmapPanel(
        title=title,
        description=description,
        dataSource=dict(DS_PROMETHEUS),
        targets=targets,
        unit=unit,
        options={
            "calculate": False,
            "cellGap": 1,
            "color": {
                "exponent": 0.5,
                "fill": "dark-orange",
                "mode": "scheme",
                "reverse": False,
                "scale": "exponential",
                "scheme": "Oranges",
                "steps": 64,
            },
            "exemplars": {"color": "rgba(255,0,255,0.7)"},
            "filterValues": {"le": 1e-9},
            "legend": {"show": True},
            "rowsFrame": {"layout": "auto"},
            "showValue": "never",
            "tooltip": {"mode": "single", "yHistogram": True},
            "yAxis": {"axisPlacement": "left", "reverse": False, "unit": unit},
        },
        gridPos=g.GridPos(h=height, w=width, x=0, y=0),
        maxDataPoints=None,
    )


def logs(title: str, description: str, expr: str, *, width: int = 24, height: int = 12) -> g.Logs:
    """A Loki logs panel; trace ids link to Jaeger through the Loki datasource's derived field."""
    return g.Logs(
        title=title,
        description=description,
        dataSource=dict(DS_LOKI),
        targets=[LokiTarget(expr=expr)],
        showTime=True,
        showLabels=False,
        showCommonLabels=False,
        wrapLogMessages=True,
        enableLogDetails=True,
        prettifyLogMessage=False,
        sortOrder="Descending",
        dedupStrategy="none",
        extraJson={
            "fieldConfig": {"defaults": {"unit": "none"}},
            "options": {"showLogContextToggle": True},
        },
        gridPos=g.GridPos(h=height, w=width, x=0, y=0),
        maxDataPoints=None,
    )


def loki_timeseries(
    title: str,
    description: str,
    unit: str,
    queries: Sequence[tuple[str, str]],
    *,
    width: int = 24,
    height: int = 6,
) -> g.TimeSeries:
    """A time series of a LogQL metric query (log volume by level)."""
    return g.TimeSeries(
        title=title,
        description=description,
        dataSource=dict(DS_LOKI),
        targets=[
            LokiTarget(expr=expr, legendFormat=legend, refId=chr(ord("A") + i))
            for i, (expr, legend) in enumerate(queries)
        ],
        unit=unit,
        drawStyle="bars",
        fillOpacity=60,
        stacking={"group": "A", "mode": "normal"},
        legendDisplayMode="list",
        tooltipMode="multi",
        gridPos=g.GridPos(h=height, w=width, x=0, y=0),
        maxDataPoints=None,
        extraJson=_LEGEND_SHOWN,
    )


def traces_table(
    title: str,
    description: str,
    service: str,
    operation: str,
    *,
    width: int = 24,
    height: int = 10,
) -> TablePanel:
    """Recent traces from Jaeger; each trace id opens the trace in Grafana's trace view."""
    return TablePanel(
        title=title,
        description=description,
        dataSource=dict(DS_JAEGER),
        targets=[JaegerTarget(service=service, operation=operation)],
        unit="none",
        gridPos=g.GridPos(h=height, w=width, x=0, y=0),
        maxDataPoints=None,
    )


def layout(rows: Sequence[Row]) -> list[g.Panel]:
    """Flatten rows into one panel list with stable ids and a left-to-right, wrapping grid."""
    out: list[g.Panel] = []
    next_id = 1
    y = 0
    for title, panels in rows:
        out.append(g.RowPanel(title=title, id=next_id, gridPos=g.GridPos(h=1, w=24, x=0, y=y)))
        next_id += 1
        y += 1
        x = 0
        row_height = 0
        for panel in panels:
            w, h = panel.gridPos.w, panel.gridPos.h
            if x + w > 24:
                x, y, row_height = 0, y + row_height, 0
            out.append(attr.evolve(panel, id=next_id, gridPos=g.GridPos(h=h, w=w, x=x, y=y)))
            next_id += 1
            x += w
            row_height = max(row_height, h)
        y += row_height
    return out
