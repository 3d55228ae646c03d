"""OpenTelemetry instrumentation for treesitter-chunker (``pip install treesitter-chunker``,
imported as ``chunker``): the same spans, metrics and dashboards as chunkscope's own.

Three ways to turn it on:

* ``CHUNKSCOPE_OTEL=1`` in a process that imports both chunkscope and ``chunker``: the
  bootstrap that configures the SDK for chunkscope instruments treesitter-chunker too.
* ``opentelemetry-instrument tsc chunk f.py``: the ``opentelemetry_instrumentor`` entry point
  ``treesitter_chunker``; ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=treesitter_chunker`` leaves
  it out.
* In code, with providers of your own::

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.instrumentation.treesitter_chunker import TreesitterChunkerInstrumentor
    import chunker

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    TreesitterChunkerInstrumentor().instrument(tracer_provider=provider)
    chunks = chunker.chunk_text("def f():\\n    return 1\\n", "python", file_path="f.py")
    print(sorted(span.name for span in exporter.get_finished_spans()))
    # ['chunkscope.extract', 'chunkscope.file', 'chunkscope.parse']
    TreesitterChunkerInstrumentor().uninstrument()

Covered entry points: everything that reaches ``chunker.core.chunk_text`` (``chunk_text``,
``chunk_file`` and their re-exports, the CLI, the repo processor, the token chunker),
``chunk_file_streaming`` (every re-export goes through ``StreamingChunker``), and
``chunk_directory`` / ``chunk_files_parallel`` / ``ParallelChunker`` (a run span, with each
file measured in the pool's child and recorded here; cache hits recorded as such). Files are
measured with cheap clocks and recorded after the fact by chunkscope's recorder, so the spans
(file -> parse -> extract), the metric names and units and the keep policy are chunkscope's;
the ``chunkscope.chunker`` attribute says ``treesitter-chunker``. Nothing is imported or
wrapped when treesitter-chunker is not installed. docs/telemetry.md has the details.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.treesitter_chunker.package import _instruments
from opentelemetry.instrumentation.treesitter_chunker.version import __version__
from opentelemetry.instrumentation.utils import unwrap

__all__ = ["TreesitterChunkerInstrumentor", "__version__", "instrument_on_import"]

_log = logging.getLogger(__name__)


class _Runs(threading.local):
    current: Any = None


_runs = _Runs()


def _run_wrapper(recording: Any) -> Callable[..., Any]:
    """``ParallelChunker.chunk_files_parallel``: one run span around the whole pool."""
    from opentelemetry.instrumentation.utils import is_instrumentation_enabled

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if _runs.current is not None or not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        run = recording.start_run(instance, args[0] if args else kwargs.get("file_paths"))
        if run is None:
            return wrapped(*args, **kwargs)
        _runs.current = run
        try:
            value = wrapped(*args, **kwargs)
        except BaseException as exc:
            _runs.current = None
            recording.end_run(run, exc)
            raise
        _runs.current = None
        recording.end_run(run, None)
        return value

    return wrapper


def _process_pool_wrapper(
    wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any
) -> Any:
    """``chunker.parallel.ProcessPoolExecutor``: a measured pool while a run is current."""
    from concurrent.futures import ProcessPoolExecutor

    from opentelemetry.instrumentation.treesitter_chunker._pool import MeasuredPool

    run = _runs.current
    if run is None or wrapped is not ProcessPoolExecutor:
        return wrapped(*args, **kwargs)
    return MeasuredPool(run.settle, *args, **kwargs)


class TreesitterChunkerInstrumentor(BaseInstrumentor):
    """Measures ``chunk_text``/``chunk_file``/streams/pool runs; chunkscope records them."""

    _threaded: list[Any]
    _active = False

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        import wrapt
        from chunker import parallel
        from opentelemetry.instrumentation.chunkscope._bootstrap import sdk_disabled
        from opentelemetry.instrumentation.treesitter_chunker import _probe, _threads
        from opentelemetry.instrumentation.treesitter_chunker._record import Recording

        if sdk_disabled():  # OTEL_SDK_DISABLED=true wins, as for chunkscope
            return
        if kwargs.get("skip_dep_check") and self._check_dependency_conflicts() is not None:
            return  # opentelemetry-instrument skips the check; a chunker 7 is not ours to wrap
        recording = Recording(kwargs.get("tracer_provider"), kwargs.get("meter_provider"))
        _probe.install(recording.hooks())
        wrapt.wrap_function_wrapper(
            parallel, "ParallelChunker.chunk_files_parallel", _run_wrapper(recording)
        )
        wrapt.wrap_function_wrapper(parallel, "ProcessPoolExecutor", _process_pool_wrapper)
        self._threaded = []
        self._active = True
        for name in _threads.THREADED_MODULES:
            wrapt.register_post_import_hook(self._wrap_threads, name)

    def _wrap_threads(self, module: Any) -> None:
        """Post-import hook: the CLI module may be imported after ``instrument()``."""
        import wrapt
        from opentelemetry.instrumentation.treesitter_chunker import _threads

        if not self._active or module in self._threaded:
            return
        if not hasattr(module, "ThreadPoolExecutor") or not _is_chunker_module(module):
            return
        wrapt.wrap_function_wrapper(module, "ThreadPoolExecutor", _threads.pool_wrapper)
        self._threaded.append(module)

    def _uninstrument(self, **kwargs: Any) -> None:
        from chunker import parallel
        from opentelemetry.instrumentation.treesitter_chunker import _probe

        self._active = False
        _probe.uninstall()
        unwrap(parallel.ParallelChunker, "chunk_files_parallel")
        unwrap(parallel, "ProcessPoolExecutor")
        threaded = getattr(self, "_threaded", [])
        while threaded:
            unwrap(threaded.pop(), "ThreadPoolExecutor")


def _is_chunker_module(module: Any) -> bool:
    """True for treesitter-chunker's own modules (its CLI is the top-level package ``cli``)."""
    name = getattr(module, "__name__", "")
    if name.startswith("chunker."):
        return True
    imported = getattr(module, "chunk_file", None)
    return getattr(imported, "__module__", None) == "chunker.core"


def instrument_on_import() -> None:
    """Instrument treesitter-chunker when (and only if) ``chunker`` is imported.

    Why: ``CHUNKSCOPE_OTEL=1`` covers treesitter-chunker in any process that imports both,
    yet a chunkscope run that never uses it must not pay for importing it. A post-import
    hook runs at once if ``chunker`` is already imported, else when it is; never raises.
    """
    import wrapt

    wrapt.register_post_import_hook(_instrument_imported, "chunker")


def _instrument_imported(_module: Any) -> None:
    try:
        instrumentor = TreesitterChunkerInstrumentor()
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument()
    except Exception as exc:
        _log.warning("treesitter-chunker telemetry is off: %s: %s", type(exc).__name__, exc)
