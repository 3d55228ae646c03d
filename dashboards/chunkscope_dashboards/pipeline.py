"""Telemetry pipeline: is the OpenTelemetry Collector itself healthy.

Accepted vs refused per signal at the receivers (memory_limiter refusals surface here),
dropped in processors, sent vs failed at the exporters, and exporter queue fill.
"""

from __future__ import annotations

from grafanalib import core as g

from . import panels as p
from .base import JOB_INSTANCE, dashboard, datasource_var, job_instance_vars
from .config import Config
from .promql import RATE_INTERVAL as W
from .promql import SIGNALS, matchers, sum_rate

__all__ = ["build"]

M = matchers(*JOB_INSTANCE)
TITLES = {"spans": "Spans", "metric_points": "Metric points", "log_records": "Log records"}


def receivers_row(cfg: Config) -> p.Row:
    panels = []
    for signal in SIGNALS:
        panels.append(
            p.timeseries(
                f"{TITLES[signal]} received",
                f"{TITLES[signal]} per second accepted and refused by each receiver. Refused "
                "items were pushed back to the client (memory_limiter or a full pipeline).",
                "ops",
                [
                    (sum_rate(f"otelcol_receiver_accepted_{signal}_total", JOB_INSTANCE, W,
                              ("receiver",)), "accepted {{receiver}}"),
                    (sum_rate(f"otelcol_receiver_refused_{signal}_total", JOB_INSTANCE, W,
                              ("receiver",)), "refused {{receiver}}"),
                ],
            )
        )
    return ("Receivers", panels)


def exporters_row(cfg: Config) -> p.Row:
    panels = []
    for signal in SIGNALS:
        panels.append(
            p.timeseries(
                f"{TITLES[signal]} exported",
                f"{TITLES[signal]} per second sent and failed by each exporter, and items "
                "dropped because the sending queue was full.",
                "ops",
                [
                    (sum_rate(f"otelcol_exporter_sent_{signal}_total", JOB_INSTANCE, W,
                              ("exporter",)), "sent {{exporter}}"),
                    (sum_rate(f"otelcol_exporter_send_failed_{signal}_total", JOB_INSTANCE, W,
                              ("exporter",)), "failed {{exporter}}"),
                    (sum_rate(f"otelcol_exporter_enqueue_failed_{signal}_total", JOB_INSTANCE, W,
                              ("exporter",)), "queue full {{exporter}}"),
                ],
            )
        )
    return ("Exporters", panels)


def health_row(cfg: Config) -> p.Row:
    return (
        "Queues and processors",
        [
            p.timeseries(
                "Exporter queue fill",
                "Batches waiting in each exporter's sending queue as a share of its capacity. "
                "Near 100 % the next batches are dropped.",
                "percentunit",
                [(f"max by (exporter) (otelcol_exporter_queue_size{M}) / max by (exporter) "
                  f"(otelcol_exporter_queue_capacity{M})", "{{exporter}}")],
            ),
            p.timeseries(
                "Dropped in processors",
                "Items dropped inside processors per second, by signal.",
                "ops",
                [(sum_rate(f"otelcol_processor_dropped_{s}_total", JOB_INSTANCE, W,
                           ("processor",)), f"{s} {{{{processor}}}}") for s in SIGNALS],
            ),
            p.timeseries(
                "Collector memory",
                "Resident memory of the collector process; memory_limiter starts refusing "
                "data at its soft limit.",
                "bytes",
                [(f"sum by (instance) (otelcol_process_memory_rss_bytes{M})", "{{instance}}")],
            ),
        ],
    )


def build(cfg: Config) -> g.Dashboard:
    ds = p.DS_PROMETHEUS
    return dashboard(
        cfg,
        "pipeline",
        "chunkscope / Telemetry pipeline",
        "The OpenTelemetry Collector's own metrics: accepted, refused and dropped spans, "
        "metric points and log records; exporter send failures and queue fill.",
        [receivers_row(cfg), exporters_row(cfg), health_row(cfg)],
        [
            datasource_var("prometheus", "datasource", "Data source"),
            *job_instance_vars("otelcol_process_memory_rss_bytes", cfg.collector_selector, ds),
        ],
    )
