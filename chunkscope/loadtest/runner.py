"""Closed-loop HTTP clients driving one scenario at a service, phase by phase."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from typing import Any

from chunkscope.config import DEFAULT
from chunkscope.loadtest.corpus import SourceFile
from chunkscope.loadtest.report import Tally
from chunkscope.loadtest.rss import SAMPLE_INTERVAL_SECONDS, rss_verdict, server_pid, tree_rss
from chunkscope.loadtest.scenarios import Scenario, default_concurrency


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
    p95_budget: float = DEFAULT.service_p95_budget_seconds,
    rss_limit_pct: float = DEFAULT.rss_growth_limit_pct,
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
    tallies = [Tally() for _ in scenario.phases]
    overall = Tally()
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
        pid = server_pid(url, health)
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
                value = await asyncio.to_thread(tree_rss, pid)
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
        "overall": overall.summary(p95_budget),
        "phases": {
            p.name: {"concurrency": levels[i], **tallies[i].summary(p95_budget)}
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
