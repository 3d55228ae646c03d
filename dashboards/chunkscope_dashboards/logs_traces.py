"""Logs and traces: from a log line or a latency spike to the trace that explains it.

Logs come from Loki (OTLP ingestion: ``service_name`` is a stream label, ``severity_text`` and
``trace_id`` are structured metadata). The Loki datasource's derived field on ``trace_id``
turns every line into a link to Jaeger; latency panels carry exemplars that open the trace.
"""

from __future__ import annotations

from grafanalib import core as g

from chunkscope.names import PROBE_SERVICE

from . import panels as p
from .base import JOB_INSTANCE, dashboard, datasource_var, job_instance_vars, query_var
from .config import Config
from .promql import RATE_INTERVAL as W
from .promql import histogram_quantile

__all__ = ["build", "log_queries"]

LEVELS = ("error", "warning", "info", "debug")


def log_queries(cfg: Config) -> dict[str, str]:
    """The LogQL of this dashboard by purpose; tests parse each with Grafana's LogQL grammar."""
    # The service variable lists every stream; the doctor's probe is never one to show.
    label = cfg.log_service_label
    stream = f'{{{label}=~"$service", {label}!="{PROBE_SERVICE}"}}'
    lines = f'{stream} | severity_text=~"(?i)$level" |~ "(?i)$search"'
    return {
        "lines": lines,
        "volume": f"sum by (severity_text) (count_over_time({stream} "
        f'| severity_text=~"(?i)$level" [$__auto]))',
        "errors_with_trace": f'{stream} | severity_text=~"(?i)error|critical" | trace_id!=""',
    }


def logs_row(cfg: Config) -> p.Row:
    q = log_queries(cfg)
    return (
        "Logs",
        [
            p.loki_timeseries(
                "Log volume by level",
                "Log lines per interval by severity, for the selected service and levels.",
                "short",
                [(q["volume"], "{{severity_text}}")],
            ),
            p.logs(
                "Logs",
                "chunkscope's structlog events (run started, file skipped, file errored, run "
                "summary). Expand a line and follow the TraceID link to open its trace in Jaeger.",
                q["lines"],
            ),
            p.logs(
                "Errors with a trace",
                "Error lines that carry a trace id: each opens the failing file's trace.",
                q["errors_with_trace"],
                height=8,
            ),
        ],
    )


def traces_row(cfg: Config) -> p.Row:
    lang = (*JOB_INSTANCE,)
    ds = p.DS_PROMETHEUS_MULTI
    return (
        "Traces",
        [
            p.traces_table(
                "Recent runs",
                "The latest chunkscope.run traces in Jaeger; click a trace id to see every "
                "file's parse and extract spans.",
                "$service",
                "chunkscope.run",
                width=12,
            ),
            p.traces_table(
                "Recent files",
                "The latest chunkscope.file spans' traces; sort by duration to find slow files.",
                "$service",
                "chunkscope.file",
                width=12,
            ),
            p.timeseries(
                "Slow parses (exemplars)",
                "p99 parse latency with exemplars: each dot is a traced parse, click it to "
                "open that trace in Jaeger.",
                "s",
                [(histogram_quantile(0.99, "chunkscope_parse_duration_seconds", lang, W), "p99")],
                exemplars=True,
                threshold=cfg.parse_p95_budget_seconds,
                width=12,
                ds=ds,
            ),
            p.timeseries(
                "Slow files (exemplars)",
                "p99 per-file latency with exemplars linking to the file's trace.",
                "s",
                [(histogram_quantile(0.99, "chunkscope_file_duration_seconds", lang, W), "p99")],
                exemplars=True,
                width=12,
                ds=ds,
            ),
        ],
    )


def build(cfg: Config) -> g.Dashboard:
    ds = p.DS_PROMETHEUS_MULTI
    level = g.Template(
        name="level",
        label="Level",
        query=",".join(LEVELS),
        type="custom",
        multi=True,
        includeAll=True,
        allValue=".*",
        default=None,
    )
    search = g.Template(name="search", label="Search", query="", type="textbox", default="")
    return dashboard(
        cfg,
        "logs-traces",
        "chunkscope / Logs and traces",
        "Loki logs filtered by service and level with links to Jaeger by trace id, recent "
        "traces, and latency exemplars that open the trace.",
        [logs_row(cfg), traces_row(cfg)],
        [
            datasource_var("prometheus", "prometheus_datasource", "Prometheus data source"),
            datasource_var("loki", "loki_datasource", "Loki data source"),
            datasource_var("jaeger", "jaeger_datasource", "Jaeger data source"),
            *job_instance_vars("chunkscope_files_total", cfg.chunkscope_selector, ds),
            query_var(
                "service",
                "Service",
                f"label_values({cfg.log_service_label})",
                dict(p.DS_LOKI),
            ),
            level,
            search,
        ],
    )
