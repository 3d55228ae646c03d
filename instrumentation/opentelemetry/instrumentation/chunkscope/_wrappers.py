"""wrapt wrappers around chunkscope's public functions, built by factories.

* ``parse`` and ``extract`` called by user code: one live span per call, as any contrib
  instrumentation would. The pipeline does not call these public names (it times its stages
  itself), so a run never pays for live stage spans.
* ``chunk_source`` and ``chunk_file``: the call runs untouched, then its ``FileResult`` is
  recorded (``_record.ResultRecorder``) under the caller's current span.
* ``chunk_paths``: a ``chunkscope.run`` span; each yielded result is recorded under it before
  the caller sees it. The run span is current only while the wrapped generator runs, never
  while the caller handles a yielded result.

Every wrapper calls the wrapped function outside any ``try`` of ours that could swallow its
exception, and telemetry code reports its own failures once (``_safety.report``) instead of
raising, so the chunker's results and exceptions reach the caller unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.instrumentation.chunkscope._metrics import Recorder
from opentelemetry.instrumentation.chunkscope._record import ResultRecorder, RunTally
from opentelemetry.instrumentation.chunkscope._safety import report
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from chunkscope import names as N
from chunkscope.clock import now_ns

Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]

_perf = time.perf_counter


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs.get(name)


class _Stages:
    """Live spans and histogram points for direct calls of the public stage functions."""

    def __init__(
        self,
        tracer: Tracer,
        recorder: Recorder,
        canonical: Callable[[str], str | None],
        language_of: Callable[[Any], str],
    ) -> None:
        self.tracer = tracer
        self.recorder = recorder
        self._canonical = canonical
        self._language_of = language_of

    def start_parse(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            language = _arg(args, kwargs, 1, "language")
            name = self._canonical(language) if isinstance(language, str) else None
            return self.tracer.start_span(N.SPAN_PARSE), name, _perf()
        except Exception as exc:
            report(exc)
            return None

    def end_parse(self, probe: Any, tree: Any, error: BaseException | None) -> None:
        try:
            span, language, started = probe
            seconds = _perf() - started
            attrs: dict[str, Any] = {N.LANGUAGE: language} if language is not None else {}
            if error is None:
                root = tree.root_node
                has_error = root.has_error
                outcome = N.PARSE_SYNTAX_ERROR if has_error else N.PARSE_OK
                attrs[N.PARSE_HAS_ERROR] = has_error
                attrs[N.TREE_NODE_COUNT] = root.descendant_count
            else:
                outcome = N.PARSE_ERROR
            self._finish(span, attrs, error)
            ctx = otel_trace.set_span_in_context(span)
            self.recorder.parse(language, outcome, seconds, ctx)
        except Exception as exc:
            report(exc)

    def start_extract(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            tree = _arg(args, kwargs, 0, "tree")
            return self.tracer.start_span(N.SPAN_EXTRACT), self._language_of(tree), _perf()
        except Exception as exc:
            report(exc)
            return None

    def end_extract(self, probe: Any, chunks: Any, error: BaseException | None) -> None:
        try:
            span, language, started = probe
            seconds = _perf() - started
            attrs: dict[str, Any] = {N.LANGUAGE: language}
            if error is None:
                attrs[N.CHUNK_COUNT] = len(chunks)
            self._finish(span, attrs, error)
            self.recorder.extract(language, seconds, otel_trace.set_span_in_context(span))
        except Exception as exc:
            report(exc)

    @staticmethod
    def _finish(span: Any, attrs: dict[str, Any], error: BaseException | None) -> None:
        if span.is_recording():
            if error is not None:
                attrs[N.ERROR_TYPE] = type(error).__qualname__
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, type(error).__qualname__))
            span.set_attributes(attrs)
        span.end()


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


def parse_wrapper(stages: _Stages) -> Wrapper:
    return _stage_wrapper(stages.start_parse, stages.end_parse)


def extract_wrapper(stages: _Stages) -> Wrapper:
    return _stage_wrapper(stages.start_extract, stages.end_extract)


def file_wrapper(results: ResultRecorder) -> Wrapper:
    """For ``chunk_source`` and ``chunk_file``: run the call, then record its result."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        results.recorder.enter()
        try:
            result = wrapped(*args, **kwargs)
        finally:
            results.recorder.leave()
        results.record(result)
        return result

    return wrapper


def run_wrapper(results: ResultRecorder) -> Wrapper:
    """For ``chunk_paths``: a run span around the generator, every result recorded under it."""

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
        return traced_run(results, inner, jobs, paths)

    return wrapper


def _start_run(results: ResultRecorder, jobs: int, paths: Any) -> Any:
    try:
        attrs: dict[str, Any] = {N.CHUNKER: results.recorder.chunker, N.RUN_JOBS: jobs}
        if isinstance(paths, (list, tuple)):
            attrs[N.RUN_PATHS] = len(paths)
        start = now_ns()
        span = results.tracer.start_span(
            N.SPAN_RUN, kind=SpanKind.INTERNAL, attributes=attrs, start_time=start
        )
        return span, otel_trace.set_span_in_context(span), RunTally(start)
    except Exception as exc:
        report(exc)
        return None


def _end_run(span: Any, tally: RunTally, error: BaseException | None) -> None:
    try:
        if span.is_recording():
            span.set_attributes(tally.attributes())
            if error is not None and not isinstance(error, GeneratorExit):
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, type(error).__qualname__))
        span.end(end_time=max(now_ns(), tally.start_ns))
    except Exception as exc:
        report(exc)


def traced_run(
    results: ResultRecorder, inner: Iterator[Any], jobs: int, paths: Any
) -> Iterator[Any]:
    """Drive the wrapped generator with the run span current only inside ``next()``."""
    probe = _start_run(results, jobs, paths)
    if probe is None:
        yield from inner
        return
    span, ctx, tally = probe
    recorder = results.recorder
    try:
        while True:
            token = otel_context.attach(ctx)
            recorder.enter(jobs)
            try:
                result = next(inner)
            except StopIteration:
                break
            finally:
                recorder.leave(jobs)
                otel_context.detach(token)
            results.record(result, ctx, tally)
            yield result
    except BaseException as exc:
        token = otel_context.attach(ctx)
        try:
            inner.close()
        finally:
            otel_context.detach(token)
            _end_run(span, tally, exc)
        raise
    _end_run(span, tally, None)
