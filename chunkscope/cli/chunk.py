"""``chunkscope chunk PATH...``: chunk files and folders, one JSON object per chunk.

    $ chunkscope chunk src --output chunks.jsonl --report run.json
    $ chunkscope chunk src | jq -r '.kind + " " + (.name // "-")'

Output streams: each file's chunks are written as soon as the file is done, so memory
stays flat however large the tree (``--format table`` is the exception: it must see every
row before it can size its columns). stdout carries only data. stderr gets a progress bar
and a summary table when it is a terminal, the summary alone when ``--output`` names a
file, and nothing but warnings when both streams are piped. Exit status: 0 when every file
was chunked or skipped, 1 when some file errored, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import IO, Any

import orjson

from chunkscope import pipeline
from chunkscope.cli._types import whole_number
from chunkscope.encode import chunk_dict
from chunkscope.languages import ALIASES, LANGUAGES, canonical
from chunkscope.logs import configure_console
from chunkscope.model import DEFAULT_OPTIONS, Chunk, ChunkOptions, FileResult
from chunkscope.names import CACHE_ENV
from chunkscope.report import RunReport

FORMATS = ("jsonl", "json", "table")
EXIT_OK, EXIT_FILE_ERRORS, EXIT_USAGE, EXIT_BROKEN_PIPE = 0, 1, 2, 141
_DEFAULTS = DEFAULT_OPTIONS
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
        default=_DEFAULTS.max_lines,
        metavar="N",
        help=f"split chunks longer than N lines ({_DEFAULTS.max_lines})",
    )
    p.add_argument(
        "--max-bytes",
        type=_positive,
        default=_DEFAULTS.max_bytes,
        metavar="N",
        help=f"split chunks larger than N bytes ({_DEFAULTS.max_bytes})",
    )
    p.add_argument(
        "--max-file-bytes",
        type=_positive,
        default=_DEFAULTS.max_file_bytes,
        metavar="N",
        help=f"skip files larger than N bytes as too_large ({_DEFAULTS.max_file_bytes})",
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
        help="chunk in N worker processes; output order stays the same (1); with --remote, "
        f"N requests in flight ({REMOTE_JOBS_PER_URL} per URL)",
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
        help="log more on stderr: -v info (every skip), -vv debug",
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
        default=_DEFAULTS.cache_max_bytes,
        metavar="N",
        help=f"evict least recently used cache entries past N bytes ({_DEFAULTS.cache_max_bytes})",
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
        jobs=args.jobs or (REMOTE_JOBS_PER_URL * len(args.remote) if args.remote else 1),
        follow_symlinks=args.follow_symlinks,
        respect_gitignore=not args.no_gitignore,
        cache=cache_path(args.cache),
        cache_max_bytes=args.cache_max_bytes,
    )


def chunk_json(chunk: Chunk, *, ascii: bool = False) -> str:
    """One chunk as compact JSON in ``CHUNK_FIELDS`` order, as orjson writes it."""
    return json.dumps(
        chunk_dict(chunk),
        ensure_ascii=ascii,
        separators=(",", ":"),
    )


def encode_chunks(chunks: tuple[Chunk, ...], lead: str, sep: str, tail: str) -> bytes:
    """A file's chunks as compact UTF-8 JSON objects joined by ``sep``.

    orjson encodes the dataclasses in field order about four times faster than ``json``;
    the JSON writer is the CLI's biggest cost after chunking itself. orjson refuses lone
    surrogates, which only a path with undecodable bytes holds: those files go through
    ``json`` and ``utf8`` below.
    """
    try:
        body = sep.encode().join(map(orjson.dumps, chunks))
    except orjson.JSONEncodeError:

        def encoded(ascii: bool) -> str:
            return lead + sep.join(chunk_json(c, ascii=ascii) for c in chunks) + tail

        return utf8(encoded(False), lambda: encoded(True))
    return lead.encode() + body + tail.encode()


def utf8(text: str, fallback: Callable[[], str]) -> bytes:
    """``text`` as UTF-8, or ``fallback()`` (ASCII-escaped JSON) when it cannot be encoded.

    Chunk text is already decoded with replacement; only a path holding undecodable bytes
    (lone surrogates in Python) fails here, and its ``\\udcXX`` escapes round-trip through
    ``json.loads`` and ``os.fsencode`` to the name on disk.
    """
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return fallback().encode("ascii")


class _Writer:
    """Streams chunks to a binary sink in one of the output formats."""

    def __init__(self, sink: IO[bytes], fmt: str) -> None:
        self.sink = sink
        self.fmt = fmt
        self.count = 0
        self.rows: list[tuple[str, ...]] = []

    def __enter__(self) -> _Writer:
        if self.fmt == "json":
            self.sink.write(b"[")
        return self

    def write(self, chunks: tuple[Chunk, ...]) -> None:
        if self.fmt == "table":
            self.rows.extend(_row(c) for c in chunks)
        elif chunks:
            if self.fmt == "jsonl":
                lead, sep, tail = "", "\n", "\n"
            else:
                lead, sep, tail = ("\n" if self.count == 0 else ",\n"), ",\n", ""

            self.sink.write(encode_chunks(chunks, lead, sep, tail))
        self.count += len(chunks)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is not None:
            return
        if self.fmt == "json":
            self.sink.write(b"\n]\n")
        elif self.fmt == "table":
            self.sink.write(_render_table(self.rows).encode("utf-8"))


def _row(chunk: Chunk) -> tuple[str, ...]:
    name = chunk.name or ""
    if chunk.parent:
        name = f"{chunk.parent}.{name}"
    part = f"{chunk.part}/{chunk.parts}" if chunk.parts > 1 else ""
    return (
        chunk.path,
        f"{chunk.start_line}-{chunk.end_line}",
        chunk.kind,
        name,
        part,
        str(chunk.end_byte - chunk.start_byte),
    )


def _render_table(rows: list[tuple[str, ...]]) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_edge=False, box=None, pad_edge=False)
    for title in ("path", "lines", "kind", "name", "part"):
        table.add_column(title, overflow="fold")
    table.add_column("bytes", justify="right")
    for row in rows:
        table.add_row(*row)
    console = Console(width=200, color_system=None, force_terminal=False, soft_wrap=False)
    with console.capture() as capture:
        console.print(table)
    return capture.get()


def _open_sink(output: str | None) -> tuple[IO[bytes], bool]:
    if output is None:
        return sys.stdout.buffer, False
    try:
        return open(output, "wb", buffering=1 << 16), True
    except OSError as exc:
        raise UsageError(f"--output {output}: {exc.strerror or exc}") from None


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


class _Progress:
    """A rich progress bar on stderr; the byte total comes from a background pre-walk.

    The run starts at once with a spinner and a running count; when the pre-walk has
    summed the sizes of the files to read, the bar gains a total, hence MB/s and an ETA.
    """

    def __init__(self, paths: list[str], options: ChunkOptions) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.console = Console(stderr=True)
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.fields[files]} files"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.task = self.progress.add_task("chunk", total=None, files=0)
        self.files = 0
        self._stop = threading.Event()
        self._counter = threading.Thread(
            target=self._count, args=(paths, options), name="chunkscope-precount", daemon=True
        )

    def _count(self, paths: list[str], options: ChunkOptions) -> None:
        from chunkscope.walker import walk

        total = 0
        try:
            for entry in walk(paths, options):
                if self._stop.is_set():
                    return
                if entry.skip is None and entry.error is None:
                    with contextlib.suppress(OSError):
                        total += os.stat(entry.path).st_size
        except OSError:
            return
        self.progress.update(self.task, total=total)

    def __enter__(self) -> _Progress:
        self.progress.start()
        self._counter.start()
        return self

    def advance(self, result: FileResult) -> None:
        self.files += 1
        self.progress.update(self.task, advance=result.size, files=self.files)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.progress.stop()


def _log_level(verbose: int) -> int:
    return {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)


def run(args: argparse.Namespace) -> int:
    """Chunk ``args.paths``; the exit status says whether every file was accounted for cleanly."""
    try:
        options = _options(args)
        executor = _remote(args.remote, args.remote_batch, args.remote_oversize)
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
        return EXIT_USAGE
    progress = _Progress(args.paths, options) if interactive else None
    on_result: Callable[[FileResult], None] = report.add
    if progress is not None:

        def on_result(result: FileResult) -> None:
            report.add(result)
            progress.advance(result)

    try:
        with progress or contextlib.nullcontext(), _Writer(sink, args.format) as writer:
            if progress is not None:
                handler.setStream(sys.stderr)  # rich's proxy: log lines print above the bar
            for result in _results(args.paths, options, on_result, executor):
                writer.write(result.chunks)
        sink.flush()
        if owned:
            sink.close()
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:  # disk full, output on a vanished mount: one line, not a traceback
        print(f"chunkscope chunk: cannot write output: {exc}", file=sys.stderr)
        return EXIT_FILE_ERRORS
    finally:
        handler.setStream(log_stream)
        if owned and not sink.closed:
            with contextlib.suppress(OSError):
                sink.close()
    data = report.finish()
    status = EXIT_FILE_ERRORS if report.counts["error"] else EXIT_OK
    if args.report is not None:
        try:
            _write_report(args.report, data, options, args)
        except OSError as exc:
            print(f"chunkscope chunk: cannot write --report {args.report}: {exc}", file=sys.stderr)
            status = EXIT_FILE_ERRORS
    if show_summary:
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


def _write_report(
    path: str, data: dict[str, Any], options: ChunkOptions, args: argparse.Namespace
) -> None:
    document = {
        **data,
        "paths": list(args.paths),
        "format": args.format,
        "output": args.output,
        "options": {
            "max_lines": options.max_lines,
            "max_bytes": options.max_bytes,
            "max_file_bytes": options.max_file_bytes,
            "language": options.language,
            "jobs": options.jobs,
            "follow_symlinks": options.follow_symlinks,
            "respect_gitignore": options.respect_gitignore,
            "remote": list(args.remote or []),
            "cache": args.cache,
            "cache_max_bytes": options.cache_max_bytes,
        },
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    with open(path, "wb") as fh:
        fh.write(utf8(text, lambda: json.dumps(document, indent=2) + "\n"))
