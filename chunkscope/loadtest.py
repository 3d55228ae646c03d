"""Drive real HTTP load at ``chunkscope serve`` with real source files, and measure it.

    $ chunkscope loadtest --url http://127.0.0.1:8080 --scenario basic --duration 20
    $ chunkscope loadtest --url http://127.0.0.1:8080 --scenario spike --json spike.json

    >>> import asyncio
    >>> from chunkscope.loadtest import SCENARIOS, load_corpus, run_scenario
    >>> report = asyncio.run(run_scenario("http://127.0.0.1:8080", SCENARIOS["basic"],
    ...                                   load_corpus(), duration=10, concurrency=4))
    >>> report["overall"]["latency_seconds"]["p95"]          # doctest: +SKIP

Closed-loop clients: each keeps one request in flight, so concurrency is the knob and
throughput is what the server sustains at that concurrency. A 429 is counted as *shed*,
not as an error, and the client honours its ``Retry-After`` as a well-behaved caller
would. Scenarios are data (``SCENARIOS``): phases with a share of the duration and a
multiple of the base ("sustainable") concurrency. The server's RSS (its process and its
workers) is sampled when the server runs on this machine; the endurance scenario judges
it flat or growing.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import statistics
import sysconfig
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chunkscope.languages import detect

DEFAULT_P95_BUDGET_SECONDS = 0.5
"""Used only when ``chunkscope_dashboards`` is not installed; the config is the source."""
RSS_GROWTH_LIMIT_PCT = 10.0
SAMPLE_INTERVAL_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Phase:
    """A stretch of a scenario: its share of the duration and its concurrency multiple."""

    name: str
    share: float
    concurrency_factor: float


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named load shape; ``duration`` is its default length in seconds."""

    name: str
    description: str
    phases: tuple[Phase, ...]
    duration: float
    judge_rss: bool = False


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "basic",
            "steady load at the sustainable concurrency",
            (Phase("steady", 1.0, 1.0),),
            30.0,
        ),
        Scenario(
            "stress",
            "twice the sustainable concurrency: expect shedding, not errors",
            (Phase("stress", 1.0, 2.0),),
            30.0,
        ),
        Scenario(
            "spike",
            "steady, a burst at five times the concurrency, steady again",
            (Phase("before", 0.4, 1.0), Phase("burst", 0.2, 5.0), Phase("after", 0.4, 1.0)),
            25.0,
        ),
        Scenario(
            "endurance",
            "long steady load; the server's memory must stay flat",
            (Phase("steady", 1.0, 1.0),),
            600.0,
            judge_rss=True,
        ),
    )
}
"""Every scenario by name; ``--concurrency`` is the base the factors multiply."""


def default_concurrency() -> int:
    """Twice the cores: enough to keep every worker busy while the next request travels."""
    return 2 * (os.cpu_count() or 1)


def p95_budget_seconds() -> float:
    """The service's p95 budget from the dashboards' thresholds config (one source)."""
    try:
        from chunkscope_dashboards.config import load_config
    except ImportError:
        return DEFAULT_P95_BUDGET_SECONDS
    return float(load_config().service_p95_budget_seconds)


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str
    language: str
    content: bytes


