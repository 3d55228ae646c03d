"""``chunkscope chunk PATH...``: chunk files and folders, one JSON object per chunk.

    $ chunkscope chunk src --output chunks.jsonl --report run.json
    $ chunkscope chunk src | jq -r '.kind + " " + (.name // "-")'

Output streams: each file's chunks are written as soon as the file is done, so memory
stays flat however large the tree (``--format table`` is the exception: it must see every
row before it can size its columns). stdout carries only data. stderr gets a progress bar
and a summary table when it is a terminal, the summary alone when ``--output`` names a
file, and nothing but warnings when both streams are piped. Exit status: 0 when every file
was chunked or skipped, 1 when some file errored, 2 for usage errors, 130 when interrupted.

Ctrl-C stops the run between two files: the output is closed as valid JSON (or JSON Lines)
and the report is written, marked ``"interrupted": true``. A second Ctrl-C stops at once.

This module parses the command line and runs; ``_output`` writes the chunks and the report,
``_progress`` draws the bar, ``chunkscope.encode`` turns chunks into JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import IO, Any

from chunkscope import pipeline
from chunkscope.cli._output import FORMATS, Writer, write_report
from chunkscope.cli._progress import Progress
from chunkscope.cli._types import seconds_or_off, whole_number
from chunkscope.languages import ALIASES, LANGUAGES, canonical
from chunkscope.logs import configure_console
from chunkscope.model import DEFAULT_OPTIONS, ChunkOptions, FileResult
from chunkscope.names import CACHE_ENV
from chunkscope.report import RunReport
from chunkscope.serve.limits import default_workers

EXIT_OK, EXIT_FILE_ERRORS, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 1, 2, 130, 141
REMOTE_JOBS_PER_URL = 4
"""Requests in flight per ``--remote`` URL unless ``--jobs`` says: enough for a replica's two
workers to always have the next request waiting."""


class UsageError(Exception):
    """A mistake in the command line, reported as one line with exit status 2."""


_positive = whole_number(1)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``chunk`` to the ``chunkscope`` command line."""
    p = sub.add_parser(
        "chunk",
        help="chunk files and folders into JSON Lines",
        description="Chunk source files into semantic units (functions, classes, ...).",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files and folders to chunk")
    p.add_argument("--format", choices=FORMATS, default="jsonl", help="output format (jsonl)")
    p.add_argument("-o", "--output", metavar="FILE", help="write chunks here instead of stdout")
    p.add_argument("--report", metavar="FILE", help="write a JSON run report here")
    p.add_argument(
        "--max-lines",
        type=_positive,
        default=DEFAULT_OPTIONS.max_lines,
        metavar="N",
        help=f"split chunks longer than N lines ({DEFAULT_OPTIONS.max_lines})",
    )
    p.add_argument(
        "--max-bytes",
        type=_positive,
        default=DEFAULT_OPTIONS.max_bytes,
        metavar="N",
        help=f"split chunks larger than N bytes ({DEFAULT_OPTIONS.max_bytes})",
    )
    p.add_argument(
        "--max-file-bytes",
        type=_positive,
        default=DEFAULT_OPTIONS.max_file_bytes,
        metavar="N",
        help=f"skip files larger than N bytes as too_large ({DEFAULT_OPTIONS.max_file_bytes})",
    )
    p.add_argument(
        "--language",
        metavar="L",
        help="parse every file as L (" + ", ".join(LANGUAGES) + ")",
    )
    p.add_argument(
        "-j",
        "--jobs",
        type=_positive,
        default=None,
        metavar="N",
        help="chunk in N worker processes, at most one per CPU; output order stays the same (1);"
        f" with --remote, N requests in flight ({REMOTE_JOBS_PER_URL} per URL)",
    )
    p.add_argument(
        "--file-timeout",
        type=seconds_or_off,
        default=DEFAULT_OPTIONS.file_timeout,
        metavar="S",
        help="a file still parsing or extracting after S seconds is an error with reason"
        f" timeout; 0 turns it off ({DEFAULT_OPTIONS.file_timeout:g})",
    )
    p.add_argument(
        "--remote",
        action="append",
        metavar="URL",
        help="chunk on this chunkscope serve replica (repeat for several, or give one Service "
        "URL); --jobs is then the number of requests in flight",
    )
    p.add_argument(
        "--remote-batch",
        type=_positive,
        default=32,
        metavar="N",
        help="files per request to the service; 1 gives one request and client span per file (32)",
    )
    p.add_argument(
        "--remote-oversize",
        choices=("local", "error"),
        default="local",
        help="a file the service cannot take: chunk it here (local) or report an error (local)",
    )
    p.add_argument(
        "--follow-symlinks", action="store_true", help="follow symbolic links (loops are caught)"
    )
    p.add_argument("--no-gitignore", action="store_true", help="do not honour .gitignore files")
    add_cache_arguments(p)
    p.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar and no summary on stderr"
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log more on stderr: -v info (skips that lost content), -vv debug (every file)",
    )
    p.set_defaults(func=run)


