"""``ParallelChunker``'s process pool, measured without touching what it pickles.

Wrapping ``ParallelChunker._process_single_file`` breaks pickling (a wrapt proxy cannot be
pickled, and every file then silently returns ``[]``), so nothing of the class is wrapped.
Instead, while an instrumented ``chunk_files_parallel`` runs, the ``ProcessPoolExecutor``
name in ``chunker.parallel`` builds a ``MeasuredPool``. Its ``submit`` sends the same
``ParallelChunker`` and path to ``run_task``, a module-level function (picklable by name),
which runs ``_process_single_file`` in the child with the measurement wrappers of ``_probe``
collecting (installed there first under ``spawn``; inherited under ``fork``, where they
must not record in the child). The child returns the value or the exception together with
its measures; the parent records them and settles the future ``chunk_files_parallel``
waits on with exactly the value or exception the child produced.

A file served from treesitter-chunker's SQLite cache runs no ``chunk_file``: its measure
says ``cache="hit"`` and has no parse or extract stage; with the cache on, a parsed file is a
``miss``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError, ProcessPoolExecutor
from concurrent.futures.process import _ExceptionWithTraceback  # type: ignore[attr-defined]
from dataclasses import dataclass
from typing import Any

from opentelemetry.instrumentation.chunkscope._safety import report
from opentelemetry.instrumentation.treesitter_chunker import _probe

_child_ready = False
"""Set in a pool child once it has been prepared (at fork, or by its first task)."""
_starting = False
"""True while ``MeasuredPool.submit`` may be forking its workers."""


def _prepare_child() -> None:
    """Once per pool child: a fork child quiets the telemetry it inherited (``Hooks.forked``)."""
    global _child_ready
    if _child_ready:
        return
    _child_ready = True
    inherited = _probe._hooks
    if inherited is not None:  # fork: the parent's telemetry came along
        inherited.forked()


def _after_fork_in_child() -> None:
    if _starting:
        try:
            _prepare_child()
        except Exception as exc:
            report(exc)


if hasattr(os, "register_at_fork"):
    # At the fork itself, before the SDK's restarted reader thread can export anything.
    os.register_at_fork(after_in_child=_after_fork_in_child)

Settle = Callable[[list[_probe.Measure], Any, BaseException | None], None]
"""Records a task's measures in the parent: (measures, (path, chunks) or None, error)."""


@dataclass(slots=True)
class TaskDone:
    value: Any
    measures: list[_probe.Measure]


@dataclass(slots=True)
class TaskFailed:
    error: Any
    """An ``_ExceptionWithTraceback``: unpickles as the child's exception with its remote
    traceback as ``__cause__``, exactly what the pool would have delivered."""
    measures: list[_probe.Measure]


def run_task(chunker: Any, *args: Any, **kwargs: Any) -> TaskDone | TaskFailed:
    """In a pool child: ``chunker._process_single_file(*args)`` with its files measured."""
    collected: list[_probe.Measure] | None = None
    started = 0
    try:
        _prepare_child()
        if not _probe.installed():
            _probe.install(None)
        collected = _probe.begin_collect()
        started = _probe.now_ns()
    except Exception as exc:
        report(exc)
    try:
        value = chunker._process_single_file(*args, **kwargs)
    except BaseException as exc:
        measures = _finish(collected, chunker, args, kwargs, started, None, exc)
        return TaskFailed(_ExceptionWithTraceback(exc, exc.__traceback__), measures)
    return TaskDone(value, _finish(collected, chunker, args, kwargs, started, value, None))


def _finish(
    collected: list[_probe.Measure] | None,
    chunker: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    started: int,
    value: Any,
    error: BaseException | None,
) -> list[_probe.Measure]:
    try:
        _probe.end_collect()
        if collected is None:
            return []
        cached = getattr(chunker, "cache", None) is not None
        if not collected and error is None:
            # No chunk_file ran, yet a result came back: treesitter-chunker's cache served it.
            collected.append(
                _probe.Measure(
                    path=str(_probe._arg(args, kwargs, 0, "file_path")),
                    language=getattr(chunker, "language", None),
                    start_ns=started,
                    end_ns=_probe.now_ns(),
                    cache="hit",
                )
            )
        elif cached:
            for measure in collected:
                measure.cache = "miss"
        return collected
    except Exception as exc:
        report(exc)
        return []


class _Linked(Future):  # type: ignore[type-arg]
    """The future ``chunk_files_parallel`` holds; cancelling it cancels the child's task."""

    def __init__(self, inner: Future) -> None:  # type: ignore[type-arg]
        super().__init__()
        self._inner = inner

    def cancel(self) -> bool:
        if self._inner.cancel():
            return super().cancel()
        return False


class MeasuredPool(ProcessPoolExecutor):
    """A ``ProcessPoolExecutor`` whose ``_process_single_file`` tasks come back measured."""

    def __init__(self, settle: Settle, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._settle = settle

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:  # type: ignore[type-arg]
        owner = getattr(fn, "__self__", None)
        if getattr(fn, "__name__", None) != "_process_single_file" or owner is None:
            return super().submit(fn, *args, **kwargs)
        global _starting
        _starting = True  # ProcessPoolExecutor forks its workers inside submit
        try:
            inner = super().submit(run_task, owner, *args, **kwargs)
        finally:
            _starting = False
        outer = _Linked(inner)
        inner.add_done_callback(lambda done: self._resolve(outer, done))
        return outer

    def _resolve(self, outer: Future, inner: Future) -> None:  # type: ignore[type-arg]
        if inner.cancelled():
            outer.cancel()
            return
        error = inner.exception()
        value: Any = None
        if error is None:
            returned = inner.result()
            if isinstance(returned, TaskDone):
                value = returned.value
                self._record(returned.measures, value, None)
            elif isinstance(returned, TaskFailed):
                error = returned.error
                self._record(returned.measures, None, error)
            else:
                value = returned
        with contextlib.suppress(InvalidStateError):  # cancelled by the caller meanwhile
            if error is not None:
                outer.set_exception(error)
            else:
                outer.set_result(value)

    def _record(self, measures: list[_probe.Measure], value: Any, error: Any) -> None:
        try:
            self._settle(measures, value, error)
        except Exception as exc:
            report(exc)
