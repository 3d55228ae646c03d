"""Chunk time against input size on hostile sources, in every language: flat ms per KB.

For each language and each family of ``hostile_sources`` (unclosed brackets, unterminated
strings and comments, garbage, deep nesting, runs of ``(`` around code, and well-formed
code as the baseline) at each size, it measures the CPU time of ``parse`` and of
``extract`` (thread CPU time, not wall time, so other processes on the machine do not
show; the minimum of interleaved repeats). It prints, per family and language:

- ms/KB of parse + extract at each size: flat when the cost is linear in the input;
- parse growth, extract growth: each stage's ms/KB at the largest size over its ms/KB at
  the smallest (1.0 is linear; a quadratic cost doubles with every doubling of the size);
- extract/parse at the largest size: what extraction costs in units of parsing;
- "stuck" where tree-sitter's parse itself ran past ``--parse-budget``: such a file ends
  as ``error``/``timeout`` under ``--file-timeout``.

    python benchmarks/bench_worst_case.py [--sizes 25000,50000,100000,200000]
        [--languages python,c] [--families unclosed_paren,garbage] [--repeat 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from hostile_sources import DIALECTS, FAMILIES, source

from chunkscope import extractor, parser
from chunkscope.deadline import Deadline, FileTimeout
from chunkscope.model import ChunkOptions

UNBUDGETED = ChunkOptions(file_timeout=0)
"""Extraction is measured whole: it never stops at the per-file budget here."""


def measure(language: str, data: bytes, budget: float) -> tuple[float, float] | None:
    """CPU seconds of parse and of extract for one source; None if parsing ran past ``budget``
    (tree-sitter's own worst cases: the file would end as ``timeout``)."""
    started = time.thread_time()
    try:
        tree = parser.parse(data, language, Deadline(budget))
    except FileTimeout:
        return None
    parsed = time.thread_time()
    extractor.extract(tree, data, "hostile", UNBUDGETED)
    return parsed - started, time.thread_time() - parsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="25000,50000,100000,200000")
    ap.add_argument("--languages", default=",".join(DIALECTS))
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument(
        "--parse-budget", type=float, default=10.0, help="seconds before a parse counts as stuck"
    )
    ap.add_argument("--json", help="write every figure here too")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    languages = args.languages.split(",")
    families = args.families.split(",")

    cases = [(lang, fam, size) for fam in families for lang in languages for size in sizes]
    inputs = {case: source(*case) for case in cases}
    best: dict[tuple[str, str, int], tuple[float, float]] = {}
    stuck: set[tuple[str, str, int]] = set()
    for _ in range(args.repeat):  # interleaved: each repeat runs every case once
        for case in cases:
            if case in stuck:
                continue
            times = measure(case[0], inputs[case], args.parse_budget)
            if times is None:
                stuck.add(case)
                continue
            old = best.get(case, times)
            best[case] = (min(old[0], times[0]), min(old[1], times[1]))

    rows = []
    head = "".join(f"{s // 1000:>7}K" for s in sizes)
    worst_growth = worst_ratio = 0.0
    for fam in families:
        print(f"\n{fam}: ms/KB of parse + extract")
        print(f"  {'':12}{head}  parse growth  extract growth  extract/parse")
        for lang in languages:
            measured = [s for s in sizes if (lang, fam, s) in best]
            cells = "".join(
                f"{sum(best[(lang, fam, s)]) * 1e3 / (s / 1e3):8.3f}"
                if (lang, fam, s) in best
                else f"{'stuck':>8}"
                for s in sizes
            )
            row: dict[str, object] = {
                "family": fam,
                "language": lang,
                "ms_per_kb": {
                    s: round(sum(best[(lang, fam, s)]) * 1e3 / (s / 1e3), 4) for s in measured
                },
                "parse_stuck_at": [s for s in sizes if (lang, fam, s) in stuck],
            }
            tail = ""
            if len(measured) >= 2:
                first, last = best[(lang, fam, measured[0])], best[(lang, fam, measured[-1])]
                scale = measured[-1] / measured[0]
                parse_growth = last[0] / first[0] / scale
                extract_growth = last[1] / first[1] / scale
                ratio = last[1] / last[0]
                worst_growth = max(worst_growth, extract_growth)
                worst_ratio = max(worst_ratio, ratio)
                tail = f"{parse_growth:12.2f}  {extract_growth:14.2f}  {ratio:13.2f}"
                row |= {
                    "parse_growth": round(parse_growth, 3),
                    "extract_growth": round(extract_growth, 3),
                    "extract_over_parse": round(ratio, 3),
                }
            print(f"  {lang:12}{cells}  {tail}")
            rows.append(row)
    print(f"\nworst extract growth {worst_growth:.2f}, worst extract/parse {worst_ratio:.2f}")
    if stuck:
        print(f"parse ran past {args.parse_budget:g} s (tree-sitter's own cost): {sorted(stuck)}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