def add_cache_arguments(p: argparse.ArgumentParser) -> None:
    """``--cache`` and ``--cache-max-bytes``, shared by ``chunk`` and ``serve``."""
    p.add_argument(
        "--cache",
        metavar="PATH",
        default=os.environ.get(CACHE_ENV) or None,
        help=f"chunk cache file: unchanged files are not parsed again (${CACHE_ENV}; none)",
    )
    p.add_argument(
        "--cache-max-bytes",
        type=_positive,
        default=DEFAULT_OPTIONS.cache_max_bytes,
        metavar="N",
        help="evict least recently used cache entries past N bytes "
        f"({DEFAULT_OPTIONS.cache_max_bytes})",
    )


def cache_path(value: str | None) -> str | None:
    """``--cache`` checked like ``--output``: its folder must exist."""
    if value is None:
        return None
    folder = os.path.dirname(os.path.abspath(value))
    if not os.path.isdir(folder):
        raise UsageError(f"--cache {value}: folder {folder} does not exist")
    if os.path.isdir(value):
        raise UsageError(f"--cache {value}: is a directory")
    return value


def _options(args: argparse.Namespace) -> ChunkOptions:
    language = None
    if args.language is not None:
        language = canonical(args.language)
        if language is None:
            known = ", ".join([*LANGUAGES, *ALIASES])
            raise UsageError(f"unknown --language {args.language!r} (known: {known})")
    missing = [p for p in args.paths if not os.path.lexists(p)]
    if missing:
        raise UsageError(f"no such file or directory: {missing[0]}")
    for flag, target in (("--output", args.output), ("--report", args.report)):
        if target is not None:
            folder = os.path.dirname(os.path.abspath(target))
            if not os.path.isdir(folder):
                raise UsageError(f"{flag} {target}: folder {folder} does not exist")
            if os.path.isdir(target):
                raise UsageError(f"{flag} {target}: is a directory")
    return ChunkOptions(
        max_lines=args.max_lines,
        max_bytes=args.max_bytes,
        max_file_bytes=args.max_file_bytes,
        language=language,
        jobs=_jobs(args.jobs, args.remote),
        follow_symlinks=args.follow_symlinks,
        respect_gitignore=not args.no_gitignore,
        cache=cache_path(args.cache),
        cache_max_bytes=args.cache_max_bytes,
        file_timeout=args.file_timeout,
    )


def _jobs(asked: int | None, remote: list[str] | None) -> int:
    """``--jobs``: at most one worker per CPU, since more only add processes and memory;
    with ``--remote``, requests in flight, which the CPUs here do not bound."""
    if remote:
        return asked or REMOTE_JOBS_PER_URL * len(remote)
    cpus = default_workers()
    if asked is None or asked <= cpus:
        return asked or 1
    print(
        f"chunkscope chunk: warning: --jobs {asked} is more than the {cpus} CPUs here;"
        f" using {cpus}",
        file=sys.stderr,
    )
    return cpus


def _open_sink(output: str | None) -> tuple[IO[bytes], bool]:
    if output is None:
        return sys.stdout.buffer, False
    try:
        return open(output, "wb", buffering=1 << 16), True
    except OSError as exc:
        raise UsageError(f"--output {output}: {exc.strerror or exc}") from None


def _open_report(path: str | None) -> IO[bytes] | None:
    """Open ``--report`` before the run, so a place that cannot be written is a usage error
    at once rather than news after the whole run."""
    if path is None:
        return None
    try:
        return open(path, "wb")
    except OSError as exc:
        raise UsageError(f"--report {path}: {exc.strerror or exc}") from None


