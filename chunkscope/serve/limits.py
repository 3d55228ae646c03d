"""The service's limits in one frozen record, so every refusal has a number behind it.

Each limit maps to one status code a client can act on: a body over ``max_body_bytes``
gets 413, a body not received within ``body_timeout_seconds`` 408, a request beyond
``workers + max_queue`` admitted ones 429 with ``Retry-After: retry_after_seconds``, a
reply over ``max_response_bytes`` 413, and one still unfinished after
``request_timeout_seconds`` 504. Connections are bounded too: headers must arrive within
``header_timeout_seconds``, idle keep-alive connections close after
``keep_alive_seconds``, and at most ``limit_concurrency`` are open at once. Nothing waits
without bound.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass, replace

from chunkscope.model import DEFAULT_OPTIONS

RESPONSE_FACTOR = 4
"""Default reply limit per byte of request limit: a reply is on average 1.6 times its
source (the Python standard library at the default options: the chunk text plus about
300 bytes of metadata per chunk)."""


def default_workers() -> int:
    """One worker per core the process may run on: chunking is CPU-bound."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _descriptor_limit() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 16384 if soft == resource.RLIM_INFINITY else soft


def default_limit_concurrency() -> int:
    """Half the process's file-descriptor limit: a quarter more may be accepted before the
    cap closes them (``accept_backlog``), the rest stays free for worker pipes, log files
    and telemetry sockets, so ``accept`` never runs out of descriptors."""
    return max(8, _descriptor_limit() // 2)


def accept_backlog() -> int:
    """The listen backlog, which is also how many connections asyncio accepts per loop
    iteration before any is checked against the cap (two iterations' worth can be
    pending): an eighth of the descriptor limit, at most uvicorn's default 2048."""
    return max(4, min(2048, _descriptor_limit() // 8))


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
    max_response_bytes: int = 0
    """Largest reply; 0 means ``RESPONSE_FACTOR * max_body_bytes``."""
    max_receiving_bytes: int = 0
    """Request-body bytes buffered at once by requests not yet admitted; 0 means
    ``2 * capacity * max_body_bytes``. Past it new bodies get 429."""
    request_timeout_seconds: float = 30.0
    """A request's whole budget: its worker gives each file at most what is left of it (a
    file past it ends as ``error``/``timeout``), so the worker is free again within it."""
    file_timeout_seconds: float = DEFAULT_OPTIONS.file_timeout
    """Per file, as the CLI's ``--file-timeout``; 0 leaves only the request's budget."""
    body_timeout_seconds: float = 10.0
    """The whole body must arrive within this, before the request is admitted."""
    header_timeout_seconds: float = 10.0
    """The request line and headers must arrive within this after the connection opens
    (or after the previous response on a kept-alive connection)."""
    keep_alive_seconds: int = 5
    """An idle kept-alive connection is closed after this (uvicorn's ``timeout_keep_alive``)."""
    limit_concurrency: int = 0
    """Open connections at once; 0 means half the file-descriptor limit."""
    max_header_bytes: int = 16 * 1024
    """Request line plus headers (h11's ``max_incomplete_event_size``); past it, 400."""
    retry_after_seconds: int = 1
    shutdown_grace_seconds: float = 15.0
    """How long SIGTERM waits for in-flight requests; then they are answered 503 and the
    workers are terminated. The telemetry flush deadline comes on top."""

    def resolved(self) -> Limits:
        """These limits with the 0 = automatic fields filled in."""
        workers = self.workers or default_workers()
        max_queue = self.max_queue or 2 * workers
        capacity = workers + max_queue
        return replace(
            self,
            workers=workers,
            max_queue=max_queue,
            max_response_bytes=self.max_response_bytes or RESPONSE_FACTOR * self.max_body_bytes,
            max_receiving_bytes=self.max_receiving_bytes or 2 * capacity * self.max_body_bytes,
            limit_concurrency=self.limit_concurrency or default_limit_concurrency(),
        )

    @property
    def capacity(self) -> int:
        """Requests admitted at once: one running per worker plus the bounded queue."""
        return self.workers + self.max_queue
