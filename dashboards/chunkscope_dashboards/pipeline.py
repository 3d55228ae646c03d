"""Telemetry pipeline: is the OpenTelemetry Collector itself healthy, and what reaches it.

The first row shows chunkscope's own side: how many files kept their span subtree under the
file-span policy, and why (errors, slow files, the per-second reservoir, the ratio), against
those dropped; every file is in the metrics either way.

Accepted vs refused per signal at the receivers (memory_limiter refusals surface there),
items in and out of each processor, sent vs failed at the exporters, and exporter queue fill.
Names are the pinned collector's (``otelcol_exporter_sent_spans``); counters that only appear
after the first failure fall back to 0 so a healthy collector shows 0, not "No data".
"""

from __future__ import annotations

from grafanalib import core as g

from chunkscope import names as N
from chunkscope.names import prometheus_label as label
from chunkscope.names import prometheus_name

from . import panels as p
from .base import JOB_INSTANCE, dashboard, datasource_var, query_var
from .base import JOB_INSTANCE_SELECTOR as M
from .config import Config
from .promql import RATE_INTERVAL as W
from .promql import SIGNALS, sum_rate

__all__ = ["build"]

TITLES = {"spans": "Spans", "metric_points": "Metric points", "log_records": "Log records"}


def _or_zero(expr: str, baseline: str) -> str:
    """``expr``, or 0 for every series of ``baseline`` while ``expr`` has no series yet."""
    return f"{expr} or {baseline} * 0"


def file_spans_row(cfg: Config) -> p.Row:
    spans = prometheus_name(N.FILE_SPANS)
    by = (label(N.DECISION), label(N.DECISION_REASON))
    kept = f'{label(N.DECISION)}="kept"'
    return (
        "File spans",
        [
            p.timeseries(
                "File spans kept and dropped",
                "Files per second whose span subtree (file, parse, extract) was kept or dropped "
                "by the file-span policy, by reason. Errors and slow files are always kept; "
                "metrics count every file whatever is dropped here.",
                "ops",
                [(sum_rate(spans, JOB_INSTANCE, W, by), " ".join("{{" + b + "}}" for b in by))],
            ),
            p.stat(
                "Share of files with spans",
                "Kept file subtrees as a share of all files recorded lately. Set by "
                "CHUNKSCOPE_OTEL_FILE_SPANS and its slow threshold, reservoir and ratio.",
                "percentunit",
                f"{sum_rate(spans, [*JOB_INSTANCE, kept], W)} / {sum_rate(spans, JOB_INSTANCE, W)}",
            ),
        ],
    )


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
    # The collector's jobs, and the chunkscope jobs whose file-span decisions the first row shows.
    either = '__name__=~"otelcol_process_memory_rss|' + prometheus_name(N.FILE_SPANS) + '"'
    return dashboard(
        cfg,
        "pipeline",
        "chunkscope / Telemetry pipeline",
        "The OpenTelemetry Collector's own metrics: accepted, refused and dropped spans, "
        "metric points and log records; exporter send failures and queue fill.",
        [file_spans_row(cfg), receivers_row(cfg), exporters_row(cfg), health_row(cfg)],
        [
            datasource_var("prometheus", "datasource", "Data source"),
            query_var("job", "Job", f"label_values({{{either}}}, job)", ds),
            query_var(
                "instance", "Instance", f'label_values({{{either}, job=~"$job"}}, instance)', ds
            ),
        ],
    )
