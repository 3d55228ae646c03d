"""Worker processes that leave Ctrl-C (and SIGTERM) to their parent from their first instant.

A pool worker ignores these signals once its initializer has run. Before that, while a spawned
worker is still starting and importing, the default disposition applies: a Ctrl-C sent to the
process group kills it, the pool breaks, and the parent loses the run (``--jobs``) or its
start-up (``serve``). Starting workers while the signals are blocked in the spawning thread
closes that window: a spawned process inherits the signal mask, so it keeps them blocked until
its initializer ignores them, and a signal that reaches the parent meanwhile stays pending and
is handled as soon as the block ends.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator


@contextlib.contextmanager
def held(*signums: int) -> Iterator[None]:
    """Block ``signums`` in this thread for the ``with`` block (where the platform can)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, set(signums))
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def ignore(*signums: int) -> None:
    """A worker's side: these signals are the parent's to act on, never this process's."""
    for signum in signums:
        signal.signal(signum, signal.SIG_IGN)
