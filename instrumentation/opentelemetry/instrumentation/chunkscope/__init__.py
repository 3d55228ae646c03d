"""OpenTelemetry instrumentation for chunkscope: traces, metrics and correlated logs.

Three ways to turn it on:

* ``CHUNKSCOPE_OTEL=1 chunkscope chunk src/`` (or ``import chunkscope`` in a program with the
  variable set): configures the SDK from the standard ``OTEL_*`` variables, unless the
  application has set its own providers, and instruments.
* ``opentelemetry-instrument chunkscope chunk src/``: the ``opentelemetry_instrumentor``
  entry point; ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=chunkscope`` leaves it out.
* In code, with providers of your own::

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.instrumentation.chunkscope import ChunkscopeInstrumentor
    import chunkscope

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    ChunkscopeInstrumentor().instrument(tracer_provider=provider)
    result = chunkscope.chunk_source(b"def f():\\n    return 1\\n", "f.py")
    print([span.name for span in exporter.get_finished_spans()])
    # ['chunkscope.parse', 'chunkscope.extract', 'chunkscope.file']
    ChunkscopeInstrumentor().uninstrument()

``instrument()`` accepts ``tracer_provider``, ``meter_provider`` and ``logger_provider``.
A program running ``chunk_source`` in worker processes of its own hands each returned
``FileResult`` to ``record_worker_result(result)`` in the process that owns the meter.
Spans: ``chunkscope.run`` -> ``chunkscope.file`` -> ``chunkscope.parse`` /
``chunkscope.extract``; metrics: ``chunkscope.*`` (see ``_metrics``); chunkscope's structlog
events become log records carrying the trace and span ids. No source or chunk text is ever
recorded; ``CHUNKSCOPE_OTEL_PATHS=relative|hash|none`` decides how paths appear. The full
reference is docs/telemetry.md.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Collection
from typing import Any, ClassVar

from opentelemetry.instrumentation.chunkscope.package import _instruments
from opentelemetry.instrumentation.chunkscope.version import __version__
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

__all__ = ["ChunkscopeInstrumentor", "__version__", "record_worker_result"]

_SCHEMA_URL = "https://opentelemetry.io/schemas/1.11.0"
_recorders: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _recorder(meter: Any) -> Any:
    """One recorder per meter: observable instruments must not be registered twice."""
    from opentelemetry.instrumentation.chunkscope._metrics import Recorder

    try:
        found = _recorders.get(meter)
        if found is None:
            found = _recorders[meter] = Recorder(meter)
    except TypeError:  # a meter that cannot be weakly referenced
        found = Recorder(meter)
    return found


def record_worker_result(result: Any, meter_provider: Any = None) -> bool:
    """Record the ``chunkscope.*`` metrics of a file chunked in an instrumented worker process.

    Why: in a worker (a ``--jobs`` pool, a server's process pool) the instrumentation records
    no metric itself, so each counter has one writer; it stashes the file's parse, extract and
    file measurements in ``result.extra``. ``chunk_paths`` records them in the parent on its
    own; a program that runs ``chunk_source``/``chunk_file`` in its own workers hands each
    returned ``FileResult`` here, in the process that owns the meter. ``result`` needs the
    ``FileResult`` fields ``extra``, ``language``, ``outcome``, ``reason``, ``size`` and
    ``chunks`` (objects with ``kind``, ``start_byte``, ``end_byte``). The stash is removed, so
    a result is recorded once. Returns True when there was something to record; never raises.
    """
    from opentelemetry import metrics
    from opentelemetry.instrumentation.chunkscope import _wrappers
    from opentelemetry.instrumentation.chunkscope._safety import report

    try:
        extra = getattr(result, "extra", None)
        stash = extra.pop(_wrappers.STASH_KEY, None) if extra else None
        if stash is None:
            return False
        meter = metrics.get_meter(__name__, __version__, meter_provider, schema_url=_SCHEMA_URL)
        _wrappers.replay(_recorder(meter), result, stash)
        return True
    except Exception as exc:
        report(exc)
        return False


class ChunkscopeInstrumentor(BaseInstrumentor):
    """Wraps ``parse``, ``extract``, the per-file pipeline entries and ``chunk_paths``."""

    _busy: ClassVar[bool] = False
    _handler: logging.Handler | None = None
    _level_set = False

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        from opentelemetry import metrics, trace
        from opentelemetry.instrumentation.chunkscope._bootstrap import sdk_disabled

        if sdk_disabled():  # OTEL_SDK_DISABLED=true wins: not even the wrappers' cost
            return
        ChunkscopeInstrumentor._busy = True  # importing chunkscope must not re-enter here
        try:
            import chunkscope
            from chunkscope import extractor, languages, logs, parser, pipeline
        finally:
            ChunkscopeInstrumentor._busy = False
        from opentelemetry.instrumentation.chunkscope import _wrappers as w
        from opentelemetry.instrumentation.chunkscope._attributes import path_formatter, path_mode
        from opentelemetry.instrumentation.chunkscope._logs import OTelEventHandler

        tracer = trace.get_tracer(
            __name__, __version__, kwargs.get("tracer_provider"), schema_url=_SCHEMA_URL
        )
        meter = metrics.get_meter(
            __name__, __version__, kwargs.get("meter_provider"), schema_url=_SCHEMA_URL
        )
        t = w._Telemetry(
            tracer,
            _recorder(meter),
            path_formatter(path_mode()),
            languages.canonical,
            extractor.language_of,
        )
        parse, extract = w.parse_wrapper(t), w.extract_wrapper(t)
        entry_file, source_file = w.file_wrapper(t, w.entry_path), w.file_wrapper(t, w.source_path)
        run = w.run_wrapper(t)
        handler = OTelEventHandler(kwargs.get("logger_provider"), t.path_attr)
        wrap_function_wrapper(parser, "parse", parse)
        wrap_function_wrapper(extractor, "extract", extract)
        wrap_function_wrapper(pipeline, "process_entry", entry_file)
        wrap_function_wrapper(pipeline, "chunk_source", source_file)
        wrap_function_wrapper(pipeline, "chunk_paths", run)
        wrap_function_wrapper(pipeline, "_carrier", w.carrier_wrapper(t))
        wrap_function_wrapper(pipeline, "_attached", w.attached_wrapper(t))
        wrap_function_wrapper(chunkscope, "parse", parse)
        wrap_function_wrapper(chunkscope, "extract", extract)
        wrap_function_wrapper(chunkscope, "chunk_source", source_file)
        wrap_function_wrapper(chunkscope, "chunk_paths", run)
        self._attach_log_handler(logs.LOGGER_NAME, handler)

    def _uninstrument(self, **kwargs: Any) -> None:
        import chunkscope
        from chunkscope import extractor, logs, parser, pipeline

        unwrap(parser, "parse")
        unwrap(extractor, "extract")
        unwrap(pipeline, "process_entry")
        unwrap(pipeline, "chunk_source")
        unwrap(pipeline, "chunk_paths")
        unwrap(pipeline, "_carrier")
        unwrap(pipeline, "_attached")
        unwrap(chunkscope, "parse")
        unwrap(chunkscope, "extract")
        unwrap(chunkscope, "chunk_source")
        unwrap(chunkscope, "chunk_paths")
        self._detach_log_handler(logs.LOGGER_NAME)

    def _attach_log_handler(self, name: str, handler: logging.Handler) -> None:
        """Send chunkscope's events to the logs pipeline, INFO and up unless told otherwise."""
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        self._handler = handler
        if logger.level == logging.NOTSET and logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
            self._level_set = True

    def _detach_log_handler(self, name: str) -> None:
        logger = logging.getLogger(name)
        if self._handler is not None:
            logger.removeHandler(self._handler)
            self._handler = None
        if self._level_set:
            logger.setLevel(logging.NOTSET)
            self._level_set = False
