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

One job per module: ``corpus`` (the files sent), ``scenarios`` (load shapes as data),
``runner`` (the closed-loop clients), ``rss`` (the server's memory), ``report`` (tallies,
percentiles, the verdict and the terminal table). The budgets come from
``chunkscope.config``.
"""

from __future__ import annotations

from chunkscope.loadtest.corpus import SourceFile, load_corpus
from chunkscope.loadtest.report import format_report, passed, percentile
from chunkscope.loadtest.rss import rss_verdict
from chunkscope.loadtest.runner import run_scenario
from chunkscope.loadtest.scenarios import SCENARIOS, Phase, Scenario, default_concurrency

__all__ = [
    "SCENARIOS",
    "Phase",
    "Scenario",
    "SourceFile",
    "default_concurrency",
    "format_report",
    "load_corpus",
    "passed",
    "percentile",
    "rss_verdict",
    "run_scenario",
]