class _Interrupt:
    """The first Ctrl-C asks the run to stop after the file at hand; the second stops it now.

    Stopping between files lets the writer close the JSON array and the report be written.
    Only the main thread can install a signal handler; elsewhere Ctrl-C keeps its default.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("chunkscope chunk: interrupted; stopping after this file", file=sys.stderr)

    def __enter__(self) -> _Interrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _remote(urls: list[str] | None, batch: int, oversize: str) -> pipeline.Executor | None:
    """The ``--remote`` executor, or None for a local run."""
    if not urls:
        return None
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise UsageError(f"--remote {url}: expected an http:// or https:// URL")
    from chunkscope.remote import RemoteChunker

    return RemoteChunker(urls, batch=batch, oversize="error" if oversize == "error" else "local")


def _results(
    paths: list[str],
    options: ChunkOptions,
    on_result: Callable[[FileResult], None],
    executor: pipeline.Executor | None = None,
) -> Iterator[FileResult]:
    for result in pipeline.chunk_paths(paths, options, executor):  # wrapped when instrumented
        on_result(result)
        yield result


def _log_level(verbose: int) -> int:
    return {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)


def run(args: argparse.Namespace) -> int:
    """Chunk ``args.paths``; the exit status says whether every file was accounted for cleanly."""
    try:
        options = _options(args)
        executor = _remote(args.remote, args.remote_batch, args.remote_oversize)
        report_file = _open_report(args.report)
    except UsageError as exc:
        print(f"chunkscope chunk: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    handler = configure_console(level=_log_level(args.verbose))
    log_stream = handler.stream
    interactive = sys.stderr.isatty() and not args.quiet
    show_summary = not args.quiet and (sys.stderr.isatty() or args.output is not None)
    if options.cache is not None:
        from chunkscope.cache import prepare

        options = prepare(options)  # one warning and no cache when the file cannot serve
    report = RunReport(cache=args.cache)
    try:
        sink, owned = _open_sink(args.output)
    except UsageError as exc:
        print(f"chunkscope chunk: error: {exc}", file=sys.stderr)
        if report_file is not None:
            report_file.close()
        return EXIT_USAGE
    progress = Progress(args.paths, options) if interactive else None
    on_result: Callable[[FileResult], None] = report.add
    if progress is not None:

        def on_result(result: FileResult) -> None:
            report.add(result)
            progress.advance(result)

    output_error: int | None = None
    interrupt = _Interrupt()
    try:
        with interrupt, progress or contextlib.nullcontext(), Writer(sink, args.format) as writer:
            if progress is not None:
                handler.setStream(sys.stderr)  # rich's proxy: log lines print above the bar
            results = _results(args.paths, options, on_result, executor)
            try:
                for result in results:
                    writer.write(result.chunks)
                    if interrupt.requested:
                        break
            finally:
                results.close()  # stops the walk and any worker processes now
        sink.flush()
        if owned:
            sink.close()
    except BrokenPipeError:
        _silence_stdout()
        output_error = EXIT_BROKEN_PIPE
    except OSError as exc:  # disk full, output on a vanished mount: one line, not a traceback
        print(f"chunkscope chunk: cannot write output: {exc}", file=sys.stderr)
        output_error = EXIT_FILE_ERRORS
    except KeyboardInterrupt:  # the second Ctrl-C: the output may end mid-chunk, the report not
        interrupt.requested = True
    finally:
        handler.setStream(log_stream)
        if owned and not sink.closed:
            with contextlib.suppress(OSError):
                sink.close()
    data = report.finish()
    if output_error is not None:
        status = output_error
    elif interrupt.requested:
        status = EXIT_INTERRUPTED
    else:
        status = EXIT_FILE_ERRORS if report.counts["error"] else EXIT_OK
    if report_file is not None:
        try:
            with report_file:
                write_report(report_file, data, options, args, interrupted=interrupt.requested)
        except OSError as exc:
            print(f"chunkscope chunk: cannot write --report {args.report}: {exc}", file=sys.stderr)
            if status == EXIT_OK:
                status = EXIT_FILE_ERRORS
    if show_summary and output_error is None:
        from rich.console import Console

        Console(stderr=True).print(report.summary_table())
    return status


def _silence_stdout() -> None:
    """After the reader of a pipe went away, let interpreter shutdown flush into nothing."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)
