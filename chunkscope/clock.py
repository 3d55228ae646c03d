"""Wall-clock nanoseconds at the cost of a monotonic clock read.

Stage timings must be epoch nanoseconds (spans are built from them, possibly in another
process) yet as cheap and as steady as ``perf_counter_ns``. So the offset between the two
clocks is taken once per process and every reading is ``perf_counter_ns() + offset``.
"""

from __future__ import annotations

import time

_OFFSET_NS = time.time_ns() - time.perf_counter_ns()


def now_ns(_perf: object = time.perf_counter_ns, _offset: int = _OFFSET_NS) -> int:
    """Epoch nanoseconds, monotonic within this process."""
    return _perf() + _offset  # type: ignore[operator]