def load_corpus(
    root: str | Path | None = None, *, max_files: int = 2000, max_file_bytes: int = 256 * 1024
) -> list[SourceFile]:
    """Source files with a known language under ``root`` (default: the Python stdlib)."""
    base = Path(root) if root is not None else Path(sysconfig.get_paths()["stdlib"])
    files: list[SourceFile] = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d not in {"site-packages", "__pycache__"})
        for name in sorted(filenames):
            path = Path(dirpath, name)
            language = detect(name)
            if language is None:
                continue
            try:
                size = path.stat().st_size
                if not 0 < size <= max_file_bytes:
                    continue
                content = path.read_bytes()
            except OSError:
                continue
            files.append(SourceFile(path.relative_to(base).as_posix(), language, content))
            if len(files) >= max_files:
                return files
    if not files:
        raise ValueError(f"no source files with a known language under {base}")
    return files


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (0.0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(slots=True)
class _Tally:
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


def _server_pid(client_url: str, health: dict[str, Any]) -> int | None:
    host = urlsplit(client_url).hostname or ""
    if host not in {"127.0.0.1", "localhost", "::1"}:
        return None
    pid = health.get("pid")
    return pid if isinstance(pid, int) else None


def _tree_rss(pid: int) -> int | None:
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


def _request(file: SourceFile, mode: str) -> tuple[str, dict[str, str], bytes, dict[str, str]]:
    if mode == "json":
        body = json.dumps(
            {
                "path": file.path,
                "language": file.language,
                "content": file.content.decode("utf-8", "replace"),
            }
        ).encode()
        return "/v1/chunk", {}, body, {"content-type": "application/json"}
    params = {"path": file.path, "language": file.language}
    return "/v1/chunk", params, file.content, {"content-type": "application/octet-stream"}


async def run_scenario(
    url: str,
    scenario: Scenario,
    corpus: list[SourceFile],
    *,
    duration: float | None = None,
    concurrency: int | None = None,
    mode: str = "raw",
    timeout: float = 60.0,
    honour_retry_after: bool = True,
    rss_limit_pct: float = RSS_GROWTH_LIMIT_PCT,
    seed: int = 1,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run one scenario against ``url`` and return its report (JSON-ready)."""
    import httpx  # here, so `chunkscope --help` does not pay for the HTTP client

    total = float(duration if duration is not None else scenario.duration)
    base = concurrency or default_concurrency()
    levels = [max(1, round(base * p.concurrency_factor)) for p in scenario.phases]
    peak = max(levels)
    order = list(range(len(corpus)))
    random.Random(seed).shuffle(order)
    budget = p95_budget_seconds()
    tallies = [_Tally() for _ in scenario.phases]
    overall = _Tally()
    state = {"phase": 0, "next": 0, "stop": False}
    changed = asyncio.Event()
    rss: list[tuple[float, int]] = []
    limits = httpx.Limits(max_connections=peak, max_keepalive_connections=peak)
    async with httpx.AsyncClient(
        base_url=url, limits=limits, timeout=timeout, headers={"user-agent": "chunkscope-loadtest"}
    ) as client:
        health = (await client.get("/healthz")).json()
        ready = await client.get("/readyz")
        if ready.status_code != 200:
            raise RuntimeError(f"{url} is not ready: {ready.status_code} {ready.text}")
        pid = _server_pid(url, health)
        started = time.perf_counter()

        async def worker(index: int) -> None:
            while not state["stop"]:
                phase = state["phase"]
                if index >= levels[phase]:
                    await changed.wait()
                    continue
                file = corpus[order[state["next"] % len(order)]]
                state["next"] += 1
                path, params, body, headers = _request(file, mode)
                t0 = time.perf_counter()
                retry_after = 0.0
                try:
                    response = await client.post(path, params=params, content=body, headers=headers)
                    await response.aread()
                    status = response.status_code
                    if status == 200:
                        outcome = "ok"
                    elif status == 429:
                        outcome = "shed"
                        retry_after = float(response.headers.get("retry-after", "1") or 1)
                    else:
                        outcome = f"http_{status}"
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                latency = time.perf_counter() - t0
                tallies[phase].add(outcome, latency, len(file.content))
                overall.add(outcome, latency, len(file.content))
                if retry_after and honour_retry_after and not state["stop"]:
                    await _sleep_until_stop(retry_after, state)

        async def sampler() -> None:
            while not state["stop"] and pid is not None:
                value = await asyncio.to_thread(_tree_rss, pid)
                if value is not None:
                    rss.append((round(time.perf_counter() - started, 2), value))
                await _sleep_until_stop(SAMPLE_INTERVAL_SECONDS, state)

        tasks = [asyncio.create_task(worker(i)) for i in range(peak)]
        sampling = asyncio.create_task(sampler())
        phase_started = started
        for i, phase in enumerate(scenario.phases):
            previous, changed = changed, asyncio.Event()
            state["phase"] = i
            previous.set()
            if progress:
                progress(f"{scenario.name}: {phase.name} at concurrency {levels[i]}")
            await asyncio.sleep(total * phase.share)
            now = time.perf_counter()
            tallies[i].seconds = now - phase_started
            phase_started = now
        state["stop"] = True
        changed.set()
        await asyncio.gather(*tasks)
        await sampling
        overall.seconds = time.perf_counter() - started
    report: dict[str, Any] = {
        "scenario": scenario.name,
        "description": scenario.description,
        "url": url,
        "mode": mode,
        "base_concurrency": base,
        "corpus_files": len(corpus),
        "overall": overall.summary(budget),
        "phases": {
            p.name: {"concurrency": levels[i], **tallies[i].summary(budget)}
            for i, p in enumerate(scenario.phases)
        },
        "server_pid": pid,
        "rss": rss_verdict(rss, rss_limit_pct),
    }
    report["rss"]["judged"] = scenario.judge_rss
    return report


async def _sleep_until_stop(seconds: float, state: dict[str, Any]) -> None:
    """Sleep, but wake early when the run stops, so a run never outlives its duration."""
    deadline = time.perf_counter() + seconds
    while not state["stop"]:
        left = deadline - time.perf_counter()
        if left <= 0:
            return
        await asyncio.sleep(min(left, 0.1))


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
