"""The pipeline: walk, read, parse, extract, one file at a time, every file accounted for.

The chunker measures itself: every ``FileResult`` carries ``StageTimes`` (when the file, its
parse and its extract started and ended, the tree's node count), taken with a few clock reads
whether telemetry is on or off. The pipeline calls the stages through private bindings, so the
public ``chunkscope.parse``/``extract`` (which the instrumentation gives one live span per
call) are for user code; the process that owns the telemetry providers turns the results into
spans and metrics after the fact. ``--jobs`` workers therefore never touch OpenTelemetry.
"""

from __future__ import annotations

import os
import stat
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from signal import SIGINT
from typing import TYPE_CHECKING

from chunkscope.clock import now_ns
from chunkscope.deadline import TIMEOUT, Deadline, FileTimeout
from chunkscope.extractor import extract as _extract
from chunkscope.languages import canonical, detect
from chunkscope.logs import get_logger
from chunkscope.model import DEFAULT_OPTIONS, ROUTINE_SKIPS, ChunkOptions, FileResult, StageTimes
from chunkscope.parser import parse_as
from chunkscope.signals import held, ignore
from chunkscope.walker import Entry, entry_for, os_error, run_root, walk

if TYPE_CHECKING:
    from concurrent.futures import Future

BINARY_SNIFF_BYTES = 8192
_BATCH = 32
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)


def _skipped(
    path: str, reason: str, start_ns: int, language: str | None = None, size: int = 0
) -> FileResult:
    return FileResult(
        path=path,
        outcome="skipped",
        language=language,
        size=size,
        reason=reason,
        timings=StageTimes(start_ns, now_ns()),
    )


def _error(path: str, error: str, start_ns: int) -> FileResult:
    return FileResult(
        path=path,
        outcome="error",
        error=error,
        timings=StageTimes(start_ns, now_ns()),
    )


def chunk_bytes(
    source: bytes,
    path: str,
    language: str | None,
    options: ChunkOptions,
    start_ns: int | None = None,
) -> FileResult:
    """Decide skip or chunk for bytes already in memory; the shared core of every entry point.

    Not instrumented (unlike ``chunk_source``): for code that records results itself, such as
    a service whose workers hand their results to the process that owns the telemetry.

    ``start_ns`` is when the file's work began (before its read, for a file on disk).
    """
    start = now_ns() if start_ns is None else start_ns
    size = len(source)
    if size > options.max_file_bytes:
        return _skipped(path, "too_large", start, size=size)
    if not source:
        return _skipped(path, "empty", start)
    if b"\0" in source[:BINARY_SNIFF_BYTES]:
        return _skipped(path, "binary", start, size=size)
    if language is not None:
        name = canonical(language)
    elif options.language is not None:
        name = canonical(options.language)
    else:
        name = detect(path, source)
    if name is None:
        return _skipped(path, "unknown_language", start, size=size)
    lookup = None
    if options.cache is not None:
        from chunkscope.cache import lookup as cache_lookup

        lookup = cache_lookup(source, path, name, options, start)
        if lookup.hit is not None:
            return lookup.hit
    deadline = Deadline(options.file_timeout) if options.file_timeout > 0 else None
    parse_start = parse_end = extract_start = nodes = 0
    has_error = False
    try:
        parse_start = now_ns()
        tree = parse_as(source, name, deadline)
        parse_end = now_ns()
        root = tree.root_node
        has_error = root.has_error
        nodes = root.descendant_count
        extract_start = parse_end
        chunks = _extract(tree, source, path, options, deadline)
    except Exception as exc:  # a grammar or extractor bug must cost one file, not the run
        end = now_ns()
        timeout = isinstance(exc, FileTimeout)  # over --file-timeout: a counted reason
        return FileResult(
            path=path,
            outcome="error",
            language=name,
            size=size,
            reason=TIMEOUT if timeout else None,
            error=str(exc) if timeout else f"{type(exc).__name__}: {exc}",
            has_syntax_error=has_error,
            timings=StageTimes(
                start,
                end,
                parse_start,
                parse_end or end,
                extract_start,
                end if extract_start else 0,
                nodes,
                has_error,
            ),
        )
    end = now_ns()
    result = FileResult(
        path=path,
        outcome="chunked",
        language=name,
        size=size,
        chunks=tuple(chunks),
        has_syntax_error=has_error,
        timings=StageTimes(
            start, end, parse_start, parse_end, extract_start, end, nodes, has_error
        ),
    )
    return result if lookup is None else lookup.store(result, nodes)


