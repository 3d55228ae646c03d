"""Telemetry pipeline: is the OpenTelemetry Collector itself healthy.

Accepted vs refused per signal at the receivers (memory_limiter refusals surface there),
items in and out of each processor, sent vs failed at the exporters, and exporter queue fill.
Names are the pinned collector's (``otelcol_exporter_sent_spans``); counters that only appear
after the first failure fall back to 0 so a healthy collector shows 0, not "No data".
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


def _or_zero(expr: str, baseline: str) -> str:
    """``expr``, or 0 for every series of ``baseline`` while ``expr`` has no series yet."""
    return f"{expr} or {baseline} * 0"


def receivers_row(cfg: Config) -> p.Row:
    sfx = cfg.collector_counter_suffix
    panels = []
    for signal in SIGNALS:
        accepted = sum_rate(
            f"otelcol_receiver_accepted_{signal}{sfx}", JOB_INSTANCE, W, ("receiver",)
        )
        refused = sum_rate(
            f"otelcol_receiver_refused_{signal}{sfx}", JOB_INSTANCE, W, ("receiver",)
        )
        panels.append(
            p.timeseries(
                f"{TITLES[signal]} received",
                f"{TITLES[signal]} per second accepted and refused by each receiver. Refused "
                "items were pushed back to the client (memory_limiter or a full pipeline).",
                "ops",
                [
                    (accepted, "accepted {{receiver}}"),
                    (_or_zero(refused, accepted), "refused {{receiver}}"),
                ],
            )
        )
    return ("Receivers", panels)


def exporters_row(cfg: Config) -> p.Row:
    sfx = cfg.collector_counter_suffix
    by = ("exporter",)
    panels = []
    for signal in SIGNALS:
        sent = sum_rate(f"otelcol_exporter_sent_{signal}{sfx}", JOB_INSTANCE, W, by)
        failed = sum_rate(f"otelcol_exporter_send_failed_{signal}{sfx}", JOB_INSTANCE, W, by)
        full = sum_rate(f"otelcol_exporter_enqueue_failed_{signal}{sfx}", JOB_INSTANCE, W, by)
        panels.append(
            p.timeseries(
                f"{TITLES[signal]} exported",
                f"{TITLES[signal]} per second sent and failed by each exporter, and items "
                "dropped because the sending queue was full.",
                "ops",
                [
                    (sent, "sent {{exporter}}"),
                    (_or_zero(failed, sent), "failed {{exporter}}"),
                    (_or_zero(full, sent), "queue full {{exporter}}"),
                ],
            )
        )
    return ("Exporters", panels)


def health_row(cfg: Config) -> p.Row:
    sfx = cfg.collector_counter_suffix
    by = ("processor", "otel_signal")
    return (
        "Queues and processors",
        [
            p.timeseries(
                "Exporter queue fill",
                "Batches waiting in each exporter's sending queue as a share of its capacity. "
                "Near 100 % the next batches are dropped.",
                "percentunit",
                [
                    (
                        f"max by (exporter) (otelcol_exporter_queue_size{M}) / max by (exporter) "
                        f"(otelcol_exporter_queue_capacity{M})",
                        "{{exporter}}",
                    )
                ],
            ),
            p.timeseries(
                "Processor items in/out",
                "Items per second entering and leaving each processor, by signal. Out below in "
                "means the processor dropped or refused items (memory_limiter under pressure).",
                "ops",
                [
                    (
                        sum_rate(f"otelcol_processor_incoming_items{sfx}", JOB_INSTANCE, W, by),
                        "in {{processor}} {{otel_signal}}",
                    ),
                    (
                        sum_rate(f"otelcol_processor_outgoing_items{sfx}", JOB_INSTANCE, W, by),
                        "out {{processor}} {{otel_signal}}",
                    ),
                ],
            ),
            p.timeseries(
                "Collector memory",
                "Resident memory of the collector process; memory_limiter starts refusing "
                "data at its soft limit.",
                "bytes",
                [(f"sum by (instance) (otelcol_process_memory_rss{M})", "{{instance}}")],
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
            *job_instance_vars("otelcol_process_memory_rss", cfg.collector_selector, ds),
        ],
    )
