"""Chunk time against input size on hostile sources, in every language: flat ms per KB.

For each language and each family of ``hostile_sources`` (unclosed brackets, unterminated
strings and comments, garbage, deep nesting, runs of ``(`` around code, and well-formed
code as the baseline) at each size, it measures the CPU time of ``parse`` and of
``extract`` (thread CPU time, not wall time, so other processes on the machine do not
show; the minimum of interleaved repeats). It prints, per family and language:

- ms/KB of parse + extract at each size: flat when the cost is linear in the input;
- parse growth, extract growth: each stage's ms/KB at the largest size over its ms/KB at
  the smallest (1.0 is linear; a quadratic cost doubles with every doubling of the size);
- extract/parse at the largest size: what extraction costs in units of parsing.

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
from chunkscope.model import ChunkOptions

UNBUDGETED = ChunkOptions(file_timeout=0)
"""Measure the whole cost: no file may stop at the per-file budget here."""


def measure(language: str, data: bytes) -> tuple[float, float]:
    """CPU seconds of parse and of extract for one source."""
    started = time.thread_time()
    tree = parser.parse(data, language)
    parsed = time.thread_time()
    extractor.extract(tree, data, "hostile", UNBUDGETED)
    return parsed - started, time.thread_time() - parsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="25000,50000,100000,200000")
    ap.add_argument("--languages", default=",".join(DIALECTS))
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--json", help="write every figure here too")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    languages = args.languages.split(",")
    families = args.families.split(",")

    cases = [(lang, fam, size) for fam in families for lang in languages for size in sizes]
    inputs = {case: source(*case) for case in cases}
    best: dict[tuple[str, str, int], tuple[float, float]] = {}
    for _ in range(args.repeat):  # interleaved: each repeat runs every case once
        for case in cases:
            parse_s, extract_s = measure(case[0], inputs[case])
            old = best.get(case)
            best[case] = (
                (parse_s, extract_s)
                if old is None
                else (
                    min(old[0], parse_s),
                    min(old[1], extract_s),
                )
            )

    rows = []
    head = "".join(f"{s // 1000:>7}K" for s in sizes)
    worst_growth = worst_ratio = 0.0
    for fam in families:
        print(f"\n{fam}: ms/KB of parse + extract")
        print(f"  {'':12}{head}  parse growth  extract growth  extract/parse")
        for lang in languages:
            per_kb = [sum(best[(lang, fam, s)]) * 1e3 / (s / 1e3) for s in sizes]
            first, last = best[(lang, fam, sizes[0])], best[(lang, fam, sizes[-1])]
            scale = sizes[-1] / sizes[0]
            parse_growth = last[0] / first[0] / scale if first[0] else float("nan")
            extract_growth = last[1] / first[1] / scale if first[1] else float("nan")
            ratio = last[1] / last[0] if last[0] else float("nan")
            worst_growth = max(worst_growth, extract_growth)
            worst_ratio = max(worst_ratio, ratio)
            cells = "".join(f"{v:8.3f}" for v in per_kb)
            tail = f"{parse_growth:12.2f}  {extract_growth:14.2f}  {ratio:13.2f}"
            print(f"  {lang:12}{cells}  {tail}")
            rows.append(
                {
                    "family": fam,
                    "language": lang,
                    "ms_per_kb": dict(zip(sizes, (round(v, 4) for v in per_kb), strict=True)),
                    "parse_growth": round(parse_growth, 3),
                    "extract_growth": round(extract_growth, 3),
                    "extract_over_parse": round(ratio, 3),
                    "parse_ms": round(last[0] * 1e3, 2),
                    "extract_ms": round(last[1] * 1e3, 2),
                }
            )
    print(f"\nworst extract growth {worst_growth:.2f}, worst extract/parse {worst_ratio:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
