"""When a request to a replica is tried again, where, and after how long.

Pure decisions, no I/O, so the client's behaviour under failure is testable without a
network:

- ``classify`` maps one attempt's answer to what happens next: ``done``, ``overloaded``
  (429: wait for ``Retry-After``, then try again), ``failed`` (5xx or a connection error:
  try another replica), ``oversize`` (413: the service will never take it) or ``refused``
  (any other 4xx: the request itself is wrong, no retry helps);
- ``overload_delay`` is never shorter than the server's ``Retry-After`` and adds a jitter
  that grows with each refusal, so clients shed together do not come back together;
- ``Replicas`` hands out base URLs round-robin, steering around one that just failed for
  ``RetryPolicy.down_seconds``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

Verdict = Literal["done", "overloaded", "failed", "oversize", "refused"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds on trying again; every wait and every loop has one."""

    attempts: int = 3
    """Tries of one file over 5xx answers and connection errors, each on another replica
    when there is one; after that the file is an ``error`` outcome."""
    overload_attempts: int = 20
    """429 answers one request may get before its files are ``error`` outcomes: with the
    backoff below that is a minute or more of waiting on a fleet that keeps refusing."""
    backoff_seconds: float = 0.05
    """Jitter scale: the n-th 429 of a file waits Retry-After plus up to ``backoff * 2**n``."""
    max_backoff_seconds: float = 5.0
    down_seconds: float = 2.0
    """How long a replica that failed is avoided while others are up."""
    timeout_seconds: float = 60.0
    """Per request; the service's own limit (``--timeout``, 30 s) answers 504 before it."""


def classify(status: int | None) -> Verdict:
    """What an answer with HTTP ``status`` (None: no answer, a connection error) means."""
    if status is None or status >= 500:
        return "failed"
    if status == 429:
        return "overloaded"
    if status == 413:
        return "oversize"
    if 200 <= status < 300:
        return "done"
    return "refused"


def retry_after(value: str | None, default: float = 1.0) -> float:
    """Seconds from a ``Retry-After`` header (delta-seconds form); ``default`` if absent or odd."""
    if value is None:
        return default
    try:
        seconds = float(value.strip())
    except ValueError:
        return default
    return seconds if seconds >= 0 else default


def overload_delay(
    policy: RetryPolicy,
    refusals: int,
    after: float,
    rand: Callable[[], float] = random.random,
) -> float:
    """The wait after a file's ``refusals``-th 429, whose ``Retry-After`` said ``after``."""
    spread = min(policy.max_backoff_seconds, policy.backoff_seconds * 2 ** max(0, refusals - 1))
    return after + spread * rand()


class Replicas:
    """The service's base URLs, handed out round-robin; thread-safe.

    One URL (a Kubernetes Service) is a valid fleet: the Service spreads connections over
    pods, and a retry opens a connection that may land on another one.
    """

    def __init__(
        self,
        urls: Sequence[str],
        down_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not urls:
            raise ValueError("at least one replica URL is needed")
        self.urls = tuple(u.rstrip("/") for u in urls)
        self._down_seconds = down_seconds
        self._clock = clock
        self._down_until = dict.fromkeys(self.urls, 0.0)
        self._next = 0
        self._lock = threading.Lock()

    def pick(self, avoid: str | None = None) -> str:
        """The next replica that is up and not ``avoid``; else the next not ``avoid``; else any."""
        with self._lock:
            now = self._clock()
            n = len(self.urls)
            order = [self.urls[(self._next + i) % n] for i in range(n)]
            self._next = (self._next + 1) % n
            for acceptable in (
                lambda u: u != avoid and self._down_until[u] <= now,
                lambda u: u != avoid,
            ):
                for url in order:
                    if acceptable(url):
                        return url
            return order[0]

    def failed(self, url: str) -> None:
        with self._lock:
            self._down_until[url] = self._clock() + self._down_seconds

    def up(self, url: str) -> None:
        with self._lock:
            self._down_until[url] = 0.0
