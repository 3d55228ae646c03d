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
    "JaegerTarget",
    "LokiTarget",
    "PromTarget",
    "Row",
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
) -> g.Heatmap:
    """A heatmap of pre-bucketed histogram data (``sum by (le) (rate(..._bucket))``)."""
    targets = _prom_targets([(bucket_expr, "{{le}}")], exemplars)
    targets = [attr.evolve(t, format="heatmap") for t in targets]
    return g.Heatmap(
        title=title,
        description=description,
        dataSource=dict(DS_PROMETHEUS),
        targets=targets,
        dataFormat="tsbuckets",
        yAxis=g.YAxis(format=unit),
        options={
            "calculate": False,
            "cellGap": 1,
            "color": {"exponent": 0.5, "mode": "scheme", "scheme": "Oranges", "steps": 64},
            "exemplars": {"color": "rgba(255,0,255,0.7)"},
            "filterValues": {"le": 1e-9},
            "legend": {"show": True},
            "rowsFrame": {"layout": "auto"},
            "tooltip": {"mode": "single", "yHistogram": True},
            "yAxis": {"axisPlacement": "left", "reverse": False, "unit": unit},
        },
        extraJson={"fieldConfig": {"defaults": {"unit": unit}}},
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
        extraJson={"fieldConfig": {"defaults": {"unit": "none"}}},
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
    )


def traces_table(
    title: str,
    description: str,
    service: str,
    operation: str,
    *,
    width: int = 24,
    height: int = 10,
) -> g.Table:
    """Recent traces from Jaeger; each trace id opens the trace in Grafana's trace view."""
    return g.Table(
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
