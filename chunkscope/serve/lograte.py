"""At most one log record per message per interval, with a count of the ones held back.

A flood of bad clients, or a process out of file descriptors, makes uvicorn and asyncio
log the same warning (with a traceback) for every connection. ``RateLimitFilter`` lets the
first record of each message through, drops repeats for ``interval`` seconds, and adds
``(N more like this in the last S s)`` to the next one it lets through.

    install()        # on the loggers uvicorn and asyncio write connection errors to

Python 3.11's accept loop (``BaseSelectorEventLoop._accept_connection``) does not stop at
``EMFILE``: one readiness event can log the error and schedule a retry up to ``backlog``
times, so a process out of descriptors writes thousands of tracebacks a second. The
connection cap (``limit_concurrency``, below the descriptor limit) keeps it from happening;
this filter keeps it from flooding the log when something else uses up the descriptors.
"""

from __future__ import annotations

import logging
import re
import threading
import time

INTERVAL_SECONDS = 10.0
LOGGERS = ("uvicorn.error", "asyncio")
"""Where per-connection errors are logged: uvicorn's protocol warnings, asyncio's accept errors."""


_NUMBERS = re.compile(r"\d+")


def _kind(record: logging.LogRecord) -> tuple[str, str]:
    """What makes two records "the same": logger and first line of the message template,
    numbers blanked (asyncio puts timer deadlines and fds in its messages)."""
    first = str(record.msg).partition("\n")[0]
    return record.name, _NUMBERS.sub("#", first)


class RateLimitFilter(logging.Filter):
    """Pass one record per (logger, message template) per ``interval`` seconds."""

    def __init__(self, interval: float = INTERVAL_SECONDS) -> None:
        super().__init__()
        self.interval = interval
        self._lock = threading.Lock()
        self._last: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = _kind(record)
        now = time.monotonic()
        with self._lock:
            last, held = self._last.get(key, (float("-inf"), 0))
            if now - last < self.interval:
                self._last[key] = (last, held + 1)
                return False
            self._last[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} ({held} more like this in the last {now - last:.0f} s)"
        return True


_installed: RateLimitFilter | None = None


def install(interval: float = INTERVAL_SECONDS) -> RateLimitFilter:
    """Add one shared filter to every logger in ``LOGGERS``, once per process, for the rest
    of its life: asyncio's retries of a failed ``accept`` still fire while the loop closes,
    after the server has returned."""
    global _installed
    if _installed is None:
        _installed = RateLimitFilter(interval)
        for name in LOGGERS:
            logging.getLogger(name).addFilter(_installed)
    return _installed
