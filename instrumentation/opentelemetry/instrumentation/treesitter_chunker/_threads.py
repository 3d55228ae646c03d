"""Trace context into the thread pools of treesitter-chunker's CLI and repo processor.

``cli.main`` (the ``treesitter-chunker``/``tsc`` command) and ``chunker.repo.processor``
chunk files on a ``ThreadPoolExecutor``, whose threads start with an empty context, so a
file chunked there would lose the span that was current when it was submitted. The
``ThreadPoolExecutor`` name in those two modules builds a ``ContextThreadPool`` instead:
``submit`` carries the submitter's context into the task. Nothing else about the pool, its
results or its exceptions changes.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from opentelemetry import context as otel_context

THREADED_MODULES = ("chunker.repo.processor", "cli.main")


def _in_context(ctx: Any, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    token = otel_context.attach(ctx)
    try:
        return fn(*args, **kwargs)
    finally:
        otel_context.detach(token)


class ContextThreadPool(ThreadPoolExecutor):
    """A ``ThreadPoolExecutor`` whose tasks run in the context they were submitted from."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:  # type: ignore[type-arg]
        return super().submit(_in_context, otel_context.get_current(), fn, *args, **kwargs)


def pool_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    """The ``ThreadPoolExecutor`` name in a threaded module: build a context-carrying pool."""
    if wrapped is ThreadPoolExecutor:
        return ContextThreadPool(*args, **kwargs)
    return wrapped(*args, **kwargs)
