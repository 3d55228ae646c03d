"""``chunkscope bench``: measure, save a baseline, and fail on regressions against it.

    $ chunkscope bench --save-baseline baseline.json                 # chunker MB/s
    $ chunkscope bench --url http://127.0.0.1:8080 --scenarios basic,spike \\
          --duration 20 --save-baseline baseline.json                # + load scenarios
    $ chunkscope bench --compare baseline.json                       # exit 1 on regression
    $ chunkscope bench --results today.json --compare baseline.json  # compare saved results

The tolerances (throughput drop %, p95 rise %) and the load scenarios' p95 budget come from
the thresholds config (``chunkscope.config``; ``--config FILE`` overrides fields), the same
numbers the alerts use. Exit status: 0 ok, 1 regression, 2 usage error, unreadable baseline
or config.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from chunkscope import baseline
from chunkscope.config import Config, ConfigError, load_config
from chunkscope.loadtest import SCENARIOS, load_corpus, run_scenario

EXIT_OK, EXIT_REGRESSION, EXIT_USAGE = 0, 1, 2


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``bench`` to the ``chunkscope`` command line."""
    p = sub.add_parser(
        "bench",
        help="benchmark the chunker (and a service), save or compare baselines",
        description="Chunker throughput on a corpus, optional load scenarios against a "
        "running service; --save-baseline writes the figures, --compare fails on regressions.",
    )
    p.add_argument("--corpus", metavar="DIR", help="source files (default: the Python stdlib)")
    p.add_argument("--max-files", type=int, default=2000, help="files taken from the corpus")
    p.add_argument("--repeat", type=int, default=3, help="chunker passes; the median counts (3)")
    p.add_argument("--no-chunker", action="store_true", help="skip the library benchmark")
    p.add_argument("--url", help="also run load scenarios against this service")
    p.add_argument("--scenarios", default="basic", help="comma-separated load scenarios (basic)")
    p.add_argument("--duration", type=float, default=20.0, help="seconds per scenario (20)")
    p.add_argument("--concurrency", type=int, help="base concurrency for the scenarios")
    p.add_argument("--results", metavar="FILE", help="use saved results instead of measuring")
    p.add_argument("--json", metavar="FILE", help="write the measured results here")
    p.add_argument("--save-baseline", metavar="FILE", help="write the results as a baseline")
    p.add_argument("--compare", metavar="FILE", help="compare against this baseline")
    p.add_argument(
        "--config", metavar="FILE", help="YAML or JSON thresholds config (tolerances, p95 budget)"
    )
    p.set_defaults(func=run)


def _measure(args: argparse.Namespace, config: Config) -> dict[str, Any]:
    corpus = load_corpus(args.corpus, max_files=args.max_files)
    chunker = None
    if not args.no_chunker:
        chunker = baseline.bench_chunker([f.source for f in corpus], args.repeat)
        print(
            f"chunker: {chunker['files']} files, {chunker['bytes'] / 1e6:.2f} MB: "
            f"{chunker['mb_per_second']:.2f} MB/s, {chunker['files_per_second']:.0f} files/s, "
            f"p95 {chunker['file_p95_seconds'] * 1e3:.2f} ms/file",
            file=sys.stderr,
        )
    loads: dict[str, Any] = {}
    if args.url:
        for name in [s.strip() for s in args.scenarios.split(",") if s.strip()]:
            report = asyncio.run(
                run_scenario(
                    args.url.rstrip("/"),
                    SCENARIOS[name],
                    corpus,
                    duration=args.duration,
                    concurrency=args.concurrency,
                    p95_budget=config.service_p95_budget_seconds,
                    rss_limit_pct=config.rss_growth_limit_pct,
                )
            )
            o = report["overall"]
            print(
                f"load {name}: {o['requests_per_second']:.1f} req/s, "
                f"{o['mb_per_second']:.2f} MB/s, p95 {o['latency_seconds']['p95'] * 1e3:.1f} ms,"
                f" shed {o['shed']}, errors {o['errors']}",
                file=sys.stderr,
            )
            loads[name] = report
    return baseline.document(chunker, loads)


def run(args: argparse.Namespace) -> int:
    import httpx

    unknown = [s for s in args.scenarios.split(",") if s.strip() and s.strip() not in SCENARIOS]
    if unknown:
        print(f"chunkscope bench: unknown scenario {', '.join(unknown)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        config = load_config(args.config)
        reference = baseline.load(args.compare) if args.compare else None
        current = baseline.load(args.results) if args.results else _measure(args, config)
    except (OSError, ValueError, ConfigError, RuntimeError, httpx.HTTPError) as exc:
        print(f"chunkscope bench: {exc}", file=sys.stderr)
        return EXIT_USAGE
    text = json.dumps(current, indent=2) + "\n"
    for target in (args.json, args.save_baseline):
        if target:
            Path(target).write_text(text, encoding="utf-8")
    if reference is None:
        return EXIT_OK
    tolerances = baseline.Tolerances.from_config(config, args.config or "chunkscope.config")
    rows = baseline.compare(reference, current, tolerances)
    print(baseline.format_rows(rows))
    print(
        f"tolerances: throughput drop {tolerances.throughput_drop_pct:g} %, "
        f"p95 rise {tolerances.p95_rise_pct:g} % ({tolerances.source})"
    )
    if not rows:
        print("chunkscope bench: no figure in common with the baseline", file=sys.stderr)
        return EXIT_USAGE
    regressions = [r.name for r in rows if r.regressed]
    if regressions:
        print(f"REGRESSION: {', '.join(regressions)}")
        return EXIT_REGRESSION
    print("no regression")
    return EXIT_OK
