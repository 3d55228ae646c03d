"""One process records: finished ``FileResult``s become spans and metric points.

The chunker timed its own stages (``FileResult.timings``, epoch ns, possibly in another
process). Here, in the process that owns the providers, every result is counted and timed in
the metrics, and the file-span policy decides whether it also gets its span subtree,
``chunkscope.file`` -> ``chunkscope.parse`` / ``chunkscope.extract``, created after the fact
with the measured times under an explicit parent (the run span, or a server's HTTP span).
Times are clamped into the parent's so the tree nests exactly even across processes whose
clocks were anchored a few microseconds apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.instrumentation.chunkscope._metrics import NO_EXEMPLAR, Recorder
from opentelemetry.instrumentation.chunkscope._policy import DROPPED_UNSAMPLED, FileSpanPolicy
from opentelemetry.instrumentation.chunkscope._safety import report
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from chunkscope import names as N
from chunkscope.clock import now_ns
from chunkscope.model import FileResult, RecordedElsewhere


def error_type(result: FileResult) -> str:
    """The exception class name at the head of ``result.error``, else ``OSError``."""
    head = (result.error or "").split(":", 1)[0].strip()
    return head if head.isidentifier() else "OSError"


class RunTally:
    """What a run span reports when it ends: outcomes, chunks, bytes, spans kept and dropped."""

    __slots__ = ("bytes", "chunks", "dropped", "kept", "outcomes", "start_ns")

    def __init__(self, start_ns: int) -> None:
        self.start_ns = start_ns
        self.outcomes = {"chunked": 0, "skipped": 0, "error": 0}
        self.chunks = 0
        self.bytes = 0
        self.kept = 0
        self.dropped = 0

    def count(self, result: FileResult, kept: bool | None) -> None:
        """``kept`` None: a result recorded by another process, no span decision made here."""
        self.outcomes[result.outcome] = self.outcomes.get(result.outcome, 0) + 1
        self.chunks += len(result.chunks)
        if result.outcome == "chunked":
            self.bytes += result.size
        if kept:
            self.kept += 1
        elif kept is not None:
            self.dropped += 1

    def attributes(self) -> dict[str, int]:
        return {
            N.RUN_FILES_CHUNKED: self.outcomes.get("chunked", 0),
            N.RUN_FILES_SKIPPED: self.outcomes.get("skipped", 0),
            N.RUN_FILES_ERRORED: self.outcomes.get("error", 0),
            N.RUN_CHUNKS: self.chunks,
            N.RUN_BYTES: self.bytes,
            N.RUN_FILE_SPANS_KEPT: self.kept,
            N.RUN_FILE_SPANS_DROPPED: self.dropped,
        }


class ResultRecorder:
    """Turns results into telemetry: the policy's decision, the span subtree, the metrics."""

    def __init__(
        self,
        tracer: Tracer,
        recorder: Recorder,
        policy: FileSpanPolicy,
        path_attr: Callable[[str], str | None],
    ) -> None:
        self.tracer = tracer
        self.recorder = recorder
        self.policy = policy
        self.path_attr = path_attr

    def record(self, result: FileResult, parent: Any = None, tally: RunTally | None = None) -> bool:
        """Record ``result`` under ``parent`` (a Context; default: the current one).

        Returns whether its spans were kept. Never raises: telemetry must not cost a result.
        """
        try:
            if isinstance(result.timings, RecordedElsewhere):  # a replica recorded it already
                if tally is not None:
                    tally.count(result, None)
                return False
            ctx = otel_context.get_current() if parent is None else parent
            parent_span = otel_trace.get_current_span(ctx)
            sc = parent_span.get_span_context()
            if sc.is_valid and not sc.trace_flags.sampled:
                kept, reason = False, DROPPED_UNSAMPLED
            else:
                now = now_ns()
                kept, reason = self.policy.decide(result, sc.trace_id, sc.span_id, now)
            self.recorder.span_decision(kept, reason)
            if tally is not None:
                tally.count(result, kept)
            if kept:
                lower = tally.start_ns if tally is not None else _start_of(parent_span)
                file_ctx, parse_ctx, extract_ctx = self._spans(result, ctx, reason, lower)
                self.recorder.result(result, file_ctx, parse_ctx, extract_ctx)
            else:
                self.recorder.result(result)
            return kept
        except Exception as exc:
            report(exc)
            return False

    def _spans(self, result: FileResult, parent: Any, reason: str, lower: int) -> tuple[Any, ...]:
        t = result.timings
        upper = now_ns()
        start = _clamp(t.start_ns or upper, lower, upper)
        end = _clamp(t.end_ns or upper, start, upper)
        tracer = self.tracer
        span = tracer.start_span(
            N.SPAN_FILE,
            context=parent,
            kind=SpanKind.INTERNAL,
            attributes=self._file_attributes(result, reason),
            start_time=start,
        )
        outcome = result.outcome
        failed = error_type(result) if outcome == "error" else None
        if failed is not None:
            span.set_status(Status(StatusCode.ERROR, failed))
        file_ctx = otel_trace.set_span_in_context(span)
        parse_ctx = extract_ctx = NO_EXEMPLAR
        language = result.language
        if t.parsed:
            ps = _clamp(t.parse_start_ns, start, end)
            pe = _clamp(t.parse_end_ns, ps, end)
            parse_failed = failed is not None and not t.extracted
            attrs: dict[str, Any] = {N.LANGUAGE: language} if language else {}
            if parse_failed:
                attrs[N.ERROR_TYPE] = failed
            else:
                attrs[N.PARSE_HAS_ERROR] = t.has_syntax_error
                attrs[N.TREE_NODE_COUNT] = t.node_count
            child = tracer.start_span(
                N.SPAN_PARSE, context=file_ctx, attributes=attrs, start_time=ps
            )
            if parse_failed:
                child.set_status(Status(StatusCode.ERROR, failed))
            parse_ctx = otel_trace.set_span_in_context(child)
            child.end(end_time=pe)
        if t.extracted:
            es = _clamp(t.extract_start_ns, start, end)
            ee = _clamp(t.extract_end_ns, es, end)
            attrs = {N.LANGUAGE: language} if language else {}
            if failed is not None:
                attrs[N.ERROR_TYPE] = failed
            else:
                attrs[N.CHUNK_COUNT] = len(result.chunks)
            child = tracer.start_span(
                N.SPAN_EXTRACT, context=file_ctx, attributes=attrs, start_time=es
            )
            if failed is not None:
                child.set_status(Status(StatusCode.ERROR, failed))
            extract_ctx = otel_trace.set_span_in_context(child)
            child.end(end_time=ee)
        span.end(end_time=end)
        return file_ctx, parse_ctx, extract_ctx

    def _file_attributes(self, result: FileResult, reason: str) -> dict[str, Any]:
        attrs: dict[str, Any] = {
            N.CHUNKER: self.recorder.chunker,
            N.OUTCOME: result.outcome,
            N.FILE_SIZE: result.size,
            N.FILE_SPAN_REASON: reason,
        }
        shown = self.path_attr(result.path) if isinstance(result.path, str) else None
        if shown is not None:
            attrs[N.CODE_FILE_PATH] = shown
        if result.language is not None:
            attrs[N.LANGUAGE] = result.language
        if result.cache is not None:
            attrs[N.CACHE_HIT] = result.cache == "hit"
        if result.outcome == "chunked":
            attrs[N.CHUNK_COUNT] = len(result.chunks)
        elif result.outcome == "skipped":
            attrs[N.SKIP_REASON] = result.reason
        else:
            attrs[N.ERROR_TYPE] = error_type(result)
        return attrs


def _clamp(value: int, lower: int, upper: int) -> int:
    return lower if value < lower else upper if value > upper else value


def _start_of(span: Any) -> int:
    """A live SDK span's start time (a public ``ReadableSpan`` property), else no bound."""
    start = getattr(span, "start_time", None)
    return start if isinstance(start, int) else 0
