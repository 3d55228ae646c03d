"""``chunkscope cache stats|prune|clear PATH``: look after a chunk cache file.

    $ chunkscope cache stats ~/.cache/chunkscope/chunks.db
    $ chunkscope cache prune ~/.cache/chunkscope/chunks.db --max-bytes 100000000
    $ chunkscope cache clear ~/.cache/chunkscope/chunks.db

``stats`` prints what the cache holds (``--json`` for a machine); ``prune`` evicts the least
recently used entries down to ``--max-bytes`` and compacts the file; ``clear`` empties it. A
file that is not a chunkscope cache is never modified: exit status 2 and one line saying so.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from chunkscope.cli._types import whole_number
from chunkscope.model import DEFAULT_CACHE_MAX_BYTES

EXIT_OK, EXIT_USAGE = 0, 2


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``cache`` to the ``chunkscope`` command line."""
    p = sub.add_parser(
        "cache",
        help="show, prune or clear a chunk cache",
        description="Look after a chunk cache file (see chunkscope chunk --cache).",
    )
    actions = p.add_subparsers(dest="action", required=True)
    stats = actions.add_parser("stats", help="entries, bytes and last use")
    stats.add_argument("path", metavar="PATH")
    stats.add_argument("--json", action="store_true", help="print JSON")
    prune = actions.add_parser("prune", help="evict least recently used entries, compact")
    prune.add_argument("path", metavar="PATH")
    prune.add_argument(
        "--max-bytes",
        type=whole_number(0),
        default=DEFAULT_CACHE_MAX_BYTES,
        metavar="N",
        help=f"keep at most N bytes in use ({DEFAULT_CACHE_MAX_BYTES})",
    )
    clear = actions.add_parser("clear", help="delete every entry")
    clear.add_argument("path", metavar="PATH")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from chunkscope.cache import Cache, CacheUnavailable

    if not os.path.exists(args.path):
        print(f"chunkscope cache: error: no cache at {args.path}", file=sys.stderr)
        return EXIT_USAGE
    try:
        cache = Cache(args.path, getattr(args, "max_bytes", DEFAULT_CACHE_MAX_BYTES), check=True)
    except (CacheUnavailable, OSError) as exc:
        print(f"chunkscope cache: error: {args.path}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        for note in cache.notes:
            print(f"chunkscope cache: {args.path}: {note}", file=sys.stderr)
        if args.action == "prune":
            removed = cache.prune(args.max_bytes)
            print(f"evicted {removed} entries")
        elif args.action == "clear":
            removed = cache.clear()
            print(f"removed {removed} entries")
        stats = cache.stats()
    finally:
        cache.close()
    if args.action == "stats" and args.json:
        print(json.dumps(stats, indent=2))
    else:
        width = max(map(len, stats))
        for key, value in stats.items():
            print(f"{key:<{width}}  {value}")
    return EXIT_OK
