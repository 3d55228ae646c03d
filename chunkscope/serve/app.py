"""The ASGI app: routes, error bodies and the lifespan that starts and drains the pool.

    from chunkscope.serve import create_app
    app = create_app()            # uvicorn chunkscope.serve.app:create_app --factory

Routes: ``POST /v1/chunk``, ``POST /v1/chunk/batch``, ``GET /healthz``, ``GET /readyz``,
``GET /metrics``. Every refusal is a JSON body ``{"error": {"code", "message"}}``; the
order of checks makes refusals cheap: a declared oversize body (413) and a full house
(429) are answered before the body is read, and a request is admitted (takes a slot) only
once its body has arrived whole (``intake``), so a slow client never holds a worker.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from chunkscope import __version__
from chunkscope.languages import LANGUAGES
from chunkscope.logs import get_logger
from chunkscope.model import DEFAULT_CACHE_MAX_BYTES, ChunkOptions
from chunkscope.serve import http_telemetry, prometheus_endpoint, telemetry
from chunkscope.serve.intake import Intake
from chunkscope.serve.limits import Limits
from chunkscope.serve.pool import ChunkPool, ShuttingDown, WorkerLost
from chunkscope.serve.schema import (
    MIN_MAX_BYTES,
    MIN_MAX_LINES,
    ApiError,
    FileRequest,
    ReplyTooLarge,
    parse_batch,
    parse_single,
)

JSON = "application/json"
REPLY_MARGIN_SECONDS = 1.0
"""How long past ``--timeout`` the app waits for a worker's answer before its 504."""


def _declared_too_large(request: Request, limit: int) -> bool:
    length = request.headers.get("content-length", "")
    return length.isdigit() and int(length) > limit


