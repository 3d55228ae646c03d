"""What a load run found: per-phase tallies, percentiles, the verdict and a terminal table."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (0.0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(slots=True)
class Tally:
    """Counts and latencies of one phase (or the whole run)."""

    seconds: float = 0.0
    ok: int = 0
    shed: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    ok_bytes: int = 0
    latencies: list[float] = field(default_factory=list)

    def add(self, outcome: str, latency: float, size: int) -> None:
        if outcome == "ok":
            self.ok += 1
            self.ok_bytes += size
            self.latencies.append(latency)
        elif outcome == "shed":
            self.shed += 1
        else:
            self.errors[outcome] = self.errors.get(outcome, 0) + 1

    def summary(self, budget: float) -> dict[str, Any]:
        lat = sorted(self.latencies)
        seconds = max(self.seconds, 1e-9)
        errors = sum(self.errors.values())
        p95 = percentile(lat, 95)
        return {
            "seconds": round(self.seconds, 3),
            "requests": self.ok + self.shed + errors,
            "ok": self.ok,
            "shed": self.shed,
            "errors": errors,
            "errors_by_kind": dict(sorted(self.errors.items())),
            "requests_per_second": round(self.ok / seconds, 2),
            "mb_per_second": round(self.ok_bytes / seconds / 1e6, 3),
            "latency_seconds": {
                "p50": round(percentile(lat, 50), 5),
                "p95": round(p95, 5),
                "p99": round(percentile(lat, 99), 5),
                "max": round(lat[-1], 5) if lat else 0.0,
                "mean": round(statistics.fmean(lat), 5) if lat else 0.0,
            },
            "p95_budget_seconds": budget,
            "p95_within_budget": bool(lat) and p95 <= budget,
        }


def passed(report: dict[str, Any]) -> bool:
    """No transport or server errors, and, where judged, a flat RSS."""
    if report["overall"]["errors"]:
        return False
    return not (report["rss"].get("judged") and report["rss"].get("flat") is False)


def format_report(report: dict[str, Any]) -> str:
    """A few aligned lines for a terminal."""
    lines = [f"scenario {report['scenario']}: {report['description']}"]
    rows = [("overall", report["overall"])] + [
        (f"  {name} (c={p['concurrency']})", p) for name, p in report["phases"].items()
    ]
    lines.append(
        f"{'':22}{'req/s':>9}{'MB/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'ok':>8}{'shed':>7}{'err':>6}"
    )
    for name, s in rows:
        lat = s["latency_seconds"]
        lines.append(
            f"{name:22}{s['requests_per_second']:>9.1f}{s['mb_per_second']:>8.2f}"
            f"{lat['p50'] * 1e3:>9.1f}{lat['p95'] * 1e3:>9.1f}{lat['p99'] * 1e3:>9.1f}"
            f"{s['ok']:>8}{s['shed']:>7}{s['errors']:>6}"
        )
    o = report["overall"]
    verdict = "within" if o["p95_within_budget"] else "OVER"
    lines.append(
        f"p95 {o['latency_seconds']['p95'] * 1e3:.1f} ms: {verdict} the "
        f"{o['p95_budget_seconds'] * 1e3:.0f} ms budget"
    )
    rss = report["rss"]
    if rss.get("flat") is not None:
        lines.append(
            f"server RSS {rss['first_quarter_median_bytes'] / 2**20:.0f} -> "
            f"{rss['last_quarter_median_bytes'] / 2**20:.0f} MiB ({rss['growth_pct']:+.1f} %, "
            f"max {rss['max_bytes'] / 2**20:.0f} MiB)"
            + (f": {'flat' if rss['flat'] else 'GROWING'}" if rss.get("judged") else "")
        )
    return "\n".join(lines)
