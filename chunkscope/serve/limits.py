"""The service's limits in one frozen record, so every refusal has a number behind it.

Each limit maps to one status code a client can act on: a body over ``max_body_bytes``
gets 413, a request beyond ``workers + max_queue`` admitted ones gets 429 with
``Retry-After: retry_after_seconds``, and one still unfinished after
``request_timeout_seconds`` gets 504. Nothing waits without bound.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from chunkscope.model import DEFAULT_OPTIONS


def default_workers() -> int:
    """One worker per core the process may run on: chunking is CPU-bound."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class Limits:
    """Admission, size and time limits of ``chunkscope serve``."""

    workers: int = 0
    """Worker processes; 0 means one per available core."""
    max_queue: int = 0
    """Admitted requests that may wait for a free worker; 0 means ``2 * workers``."""
    max_body_bytes: int = 8 * 1024 * 1024
    max_file_bytes: int = DEFAULT_OPTIONS.max_file_bytes
    """Per file, as the CLI's ``--max-file-bytes``: bigger files are skipped, not refused."""
    max_batch_files: int = 256
    request_timeout_seconds: float = 30.0
    retry_after_seconds: int = 1
    shutdown_grace_seconds: float = 20.0
    """How long SIGTERM waits for in-flight requests before closing connections."""

    def resolved(self) -> Limits:
        """These limits with the 0 = automatic fields filled in."""
        workers = self.workers or default_workers()
        return replace(self, workers=workers, max_queue=self.max_queue or 2 * workers)

    @property
    def capacity(self) -> int:
        """Requests admitted at once: one running per worker plus the bounded queue."""
        return self.workers + self.max_queue
