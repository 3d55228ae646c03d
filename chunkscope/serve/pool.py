"""CPU-bound chunking off the event loop, with bounded admission.

``ChunkPool`` owns a process pool sized to the cores and two counters: at most
``limits.capacity`` requests are *admitted* (running or waiting for a worker) and at most
``limits.workers`` run at once. ``admit()`` answers at once: a ``Ticket`` or ``None``, in
which case the caller sheds the request with 429. Nothing queues without bound, and the
executor's own queue never holds more than one task per worker.

A ticket is released when both the request has finished *and* its worker task has
finished, so a request that timed out (504) keeps its slot until the worker is free again:
capacity always counts real work, and the pool is not ready while every worker has been
busy for longer than the request timeout (stuck).

Shutdown is bounded: ``begin_shutdown(grace)`` makes every request still waiting or running
``grace`` seconds later raise ``ShuttingDown`` (the app answers 503), and ``close`` terminates
worker processes still busy instead of waiting on native work.

    pool = ChunkPool(Limits().resolved())
    await pool.start()
    ticket = pool.admit()
    if ticket is None: ...  # 429
    with ticket:
        done = await pool.run(ticket, files, options, measure)  # [(json_bytes, measured), ...]
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from multiprocessing import get_context
from types import TracebackType
from typing import Any

from chunkscope.languages import LANGUAGES, definitions_query
from chunkscope.model import ChunkOptions, FileResult
from chunkscope.pipeline import chunk_bytes
from chunkscope.serve.limits import Limits
from chunkscope.serve.schema import FileRequest, ReplyBudget, encode_result
from chunkscope.signals import held, ignore

WORKER_EXIT_SECONDS = 2.0
MIN_FILE_SECONDS = 0.001
"""How long ``close`` lets idle workers exit on their own before terminating them."""


def _load_grammars() -> None:
    for name in LANGUAGES:
        definitions_query(name)


_SERVER_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""Left to the server, which drains workers in order."""


def _init_process_worker() -> None:
    ignore(*_SERVER_SIGNALS)
    _load_grammars()


def _warm() -> int:
    _load_grammars()
    return os.getpid()


Measured = tuple[FileResult, tuple[tuple[str, int], ...]]
"""A chunk-less copy of a result (its ``timings`` included) and the (kind, size) of each
chunk: all that recording the file's telemetry needs, far cheaper to ship than the chunks."""


def chunk_task(
    files: list[FileRequest],
    options: ChunkOptions,
    measure: bool,
    reply_limit: int = 0,
    budget_seconds: float = 0.0,
) -> list[tuple[bytes, Measured | None]]:
    """Runs in a worker: chunk each file and encode it to JSON.

    Workers never touch OpenTelemetry: with ``measure`` (telemetry on in the server), a
    compact ``Measured`` goes back beside the JSON and the server process records it
    (``telemetry.record``) under the request's HTTP span.
    """
    out: list[tuple[bytes, Measured | None]] = []
    budget = ReplyBudget(reply_limit) if reply_limit else None
    ends = time.monotonic() + budget_seconds if budget_seconds > 0 else None
    try:
        for f in files:
            result = chunk_bytes(f.content, f.path, f.language, _within(options, ends))
            measured: Measured | None = None
            if measure:
                shapes = tuple((c.kind, c.end_byte - c.start_byte) for c in result.chunks)
                measured = (replace(result, chunks=()), shapes)
            out.append((encode_result(result, budget), measured))
    finally:  # a reply over the limit still keeps what was chunked for next time
        if options.cache is not None:
            from chunkscope.cache import flush_all

            flush_all()
    return out


def _within(options: ChunkOptions, ends: float | None) -> ChunkOptions:
    """``options`` with the file budget cut to what is left of the request's: a file that
    starts after the request's time is spent ends as ``timeout`` at once."""
    if ends is None:
        return options
    left = max(MIN_FILE_SECONDS, ends - time.monotonic())
    if options.file_timeout and options.file_timeout <= left:
        return options
    return replace(options, file_timeout=left)


