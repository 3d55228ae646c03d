"""Resources: CPU, memory, threads, file descriptors and GC of chunkscope processes.

The numbers come from opentelemetry-instrumentation-system-metrics (process.* and cpython.gc.*
instruments), so they arrive through the same OTLP pipeline as the chunker's own metrics.
"""

from __future__ import annotations

from grafanalib import core as g

from . import panels as p
from .base import JOB_INSTANCE, dashboard, datasource_var, job_instance_vars
from .base import JOB_INSTANCE_SELECTOR as M
from .config import Config
from .promql import RATE_INTERVAL as W
from .promql import sum_rate

__all__ = ["build"]


def cpu_memory_row(cfg: Config) -> p.Row:
    return (
        "CPU and memory",
        [
            p.timeseries(
                "CPU",
                "CPU seconds per second by mode (process.cpu.time); 1.0 is one full core.",
                "percentunit",
                [
                    (
                        sum_rate(
                            "process_cpu_time_seconds_total", JOB_INSTANCE, W, ("instance", "type")
                        ),
                        "{{instance}} {{type}}",
                    )
                ],
                stack=True,
                width=12,
            ),
            p.timeseries(
                "Resident memory",
                "Physical memory in use (process.memory.usage, RSS). The dashed line is the "
                "ChunkscopeMemoryHigh budget.",
                "bytes",
                [
                    (f"sum by (instance) (process_memory_usage_bytes{M})", "{{instance}} rss"),
                    (
                        f"sum by (instance) (process_memory_virtual_bytes{M})",
                        "{{instance}} virtual",
                    ),
                ],
                threshold=float(cfg.memory_budget_bytes),
                width=12,
            ),
        ],
    )


def runtime_row(cfg: Config) -> p.Row:
    return (
        "Runtime",
        [
            p.timeseries(
                "Threads",
                "Threads per process (process.thread.count): worker pool plus exporter threads.",
                "short",
                [(f"sum by (instance) (process_thread_count{M})", "{{instance}}")],
            ),
            p.timeseries(
                "Open file descriptors",
                "Open descriptors per process; a steady climb is a leak.",
                "short",
                [(f"sum by (instance) (process_open_file_descriptor_count{M})", "{{instance}}")],
            ),
            p.timeseries(
                "GC collections/s",
                "CPython garbage collections per second by generation (cpython.gc.collections). "
                "Frequent gen-2 collections cost throughput.",
                "ops",
                [
                    (
                        sum_rate(
                            "cpython_gc_collections_total",
                            JOB_INSTANCE,
                            W,
                            ("instance", "cpython_gc_generation"),
                        ),
                        "{{instance}} gen {{cpython_gc_generation}}",
                    )
                ],
            ),
        ],
    )


def build(cfg: Config) -> g.Dashboard:
    ds = p.DS_PROMETHEUS
    return dashboard(
        cfg,
        "resources",
        "chunkscope / Resources",
        "Process CPU, resident memory, threads, file descriptors and garbage collection.",
        [cpu_memory_row(cfg), runtime_row(cfg)],
        [
            datasource_var("prometheus", "datasource", "Data source"),
            *job_instance_vars("process_memory_usage_bytes", cfg.chunkscope_selector, ds),
        ],
    )
