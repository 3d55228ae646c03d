"""wrapt wrappers for the chunkscope stages, built by factories that capture the telemetry.

Every wrapper has the same shape: ask whether instrumentation is suppressed, start the
telemetry (``_Telemetry.start_*``, which never raises), call the wrapped function outside any
``try`` of ours, then finish the telemetry (``_Telemetry.end_*``, which never raises). So an
exception of the chunker reaches its caller unchanged and an exception of the
instrumentation never does.

Span tree: ``chunkscope.run`` -> ``chunkscope.file`` -> ``chunkscope.parse`` /
``chunkscope.extract``. The run span is current only while the wrapped ``chunk_paths``
generator runs, never while the caller handles a yielded result.

``--jobs`` workers get the run's context through the ``pipeline._carrier`` /
``pipeline._attached`` hooks. There, metric measurements are not recorded in the worker but
carried back in ``FileResult.extra`` and recorded by the run wrapper in the parent, so every
counter has one writer per run and ``CHUNKSCOPE_PROMETHEUS_PORT`` sees the workers' files.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate
from opentelemetry import trace as otel_trace
from opentelemetry.instrumentation.chunkscope import _attributes as A
from opentelemetry.instrumentation.chunkscope._metrics import Recorder
from opentelemetry.instrumentation.chunkscope._safety import report
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    Tracer,
)

STASH_KEY = "opentelemetry.chunkscope"
"""Key in ``FileResult.extra`` under which a worker sends its measurements to the parent."""

Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]

_perf = time.perf_counter
_worker = threading.local()


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs.get(name)


def _error_type(result: Any) -> str:
    error = result.error or ""
    head = error.split(":", 1)[0].strip()
    return head if head.isidentifier() else "OSError"


class _Telemetry:
    """The tracer, the recorder and the choices made at ``instrument()`` time."""

    def __init__(
        self,
        tracer: Tracer,
        recorder: Recorder,
        path_attr: Callable[[str], str | None],
        canonical: Callable[[str], str | None],
        language_of: Callable[[Any], str],
    ) -> None:
        self.tracer = tracer
        self.recorder = recorder
        self.path_attr = path_attr
        self._canonical = canonical
        self._language_of = language_of
        self._languages: dict[str, str | None] = {}

    def canonical(self, language: str) -> str | None:
        found = self._languages.get(language, ...)
        if found is ...:
            found = self._languages[language] = self._canonical(language)
        return found  # type: ignore[return-value]

    # parse ------------------------------------------------------------------------------
    def start_parse(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            language = _arg(args, kwargs, 1, "language")
            name = self.canonical(language) if isinstance(language, str) else None
            span = self.tracer.start_span("chunkscope.parse")
            return span, name, _perf()
        except Exception as exc:
            report(exc)
            return None

    def end_parse(self, probe: Any, tree: Any, error: BaseException | None) -> None:
        try:
            span, language, started = probe
            seconds = _perf() - started
            if error is not None:
                outcome = A.PARSE_ERROR
            else:
                root = tree.root_node
                has_error = root.has_error
                outcome = A.PARSE_SYNTAX_ERROR if has_error else A.PARSE_OK
            if span.is_recording():
                attrs: dict[str, Any] = {}
                if language is not None:
                    attrs[A.LANGUAGE] = language
                if error is None:
                    attrs[A.PARSE_HAS_ERROR] = has_error
                    attrs[A.TREE_NODE_COUNT] = root.descendant_count
                else:
                    attrs[A.ERROR_TYPE] = type(error).__qualname__
                    span.record_exception(error)
                    span.set_status(Status(StatusCode.ERROR, type(error).__qualname__))
                span.set_attributes(attrs)
            span.end()
            pending = getattr(_worker, "pending", None)
            if pending is not None:
                pending.append(("p", language, outcome, seconds))
            else:
                self.recorder.parse(language, outcome, seconds, None)
        except Exception as exc:
            report(exc)

    # extract ----------------------------------------------------------------------------
    def start_extract(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            tree = _arg(args, kwargs, 0, "tree")
            span = self.tracer.start_span("chunkscope.extract")
            return span, self._language_of(tree), _perf()
        except Exception as exc:
            report(exc)
            return None

    def end_extract(self, probe: Any, chunks: Any, error: BaseException | None) -> None:
        try:
            span, language, started = probe
            seconds = _perf() - started
            if span.is_recording():
                attrs: dict[str, Any] = {A.LANGUAGE: language}
                if error is None:
                    attrs[A.CHUNK_COUNT] = len(chunks)
                else:
                    attrs[A.ERROR_TYPE] = type(error).__qualname__
                    span.record_exception(error)
                    span.set_status(Status(StatusCode.ERROR, type(error).__qualname__))
                span.set_attributes(attrs)
            span.end()
            pending = getattr(_worker, "pending", None)
            if pending is not None:
                pending.append(("e", language, None, seconds))
            else:
                self.recorder.extract(language, seconds, None)
        except Exception as exc:
            report(exc)

    # file -------------------------------------------------------------------------------
    def start_file(self, path: Any) -> Any:
        try:
            span = self.tracer.start_span("chunkscope.file")
            ctx = otel_trace.set_span_in_context(span)
            token = otel_context.attach(ctx)
            deferred = getattr(_worker, "defer", False)
            if deferred:
                _worker.pending = []
            else:
                self.recorder.enter()
            return span, ctx, token, path, deferred, _perf()
        except Exception as exc:
            report(exc)
            return None

    def end_file(self, probe: Any, result: Any, error: BaseException | None) -> None:
        try:
            span, ctx, token, path, deferred, started = probe
            seconds = _perf() - started
            otel_context.detach(token)
        except Exception as exc:
            report(exc)
            return
        try:
            if result is not None and isinstance(result.path, str):
                path = result.path
            if span.is_recording():
                attrs: dict[str, Any] = {}
                shown = self.path_attr(path) if isinstance(path, str) else None
                if shown is not None:
                    attrs[A.CODE_FILE_PATH] = shown
                if result is not None:
                    attrs[A.OUTCOME] = result.outcome
                    attrs[A.FILE_SIZE] = result.size
                    if result.language is not None:
                        attrs[A.LANGUAGE] = result.language
                    if result.outcome == "chunked":
                        attrs[A.CHUNK_COUNT] = len(result.chunks)
                    elif result.outcome == "skipped":
                        attrs[A.SKIP_REASON] = result.reason
                    else:
                        kind = _error_type(result)
                        attrs[A.ERROR_TYPE] = kind
                        span.set_status(Status(StatusCode.ERROR, kind))
                else:
                    attrs[A.ERROR_TYPE] = type(error).__qualname__
                    span.record_exception(error)  # type: ignore[arg-type]
                    span.set_status(Status(StatusCode.ERROR, type(error).__qualname__))
                span.set_attributes(attrs)
            span.end()
            if deferred:
                pending = _worker.pending
                _worker.pending = None
                if result is not None:
                    sc = span.get_span_context()
                    result.extra[STASH_KEY] = (
                        sc.trace_id,
                        sc.span_id,
                        int(sc.trace_flags),
                        pending,
                        seconds,
                    )
            elif result is not None:
                self.recorder.file(result, seconds, ctx, active=True)
            else:
                self.recorder.leave()
        except Exception as exc:
            report(exc)

    # run --------------------------------------------------------------------------------
    def start_run(self, jobs: int, paths: Any) -> Any:
        try:
            attrs: dict[str, Any] = {A.RUN_JOBS: jobs}
            if isinstance(paths, (list, tuple)):
                attrs[A.RUN_PATHS] = len(paths)
            span = self.tracer.start_span(
                "chunkscope.run", kind=SpanKind.INTERNAL, attributes=attrs
            )
            ctx = otel_trace.set_span_in_context(span)
            return [span, ctx, jobs, {"chunked": 0, "skipped": 0, "error": 0}, 0, 0]
        except Exception as exc:
            report(exc)
            return None

    def attach(self, probe: list[Any]) -> object | None:
        try:
            return otel_context.attach(probe[1])
        except Exception as exc:
            report(exc)
            return None

    def detach(self, token: object | None) -> None:
        if token is not None:
            try:
                otel_context.detach(token)  # type: ignore[arg-type]
            except Exception as exc:
                report(exc)

    def count(self, probe: list[Any], result: Any) -> None:
        try:
            outcome = result.outcome
            probe[3][outcome] = probe[3].get(outcome, 0) + 1
            probe[4] += len(result.chunks)
            if outcome == "chunked":
                probe[5] += result.size
            extra = result.extra
            stash = extra.pop(STASH_KEY, None) if extra else None
            if stash is not None:
                self._replay(result, stash)
            elif probe[2] > 1:
                # Parallel results from workers that were not instrumented: the file-level
                # metrics still come from the result itself.
                self.recorder.file(result, result.seconds, probe[1])
        except Exception as exc:
            report(exc)

    def _replay(self, result: Any, stash: tuple[Any, ...]) -> None:
        replay(self.recorder, result, stash)

    def end_run(self, probe: list[Any], error: BaseException | None) -> None:
        try:
            span = probe[0]
            if span.is_recording():
                counts = probe[3]
                span.set_attributes(
                    {
                        A.RUN_FILES_CHUNKED: counts.get("chunked", 0),
                        A.RUN_FILES_SKIPPED: counts.get("skipped", 0),
                        A.RUN_FILES_ERRORED: counts.get("error", 0),
                        A.RUN_CHUNKS: probe[4],
                        A.RUN_BYTES: probe[5],
                    }
                )
                if error is not None and not isinstance(error, GeneratorExit):
                    span.record_exception(error)
                    span.set_status(Status(StatusCode.ERROR, type(error).__qualname__))
            span.end()
        except Exception as exc:
            report(exc)

    def traced_run(self, inner: Iterator[Any], jobs: int, paths: Any) -> Iterator[Any]:
        """Drive the wrapped generator with the run span current only inside ``next()``."""
        probe = self.start_run(jobs, paths)
        if probe is None:
            yield from inner
            return
        try:
            while True:
                token = self.attach(probe)
                try:
                    result = next(inner)
                except StopIteration:
                    break
                finally:
                    self.detach(token)
                self.count(probe, result)
                yield result
        except BaseException as exc:
            token = self.attach(probe)
            try:
                inner.close()
            finally:
                self.detach(token)
                self.end_run(probe, exc)
            raise
        self.end_run(probe, None)


def replay(recorder: Recorder, result: Any, stash: tuple[Any, ...]) -> None:
    """Record a worker's stashed measurements, with exemplars pointing at its file span."""
    trace_id, span_id, flags, pending, seconds = stash
    ctx = otel_trace.set_span_in_context(
        NonRecordingSpan(SpanContext(trace_id, span_id, True, TraceFlags(flags)))
    )
    for kind, language, outcome, elapsed in pending or ():
        if kind == "p":
            recorder.parse(language, outcome, elapsed, ctx)
        else:
            recorder.extract(language, elapsed, ctx)
    recorder.file(result, seconds, ctx)


