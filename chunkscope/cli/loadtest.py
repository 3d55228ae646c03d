"""``chunkscope loadtest``: run a load scenario against a running ``chunkscope serve``.

    $ chunkscope serve --port 8080 &
    $ chunkscope loadtest --url http://127.0.0.1:8080 --scenario spike --duration 25
    $ chunkscope loadtest --url http://127.0.0.1:8080 --scenario endurance --json soak.json

Exit status: 0 when no request failed (429s are shedding, not failures) and, for
endurance, the server's memory stayed flat; 1 otherwise; 2 for usage errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from chunkscope.config import ConfigError, load_config
from chunkscope.loadtest import (
    SCENARIOS,
    default_concurrency,
    format_report,
    load_corpus,
    passed,
    run_scenario,
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``loadtest`` to the ``chunkscope`` command line."""
    p = sub.add_parser(
        "loadtest",
        help="drive load scenarios at a chunkscope service",
        description="Closed-loop HTTP load with real source files; reports req/s, MB/s, "
        "latency p50/p95/p99, errors and shed (429) counts.",
    )
    p.add_argument("--url", required=True, help="service base URL, e.g. http://127.0.0.1:8080")
    p.add_argument("--scenario", choices=sorted(SCENARIOS), default="basic")
    p.add_argument(
        "--duration",
        type=float,
        metavar="S",
        help="seconds (default per scenario: "
        + ", ".join(f"{n} {s.duration:g}" for n, s in SCENARIOS.items())
        + ")",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help=f"base (sustainable) concurrency the scenario multiplies ({default_concurrency()})",
    )
    p.add_argument("--corpus", metavar="DIR", help="source files to send (the Python stdlib)")
    p.add_argument("--max-files", type=int, default=2000, help="files taken from the corpus")
    p.add_argument("--mode", choices=("raw", "json"), default="raw", help="request body form")
    p.add_argument(
        "--rss-growth-limit",
        type=float,
        metavar="PCT",
        help="endurance: allowed RSS growth, first to last quarter "
        "(the config's rss_growth_limit_pct)",
    )
    p.add_argument(
        "--config", metavar="FILE", help="YAML or JSON thresholds config (p95 budget, RSS growth)"
    )
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON ('-': stdout)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import httpx

    try:
        config = load_config(args.config)
        corpus = load_corpus(args.corpus, max_files=args.max_files)
    except (OSError, ValueError, ConfigError) as exc:
        print(f"chunkscope loadtest: {exc}", file=sys.stderr)
        return 2
    try:
        report = asyncio.run(
            run_scenario(
                args.url.rstrip("/"),
                SCENARIOS[args.scenario],
                corpus,
                duration=args.duration,
                concurrency=args.concurrency,
                mode=args.mode,
                p95_budget=config.service_p95_budget_seconds,
                rss_limit_pct=(
                    config.rss_growth_limit_pct
                    if args.rss_growth_limit is None
                    else args.rss_growth_limit
                ),
                progress=lambda line: print(line, file=sys.stderr),
            )
        )
    except (httpx.HTTPError, RuntimeError) as exc:
        print(f"chunkscope loadtest: {args.url}: {exc or type(exc).__name__}", file=sys.stderr)
        return 2
    text = json.dumps(report, indent=2)
    if args.json == "-":
        print(text)
    else:
        if args.json:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
        print(format_report(report))
    return 0 if passed(report) else 1
