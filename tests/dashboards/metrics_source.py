"""A real chunkscope process to scrape: chunk a small corpus over and over, serving metrics.

Run by test_real_prometheus.py as a subprocess with ``CHUNKSCOPE_OTEL=1`` and
``CHUNKSCOPE_PROMETHEUS_PORT`` set, so the metrics come from the real instrumentation and the
real Prometheus endpoint. It keeps chunking (so rates stay positive) until its stdin closes or
the deadline passes, whichever comes first, and prints ``ready`` after the first pass.

    python tests/dashboards/metrics_source.py CORPUS_DIR [DEADLINE_SECONDS]
"""

from __future__ import annotations

import select
import sys
import time
from pathlib import Path

CORPUS = {
    "pkg/app.py": "import os\n\n\nclass App:\n    def run(self):\n        return os.getcwd()\n\n\n"
    "def main():\n    App().run()\n",
    "pkg/broken.py": "def broken(:\n    return\n",
    "web/index.js": "export function add(a, b) {\n  return a + b;\n}\n"
    "class K { m() { return 1; } }\n",
    "svc/main.go": "package main\n\nfunc main() {\n\tprintln(1)\n}\n\ntype T struct{}\n\n"
    "func (T) M() int { return 2 }\n",
    "lib/lib.rs": "pub fn f() -> i32 { 1 }\nstruct S;\nimpl S { fn g(&self) {} }\n",
    "notes.unknownext": "nothing to parse here\n",
    "empty.py": "",
}


def write_corpus(root: Path) -> None:
    for rel, text in CORPUS.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "blob.py").write_bytes(b"\x00\x01binary\x00")


def stdin_closed(timeout: float) -> bool:
    """Wait up to ``timeout`` for the parent to close our stdin (its stop signal)."""
    ready, _, _ = select.select([sys.stdin], [], [], timeout)
    return bool(ready) and sys.stdin.read(1) == ""


def main() -> int:
    root = Path(sys.argv[1])
    deadline = time.monotonic() + (float(sys.argv[2]) if len(sys.argv) > 2 else 180.0)
    write_corpus(root)
    import chunkscope

    # A path that does not exist is a real outcome=error, as a user mistyping a path gets.
    paths = [str(root), str(root / "vanished.py")]
    # Each pass also chunks the corpus through a chunk cache: misses first, hits after, so
    # the cache panels have lookups of both kinds (stage metrics keep coming from the first).
    cached = chunkscope.ChunkOptions(cache=str(root.parent / f"{root.name}.cache.db"))
    first = True
    while time.monotonic() < deadline:
        results = list(chunkscope.chunk_paths(paths))
        for _ in chunkscope.chunk_paths([str(root)], cached):
            pass
        if first:
            outcomes = sorted({r.outcome for r in results})
            print("ready", " ".join(outcomes), flush=True)
            first = False
        if stdin_closed(0.2):
            break
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