# factories ------------------------------------------------------------------------------


def _stage_wrapper(
    start: Callable[[Any, Any], Any], end: Callable[[Any, Any, BaseException | None], None]
) -> Wrapper:
    """One shape for both stages: open a probe, call through, close it with the result."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        probe = start(args, kwargs)
        if probe is None:
            return wrapped(*args, **kwargs)
        try:
            value = wrapped(*args, **kwargs)
        except BaseException as exc:
            end(probe, None, exc)
            raise
        end(probe, value, None)
        return value

    return wrapper


def parse_wrapper(t: _Telemetry) -> Wrapper:
    return _stage_wrapper(t.start_parse, t.end_parse)


def extract_wrapper(t: _Telemetry) -> Wrapper:
    return _stage_wrapper(t.start_extract, t.end_extract)


def file_wrapper(
    t: _Telemetry, path_of: Callable[[tuple[Any, ...], dict[str, Any]], Any]
) -> Wrapper:
    """For ``process_entry(entry, options)`` and ``chunk_source(source, path, ...)``."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        try:
            path = path_of(args, kwargs)
        except Exception:
            path = None
        probe = t.start_file(path)
        if probe is None:
            return wrapped(*args, **kwargs)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            t.end_file(probe, None, exc)
            raise
        t.end_file(probe, result, None)
        return result

    return wrapper


