"""chunkscope's structlog events as OpenTelemetry log records.

``chunkscope.logs`` hands the stdlib logger ``chunkscope`` a structlog event dict per event.
This handler turns one into a log record whose body is the event name (``file.skipped``),
whose attributes are the event's key-values, and whose trace and span ids come from the
active context, so a Loki line links to its Jaeger trace. It uses the Logs API directly
rather than the SDK's ``LoggingHandler`` (deprecated in the SDK), which would export the
whole dict as the body and stamp every record with this module's file and line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from opentelemetry._logs import LoggerProvider, SeverityNumber, get_logger_provider
from opentelemetry.context import get_current
from opentelemetry.instrumentation.chunkscope._safety import report
from opentelemetry.instrumentation.chunkscope.version import __version__

from chunkscope.logs import OTEL_HANDLER as HANDLER_NAME

_SKIP_KEYS = frozenset({"event", "timestamp", "level", "trace_id", "span_id", "exc_info"})
_PATH_KEYS = frozenset({"path", "root_name"})
_SEVERITY = {
    logging.DEBUG: (SeverityNumber.DEBUG, "DEBUG"),
    logging.INFO: (SeverityNumber.INFO, "INFO"),
    logging.WARNING: (SeverityNumber.WARN, "WARN"),
    logging.ERROR: (SeverityNumber.ERROR, "ERROR"),
    logging.CRITICAL: (SeverityNumber.FATAL, "FATAL"),
}


def _value(value: Any) -> Any:
    if isinstance(value, (str, bool, int, float)):
        return value
    return str(value)


class OTelEventHandler(logging.Handler):
    """A ``logging.Handler`` that emits structlog events (or plain records) to the Logs API.

    ``path_attr`` applies ``CHUNKSCOPE_OTEL_PATHS`` to the path-like keys of events, so logs
    reveal no more of a code base than spans do.
    """

    def __init__(
        self,
        logger_provider: LoggerProvider | None = None,
        path_attr: Callable[[str], str | None] = str,
    ) -> None:
        super().__init__(logging.NOTSET)
        self.set_name(HANDLER_NAME)
        self._path_attr = path_attr
        provider = logger_provider or get_logger_provider()
        self._logger = provider.get_logger("chunkscope", __version__)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            event = record.msg
            if isinstance(event, dict):
                body = str(event.get("event", ""))
                attributes = {
                    k: _value(v) for k, v in event.items() if k not in _SKIP_KEYS and v is not None
                }
                for key in _PATH_KEYS.intersection(attributes):
                    shown = self._path_attr(str(attributes[key]))
                    if shown is None:
                        del attributes[key]
                    else:
                        attributes[key] = shown
            else:
                body = record.getMessage()
                attributes = {}
            number, text = _SEVERITY.get(record.levelno, (SeverityNumber.UNSPECIFIED, None))
            self._logger.emit(
                timestamp=int(record.created * 1e9),
                context=get_current(),
                severity_number=number,
                severity_text=text or record.levelname,
                body=body,
                attributes=attributes,
                event_name=body if isinstance(event, dict) else None,
            )
        except Exception as exc:  # telemetry must never break the caller's logging
            report(exc)
