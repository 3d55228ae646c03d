"""Whether a process has started a spawned ``multiprocessing`` worker, for signal tests."""

from __future__ import annotations

import psutil


def spawned_worker_started(pid: int) -> bool:
    """A child of ``pid`` is a spawn-context worker (importing still: spawn takes ~0.2 s)."""
    try:
        children = psutil.Process(pid).children()
        return any("spawn_main" in " ".join(c.cmdline()) for c in children)
    except psutil.Error:
        return False
