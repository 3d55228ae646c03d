"""CPU-bound chunking off the event loop, with bounded admission.

``ChunkPool`` owns a process pool sized to the cores and two counters: at most
``limits.capacity`` requests are *admitted* (running or waiting for a worker) and at most
``limits.workers`` run at once. ``admit()`` answers at once: a ``Ticket`` or ``None``, in
which case the caller sheds the request with 429. Nothing queues without bound, and the
executor's own queue never holds more than one task per worker.

A ticket is released when both the request has finished *and* its worker task has
finished, so a request that timed out (504) keeps its slot until the worker is free again:
capacity always counts real work.

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
from chunkscope.serve.schema import FileRequest, encode_result


def _load_grammars() -> None:
    for name in LANGUAGES:
        definitions_query(name)


def _init_process_worker() -> None:
    """Leave Ctrl-C and SIGTERM to the server, which drains workers in order."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _load_grammars()


def _warm() -> int:
    _load_grammars()
    return os.getpid()


Measured = tuple[FileResult, tuple[tuple[str, int], ...]]
"""A chunk-less copy of a result (its ``timings`` included) and the (kind, size) of each
chunk: all that recording the file's telemetry needs, far cheaper to ship than the chunks."""


def chunk_task(
    files: list[FileRequest], options: ChunkOptions, measure: bool
) -> list[tuple[bytes, Measured | None]]:
    """Runs in a worker: chunk each file and encode it to JSON.

    Workers never touch OpenTelemetry: with ``measure`` (telemetry on in the server), a
    compact ``Measured`` goes back beside the JSON and the server process records it
    (``telemetry.record``) under the request's HTTP span.
    """
    out: list[tuple[bytes, Measured | None]] = []
    for f in files:
        result = chunk_bytes(f.content, f.path, f.language, options)
        measured: Measured | None = None
        if measure:
            shapes = tuple((c.kind, c.end_byte - c.start_byte) for c in result.chunks)
            measured = (replace(result, chunks=()), shapes)
        out.append((encode_result(result), measured))
    if options.cache is not None:
        from chunkscope.cache import flush_all

        flush_all()
    return out


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
        self.ready = False
        self._executor: Executor | None = None
        self._running: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle = asyncio.Event()

    def _new_executor(self) -> Executor:
        if self.threads:
            return ThreadPoolExecutor(
                max_workers=self.limits.workers,
                thread_name_prefix="chunkscope-worker",
                initializer=_load_grammars,
            )
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
        self.ready = True

    async def _warm(self) -> None:
        assert self._executor is not None
        futures = [self._executor.submit(_warm) for _ in range(self.limits.workers)]
        await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))

    def admit(self) -> Ticket | None:
        """A slot for one request, or ``None`` when ``capacity`` requests are already in."""
        if not self.ready or self.admitted >= self.limits.capacity:
            self.metrics.shed()
            return None
        self.admitted += 1
        self._idle.clear()
        return Ticket(self._released)

    def _released(self) -> None:
        self.admitted -= 1
        if self.admitted == 0:
            self._idle.set()

    async def run(
        self,
        ticket: Ticket,
        files: list[FileRequest],
        options: ChunkOptions,
        measure: bool,
    ) -> list[tuple[bytes, Measured | None]]:
        """Chunk ``files`` in a worker; cancelling the caller never cancels running work."""
        assert self._running is not None and self._executor is not None
        self.queued += 1
        self.metrics.queued(1)
        try:
            await self._running.acquire()
        finally:
            self.queued -= 1
            self.metrics.queued(-1)
        ticket.hold()
        try:
            future = await self._submit(files, options, measure)
        except BaseException:
            self._task_done(ticket)
            raise
        self.in_worker += 1
        future.add_done_callback(lambda _: self._from_thread(ticket))
        try:
            return await asyncio.shield(asyncio.wrap_future(future))
        except BrokenProcessPool:
            await self._rebuild()
            raise WorkerLost("a worker process died while chunking this request") from None

    async def _submit(
        self, files: list[FileRequest], options: ChunkOptions, measure: bool
    ) -> Future[list[tuple[bytes, Measured | None]]]:
        """Hand the task to a worker; a pool that broke while idle is rebuilt, not blamed."""
        assert self._executor is not None
        try:
            return self._executor.submit(chunk_task, files, options, measure)
        except BrokenProcessPool:
            await self._rebuild()
            return self._executor.submit(chunk_task, files, options, measure)

    def _from_thread(self, ticket: Ticket) -> None:
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # loop already closed at interpreter exit
            self._loop.call_soon_threadsafe(self._finished, ticket)

    def _finished(self, ticket: Ticket) -> None:
        self.in_worker -= 1
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

    async def drain(self, timeout: float) -> bool:
        """Wait until no request is admitted (or ``timeout``); True when drained."""
        if self.admitted == 0:
            return True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        """Stop admitting, then stop the workers once their current tasks are done."""
        self.ready = False
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)

    def stats(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "workers": self.limits.workers,
            "capacity": self.limits.capacity,
            "in_flight": self.admitted,
            "running": self.in_worker,
            "queued": self.queued,
            "mode": "threads" if self.threads else "processes",
        }
