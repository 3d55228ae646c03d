"""structlog front end, stdlib logging underneath.

The library never configures global structlog state and never prints on its own:
events go to the stdlib logger ``chunkscope`` as structlog event dicts, so an
application's handlers, the CLI's stderr handler and the OpenTelemetry logs handler
all receive the same records. Trace and span ids are added when a span is active.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

LOGGER_NAME = "chunkscope"


def add_trace_context(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    """Attach the active trace and span ids, so log lines link to their trace.

    Looks at ``sys.modules`` rather than importing: with telemetry off the SDK and
    the API stay unimported and this costs a dict lookup.
    """
    trace = sys.modules.get("opentelemetry.trace")
    if trace is not None:
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            event.setdefault("trace_id", format(ctx.trace_id, "032x"))
            event.setdefault("span_id", format(ctx.span_id, "016x"))
    return event


SHARED_PROCESSORS: list[Any] = [
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    add_trace_context,
]

_logger = structlog.wrap_logger(
    logging.getLogger(LOGGER_NAME),
    wrapper_class=structlog.stdlib.BoundLogger,
    processors=[
        structlog.stdlib.filter_by_level,
        *SHARED_PROCESSORS,
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
    ],
)


def get_logger() -> structlog.stdlib.BoundLogger:
    """The chunkscope logger; cheap to call, safe in libraries."""
    return _logger


def configure_console(*, json: bool | None = None, level: int = logging.INFO) -> logging.Handler:
    """Send chunkscope's events to stderr: JSON lines when piped, readable when a terminal."""
    if json is None:
        json = not sys.stderr.isatty()
    renderer: Any = (
        structlog.processors.JSONRenderer(sort_keys=True)
        if json
        else structlog.dev.ConsoleRenderer(colors=True)
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    handler.set_name("chunkscope-console")
    handler.setLevel(level)
    logger = logging.getLogger(LOGGER_NAME)
    for old in [h for h in logger.handlers if h.get_name() == "chunkscope-console"]:
        logger.removeHandler(old)
    logger.addHandler(handler)
    # The OpenTelemetry handler (telemetry on) wants INFO events whatever stderr shows.
    otel = any(h.get_name() == "chunkscope-otel" for h in logger.handlers)
    logger.setLevel(min(level, logging.INFO) if otel else level)
    logger.propagate = False
    return handler
