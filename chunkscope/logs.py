"""structlog front end, stdlib logging underneath, imported on the first event that is emitted.

The library never configures global structlog state and never prints on its own:
events go to the stdlib logger ``chunkscope`` as structlog event dicts, so an
application's handlers, the CLI's stderr handler and the OpenTelemetry logs handler
all receive the same records. Trace and span ids are added when a span is active.

structlog (with the rich tracebacks it pulls in) costs about 16 MB and 80 ms per process.
A run that logs nothing at an enabled level (the CLI's default is WARNING) never pays it:
``get_logger()`` asks the stdlib logger whether the level is enabled, exactly as structlog's
``filter_by_level`` would, before importing it. And while the only handler is the
OpenTelemetry one that takes the event's level (telemetry on, stderr showing only
warnings), an event is built by
``_plain_event`` into the very dict structlog's processors would have produced, so leaving
telemetry on does not pay for structlog's import either.
"""

from __future__ import annotations

import logging
import sys
import time
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
OTEL_HANDLER = "chunkscope-otel"
"""Name of the OpenTelemetry logs handler the instrumentation attaches to ``chunkscope``."""


def _otel_only(level: int) -> bool:
    """Whether the OpenTelemetry handler is the one place an event at ``level`` can go."""
    found = False
    for handler in _stdlib.handlers:
        if handler.get_name() == OTEL_HANDLER:
            found = True
        elif level >= handler.level:
            return False
    if _stdlib.propagate and any(level >= h.level for h in logging.getLogger().handlers):
        return False
    return found


def _plain_event(level: int, event: str, kw: dict[str, Any]) -> None:
    """Emit the event dict of ``_structlog``'s processors without importing structlog."""
    now = time.time()
    kw["event"] = event
    kw["level"] = logging.getLevelName(level).lower()
    micros = int(now % 1 * 1e6)
    kw["timestamp"] = f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(now))}.{micros:06d}Z"
    _stdlib.log(level, add_trace_context(None, "", kw))


def _emit(level: int, event: str, kw: dict[str, Any]) -> None:
    if _bound is None and _otel_only(level):
        _plain_event(level, event, kw)
    else:
        getattr(_structlog(), logging.getLevelName(level).lower())(event, **kw)


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
            _emit(logging.DEBUG, event, kw)

    def info(self, event: str, **kw: Any) -> None:
        if _stdlib.isEnabledFor(logging.INFO):
            _emit(logging.INFO, event, kw)

    def warning(self, event: str, **kw: Any) -> None:
        if _stdlib.isEnabledFor(logging.WARNING):
            _emit(logging.WARNING, event, kw)

    def error(self, event: str, **kw: Any) -> None:
        if _stdlib.isEnabledFor(logging.ERROR):
            _emit(logging.ERROR, event, kw)


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
    otel = any(h.get_name() == OTEL_HANDLER for h in logger.handlers)
    logger.setLevel(min(level, logging.INFO) if otel else level)
    logger.propagate = False
    return handler
