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

The contract: the chunker measures, one process records. Every ``FileResult`` carries the
chunker's own ``StageTimes``; this process turns each result into metric points (every file)
and, for the files the keep policy picks (errors, slow files, a per-second reservoir, a
ratio of the rest: ``CHUNKSCOPE_OTEL_FILE_SPANS`` and friends), a span subtree created after
the fact: ``chunkscope.run`` -> ``chunkscope.file`` -> ``chunkscope.parse`` /
``chunkscope.extract``. ``--jobs`` workers import no OpenTelemetry. A program that chunks in
worker processes of its own hands each returned ``FileResult`` to ``record_result(result)``
in the process that owns the providers (as ``chunkscope serve`` does, under its HTTP span).
Direct calls of ``chunkscope.parse``/``extract`` get one live span each. chunkscope's
structlog events become log records carrying the trace and span ids. No source or chunk
text is ever recorded; ``CHUNKSCOPE_OTEL_PATHS=relative|hash|none`` decides how paths
appear. The full reference is docs/telemetry.md.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, ClassVar

from opentelemetry.instrumentation.chunkscope.package import _instruments
from opentelemetry.instrumentation.chunkscope.version import __version__
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

if TYPE_CHECKING:  # chunkscope is imported lazily: importing it may instrument (CHUNKSCOPE_OTEL)
    from opentelemetry.context import Context
    from opentelemetry.instrumentation.chunkscope._metrics import Recorder
    from opentelemetry.instrumentation.chunkscope._record import ResultRecorder

    from chunkscope.model import FileResult

__all__ = ["ChunkscopeInstrumentor", "__version__", "record_result"]

_SCHEMA_URL = "https://opentelemetry.io/schemas/1.11.0"
_recorders: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_active: ResultRecorder | None = None


def _recorder(meter: Any, chunker: str | None = None) -> Recorder:
    """One recorder per meter: observable instruments must not be registered twice.

    ``chunker`` (default chunkscope) goes on every point; each chunker has its own meter.
    """
    from opentelemetry.instrumentation.chunkscope._metrics import Recorder

    from chunkscope.names import CHUNKER_CHUNKSCOPE

    try:
        found = _recorders.get(meter)
        if found is None:
            found = _recorders[meter] = Recorder(meter, chunker or CHUNKER_CHUNKSCOPE)
    except TypeError:  # a meter that cannot be weakly referenced
        found = Recorder(meter, chunker or CHUNKER_CHUNKSCOPE)
    return found


def record_result(result: FileResult, context: Context | None = None) -> bool:
    """Record a ``FileResult`` chunked elsewhere (a worker process of your own, a service's pool).

    Why: only the process that owns the telemetry providers records, and a result carries all
    it needs (``timings``, outcome, language, size, chunks). Its metrics are recorded whatever
    the keep policy says; its span subtree, when kept, goes under ``context`` (default: the
    current context, e.g. a server's HTTP span). ``result.chunks`` may hold any objects with
    ``kind``, ``start_byte`` and ``end_byte``. Returns whether the file's spans were kept;
    False too when chunkscope is not instrumented. Never raises.
    """
    active = _active
    if active is None:
        return False
    return active.record(result, context)


class ChunkscopeInstrumentor(BaseInstrumentor):
    """Wraps the public ``parse``, ``extract``, ``chunk_source``, ``chunk_file``, ``chunk_paths``.

    Why these: they are the names user code calls; the pipeline's own stages are timed by the
    chunker and recorded from its results, so a run never pays for a live span per stage.
    """

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
        from opentelemetry.instrumentation.chunkscope._policy import FileSpanPolicy, PolicyConfig
        from opentelemetry.instrumentation.chunkscope._record import ResultRecorder

        global _active
        tracer = trace.get_tracer(
            __name__, __version__, kwargs.get("tracer_provider"), schema_url=_SCHEMA_URL
        )
        meter = metrics.get_meter(
            __name__, __version__, kwargs.get("meter_provider"), schema_url=_SCHEMA_URL
        )
        recorder = _recorder(meter)
        path_attr = path_formatter(path_mode())
        results = ResultRecorder(
            tracer, recorder, FileSpanPolicy(PolicyConfig.from_env()), path_attr
        )
        stages = w._Stages(tracer, recorder, languages.canonical, extractor.language_of)
        parse, extract = w.parse_wrapper(stages), w.extract_wrapper(stages)
        one_file, run = w.file_wrapper(results), w.run_wrapper(results)
        for module in (parser, chunkscope):
            wrap_function_wrapper(module, "parse", parse)
        for module in (extractor, chunkscope):
            wrap_function_wrapper(module, "extract", extract)
        for module in (pipeline, chunkscope):
            wrap_function_wrapper(module, "chunk_source", one_file)
            wrap_function_wrapper(module, "chunk_file", one_file)
            wrap_function_wrapper(module, "chunk_paths", run)
        _active = results
        self._attach_log_handler(
            logs.LOGGER_NAME, OTelEventHandler(kwargs.get("logger_provider"), path_attr)
        )

    def _uninstrument(self, **kwargs: Any) -> None:
        import chunkscope
        from chunkscope import extractor, logs, parser, pipeline

        global _active
        _active = None
        for module in (parser, chunkscope):
            unwrap(module, "parse")
        for module in (extractor, chunkscope):
            unwrap(module, "extract")
        for module in (pipeline, chunkscope):
            unwrap(module, "chunk_source")
            unwrap(module, "chunk_file")
            unwrap(module, "chunk_paths")
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
