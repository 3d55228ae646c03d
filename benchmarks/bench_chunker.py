"""Chunker throughput, side by side with the raw tree-sitter limit, in one run.

What it measures, on the same files (default: the installed Python standard library):
- raw: read + tree-sitter parse + a full TreeCursor walk collecting definitions (the limit),
- library: ``chunk_paths`` (walk, read, parse, extract, chunk records), measured by
  ``chunkscope.baseline.chunker_pass``, the pass ``chunkscope bench`` times too,
- cli: ``chunkscope chunk CORPUS --output FILE`` (JSONL written to a file), --jobs 1 and 2,
- peak RSS of the CLI on the corpus and on a 10x corpus (hard-linked copies).
Repeats are interleaved and the median is reported, so machine noise hits all alike.

    python benchmarks/bench_chunker.py [CORPUS] [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from chunkscope import ChunkOptions
from chunkscope.baseline import chunker_pass
from chunkscope.languages import LANGUAGES, detect, grammar
from chunkscope.parser import parser_for
from chunkscope.walker import walk

_RAW_DEFINITIONS = {
    "function_definition",
    "class_definition",
    "function_declaration",
    "class_declaration",
    "method_definition",
    "method_declaration",
    "function_item",
    "impl_item",
    "struct_item",
}


def corpus_files(root: str) -> list[tuple[str, str]]:
    """(path, language) of every file chunkscope would parse under ``root``."""
    files = []
    for entry in walk([root], ChunkOptions()):
        if entry.skip or entry.error:
            continue
        with open(entry.path, "rb") as fh:
            head = fh.read(256)
        language = detect(entry.path, head)
        if language and b"\0" not in head:
            files.append((entry.path, language))
    return files


def raw_limit(files: list[tuple[str, str]]) -> int:
    """Read, parse and cursor-walk every node noting definitions: the floor of any chunker."""
    total = 0
    for path, language in files:
        with open(path, "rb") as fh:
            source = fh.read()
        total += len(source)
        tree = parser_for(language).parse(source)
        cursor = tree.walk()
        found = []
        while True:
            node = cursor.node
            if node.type in _RAW_DEFINITIONS:
                name = node.child_by_field_name("name")
                found.append((node.start_byte, node.end_byte, name.text if name else None))
            if cursor.goto_first_child():
                continue
            while not cursor.goto_next_sibling():
                if not cursor.goto_parent():
                    break
            else:
                continue
            break
    return total


def cli(root: str, out: str, jobs: int) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one CLI run writing JSONL to a file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHUNKSCOPE_OTEL", "OTEL_"))}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "chunkscope", "chunk", root, "--output", out, "--jobs", str(jobs)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"chunkscope chunk failed with status {status}")
    return seconds, usage.ru_maxrss * 1024


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    size = fn()
    return time.perf_counter() - started, size


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", default=sysconfig.get_path("stdlib"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-10x", action="store_true", help="skip the 10x-corpus memory check")
    ap.add_argument("--json", help="write the figures here too")
    args = ap.parse_args(argv)

    for name in LANGUAGES:
        grammar(name)
    files = corpus_files(args.corpus)
    size = sum(os.path.getsize(p) for p, _ in files)
    mb = size / 1e6
    print(f"corpus {args.corpus}: {len(files)} files, {mb:.1f} MB", file=sys.stderr)
    samples: dict[str, list[float]] = {"raw": [], "library": [], "cli": [], "cli_jobs2": []}
    rss: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "chunks.jsonl")
        for _ in range(args.repeat):
            samples["raw"].append(mb / timed(lambda: raw_limit(files))[0])
            samples["library"].append(mb / chunker_pass([args.corpus])[0])
            seconds, peak = cli(args.corpus, out, 1)
            samples["cli"].append(mb / seconds)
            rss.append(peak)
            samples["cli_jobs2"].append(mb / cli(args.corpus, out, 2)[0])
        big_rss = None
        if not args.no_10x:
            big = Path(tmp, "big")
            for i in range(10):
                shutil.copytree(
                    args.corpus,
                    big / f"copy{i}",
                    copy_function=os.link,
                    ignore=shutil.ignore_patterns("site-packages", "__pycache__"),
                )
            big_rss = cli(str(big), out, 1)[1]

    med = {k: statistics.median(v) for k, v in samples.items()}
    figures = {
        "corpus": args.corpus,
        "files": len(files),
        "megabytes": round(mb, 2),
        "mb_per_s": {k: round(v, 2) for k, v in med.items()},
        "library_vs_raw": round(med["library"] / med["raw"], 3),
        "cli_vs_raw": round(med["cli"] / med["raw"], 3),
        "jobs2_vs_jobs1": round(med["cli_jobs2"] / med["cli"], 3),
        "peak_rss_mb": round(max(rss) / 1e6, 1),
        "peak_rss_mb_10x": round(big_rss / 1e6, 1) if big_rss else None,
    }
    print(f"{'':14}{'MB/s':>8}")
    for key, value in figures["mb_per_s"].items():
        print(f"{key:14}{value:8.2f}")
    for key in ("library_vs_raw", "cli_vs_raw", "jobs2_vs_jobs1", "peak_rss_mb", "peak_rss_mb_10x"):
        print(f"{key:18}{figures[key]}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
