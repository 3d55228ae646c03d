"""PromQL building blocks shared by dashboards and rules, so a query is spelled once.

Dashboards pass ``window=RATE_INTERVAL`` and template-variable matchers; rules pass a fixed
window and the config's job selector. The metric names come from ``chunkscope.names``
as Prometheus sees them (dots -> underscores, unit suffix, counters ``_total``).

>>> rate("chunkscope_files_total", ['job=~"$job"'], RATE_INTERVAL)
'rate(chunkscope_files_total{job=~"$job"}[$__rate_interval])'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from chunkscope import names as N
from chunkscope.names import prometheus_name

__all__ = [
    "BUCKET",
    "METRICS",
    "RATE_INTERVAL",
    "histogram_quantile",
    "matchers",
    "rate",
    "ratio_or_zero",
    "sum_by",
    "sum_rate",
]

RATE_INTERVAL = "$__rate_interval"
BUCKET = "_bucket"

# Metric families the dashboards and rules reference, by who emits them. Tests check every
# name used in a query belongs to one of these and that the chunkscope/process ones are emitted.
METRICS: dict[str, tuple[str, ...]] = {
    "chunkscope": tuple(
        prometheus_name(name) for name in N.METRICS if not name.startswith("chunkscope.serve.")
    ),
    "process": (
        "process_cpu_time_seconds_total",
        "process_memory_usage_bytes",
        "process_memory_virtual_bytes",
        "process_thread_count",
        "process_open_file_descriptor_count",
        "cpython_gc_collections_total",
    ),
    "service": (
        "http_server_request_duration_seconds",
        "http_server_active_requests",
        prometheus_name(N.SERVE_QUEUE_DEPTH),
        prometheus_name(N.SERVE_SHED),
    ),
    # As the pinned collector (0.161, pull reader of service.telemetry) names them: no `_total`
    # and no unit suffix. Older collectors add `_total` (config.collector_counter_suffix).
    "collector": (
        "otelcol_receiver_accepted_spans",
        "otelcol_receiver_refused_spans",
        "otelcol_receiver_accepted_metric_points",
        "otelcol_receiver_refused_metric_points",
        "otelcol_receiver_accepted_log_records",
        "otelcol_receiver_refused_log_records",
        "otelcol_processor_incoming_items",
        "otelcol_processor_outgoing_items",
        "otelcol_exporter_sent_spans",
        "otelcol_exporter_sent_metric_points",
        "otelcol_exporter_sent_log_records",
        "otelcol_exporter_send_failed_spans",
        "otelcol_exporter_send_failed_metric_points",
        "otelcol_exporter_send_failed_log_records",
        "otelcol_exporter_enqueue_failed_spans",
        "otelcol_exporter_enqueue_failed_metric_points",
        "otelcol_exporter_enqueue_failed_log_records",
        "otelcol_exporter_queue_size",
        "otelcol_exporter_queue_capacity",
        "otelcol_process_memory_rss",
    ),
    "prometheus": ("up",),
}

SIGNALS = ("spans", "metric_points", "log_records")
"""The collector's per-signal metric suffixes."""


def matchers(*parts: str | Iterable[str]) -> str:
    """Join label matchers into ``{a, b}``; empty parts are dropped, ``{}`` becomes ``""``."""
    flat: list[str] = []
    for part in parts:
        if isinstance(part, str):
            flat.append(part)
        else:
            flat.extend(part)
    inner = ", ".join(p for p in flat if p)
    return "{" + inner + "}" if inner else ""


def rate(metric: str, match: Sequence[str], window: str, fn: str = "rate") -> str:
    return f"{fn}({metric}{matchers(*match)}[{window}])"


def sum_by(labels: Sequence[str], expr: str, agg: str = "sum") -> str:
    by = f" by ({', '.join(labels)})" if labels else ""
    return f"{agg}{by} ({expr})"


def sum_rate(metric: str, match: Sequence[str], window: str, by: Sequence[str] = ()) -> str:
    return sum_by(by, rate(metric, match, window))


def histogram_quantile(
    q: float, family: str, match: Sequence[str], window: str, by: Sequence[str] = ()
) -> str:
    """``histogram_quantile`` over a classic histogram's buckets, keeping ``by`` labels."""
    inner = sum_rate(family + BUCKET, match, window, (*by, "le"))
    return f"histogram_quantile({q:g}, {inner})"


def ratio_or_zero(numerator: str, denominator: str) -> str:
    """``numerator / denominator`` that is 0, not empty, while the numerator has no series.

    Error and shed counters only appear after the first error; without the ``or`` the ratio
    would show "No data" instead of the healthy 0 %.
    """
    return f"({numerator} or {denominator} * 0) / {denominator}"


def sum_rates_of(
    metrics: Sequence[str], match: Sequence[str], window: str, by: Sequence[str]
) -> str:
    """The summed rate of several counters that share their other labels.

    ``rate()`` drops the metric name, so ``rate({__name__=~"a|b"})`` makes series of ``a`` and
    ``b`` collide and Prometheus refuses the vector; tagging each with its name keeps them apart.
    """
    tagged = " or ".join(
        f'label_replace({rate(m, match, window)}, "counter", "{m}", "", "")' for m in metrics
    )
    return sum_by(by, tagged)
