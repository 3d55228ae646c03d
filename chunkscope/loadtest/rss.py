"""The server's memory during a run: sampled from this machine, judged flat or growing."""

from __future__ import annotations

import statistics
from typing import Any
from urllib.parse import urlsplit

SAMPLE_INTERVAL_SECONDS = 1.0


def server_pid(client_url: str, health: dict[str, Any]) -> int | None:
    host = urlsplit(client_url).hostname or ""
    if host not in {"127.0.0.1", "localhost", "::1"}:
        return None
    pid = health.get("pid")
    return pid if isinstance(pid, int) else None


def tree_rss(pid: int) -> int | None:
    """RSS of the server and its worker processes, in bytes."""
    try:
        import psutil
    except ImportError:
        return None
    try:
        proc = psutil.Process(pid)
        total = proc.memory_info().rss
        for child in proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                continue
        return total
    except psutil.Error:
        return None


def rss_verdict(samples: list[tuple[float, int]], limit_pct: float) -> dict[str, Any]:
    """Flat when, after a warm-up fifth, the last quarter's median RSS is within
    ``limit_pct`` of the first quarter's. Workers grow while their caches fill (parsers,
    grammars, allocator arenas); that is warm-up, not a leak."""
    warm = len(samples) // 5
    values = [rss for _, rss in samples[warm:]]
    if len(values) < 4:
        return {"samples": len(samples), "flat": None}
    quarter = max(1, len(values) // 4)
    first = statistics.median(values[:quarter])
    last = statistics.median(values[-quarter:])
    growth = (last - first) / first * 100.0 if first else 0.0
    return {
        "samples": len(samples),
        "warmup_samples": warm,
        "first_quarter_median_bytes": int(first),
        "last_quarter_median_bytes": int(last),
        "max_bytes": max(rss for _, rss in samples),
        "growth_pct": round(growth, 2),
        "limit_pct": limit_pct,
        "flat": growth <= limit_pct,
        "series_mib": [
            [t, round(rss / 2**20, 1)] for t, rss in samples[:: max(1, len(samples) // 120)]
        ],
    }
