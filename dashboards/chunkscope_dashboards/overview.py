"""Overview: is chunking healthy, how fast is it going, and where does the time go.

One function per row. Latency panels carry exemplars, so a spike opens the slow file's trace.
"""

from __future__ import annotations

from grafanalib import core as g

from chunkscope import names as N
from chunkscope.names import prometheus_name

from . import panels as p
from .base import (
    CHUNKER,
    CHUNKER_LABEL,
    JOB_INSTANCE,
    chunker_var,
    dashboard,
    datasource_var,
    job_instance_vars,
    language_var,
)
from .base import JOB_INSTANCE_LANGUAGE as LANG
from .config import Config
from .promql import RATE_INTERVAL as W
from .promql import histogram_quantile, ratio_or_zero, sum_rate

__all__ = ["build"]


def _quantiles(
    family: str, match: tuple[str, ...], by: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    """p50/p95/p99; with ``by``, one line per label value (the chunkers side by side)."""
    prefix = "".join(f"{{{{{label}}}}} " for label in by)
    return [
        (histogram_quantile(q, family, match, W, by), f"{prefix}p{round(q * 100)}")
        for q in (0.5, 0.95, 0.99)
    ]


def summary_row(cfg: Config) -> p.Row:
    files = sum_rate("chunkscope_files_total", LANG, W)
    errors = sum_rate("chunkscope_files_total", (*LANG, 'chunkscope_outcome="error"'), W)
    return (
        "Summary",
        [
            p.stat("Files/s", "Files finished per second, any outcome.", "ops", files),
            p.stat(
                "Throughput",
                "Source bytes chunked per second.",
                "Bps",
                sum_rate("chunkscope_bytes_total", LANG, W),
            ),
            p.stat(
                "Chunks/s",
                "Chunks produced per second.",
                "ops",
                sum_rate("chunkscope_chunks_total", LANG, W),
            ),
            p.stat(
                "Active files",
                "Files being chunked right now (chunkscope.files.active).",
                "short",
                "sum (chunkscope_files_active{" + ", ".join((*JOB_INSTANCE, CHUNKER)) + "})",
            ),
            p.stat(
                "Error ratio",
                "Share of files that ended in outcome=error. Red at the alert threshold.",
                "percentunit",
                ratio_or_zero(errors, files),
                thresholds=((None, "green"), (cfg.error_ratio_warning, "red")),
            ),
            p.stat(
                "Parse p95",
                "95th percentile parse latency over all languages. Red over the budget.",
                "s",
                histogram_quantile(0.95, "chunkscope_parse_duration_seconds", LANG, W),
                thresholds=((None, "green"), (cfg.parse_p95_budget_seconds, "red")),
            ),
        ],
    )


def throughput_row(cfg: Config) -> p.Row:
    return (
        "Throughput",
        [
            p.timeseries(
                "Files/s by outcome",
                "Files finished per second: chunked, skipped or error.",
                "ops",
                [
                    (
                        sum_rate("chunkscope_files_total", LANG, W, ("chunkscope_outcome",)),
                        "{{chunkscope_outcome}}",
                    )
                ],
                stack=True,
            ),
            p.timeseries(
                "Bytes/s",
                "Source bytes chunked per second, by language.",
                "Bps",
                [
                    (
                        sum_rate("chunkscope_bytes_total", LANG, W, ("chunkscope_language",)),
                        "{{chunkscope_language}}",
                    )
                ],
                stack=True,
            ),
            p.timeseries(
                "Chunks/s by kind",
                "Chunks produced per second by kind (function, class, ...).",
                "ops",
                [
                    (
                        sum_rate("chunkscope_chunks_total", LANG, W, ("chunkscope_chunk_kind",)),
                        "{{chunkscope_chunk_kind}}",
                    )
                ],
                stack=True,
            ),
        ],
    )


def errors_row(cfg: Config) -> p.Row:
    files = sum_rate("chunkscope_files_total", LANG, W)
    errors = sum_rate("chunkscope_files_total", (*LANG, 'chunkscope_outcome="error"'), W)
    skips = sum_rate(
        "chunkscope_files_total",
        (*LANG, 'chunkscope_outcome="skipped"'),
        W,
        ("chunkscope_skip_reason",),
    )
    return (
        "Errors and skips",
        [
            p.timeseries(
                "Error ratio",
                "Share of files ending in outcome=error; the dashed line is the "
                "ChunkscopeHighErrorRatio warning threshold.",
                "percentunit",
                [(ratio_or_zero(errors, files), "error ratio")],
                threshold=cfg.error_ratio_warning,
                width=12,
            ),
            p.timeseries(
                "Skip ratio by reason",
                "Share of files skipped, by reason (binary, too_large, unknown_language, ...). "
                "A jump usually means a new vendored folder or generated files.",
                "percentunit",
                [
                    (
                        f"{skips} / ignoring (chunkscope_skip_reason) group_left {files}",
                        "{{chunkscope_skip_reason}}",
                    )
                ],
                stack=True,
                width=12,
            ),
        ],
    )


def latency_row(cfg: Config) -> p.Row:
    return (
        "Latency",
        [
            p.timeseries(
                "Parse latency",
                "p50/p95/p99 of chunkscope.parse.duration per chunker. The dashed line is the "
                "p95 budget; exemplar dots open the trace of a slow parse.",
                "s",
                _quantiles("chunkscope_parse_duration_seconds", LANG, (CHUNKER_LABEL,)),
                exemplars=True,
                threshold=cfg.parse_p95_budget_seconds,
            ),
            p.timeseries(
                "Extract latency",
                "p50/p95/p99 of chunkscope.extract.duration (walking the tree into chunks) per "
                "chunker; exemplar dots open the trace.",
                "s",
                _quantiles("chunkscope_extract_duration_seconds", LANG, (CHUNKER_LABEL,)),
                exemplars=True,
            ),
            p.timeseries(
                "File latency",
                "p50/p95/p99 of chunkscope.file.duration (read, parse and extract of one file) "
                "per chunker.",
                "s",
                _quantiles("chunkscope_file_duration_seconds", LANG, (CHUNKER_LABEL,)),
                exemplars=True,
            ),
        ],
    )


def cache_row(cfg: Config) -> p.Row:
    """The chunk cache (``--cache``): how much of each run was served without parsing."""
    lookups = prometheus_name(N.CACHE_LOOKUPS)
    result = N.CACHE_RESULT.replace(".", "_")
    chosen = (*JOB_INSTANCE, CHUNKER)
    hits = sum_rate(lookups, (*chosen, f'{result}="hit"'), W)
    return (
        "Cache",
        [
            p.timeseries(
                "Cache hit ratio",
                "Share of chunk cache lookups served from the cache (chunkscope.cache.lookups "
                "with result=hit over all lookups). Falls when files change, an option that "
                "shapes chunks or a grammar version changes, or the cache was cleared. Empty "
                "while no run uses --cache; not split by language.",
                "percentunit",
                [(ratio_or_zero(hits, sum_rate(lookups, chosen, W)), "hit ratio")],
                width=12,
            ),
            p.timeseries(
                "Cache lookups/s by result",
                "Chunk cache lookups per second: hit (chunks read back), miss (parsed and "
                "stored), error (the cache failed for the file; it was chunked without it).",
                "ops",
                [(sum_rate(lookups, chosen, W, (result,)), "{{" + result + "}}")],
                stack=True,
                width=12,
            ),
        ],
    )


def service_row(cfg: Config) -> p.Row:
    """RED and saturation of ``chunkscope serve``; empty until the service runs."""
    req = (*JOB_INSTANCE, cfg.service_request_selector)
    requests = sum_rate("http_server_request_duration_seconds_count", req, W)
    failed = sum_rate(
        "http_server_request_duration_seconds_count",
        (*req, 'http_response_status_code=~"5.."'),
        W,
    )
    shed = sum_rate("chunkscope_serve_shed_total", JOB_INSTANCE, W)
    return (
        "Service",
        [
            p.timeseries(
                "Requests/s by status",
                "Rate of chunk requests by HTTP status code (429 = shed, 504 = timeout).",
                "reqps",
                [
                    (
                        sum_rate(
                            "http_server_request_duration_seconds_count",
                            req,
                            W,
                            ("http_response_status_code",),
                        ),
                        "{{http_response_status_code}}",
                    )
                ],
                stack=True,
                width=6,
            ),
            p.timeseries(
                "Error ratio (5xx)",
                "Share of chunk requests answered with a 5xx status.",
                "percentunit",
                [(ratio_or_zero(failed, requests), "5xx ratio")],
                width=6,
            ),
            p.timeseries(
                "Request latency",
                "p50/p95/p99 of http.server.request.duration for chunk requests. The dashed "
                "line is the latency SLO threshold; exemplar dots open the request's trace.",
                "s",
                _quantiles("http_server_request_duration_seconds", req),
                exemplars=True,
                threshold=cfg.latency_slo_seconds,
                width=6,
            ),
            p.timeseries(
                "Queue depth",
                "Requests waiting for a chunking worker (chunkscope.serve.queue.depth). "
                "Sustained growth means the pool is saturated.",
                "short",
                [
                    (
                        "sum by (instance) (chunkscope_serve_queue_depth{"
                        + ", ".join(JOB_INSTANCE)
                        + "})",
                        "{{instance}}",
                    )
                ],
                width=3,
            ),
            p.timeseries(
                "Shed rate",
                "Requests rejected with 429 because the work queue was full, per second.",
                "reqps",
                [(shed, "shed/s")],
                width=3,
            ),
        ],
    )


def fleet_row(cfg: Config) -> p.Row:
    """The ``chunkscope serve`` replicas side by side: one series per pod (``instance`` is
    ``service.instance.id``, the pod name in deploy/k8s)."""
    per_pod = ("instance",)
    return (
        "Fleet",
        [
            p.timeseries(
                "Throughput per pod",
                "Source bytes chunked per second by each replica. Uneven lines behind one "
                "Service URL mean long-lived connections pinned to a few pods.",
                "Bps",
                [
                    (
                        sum_rate("chunkscope_bytes_total", (*JOB_INSTANCE, CHUNKER), W, per_pod),
                        "{{instance}}",
                    )
                ],
                width=8,
            ),
            p.timeseries(
                "Saturation per pod",
                "Chunk requests in flight (running or queued) on each replica. At workers + "
                "max queue a pod sheds with 429; sustained near it, the HPA should add pods.",
                "short",
                [
                    (
                        "sum by (instance) (http_server_active_requests{"
                        + ", ".join(JOB_INSTANCE)
                        + "})",
                        "{{instance}}",
                    )
                ],
                width=8,
            ),
            p.timeseries(
                "Shed rate per pod",
                "Requests each replica refused with 429. Clients retry after Retry-After, "
                "so shedding costs latency, not files; steady shedding means too few pods.",
                "reqps",
                [
                    (
                        sum_rate("chunkscope_serve_shed_total", JOB_INSTANCE, W, per_pod),
                        "{{instance}}",
                    )
                ],
                width=8,
            ),
        ],
    )


def build(cfg: Config) -> g.Dashboard:
    ds = p.DS_PROMETHEUS
    return dashboard(
        cfg,
        "overview",
        "chunkscope / Overview",
        "Is chunking healthy: throughput, errors and skips, parse and extract latency, "
        "the chunk cache's hit ratio, the service's RED metrics and its replicas side by side.",
        [
            summary_row(cfg),
            throughput_row(cfg),
            errors_row(cfg),
            latency_row(cfg),
            cache_row(cfg),
            service_row(cfg),
            fleet_row(cfg),
        ],
        [
            datasource_var("prometheus", "datasource", "Data source"),
            *job_instance_vars("chunkscope_files_total", cfg.chunkscope_selector, ds),
            chunker_var(ds),
            language_var(ds),
        ],
    )
