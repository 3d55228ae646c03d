"""From treesitter-chunker measures to chunkscope's records, in the process owning the SDK.

A finished ``Measure`` becomes a chunkscope ``FileResult`` with its ``StageTimes`` and goes
to chunkscope's public recorder, so the spans, the metric points and the keep policy are
the very ones chunkscope's own files get; only the chunker attribute differs. Directory
runs get a live run span (one per run) that parents the files recorded from the pool.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.instrumentation.chunkscope._safety import report
from opentelemetry.instrumentation.treesitter_chunker import _probe
from opentelemetry.instrumentation.treesitter_chunker.version import __version__
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Status, StatusCode

_SCHEMA_URL = "https://opentelemetry.io/schemas/1.11.0"


def display_path(path: str, root: str | None) -> str:
    """The path as recorded: relative to the run root (or the working directory when it is
    under it), else only the file name, so no home directory leaks into telemetry."""
    if not path:
        return ""
    base = root if root is not None else os.getcwd()
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute, base)
    except ValueError:  # another drive
        return os.path.basename(path)
    if relative == os.curdir or relative.startswith(os.pardir):
        return os.path.basename(absolute)
    return relative


_KINDS = (
    ("method", "method"),
    ("constructor", "method"),
    ("function", "function"),
    ("arrow", "function"),
    ("lambda", "function"),
    ("class", "class"),
    ("struct", "struct"),
    ("enum", "enum"),
    ("interface", "interface"),
    ("trait", "interface"),
    ("impl", "impl"),
    ("module", "module"),
    ("namespace", "module"),
)
_kind_cache: dict[str, str] = {}


def chunk_kind(node_type: str) -> str:
    """treesitter-chunker's node type as one of chunkscope's chunk kinds (``code`` if none),
    so a dashboard's per-kind panels compare like with like."""
    found = _kind_cache.get(node_type)
    if found is None:
        lowered = node_type.lower()
        found = next((kind for token, kind in _KINDS if token in lowered), "code")
        _kind_cache[node_type] = found
    return found


class Run:
    """One ``chunk_files_parallel`` call: the run span and the pool's results."""

    def __init__(self, recording: Recording, span: Any, root: str | None) -> None:
        self.recording = recording
        self.span = span
        self.context = otel_trace.set_span_in_context(span)
        self.root = root
        self.counts = {"chunked": 0, "error": 0}
        self.chunks = 0
        self.bytes = 0

    def settle(self, measures: list[_probe.Measure], value: Any, error: Any) -> None:
        """A pool task came back: record its files under the run span."""
        chunks = value[1] if isinstance(value, tuple) and len(value) == 2 else None
        for measure in measures:
            if measure.chunks is None and not measure.cache_hit and measure.error is None:
                measure.chunks = chunks
            measure.context = self.context
            result = self.recording.file(measure, self.root)
            if result is not None:
                self.counts[result.outcome] = self.counts.get(result.outcome, 0) + 1
                self.chunks += len(result.chunks)
                if result.outcome == "chunked":
                    self.bytes += result.size


class Recording:
    """The tracer, the recorder entry and the choices made at ``instrument()`` time."""

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        self.tracer = otel_trace.get_tracer(
            __name__, __version__, tracer_provider, schema_url=_SCHEMA_URL
        )
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider

    def hooks(self) -> _probe.Hooks:
        return _probe.Hooks(is_instrumentation_enabled, otel_context.get_current, self.done)

    def done(self, measure: _probe.Measure) -> None:
        self.file(measure, None)

    def file(self, measure: _probe.Measure, root: str | None) -> Any:
        """Record one measure; returns the ``FileResult`` recorded (None on failure)."""
        try:
            from opentelemetry.instrumentation.treesitter_chunker._result import to_result

            result = to_result(measure, display_path(measure.path, root))
            self._record(result, measure.context)
            return result
        except Exception as exc:
            report(exc)
            return None

    def _record(self, result: Any, context: Any) -> None:
        from opentelemetry.instrumentation.chunkscope import record_result  # type: ignore[attr-defined]

        record_result(result, context=context)

    def start_run(self, chunker: Any, file_paths: Any) -> Run | None:
        try:
            paths = [os.fspath(p) for p in file_paths] if file_paths is not None else []
            root = _common_root(paths)
            span = self.tracer.start_span(
                "chunkscope.run", attributes=run_attributes(chunker, paths)
            )
            return Run(self, span, root)
        except Exception as exc:
            report(exc)
            return None

    def end_run(self, run: Run, error: BaseException | None) -> None:
        try:
            span = run.span
            if span.is_recording():
                span.set_attributes(run_totals(run))
                if error is not None:
                    span.record_exception(error)
                    span.set_status(Status(StatusCode.ERROR, type(error).__qualname__))
            span.end()
        except Exception as exc:
            report(exc)


def _common_root(paths: list[str]) -> str | None:
    if not paths:
        return None
    try:
        common = os.path.commonpath([os.path.abspath(p) for p in paths])
    except ValueError:
        return None
    return common if len(paths) > 1 else os.path.dirname(common)


def run_attributes(chunker: Any, paths: list[str]) -> dict[str, Any]:
    from opentelemetry.instrumentation.treesitter_chunker._result import run_start_attributes

    return run_start_attributes(getattr(chunker, "num_workers", 1), len(paths))


def run_totals(run: Run) -> dict[str, Any]:
    from opentelemetry.instrumentation.treesitter_chunker._result import run_end_attributes

    return run_end_attributes(run.counts, run.chunks, run.bytes)
