"""Which files get a span subtree: the keep policy, decided when a file is done.

Every file is counted and timed in the metrics; spans are the expensive signal (creating and
exporting three per file would cost more than a sixth of the chunking), so only the files
worth opening in Jaeger get them:

* ``error``: a file that errored, always;
* ``slow``: a file slower than ``CHUNKSCOPE_OTEL_SLOW_FILE_MS`` (100), always;
* ``reservoir``: the first ``CHUNKSCOPE_OTEL_FILE_RESERVOIR`` (10) files of every second, so a
  small run shows all of its files and a big one a steady sample;
* ``ratio``: ``CHUNKSCOPE_OTEL_FILE_RATIO`` (0.01) of the rest, drawn from a hash of the trace
  id, the parent span id and the file's path, so the same run would draw the same files.

``CHUNKSCOPE_OTEL_FILE_SPANS=all`` keeps every file, ``none`` none. The decision is taken for
the whole subtree at once (file, parse, extract), so a kept file is never missing a child and
no trace has orphans. A parent span that is not sampled keeps nothing (``unsampled``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from chunkscope import names as N
from chunkscope.model import FileResult, blake2b

KEPT_ERROR = "error"
KEPT_SLOW = "slow"
KEPT_RESERVOIR = "reservoir"
KEPT_RATIO = "ratio"
KEPT_ALL = "all"
DROPPED_RATIO = "ratio"
DROPPED_UNSAMPLED = "unsampled"
DROPPED_DISABLED = "disabled"

_SCALE = 1 << 64


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """The policy's knobs, read from the environment once per ``instrument()``."""

    mode: N.FileSpanMode = "policy"
    slow_ms: float = N.DEFAULT_SLOW_FILE_MS
    reservoir: int = N.DEFAULT_FILE_RESERVOIR
    ratio: float = N.DEFAULT_FILE_RATIO

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PolicyConfig:
        """Unset or unreadable values fall back to the defaults rather than failing a run."""
        env = os.environ if environ is None else environ
        mode = env.get(N.FILE_SPANS_ENV, "").strip().lower() or "policy"
        return cls(
            mode=mode if mode in N.FILE_SPAN_MODES else "policy",  # type: ignore[arg-type]
            slow_ms=_number(env, N.SLOW_FILE_MS_ENV, N.DEFAULT_SLOW_FILE_MS, float, 0.0),
            reservoir=_number(env, N.FILE_RESERVOIR_ENV, N.DEFAULT_FILE_RESERVOIR, int, 0),
            ratio=min(1.0, _number(env, N.FILE_RATIO_ENV, N.DEFAULT_FILE_RATIO, float, 0.0)),
        )


def _number(env: Mapping[str, str], name: str, default: float, kind: type, floor: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        return default
    return value if value >= floor else default


def ratio_draw(trace_id: int, parent_span_id: int, path: str) -> float:
    """A number in [0, 1) that depends only on the trace, the parent span and the path."""
    h = blake2b(path.encode("utf-8", "surrogateescape"), digest_size=8)
    h.update(trace_id.to_bytes(16, "big"))
    h.update(parent_span_id.to_bytes(8, "big"))
    return int.from_bytes(h.digest(), "big") / _SCALE


class FileSpanPolicy:
    """Decides, file by file, whether its span subtree is kept, and says why.

    One instance serves a whole process (every run, every request), so the reservoir is a
    per-second budget for the process, as in Datadog's single-span sampling ``max_per_second``.
    """

    def __init__(self, config: PolicyConfig) -> None:
        self.config = config
        self._slow_ns = int(config.slow_ms * 1e6)
        self._second = -1
        self._taken = 0
        self._lock = threading.Lock()

    def decide(
        self, result: FileResult, trace_id: int, parent_span_id: int, now_ns: int
    ) -> tuple[bool, str]:
        """``(kept, reason)`` for a finished file whose parent span is sampled."""
        mode = self.config.mode
        if mode == "all":
            return True, KEPT_ALL
        if mode == "none":
            return False, DROPPED_DISABLED
        if result.outcome == "error":
            return True, KEPT_ERROR
        timings = result.timings
        if timings.end_ns - timings.start_ns > self._slow_ns:
            return True, KEPT_SLOW
        if self.config.reservoir:
            second = now_ns // 1_000_000_000
            with self._lock:
                if second != self._second:
                    self._second = second
                    self._taken = 0
                if self._taken < self.config.reservoir:
                    self._taken += 1
                    return True, KEPT_RESERVOIR
        if self.config.ratio and ratio_draw(trace_id, parent_span_id, result.path) < (
            self.config.ratio
        ):
            return True, KEPT_RATIO
        return False, DROPPED_RATIO