class Ticket:
    """One admitted request's slot; released when the request and its worker task are done."""

    __slots__ = ("_holds", "_release")

    def __init__(self, release: Callable[[], None]) -> None:
        self._holds = 1
        self._release = release

    def hold(self) -> None:
        self._holds += 1

    def drop(self) -> None:
        self._holds -= 1
        if self._holds == 0:
            self._release()

    def __enter__(self) -> Ticket:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.drop()


class PoolMetrics:
    """Hooks the pool calls as its state changes; the no-op default keeps OTel optional."""

    def queued(self, delta: int) -> None:
        """Requests admitted and waiting for a worker went up or down by ``delta``."""

    def shed(self) -> None:
        """A request was refused with 429."""


class WorkerLost(Exception):
    """A worker process died (a crash in native code); the pool has been rebuilt."""


class ShuttingDown(Exception):
    """The shutdown grace ran out before this request's work did."""


class ChunkPool:
    """Process pool plus admission control; every method is called on the event loop."""

    def __init__(
        self, limits: Limits, *, threads: bool = False, metrics: PoolMetrics | None = None
    ) -> None:
        self.limits = limits
        self.threads = threads
        self.metrics = metrics or PoolMetrics()
        self.admitted = 0
        self.queued = 0
        self.in_worker = 0
        self.started = False
        self._executor: Executor | None = None
        self._running: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = asyncio.Event()
        self._busy_since: dict[Ticket, float] = {}

    def _new_executor(self) -> Executor:
        if self.threads:
            return ThreadPoolExecutor(
                max_workers=self.limits.workers,
                thread_name_prefix="chunkscope-worker",
                initializer=_load_grammars,
            )
        with held(*_SERVER_SIGNALS):
            return ProcessPoolExecutor(
                max_workers=self.limits.workers,
                mp_context=get_context("spawn"),
                initializer=_init_process_worker,
            )

    async def start(self) -> None:
        """Start every worker and load every grammar in it before reporting ready."""
        self._loop = asyncio.get_running_loop()
        self._running = asyncio.Semaphore(self.limits.workers)
        self._executor = self._new_executor()
        await self._warm()
        self.started = True

    @property
    def ready(self) -> bool:
        """Started, not shutting down, and not every worker stuck past the request timeout."""
        return self.started and not self.stuck()

    def stuck(self) -> bool:
        """Every worker has been on one task for longer than the request timeout."""
        if len(self._busy_since) < self.limits.workers:
            return False
        oldest_recent = sorted(self._busy_since.values())[-self.limits.workers]
        return time.monotonic() - oldest_recent > self.limits.request_timeout_seconds

    def begin_shutdown(self, grace: float) -> None:
        """Stop admitting; requests still waiting or running after ``grace`` s get
        ``ShuttingDown``."""
        self.started = False
        if self._loop is not None:
            self._loop.call_later(max(0.0, grace), self._stopped.set)

    async def _unless_stopped(self, awaitable: Any) -> Any:
        """``awaitable``'s result, or ``ShuttingDown`` once the shutdown grace has run out."""
        work = asyncio.ensure_future(awaitable)
        stop = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not work.done():
                work.cancel()
        if work.cancelled():
            raise ShuttingDown
        return work.result()

    async def _warm(self) -> None:
        assert self._executor is not None
        with held(*_SERVER_SIGNALS):  # each submit starts one of the workers
            futures = [self._executor.submit(_warm) for _ in range(self.limits.workers)]
        await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))

    def full(self) -> bool:
        """``admit`` would refuse now; a refusal counted as shed, for a check made before
        the body is read."""
        if self.started and self.admitted < self.limits.capacity:
            return False
        self.metrics.shed()
        return True

    def admit(self) -> Ticket | None:
        """A slot for one request, or ``None`` when ``capacity`` requests are already in."""
        if not self.started or self.admitted >= self.limits.capacity:
            self.metrics.shed()
            return None
        self.admitted += 1
        return Ticket(self._released)

    def _released(self) -> None:
        self.admitted -= 1

    async def run(
        self,
        ticket: Ticket,
        files: list[FileRequest],
        options: ChunkOptions,
        measure: bool,
        ends: float | None = None,
    ) -> list[tuple[bytes, Measured | None]]:
        """Chunk ``files`` in a worker; cancelling the caller never cancels running work.
        With ``ends`` (a ``time.monotonic()`` instant) the worker stops chunking by then."""
        assert self._running is not None and self._executor is not None
        self.queued += 1
        self.metrics.queued(1)
        try:
            await self._unless_stopped(self._running.acquire())
        finally:
            self.queued -= 1
            self.metrics.queued(-1)
        ticket.hold()
        try:
            future = await self._submit(files, options, measure, ends)
        except BaseException:
            self._task_done(ticket)
            raise
        self.in_worker += 1
        self._busy_since[ticket] = time.monotonic()
        future.add_done_callback(lambda _: self._from_thread(ticket))
        try:
            return await self._unless_stopped(asyncio.shield(asyncio.wrap_future(future)))
        except BrokenProcessPool:
            await self._rebuild()
            raise WorkerLost("a worker process died while chunking this request") from None

    async def _submit(
        self, files: list[FileRequest], options: ChunkOptions, measure: bool, ends: float | None
    ) -> Future[list[tuple[bytes, Measured | None]]]:
        """Hand the task to a worker; a pool that broke while idle is rebuilt, not blamed."""
        budget_seconds = max(MIN_FILE_SECONDS, ends - time.monotonic()) if ends else 0.0
        assert self._executor is not None
        args = (files, options, measure, self.limits.max_response_bytes, budget_seconds)
        try:
            return self._executor.submit(chunk_task, *args)
        except BrokenProcessPool:
            await self._rebuild()
            return self._executor.submit(chunk_task, *args)

    def _from_thread(self, ticket: Ticket) -> None:
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # loop already closed at interpreter exit
            self._loop.call_soon_threadsafe(self._finished, ticket)

    def _finished(self, ticket: Ticket) -> None:
        self.in_worker -= 1
        self._busy_since.pop(ticket, None)
        self._task_done(ticket)

    def _task_done(self, ticket: Ticket) -> None:
        assert self._running is not None
        self._running.release()
        ticket.drop()

    async def _rebuild(self) -> None:
        broken = self._executor
        if broken is None or not getattr(broken, "_broken", False):
            return
        self._executor = self._new_executor()
        broken.shutdown(wait=False, cancel_futures=True)
        await self._warm()

    async def close(self) -> None:
        """Stop admitting and stop the workers without waiting on native work: idle worker
        processes get ``WORKER_EXIT_SECONDS`` to exit, busy or late ones are terminated.
        Worker threads cannot be stopped; they are left to finish on their own."""
        self.started = False
        executor, self._executor = self._executor, None
        if executor is None:
            return
        if not isinstance(executor, ProcessPoolExecutor):
            executor.shutdown(wait=False, cancel_futures=True)
            return
        processes = list((getattr(executor, "_processes", None) or {}).values())
        if self.in_worker:
            _terminate(processes)
        stopping = asyncio.ensure_future(
            asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
        )
        try:
            await asyncio.wait_for(asyncio.shield(stopping), WORKER_EXIT_SECONDS)
        except TimeoutError:
            _terminate(processes)
            await asyncio.wait({stopping}, timeout=WORKER_EXIT_SECONDS)

    def stats(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "stuck": self.stuck(),
            "workers": self.limits.workers,
            "capacity": self.limits.capacity,
            "in_flight": self.admitted,
            "running": self.in_worker,
            "queued": self.queued,
            "mode": "threads" if self.threads else "processes",
        }


def _terminate(processes: list[Any]) -> None:
    """SIGKILL every worker still alive (workers ignore SIGTERM, see ``_init_process_worker``)."""
    for process in processes:
        with contextlib.suppress(Exception):
            if process.is_alive():
                process.kill()
