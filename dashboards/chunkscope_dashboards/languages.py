"""Languages: which languages are slow, which produce errors, how big their chunks are.

One function per row; every panel is broken down by ``chunkscope_language``.
"""

from __future__ import annotations

from grafanalib import core as g

from . import panels as p
from .base import JOB_INSTANCE_LANGUAGE as LANG
from .base import chunker_var, dashboard, datasource_var, job_instance_vars, language_var
from .config import Config
from .promql import RATE_INTERVAL as W
from .promql import histogram_quantile, ratio_or_zero, sum_rate

__all__ = ["build"]

BY_LANG = ("chunkscope_language",)


def throughput_row(cfg: Config) -> p.Row:
    return (
        "Throughput per language",
        [
            p.timeseries(
                "Files/s per language",
                "Files finished per second, by language.",
                "ops",
                [(sum_rate("chunkscope_files_total", LANG, W, BY_LANG), "{{chunkscope_language}}")],
                stack=True,
                width=12,
            ),
            p.timeseries(
                "Bytes/s per language",
                "Source bytes chunked per second, by language.",
                "Bps",
                [(sum_rate("chunkscope_bytes_total", LANG, W, BY_LANG), "{{chunkscope_language}}")],
                stack=True,
                width=12,
            ),
        ],
    )


def latency_row(cfg: Config) -> p.Row:
    bucket = sum_rate("chunkscope_parse_duration_seconds_bucket", LANG, W, ("le",))
    return (
        "Latency per language",
        [
            p.timeseries(
                "Parse p95 per language",
                "95th percentile parse latency by language; the dashed line is the budget of "
                "ChunkscopeParseLatencyHigh. Exemplar dots open the slow file's trace.",
                "s",
                [
                    (
                        histogram_quantile(
                            0.95, "chunkscope_parse_duration_seconds", LANG, W, BY_LANG
                        ),
                        "{{chunkscope_language}}",
                    )
                ],
                exemplars=True,
                threshold=cfg.parse_p95_budget_seconds,
                width=12,
            ),
            p.heatmap(
                "Parse latency distribution",
                "How parse durations spread over the histogram buckets for the selected "
                "languages; exemplars mark individual traced parses.",
                "s",
                bucket,
                width=12,
            ),
            p.timeseries(
                "Extract p95 per language",
                "95th percentile extract latency (tree walk into chunks) by language.",
                "s",
                [
                    (
                        histogram_quantile(
                            0.95, "chunkscope_extract_duration_seconds", LANG, W, BY_LANG
                        ),
                        "{{chunkscope_language}}",
                    )
                ],
                exemplars=True,
                width=12,
            ),
            p.timeseries(
                "File p95 per language",
                "95th percentile time to read, parse and extract one file, by language.",
                "s",
                [
                    (
                        histogram_quantile(
                            0.95, "chunkscope_file_duration_seconds", LANG, W, BY_LANG
                        ),
                        "{{chunkscope_language}}",
                    )
                ],
                exemplars=True,
                width=12,
            ),
        ],
    )


def chunks_row(cfg: Config) -> p.Row:
    return (
        "Chunks",
        [
            p.heatmap(
                "Chunk size distribution",
                "Sizes of produced chunks (chunkscope.chunk.size). Mass at the max-bytes bucket "
                "means large units are being split.",
                "bytes",
                sum_rate("chunkscope_chunk_size_bytes_bucket", LANG, W, ("le",)),
                exemplars=False,
                width=12,
            ),
            p.timeseries(
                "Median chunk size per language",
                "p50 of chunk size by language.",
                "bytes",
                [
                    (
                        histogram_quantile(0.5, "chunkscope_chunk_size_bytes", LANG, W, BY_LANG),
                        "{{chunkscope_language}}",
                    )
                ],
                width=12,
            ),
        ],
    )


def quality_row(cfg: Config) -> p.Row:
    parses = sum_rate("chunkscope_parse_duration_seconds_count", LANG, W, BY_LANG)
    syntax = sum_rate(
        "chunkscope_parse_duration_seconds_count",
        (*LANG, 'chunkscope_outcome="syntax_error"'),
        W,
        BY_LANG,
    )
    files = sum_rate("chunkscope_files_total", LANG, W, BY_LANG)
    errors = sum_rate("chunkscope_files_total", (*LANG, 'chunkscope_outcome="error"'), W, BY_LANG)
    return (
        "Parse quality",
        [
            p.timeseries(
                "Syntax-error ratio per language",
                "Share of parses whose tree contains ERROR or MISSING nodes. Chunks are still "
                "produced, but boundaries may be off; a rise often means a grammar older than "
                "the code.",
                "percentunit",
                [(ratio_or_zero(syntax, parses), "{{chunkscope_language}}")],
                width=12,
            ),
            p.timeseries(
                "Error ratio per language",
                "Share of files ending in outcome=error, by language.",
                "percentunit",
                [(ratio_or_zero(errors, files), "{{chunkscope_language}}")],
                threshold=cfg.error_ratio_warning,
                width=12,
            ),
        ],
    )


def build(cfg: Config) -> g.Dashboard:
    ds = p.DS_PROMETHEUS
    return dashboard(
        cfg,
        "languages",
        "chunkscope / Languages",
        "Which languages hurt: per-language throughput, latency distribution, chunk sizes "
        "and syntax-error ratio.",
        [throughput_row(cfg), latency_row(cfg), chunks_row(cfg), quality_row(cfg)],
        [
            datasource_var("prometheus", "datasource", "Data source"),
            *job_instance_vars("chunkscope_files_total", cfg.chunkscope_selector, ds),
            chunker_var(ds),
            language_var(ds),
        ],
    )
