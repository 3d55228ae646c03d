"""``chunkscope serve``: run the chunking service (see ``chunkscope.serve``).

    $ chunkscope serve --port 8080 --workers 2 --max-queue 8 --timeout 30
    $ CHUNKSCOPE_OTEL=1 chunkscope serve    # traces, metrics and GET /metrics

Loopback by default; ``--host 0.0.0.0`` is an explicit choice. Stops cleanly on SIGTERM:
no new connections, in-flight requests finish (up to ``--shutdown-grace`` seconds, then
they are answered 503 and busy workers are terminated), telemetry is flushed within its
own deadline, exit status 0.
"""

from __future__ import annotations

import argparse
import sys

from chunkscope.cli._types import positive_float, seconds_or_off, whole_number
from chunkscope.cli.chunk import UsageError, add_cache_arguments, cache_path
from chunkscope.logs import configure_console
from chunkscope.serve.limits import RESPONSE_FACTOR, Limits

_D = Limits()


_nonnegative = whole_number(0)
_positive = whole_number(1)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve`` to the ``chunkscope`` command line."""
    p = sub.add_parser(
        "serve",
        help="run the chunking HTTP service",
        description="Serve POST /v1/chunk, /v1/chunk/batch, GET /healthz, /readyz, /metrics.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port to bind (8080)")
    p.add_argument(
        "--workers",
        type=_nonnegative,
        default=0,
        metavar="N",
        help="chunking worker processes (0 = one per core)",
    )
    p.add_argument(
        "--threads",
        action="store_true",
        help="chunk in worker threads of the server process instead of processes",
    )
    p.add_argument(
        "--max-queue",
        type=_nonnegative,
        default=0,
        metavar="N",
        help="admitted requests that may wait for a worker; more get 429 (0 = 2 x workers)",
    )
    p.add_argument(
        "--max-body-bytes",
        type=_nonnegative,
        default=_D.max_body_bytes,
        metavar="N",
        help=f"larger request bodies get 413 ({_D.max_body_bytes})",
    )
    p.add_argument(
        "--max-file-bytes",
        type=_nonnegative,
        default=_D.max_file_bytes,
        metavar="N",
        help=f"larger files are skipped as too_large, as in the CLI ({_D.max_file_bytes})",
    )
    p.add_argument(
        "--max-batch-files",
        type=_nonnegative,
        default=_D.max_batch_files,
        metavar="N",
        help=f"files per batch request ({_D.max_batch_files})",
    )
    p.add_argument(
        "--max-response-bytes",
        type=_nonnegative,
        default=0,
        metavar="N",
        help="larger replies are refused with 413 response_too_large "
        f"(0 = {RESPONSE_FACTOR} x --max-body-bytes)",
    )
    p.add_argument(
        "--body-timeout",
        type=positive_float,
        default=_D.body_timeout_seconds,
        metavar="S",
        help="the whole request body must arrive within S seconds, else 408 "
        f"({_D.body_timeout_seconds:g})",
    )
    p.add_argument(
        "--header-timeout",
        type=positive_float,
        default=_D.header_timeout_seconds,
        metavar="S",
        help="request line and headers must arrive within S seconds, else 408 and close "
        f"({_D.header_timeout_seconds:g})",
    )
    p.add_argument(
        "--keep-alive",
        type=_positive,
        default=_D.keep_alive_seconds,
        metavar="S",
        help=f"close idle kept-alive connections after S seconds ({_D.keep_alive_seconds})",
    )
    p.add_argument(
        "--limit-concurrency",
        type=_nonnegative,
        default=0,
        metavar="N",
        help="open connections at once; more get 503 and are closed "
        "(0 = half the file-descriptor limit)",
    )
    p.add_argument(
        "--file-timeout",
        type=seconds_or_off,
        default=_D.file_timeout_seconds,
        metavar="S",
        help="a file still parsing or extracting after S seconds is an error with reason"
        f" timeout; 0 leaves only --timeout ({_D.file_timeout_seconds:g})",
    )
    p.add_argument(
        "--timeout",
        type=positive_float,
        default=_D.request_timeout_seconds,
        metavar="S",
        help=f"per-request timeout; later answers are 504 ({_D.request_timeout_seconds:g})",
    )
    p.add_argument(
        "--retry-after",
        type=_nonnegative,
        default=_D.retry_after_seconds,
        metavar="S",
        help=f"Retry-After seconds sent with 429 ({_D.retry_after_seconds})",
    )
    p.add_argument(
        "--shutdown-grace",
        type=positive_float,
        default=_D.shutdown_grace_seconds,
        metavar="S",
        help="seconds SIGTERM waits for in-flight requests before answering them 503 "
        f"({_D.shutdown_grace_seconds:g}); the telemetry flush deadline comes on top",
    )
    add_cache_arguments(p)
    p.add_argument("--log-level", default="warning", help="uvicorn log level (warning)")
    p.add_argument("--access-log", action="store_true", help="log every request (uvicorn)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from chunkscope.serve.server import run as serve

    try:
        cache = cache_path(args.cache)
    except UsageError as exc:
        print(f"chunkscope serve: error: {exc}", file=sys.stderr)
        return 2
    configure_console()
    limits = Limits(
        workers=args.workers,
        max_queue=args.max_queue,
        max_body_bytes=args.max_body_bytes,
        max_file_bytes=args.max_file_bytes,
        max_batch_files=args.max_batch_files,
        max_response_bytes=args.max_response_bytes,
        body_timeout_seconds=args.body_timeout,
        header_timeout_seconds=args.header_timeout,
        keep_alive_seconds=args.keep_alive,
        limit_concurrency=args.limit_concurrency,
        request_timeout_seconds=args.timeout,
        file_timeout_seconds=args.file_timeout,
        retry_after_seconds=args.retry_after,
        shutdown_grace_seconds=args.shutdown_grace,
    )
    serve(
        args.host,
        args.port,
        limits,
        threads=args.threads,
        log_level=args.log_level,
        access_log=args.access_log,
        cache=cache,
        cache_max_bytes=args.cache_max_bytes,
    )
    return 0