def _error_response(exc: ApiError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


async def _api_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error_response(exc)


async def _http_error(_: Request, exc: Exception) -> Response:
    """Starlette's own refusals (404, 405) in the same JSON shape as ours."""
    assert isinstance(exc, StarletteHTTPException)
    code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_")
    return JSONResponse(
        {"error": {"code": code, "message": str(exc.detail)}},
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _internal_error(_: Request, exc: Exception) -> Response:
    get_logger().error("serve.internal_error", error=type(exc).__name__)
    return JSONResponse(
        {"error": {"code": "internal", "message": "internal error"}}, status_code=500
    )


def _overloaded(limits: Limits) -> ApiError:
    return ApiError(
        429,
        "overloaded",
        f"{limits.capacity} requests already admitted; retry later",
        headers={"Retry-After": str(limits.retry_after_seconds)},
    )


async def _chunk(request: Request, *, batch: bool) -> Response:
    """Shared path of both chunk routes: size check, body, admission, parse, run, respond."""
    state = request.app.state
    limits: Limits = state.limits
    pool: ChunkPool = state.pool
    intake: Intake = state.intake
    if _declared_too_large(request, limits.max_body_bytes):
        raise ApiError(
            413,
            "body_too_large",
            f"request body exceeds {limits.max_body_bytes} bytes",
        )
    if pool.full():
        raise _overloaded(limits)
    body = await intake.read(request)
    try:
        return await _admitted(request, body, batch=batch)
    finally:
        intake.release(len(body))


async def _admitted(request: Request, body: bytes, *, batch: bool) -> Response:
    """A request whose body has arrived whole: admission, parse, run, respond."""
    state = request.app.state
    limits: Limits = state.limits
    pool: ChunkPool = state.pool
    ticket = pool.admit()
    if ticket is None:
        raise _overloaded(limits)
    with ticket:
        try:
            # the worker stops at the request's budget; 504 only if its answer never comes
            async with asyncio.timeout(limits.request_timeout_seconds + REPLY_MARGIN_SECONDS):
                files: list[FileRequest]
                if batch:
                    files, options = parse_batch(body, limits.max_batch_files, state.options)
                else:
                    file, options = parse_single(
                        body,
                        request.headers.get("content-type", ""),
                        dict(request.query_params),
                        state.options,
                    )
                    files = [file]
                ends = time.monotonic() + limits.request_timeout_seconds
                done = await pool.run(ticket, files, options, state.telemetry_on, ends)
        except TimeoutError:
            raise ApiError(
                504,
                "timeout",
                f"not finished within {limits.request_timeout_seconds:g} s",
            ) from None
        except WorkerLost as exc:
            raise ApiError(
                503,
                "worker_lost",
                str(exc),
                headers={"Retry-After": str(limits.retry_after_seconds)},
            ) from None
        except ShuttingDown:
            raise ApiError(
                503,
                "shutting_down",
                f"the service is stopping and the shutdown grace "
                f"({limits.shutdown_grace_seconds:g} s) ran out before this request finished",
                headers={"Connection": "close"},
            ) from None
        except ReplyTooLarge as exc:
            raise exc.api_error() from None
    measured = [result for _, result in done if result is not None]
    if measured:
        telemetry.record(measured)
    parts = [encoded for encoded, _ in done]
    content = b'{"results":[' + b",".join(parts) + b"]}" if batch else parts[0]
    return Response(content=content, media_type=JSON)


def create_app(
    limits: Limits | None = None,
    *,
    threads: bool = False,
    telemetry_on: bool | None = None,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    cache: str | None = None,
    cache_max_bytes: int = DEFAULT_CACHE_MAX_BYTES,
) -> FastAPI:
    """Build the service.

    ``threads=True`` runs chunking in worker threads of this process instead of worker
    processes (tests with in-memory exporters, or a single-core box). ``telemetry_on``
    defaults to ``CHUNKSCOPE_OTEL``; the providers default to the global ones. ``cache`` is
    a chunk cache path the workers share (``chunkscope.cache``).
    """
    resolved = (limits or Limits()).resolved()
    enabled = telemetry.enabled() if telemetry_on is None else telemetry_on
    # The reader goes on before any instrument records: a reader added later misses them.
    reader = prometheus_endpoint.attach_prometheus(meter_provider) if enabled else None
    metrics = telemetry.pool_metrics(meter_provider) if enabled else None
    pool = ChunkPool(resolved, threads=threads, metrics=metrics)
    log = get_logger()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if cache is not None:
            from chunkscope.cache import prepare

            app.state.options = prepare(app.state.options)  # warns once here, not per worker
        await pool.start()
        log.info(
            "serve.ready",
            workers=resolved.workers,
            capacity=resolved.capacity,
            mode=pool.stats()["mode"],
            pid=os.getpid(),
        )
        try:
            yield
        finally:
            # uvicorn has already waited out the grace: nothing here waits on chunking
            drained = pool.admitted == 0
            await pool.close()
            log.info("serve.stopped", drained=drained)
            if enabled:
                await asyncio.to_thread(telemetry.close, tracer_provider, meter_provider)
            if reader is not None:
                prometheus_endpoint.detach_prometheus(reader, meter_provider)

    app = FastAPI(
        title="chunkscope",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.limits = resolved
    app.state.pool = pool
    app.state.intake = Intake(resolved)
    app.state.options = ChunkOptions(
        max_file_bytes=resolved.max_file_bytes,
        file_timeout=resolved.file_timeout_seconds,
        cache=cache,
        cache_max_bytes=cache_max_bytes,
    )
    app.state.telemetry_on = enabled
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)

    @app.post("/v1/chunk")
    async def chunk(request: Request) -> Response:
        return await _chunk(request, batch=False)

    @app.post("/v1/chunk/batch")
    async def chunk_batch(request: Request) -> Response:
        return await _chunk(request, batch=True)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "pid": os.getpid()}

    @app.get("/readyz")
    async def readyz() -> Response:
        stats = pool.stats()
        stats["languages"] = sorted(LANGUAGES)
        stats["limits"] = {  # what a client must know to send only what will be taken
            "max_body_bytes": resolved.max_body_bytes,
            "max_file_bytes": resolved.max_file_bytes,
            "max_batch_files": resolved.max_batch_files,
            "max_response_bytes": resolved.max_response_bytes,
            "min_max_lines": MIN_MAX_LINES,
            "min_max_bytes": MIN_MAX_BYTES,
        }
        return JSONResponse(stats, status_code=200 if pool.ready else 503)

    @app.get("/metrics")
    async def metrics_endpoint(request: Request) -> Response:
        if not enabled:
            raise ApiError(404, "telemetry_off", "set CHUNKSCOPE_OTEL=1 to expose /metrics")
        body, content_type = prometheus_endpoint.prometheus_text(request.headers.get("accept", ""))
        return Response(content=body, media_type=content_type)

    if enabled:
        http_telemetry.instrument_app(app, tracer_provider, meter_provider)
    return app
