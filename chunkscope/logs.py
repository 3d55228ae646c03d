"""structlog front end, stdlib logging underneath, imported on the first event that is emitted.

The library never configures global structlog state and never prints on its own:
events go to the stdlib logger ``chunkscope`` as structlog event dicts, so an
application's handlers, the CLI's stderr handler and the OpenTelemetry logs handler
all receive the same records. Trace and span ids are added when a span is active.

structlog (with the rich tracebacks it pulls in) costs about 16 MB and 80 ms per process,
``--jobs`` workers included. A run that logs nothing at an enabled level (the CLI's
default is WARNING) never pays it: ``get_logger()`` asks the stdlib logger whether the
level is enabled, exactly as structlog's ``filter_by_level`` would, before importing it.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import structlog

LOGGER_NAME = "chunkscope"
_stdlib = logging.getLogger(LOGGER_NAME)


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


_bound: structlog.stdlib.BoundLogger | None = None


def _structlog() -> structlog.stdlib.BoundLogger:
    global _bound
    if _bound is None:
        import structlog

        _bound = structlog.wrap_logger(
            _stdlib,
            wrapper_class=structlog.stdlib.BoundLogger,
            processors=[
                structlog.stdlib.filter_by_level,
                structlog.stdlib.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                add_trace_context,
                structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
            ],
        )
    return _bound


class Logger:
    """The structlog ``BoundLogger`` of chunkscope, built when an event first passes the level."""

    __slots__ = ()

    def debug(self, event: str, **kw: Any) -> None:
        if _stdlib.isEnabledFor(logging.DEBUG):
            _structlog().debug(event, **kw)

    def info(self, event: str, **kw: Any) -> None:
        if _stdlib.isEnabledFor(logging.INFO):
            _structlog().info(event, **kw)

    def warning(self, event: str, **kw: Any) -> None:
        if _stdlib.isEnabledFor(logging.WARNING):
            _structlog().warning(event, **kw)

    def error(self, event: str, **kw: Any) -> None:
        if _stdlib.isEnabledFor(logging.ERROR):
            _structlog().error(event, **kw)

    def exception(self, event: str, **kw: Any) -> None:
        if _stdlib.isEnabledFor(logging.ERROR):
            _structlog().exception(event, **kw)

    def bind(self, **kw: Any) -> structlog.stdlib.BoundLogger:
        return _structlog().bind(**kw)


_logger = Logger()


def get_logger() -> Logger:
    """The chunkscope logger; cheap to call, safe in libraries."""
    return _logger


class _ConsoleFormatter(logging.Formatter):
    """structlog's ``ProcessorFormatter``, built on the first record that reaches stderr."""

    def __init__(self, json: bool) -> None:
        super().__init__()
        self._json = json
        self._inner: logging.Formatter | None = None

    def format(self, record: logging.LogRecord) -> str:
        if self._inner is None:
            import structlog

            renderer: Any = (
                structlog.processors.JSONRenderer(sort_keys=True)
                if self._json
                else structlog.dev.ConsoleRenderer(colors=True)
            )
            self._inner = structlog.stdlib.ProcessorFormatter(
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    renderer,
                ],
            )
        return self._inner.format(record)


def configure_console(*, json: bool | None = None, level: int = logging.INFO) -> logging.Handler:
    """Send chunkscope's events to stderr: JSON lines when piped, readable when a terminal."""
    if json is None:
        json = not sys.stderr.isatty()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_ConsoleFormatter(json))
    handler.set_name("chunkscope-console")
    handler.setLevel(level)
    logger = _stdlib
    for old in [h for h in logger.handlers if h.get_name() == "chunkscope-console"]:
        logger.removeHandler(old)
    logger.addHandler(handler)
    # The OpenTelemetry handler (telemetry on) wants INFO events whatever stderr shows.
    otel = any(h.get_name() == "chunkscope-otel" for h in logger.handlers)
    logger.setLevel(min(level, logging.INFO) if otel else level)
    logger.propagate = False
    return handler
