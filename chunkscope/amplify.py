"""Worst-case replies: requests whose answer is many times their own size.

Chunk metadata (id, path, kind, name, lines, bytes) is about 300 bytes of JSON per chunk,
so source made of tiny definitions comes back about 21 times larger at the smallest chunk
options the service accepts. ``amplifying_batch`` builds the largest such batch a server's
limits admit; ``PeakRss`` samples the server's memory (its process and its workers) while
requests run. The reply-limit test and ``benchmarks/bench_serve_memory.py`` use both.

    body = amplifying_batch(limits.max_body_bytes, limits.max_file_bytes)
    with PeakRss(server_pid) as peak:
        ...                                  # send it six times at once
    print(peak.bytes)
"""

from __future__ import annotations

import contextlib
import json
import threading
from types import TracebackType

from chunkscope.loadtest.rss import tree_rss
from chunkscope.serve.schema import MIN_MAX_BYTES, MIN_MAX_LINES


def tiny_definitions(size: int) -> str:
    """About ``size`` bytes of Python made of one-line functions: one chunk per 13 bytes."""
    lines: list[str] = []
    total = 0
    i = 0
    while total < size:
        line = f"def f{i:x}():0\n"
        total += len(line)
        lines.append(line)
        i += 1
    return "".join(lines)[:size]


def amplifying_batch(max_body_bytes: int, max_file_bytes: int) -> bytes:
    """A ``/v1/chunk/batch`` body as close to ``max_body_bytes`` as files of at most
    ``max_file_bytes`` allow, at the floors of ``max_lines`` and ``max_bytes``."""
    content = tiny_definitions(max_file_bytes)
    one = len(json.dumps({"path": "f000.py", "content": content})) + 2
    count = max(1, (max_body_bytes - 100) // one)
    files = [{"path": f"f{i:03}.py", "content": content} for i in range(count)]
    body = {"files": files, "max_lines": MIN_MAX_LINES, "max_bytes": MIN_MAX_BYTES}
    return json.dumps(body).encode()


class PeakRss:
    """The highest RSS of a process tree (``bytes``) and of its root process alone
    (``root_bytes``) while the ``with`` block runs, sampled often."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid = pid
        self.interval = interval
        self.bytes = 0
        self.root_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psutil

        root = psutil.Process(self.pid)
        while True:
            self.bytes = max(self.bytes, tree_rss(self.pid) or 0)
            with contextlib.suppress(psutil.Error):
                self.root_bytes = max(self.root_bytes, root.memory_info().rss)
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
