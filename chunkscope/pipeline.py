"""The pipeline: walk, read, parse, extract, one file at a time, every file accounted for.

``parse`` and ``extract`` are called through their modules (``parser.parse``,
``extractor.extract``) and the per-file work goes through ``process_entry`` and
``chunk_source``, so instrumentation that wraps those attributes sees every call,
in this process and in ``--jobs`` workers alike.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any

from chunkscope import extractor, parser
from chunkscope.languages import canonical, detect
from chunkscope.logs import get_logger
from chunkscope.model import ChunkOptions, FileResult
from chunkscope.walker import Entry, entry_for, os_error, run_root, walk

DEFAULT_OPTIONS = ChunkOptions()
BINARY_SNIFF_BYTES = 8192
_BATCH = 32
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)


def _skipped(path: str, reason: str, language: str | None = None, size: int = 0) -> FileResult:
    return FileResult(path=path, outcome="skipped", language=language, size=size, reason=reason)


def _chunk_bytes(
    source: bytes, path: str, language: str | None, options: ChunkOptions
) -> FileResult:
    """Decide skip or chunk for bytes already in memory; the shared core of every entry point."""
    started = time.perf_counter()
    size = len(source)
    if size > options.max_file_bytes:
        return _skipped(path, "too_large", size=size)
    if not source:
        return _skipped(path, "empty")
    if b"\0" in source[:BINARY_SNIFF_BYTES]:
        return _skipped(path, "binary", size=size)
    if language is not None:
        name = canonical(language)
    elif options.language is not None:
        name = canonical(options.language)
    else:
        name = detect(path, source[:256])
    if name is None:
        return _skipped(path, "unknown_language", size=size)
    try:
        tree = parser.parse(source, name)
        chunks = extractor.extract(tree, source, path, options)
    except Exception as exc:  # a grammar or extractor bug must cost one file, not the run
        return FileResult(
            path=path,
            outcome="error",
            language=name,
            size=size,
            error=f"{type(exc).__name__}: {exc}",
            seconds=time.perf_counter() - started,
        )
    return FileResult(
        path=path,
        outcome="chunked",
        language=name,
        size=size,
        chunks=tuple(chunks),
        has_syntax_error=tree.root_node.has_error,
        seconds=time.perf_counter() - started,
    )


def chunk_source(
    source: bytes, path: str, language: str | None = None, options: ChunkOptions | None = None
) -> FileResult:
    """Chunk bytes that are not on disk (a service request, an editor buffer)."""
    return _chunk_bytes(source, path, language, options or DEFAULT_OPTIONS)


def _read(path: str, limit: int) -> bytes | FileResult:
    """Read a regular file without ever blocking on a FIFO that appeared since the walk."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return _skipped(path, "not_regular")
        if st.st_size > limit:
            return _skipped(path, "too_large", size=st.st_size)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(limit + 1)
    finally:
        os.close(fd)


def process_entry(entry: Entry, options: ChunkOptions) -> FileResult:
    """Everything that happens to one walked file; never raises."""
    if entry.error is not None:
        return FileResult(path=entry.rel, outcome="error", error=entry.error)
    if entry.skip is not None:
        return _skipped(entry.rel, entry.skip)
    started = time.perf_counter()
    try:
        data = _read(entry.path, options.max_file_bytes)
    except OSError as exc:
        return FileResult(path=entry.rel, outcome="error", error=os_error(exc))
    if isinstance(data, FileResult):
        return FileResult(path=entry.rel, outcome=data.outcome, size=data.size, reason=data.reason)
    result = _chunk_bytes(data, entry.rel, None, options)
    return _with_seconds(result, time.perf_counter() - started)


def _with_seconds(result: FileResult, seconds: float) -> FileResult:
    """Count the read in a file's time; a skip took no chunking time worth reporting."""
    return result if result.outcome == "skipped" else replace(result, seconds=seconds)


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


def _carrier() -> dict[str, str] | None:
    """Context to hand to worker processes; the instrumentation fills it in."""
    return None


def _attached(carrier: dict[str, str] | None) -> AbstractContextManager[Any]:
    """Re-enter the parent's context in a worker; the instrumentation fills it in."""
    return contextlib.nullcontext()


def _worker_batch(
    batch: list[Entry], options: ChunkOptions, carrier: dict[str, str] | None
) -> list[FileResult]:
    from chunkscope import pipeline  # look the hooks up late: they may be wrapped

    with pipeline._attached(carrier):
        return [pipeline.process_entry(entry, options) for entry in batch]


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
    from concurrent.futures import Future, ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    carrier = _carrier()
    window = jobs * 4
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        pending: deque[Future[list[FileResult]]] = deque()
        for batch in _batches(entries, _BATCH):
            pending.append(pool.submit(_worker_batch, batch, options, carrier))
            if len(pending) >= window:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


def chunk_paths(
    paths: Iterable[str | os.PathLike[str]], options: ChunkOptions | None = None
) -> Iterator[FileResult]:
    """Stream a ``FileResult`` for every file under ``paths``, in path order.

    A generator, so memory stays flat however large the tree; with ``options.jobs > 1``
    the files are chunked in that many worker processes and still come out in order.
    """
    options = options or DEFAULT_OPTIONS
    given = [os.fspath(p) for p in paths]
    log = get_logger()
    root = str(run_root(given))
    log.info("run.started", paths=len(given), jobs=options.jobs)
    counts = {"chunked": 0, "skipped": 0, "error": 0}
    chunks = 0
    started = time.perf_counter()
    entries = walk(given, options)
    if options.jobs > 1:
        results: Iterator[FileResult] = _parallel(entries, options, options.jobs)
    else:
        results = (process_entry(entry, options) for entry in entries)
    for result in results:
        counts[result.outcome] += 1
        chunks += len(result.chunks)
        if result.outcome == "skipped":
            log.info("file.skipped", path=result.path, reason=result.reason)
        elif result.outcome == "error":
            log.warning("file.errored", path=result.path, error=result.error)
        yield result
    log.info(
        "run.summary",
        files_chunked=counts["chunked"],
        files_skipped=counts["skipped"],
        files_errored=counts["error"],
        chunks=chunks,
        seconds=round(time.perf_counter() - started, 3),
        root_name=os.path.basename(root),
    )
