"""From treesitter-chunker measures to chunkscope's records, in the process owning the SDK.

A finished ``Measure`` becomes a ``FileResult`` with its ``StageTimes`` and goes through
chunkscope's own ``ResultRecorder``: the same metric instruments (on a meter of this
instrumentation, with ``chunkscope.chunker=treesitter-chunker`` on every point), the same
keep policy and the same span subtree created after the fact. Directory runs get
chunkscope's run span, parenting the files recorded from the pool.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.instrumentation.chunkscope import _recorder
from opentelemetry.instrumentation.chunkscope import _wrappers as chunkscope_wrappers
from opentelemetry.instrumentation.chunkscope._attributes import path_formatter, path_mode
from opentelemetry.instrumentation.chunkscope._policy import FileSpanPolicy, PolicyConfig
from opentelemetry.instrumentation.chunkscope._record import ResultRecorder, RunTally
from opentelemetry.instrumentation.chunkscope._safety import report
from opentelemetry.instrumentation.treesitter_chunker import _probe
from opentelemetry.instrumentation.treesitter_chunker._result import to_result
from opentelemetry.instrumentation.treesitter_chunker.version import __version__
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from chunkscope import names as N

_SCOPE = "opentelemetry.instrumentation.treesitter_chunker"
_SCHEMA_URL = "https://opentelemetry.io/schemas/1.11.0"


_folders: dict[tuple[str, str], str | None] = {}


def display_path(path: str, root: str | None) -> str:
    """The path as recorded: relative to the run root (or the working directory when it is
    under it), else only the file name, so no home directory leaks into telemetry.

    Folders are resolved once each (a run has far fewer folders than files)."""
    if not path:
        return ""
    folder, name = os.path.split(path)
    base = root if root is not None else os.getcwd()
    key = (folder, base)
    shown = _folders.get(key, "?")
    if shown == "?":
        if len(_folders) > 4096:
            _folders.clear()
        shown = _folders[key] = _relative_folder(folder, base)
    if shown is None:
        return name
    return os.path.join(shown, name) if shown else name


def _relative_folder(folder: str, base: str) -> str | None:
    """``folder`` relative to ``base`` ("" for base itself), None when outside it."""
    try:
        relative = os.path.relpath(os.path.abspath(folder or os.curdir), base)
    except ValueError:  # another drive
        return None
    if relative == os.curdir:
        return ""
    return None if relative == os.pardir or relative.startswith(os.pardir + os.sep) else relative


class Run:
    """One ``chunk_files_parallel`` call: chunkscope's run span and its tally."""

    def __init__(self, recording: Recording, probe: Any, root: str | None) -> None:
        self.recording = recording
        self.span, self.context, self.tally = probe
        self.root = root

    def settle(self, measures: list[_probe.Measure], value: Any, error: Any) -> None:
        """A pool task came back: record its files under the run span."""
        chunks = value[1] if isinstance(value, tuple) and len(value) == 2 else None
        for measure in measures:
            if measure.chunks is None and measure.error is None:
                measure.chunks = chunks
            self.recording.file(measure, self.root, self.context, self.tally)


class Recording:
    """The recorder of one ``instrument()``: tracer, meter, keep policy, path format."""

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        tracer = trace.get_tracer(_SCOPE, __version__, tracer_provider, schema_url=_SCHEMA_URL)
        meter = metrics.get_meter(_SCOPE, __version__, meter_provider, schema_url=_SCHEMA_URL)
        self.meter_provider = meter_provider
        self.results = ResultRecorder(
            tracer,
            _recorder(meter, N.CHUNKER_TREESITTER),
            FileSpanPolicy(PolicyConfig.from_env()),
            path_formatter(path_mode()),
        )

    def hooks(self) -> _probe.Hooks:
        return _probe.Hooks(
            is_instrumentation_enabled, otel_context.get_current, self.done, self.silence
        )

    def silence(self) -> None:
        """In a pool child forked from this process: keep the inherited SDK from exporting.

        The SDK restarts its periodic metric readers after ``fork``, so a pool living longer
        than the export interval would export the parent's counters (and the child's process
        metrics) under the parent's identity, and Prometheus would see one series jump
        between two writers. The child's readers get an exporter that drops, then stop. The
        SDK has no public way to stop a reader without a last export, hence the private
        attributes; any surprise is reported once and the child chunks on.
        """
        try:
            from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult

            class Drop(MetricExporter):
                def export(self, *_args: Any, **_kwargs: Any) -> MetricExportResult:
                    return MetricExportResult.SUCCESS

                def force_flush(self, timeout_millis: float = 10_000) -> bool:
                    return True

                def shutdown(self, *_args: Any, **_kwargs: Any) -> None:
                    return None

            provider = self.meter_provider or metrics.get_meter_provider()
            readers = getattr(provider, "_metric_readers", None)
            if readers is None:  # older SDKs kept them in the configuration
                readers = getattr(getattr(provider, "_sdk_config", None), "metric_readers", ())
            for reader in readers:
                if hasattr(reader, "_exporter") and hasattr(reader, "_shutdown_event"):
                    reader._exporter = Drop()
                    reader._shutdown_event.set()
        except Exception as exc:
            report(exc)

    def done(self, measure: _probe.Measure) -> None:
        self.file(measure, None, measure.context, None)

    def file(
        self, measure: _probe.Measure, root: str | None, context: Any, tally: RunTally | None
    ) -> None:
        try:
            result = to_result(measure, display_path(measure.path, root))
        except Exception as exc:
            report(exc)
            return
        self.results.record(result, context, tally)

    def start_run(self, chunker: Any, file_paths: Any) -> Run | None:
        try:
            paths = [os.fspath(p) for p in file_paths] if file_paths is not None else []
            jobs = int(getattr(chunker, "num_workers", 1) or 1)
            probe = chunkscope_wrappers._start_run(self.results, jobs, paths)
            return None if probe is None else Run(self, probe, _common_root(paths))
        except Exception as exc:
            report(exc)
            return None

    def end_run(self, run: Run, error: BaseException | None) -> None:
        chunkscope_wrappers._end_run(run.span, run.tally, error)


def _common_root(paths: list[str]) -> str | None:
    """The folder the run's files share (a ``chunk_directory`` run: at least its folder)."""
    if not paths:
        return None
    try:
        common = os.path.commonpath([os.path.abspath(p) for p in paths])
    except ValueError:
        return None
    return common if len(paths) > 1 else os.path.dirname(common)