def chunk_source(
    source: bytes, path: str, language: str | None = None, options: ChunkOptions | None = None
) -> FileResult:
    """Chunk bytes that are not on disk (a service request, an editor buffer)."""
    return chunk_bytes(source, path, language, options or DEFAULT_OPTIONS)


def _read(path: str, limit: int) -> bytes | str | int:
    """Read a regular file without ever blocking on a FIFO that appeared since the walk.

    Returns the bytes, or a skip reason (``str``), or the size of a file over ``limit``.
    """
    fd = os.open(path, _OPEN_FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return "not_regular"
        if st.st_size > limit:
            return st.st_size
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(limit + 1)
    finally:
        os.close(fd)


def read_entry(entry: Entry, options: ChunkOptions, start_ns: int) -> bytes | FileResult:
    """A walked file's bytes, or its final result when there is nothing to chunk (a walk
    error, a skip, an unreadable or oversized file). Shared with ``chunkscope.remote``,
    which sends the bytes elsewhere. Never raises."""
    if entry.error is not None:
        return _error(entry.rel, entry.error, start_ns)
    if entry.skip is not None:
        return _skipped(entry.rel, entry.skip, start_ns)
    try:
        data = _read(entry.path, options.max_file_bytes)
    except OSError as exc:
        return _error(entry.rel, os_error(exc), start_ns)
    if isinstance(data, str):
        return _skipped(entry.rel, data, start_ns)
    if isinstance(data, int):
        return _skipped(entry.rel, "too_large", start_ns, size=data)
    return data


def process_entry(entry: Entry, options: ChunkOptions) -> FileResult:
    """Everything that happens to one walked file; never raises."""
    start = now_ns()
    data = read_entry(entry, options, start)
    if isinstance(data, FileResult):
        return data
    return chunk_bytes(data, entry.rel, None, options, start)


def chunk_file(
    path: str | os.PathLike[str],
    options: ChunkOptions | None = None,
    root: str | os.PathLike[str] | None = None,
) -> FileResult:
    """Chunk one file; its ``path`` is reported relative to ``root`` (default: its folder)."""
    absolute = os.path.abspath(os.fspath(path))
    base = os.path.abspath(os.fspath(root)) if root is not None else os.path.dirname(absolute)
    rel = os.path.relpath(absolute, base).replace(os.sep, "/")
    return process_entry(entry_for(absolute, rel), options or DEFAULT_OPTIONS)


def in_worker_process() -> bool:
    """Whether this is a multiprocessing child (a ``--jobs`` worker, a service's pool worker).

    Why: only the parent records telemetry, so a child must not start any. Looked up in
    ``sys.modules``, not imported: a child has it already (its name is set before it imports
    anything of ours), a plain process does without it.
    """
    mp = sys.modules.get("multiprocessing")
    return mp is not None and mp.current_process().name != "MainProcess"


def _worker_batch(batch: list[Entry], options: ChunkOptions) -> list[FileResult]:
    results = [process_entry(entry, options) for entry in batch]
    if options.cache is not None:
        from chunkscope.cache import flush_all

        flush_all()
    return results


def _batches(entries: Iterable[Entry], size: int) -> Iterator[list[Entry]]:
    batch: list[Entry] = []
    for entry in entries:
        batch.append(entry)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _parallel(entries: Iterable[Entry], options: ChunkOptions, jobs: int) -> Iterator[FileResult]:
    """Chunk in worker processes, yielding in walk order with a bounded number in flight."""
    import multiprocessing  # here, not at the top: a one-job run does without 3 MB of modules
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    window = jobs * 4
    with held(SIGINT):
        pool = ProcessPoolExecutor(
            max_workers=jobs, mp_context=context, initializer=_leave_interrupts_to_parent
        )
    with pool:
        pending: deque[tuple[list[FileResult | None], Future[list[FileResult]] | None]] = deque()
        try:
            for batch in _batches(entries, _BATCH):
                known = _known(batch, options)
                todo = [entry for entry, result in zip(batch, known, strict=True) if result is None]
                future = None
                if todo:
                    with held(SIGINT):  # submit() may start a worker
                        future = pool.submit(_worker_batch, todo, options)
                pending.append((known, future))
                if len(pending) >= window:
                    yield from _merged(*pending.popleft())
            while pending:
                yield from _merged(*pending.popleft())
        finally:  # a consumer that stops early waits for the batches running, not the queue
            for _, future in pending:
                if future is not None:
                    future.cancel()


def _leave_interrupts_to_parent() -> None:
    """Workers ignore Ctrl-C: the parent decides to stop, between files, and closes its output."""
    ignore(SIGINT)


def _known(batch: list[Entry], options: ChunkOptions) -> list[FileResult | None]:
    """What the parent has without parsing: with a cache, its hits (and the skips met on the
    way), so an unchanged tree never starts a worker; None for each file a worker chunks."""
    if options.cache is None:
        return [None] * len(batch)
    from chunkscope.cache import probe

    return [probe(entry, options) for entry in batch]


def _merged(
    known: list[FileResult | None], future: Future[list[FileResult]] | None
) -> Iterator[FileResult]:
    chunked = iter(future.result() if future is not None else ())
    for result in known:
        yield result if result is not None else next(chunked)


Executor = Callable[[Iterable[Entry], ChunkOptions], Iterator[FileResult]]
"""Turns the walk's entries into one result each, in walk order (``RemoteChunker`` is one)."""


def chunk_paths(
    paths: Iterable[str | os.PathLike[str]],
    options: ChunkOptions | None = None,
    executor: Executor | None = None,
) -> Iterator[FileResult]:
    """Stream a ``FileResult`` for every file under ``paths``, in path order.

    A generator, so memory stays flat however large the tree; with ``options.jobs > 1``
    the files are chunked in that many worker processes and still come out in order. An
    ``executor`` (``chunkscope.remote.RemoteChunker``) chunks them somewhere else instead;
    the walk, the logs and the run's telemetry stay here.
    """
    options = options or DEFAULT_OPTIONS
    if options.cache is not None:
        from chunkscope import cache

        options = cache.prepare(options)
    given = [os.fspath(p) for p in paths]
    log = get_logger()
    root = str(run_root(given))
    log.info("run.started", paths=len(given), jobs=options.jobs)
    counts = {"chunked": 0, "skipped": 0, "error": 0}
    chunks = 0
    started = now_ns()
    entries = walk(given, options)
    if executor is not None:
        results: Iterator[FileResult] = executor(entries, options)
    elif options.jobs > 1:
        results = _parallel(entries, options, options.jobs)
    else:
        results = (process_entry(entry, options) for entry in entries)
    cache_failed = options.jobs == 1  # in-process, the cache says itself what went wrong
    for result in results:
        counts[result.outcome] += 1
        chunks += len(result.chunks)
        if result.outcome == "skipped":
            if result.reason in ROUTINE_SKIPS:
                log.debug("file.skipped", path=result.path, reason=result.reason)
            else:
                log.info("file.skipped", path=result.path, reason=result.reason)
        elif result.outcome == "error":
            log.warning("file.errored", path=result.path, error=result.error)
        else:
            log.debug(
                "file.chunked",
                path=result.path,
                language=result.language,
                size=result.size,
                chunks=len(result.chunks),
            )
        if result.cache == "error" and not cache_failed:
            cache_failed = True
            log.warning(
                "cache.worker_failed",
                path=options.cache,
                reason="the cache failed in a worker process; its files are chunked without it",
            )
        yield result
    if options.cache is not None:
        from chunkscope.cache import flush_all

        flush_all()
    log.info(
        "run.summary",
        files_chunked=counts["chunked"],
        files_skipped=counts["skipped"],
        files_errored=counts["error"],
        chunks=chunks,
        seconds=round((now_ns() - started) / 1e9, 3),
        root_name=os.path.basename(root),
    )