def entry_path(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return getattr(_arg(args, kwargs, 0, "entry"), "rel", None)


def source_path(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return _arg(args, kwargs, 1, "path")


def run_wrapper(t: _Telemetry) -> Wrapper:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        inner = wrapped(*args, **kwargs)
        try:
            options = _arg(args, kwargs, 1, "options")
            jobs = int(getattr(options, "jobs", 1) or 1)
            paths = _arg(args, kwargs, 0, "paths")
        except Exception as exc:
            report(exc)
            return inner
        return t.traced_run(inner, jobs, paths)

    return wrapper


def carrier_wrapper(t: _Telemetry) -> Wrapper:
    """``pipeline._carrier()``: the current context, injected into a dict for the workers."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        original = wrapped(*args, **kwargs)
        if not is_instrumentation_enabled():
            return original
        try:
            carrier: dict[str, str] = dict(original or {})
            propagate.inject(carrier)
            return carrier
        except Exception as exc:
            report(exc)
            return original

    return wrapper


class _WorkerContext:
    """Context manager around one worker batch: the parent's context, deferred metrics."""

    __slots__ = ("_carrier", "_inner", "_token")

    def __init__(self, inner: Any, carrier: Any) -> None:
        self._inner = inner
        self._carrier = carrier
        self._token: object | None = None

    def __enter__(self) -> Any:
        value = self._inner.__enter__()
        try:
            if isinstance(self._carrier, dict):
                from opentelemetry.instrumentation.chunkscope import _safety, _shutdown

                _safety.pool_worker = True
                _shutdown.flush_at_worker_exit()
                self._token = otel_context.attach(propagate.extract(self._carrier))
                _worker.defer = True
        except Exception as exc:
            report(exc)
        return value

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            _worker.defer = False
            _worker.pending = None
            if self._token is not None:
                otel_context.detach(self._token)  # type: ignore[arg-type]
                self._token = None
        except Exception as exc:
            report(exc)
        return self._inner.__exit__(*exc_info)


def attached_wrapper(t: _Telemetry) -> Wrapper:
    """``pipeline._attached(carrier)``: enter the parent's context in a worker."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        inner = wrapped(*args, **kwargs)
        if not is_instrumentation_enabled():
            return inner
        return _WorkerContext(inner, _arg(args, kwargs, 0, "carrier"))

    return wrapper
