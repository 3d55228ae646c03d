"""Benchmark figures as a baseline file, and the comparison that catches regressions.

A baseline is a flat map of named figures, each with the direction that is better::

    {"chunkscope_baseline": 1, "metrics": {
        "chunker.mb_per_second": {"value": 3.9, "better": "higher"},
        "load.basic.p95_seconds": {"value": 0.061, "better": "lower"}, ...}}

``compare`` flags a *throughput* figure that dropped by more than
``bench_throughput_drop_pct`` and a *latency* figure that rose by more than
``bench_p95_rise_pct``; both tolerances come from the thresholds config
(``chunkscope.config``), the same numbers the alerts read, so a budget is set once.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from chunkscope.config import Config
from chunkscope.loadtest import percentile

FORMAT_VERSION = 1
Better = Literal["higher", "lower"]


@dataclass(frozen=True, slots=True)
class Tolerances:
    """How much worse than the baseline a figure may get before it is a regression."""

    throughput_drop_pct: float
    p95_rise_pct: float
    source: str

    @classmethod
    def from_config(cls, config: Config, source: str) -> Tolerances:
        """The bench tolerances of a thresholds config; ``source`` says which file set them."""
        return cls(config.bench_throughput_drop_pct, config.bench_p95_rise_pct, source)


def chunker_pass(paths: Sequence[str | os.PathLike[str]]) -> tuple[float, int, list[float]]:
    """One ``chunk_paths`` run: wall seconds, bytes chunked, and each file's seconds.

    A file's seconds are the time between two results of the stream (walk, read, parse,
    extract), so nothing inside the library is asked to time itself.
    """
    from chunkscope import pipeline

    size = 0
    per_file: list[float] = []
    started = previous = time.perf_counter()
    for result in pipeline.chunk_paths(paths):
        now = time.perf_counter()
        per_file.append(now - previous)
        previous = now
        if result.outcome == "chunked":
            size += result.size
    return time.perf_counter() - started, size, per_file


def bench_chunker(paths: Sequence[str | os.PathLike[str]], repeat: int = 3) -> dict[str, Any]:
    """``chunker_pass`` over ``paths`` ``repeat`` times; the median run counts.

    The same pass and the same statistic as ``benchmarks/bench_chunker.py``'s library
    figure, so a baseline and the documented measurement agree on what MB/s means.
    """
    runs = sorted((chunker_pass(paths) for _ in range(max(1, repeat))), key=lambda r: r[0])
    seconds, size, per_file = runs[(len(runs) - 1) // 2]
    latencies = sorted(per_file)
    return {
        "files": len(per_file),
        "bytes": size,
        "repeat": len(runs),
        "seconds": round(seconds, 4),
        "seconds_all": [round(r[0], 4) for r in runs],
        "mb_per_second": round(size / seconds / 1e6, 3),
        "files_per_second": round(len(per_file) / seconds, 1),
        "file_p50_seconds": round(statistics.median(latencies), 6),
        "file_p95_seconds": round(percentile(latencies, 95), 6),
    }


def _figure(value: float, better: Better) -> dict[str, Any]:
    return {"value": value, "better": better}


def figures(
    chunker: dict[str, Any] | None, loads: dict[str, dict[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """The comparable figures of a chunker bench and load reports, by dotted name."""
    out: dict[str, dict[str, Any]] = {}
    if chunker:
        out["chunker.mb_per_second"] = _figure(chunker["mb_per_second"], "higher")
        out["chunker.files_per_second"] = _figure(chunker["files_per_second"], "higher")
        out["chunker.file_p95_seconds"] = _figure(chunker["file_p95_seconds"], "lower")
    for name, report in (loads or {}).items():
        o = report["overall"]
        out[f"load.{name}.requests_per_second"] = _figure(o["requests_per_second"], "higher")
        out[f"load.{name}.mb_per_second"] = _figure(o["mb_per_second"], "higher")
        out[f"load.{name}.p95_seconds"] = _figure(o["latency_seconds"]["p95"], "lower")
    return out


def document(
    chunker: dict[str, Any] | None, loads: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A baseline/results document: figures plus the raw reports and the machine."""
    return {
        "chunkscope_baseline": FORMAT_VERSION,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "metrics": figures(chunker, loads),
        "details": {"chunker": chunker, "load": loads or {}},
    }


def load(path: str | Path) -> dict[str, Any]:
    """Read a baseline file, refusing anything that is not one."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("chunkscope_baseline") != FORMAT_VERSION:
        raise ValueError(f"{path}: not a chunkscope baseline (format {FORMAT_VERSION})")
    if not isinstance(data.get("metrics"), dict):
        raise ValueError(f"{path}: no metrics")
    return data


@dataclass(frozen=True, slots=True)
class Row:
    """One figure compared: its change in percent (positive = worse) and the verdict."""

    name: str
    baseline: float
    current: float
    worse_pct: float
    limit_pct: float
    regressed: bool


def compare(baseline: dict[str, Any], current: dict[str, Any], tolerances: Tolerances) -> list[Row]:
    """Every figure present in both, with ``regressed`` set past the tolerance."""
    rows: list[Row] = []
    for name, base in sorted(baseline["metrics"].items()):
        cur = current["metrics"].get(name)
        if cur is None:
            continue
        b, c = float(base["value"]), float(cur["value"])
        if base["better"] == "higher":
            worse = (b - c) / b * 100.0 if b else 0.0
            limit = tolerances.throughput_drop_pct
        else:
            worse = (c - b) / b * 100.0 if b else 0.0
            limit = tolerances.p95_rise_pct
        rows.append(Row(name, b, c, round(worse, 2), limit, worse > limit))
    return rows


def format_rows(rows: list[Row]) -> str:
    lines = [f"{'figure':42}{'baseline':>12}{'current':>12}{'worse %':>9}{'limit %':>9}"]
    for r in rows:
        mark = "  REGRESSION" if r.regressed else ""
        lines.append(
            f"{r.name:42}{r.baseline:>12.4g}{r.current:>12.4g}{r.worse_pct:>+9.1f}"
            f"{r.limit_pct:>9.1f}{mark}"
        )
    return "\n".join(lines)
