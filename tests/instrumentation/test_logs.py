"""Logs: chunkscope's structlog events reach the logs pipeline with trace and span ids."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from opentelemetry.instrumentation.chunkscope import ChunkscopeInstrumentor
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from otel_support import Telemetry, clean_env, run_python

import chunkscope


class TestLogCorrelation:
    def test_events_with_ids_of_the_run(self, telemetry: Telemetry, project: Path) -> None:
        """run.started, file.skipped and run.summary carry the run span's trace and span ids."""
        list(chunkscope.chunk_paths([project]))
        (run,) = telemetry.by_name("chunkscope.run")
        records = telemetry.logs()
        bodies = [r.body for r in records]
        assert bodies[0] == "run.started" and bodies[-1] == "run.summary"
        assert bodies.count("file.skipped") == 1  # data.bin; empty.py is a routine skip
        for record in records:
            assert record.trace_id == run.context.trace_id
            assert record.span_id == run.context.span_id

    def test_body_is_event_name_and_attributes_the_values(
        self, telemetry: Telemetry, project: Path
    ) -> None:
        """The body is the event name; its key-values are attributes, with severity."""
        list(chunkscope.chunk_paths([project]))
        skipped = [r for r in telemetry.logs() if r.body == "file.skipped"]
        assert {(r.attributes["path"], r.attributes["reason"]) for r in skipped} == {
            ("data.bin", "binary"),
        }
        assert all(r.severity_text == "INFO" for r in skipped)
        assert "empty.py" not in {r.attributes.get("path") for r in telemetry.logs()}
        summary = next(r for r in telemetry.logs() if r.body == "run.summary")
        assert summary.attributes["files_chunked"] == 3

    def test_errored_file_is_a_warning(
        self, telemetry: Telemetry, project: Path, break_extractor
    ) -> None:
        """file.errored is exported at WARN severity with the path and the error."""
        break_extractor("lib.go")
        list(chunkscope.chunk_paths([project]))
        (errored,) = [r for r in telemetry.logs() if r.body == "file.errored"]
        assert errored.severity_text == "WARN"
        assert errored.attributes["path"] == "lib.go"
        assert errored.attributes["error"] == "RuntimeError: extractor bug"
        assert errored.trace_id == telemetry.by_name("chunkscope.run")[0].context.trace_id

    def test_logs_stop_after_uninstrument(self, telemetry: Telemetry, project: Path) -> None:
        """uninstrument() detaches the handler: nothing more reaches the logs pipeline."""
        from opentelemetry.instrumentation.chunkscope import ChunkscopeInstrumentor

        ChunkscopeInstrumentor().uninstrument()
        try:
            list(chunkscope.chunk_paths([project]))
            assert telemetry.logs() == []
        finally:
            ChunkscopeInstrumentor().instrument(
                tracer_provider=telemetry.tracer_provider,
                meter_provider=telemetry.meter_provider,
                logger_provider=telemetry.logger_provider,
            )


class TestLogPaths:
    @pytest.mark.parametrize("mode", ["hash", "none"])
    def test_path_mode_applies_to_logs(
        self, mode: str, project: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """CHUNKSCOPE_OTEL_PATHS hides paths in exported log records as it does in spans."""
        monkeypatch.setenv("CHUNKSCOPE_OTEL_PATHS", mode)
        exporter = InMemoryLogRecordExporter()
        provider = LoggerProvider()
        provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
        instrumentor = ChunkscopeInstrumentor()
        instrumentor.instrument(logger_provider=provider)
        try:
            list(chunkscope.chunk_paths([project]))
        finally:
            instrumentor.uninstrument()
        records = [d.log_record for d in exporter.get_finished_logs()]
        skipped = [r for r in records if r.body == "file.skipped"]
        assert len(skipped) == 1
        shown = {r.attributes.get("path") for r in skipped}
        if mode == "none":
            assert shown == {None}
        else:
            assert shown == {hashlib.blake2b(b"data.bin", digest_size=8).hexdigest()}
        summary = next(r for r in records if r.body == "run.summary")
        hidden = None if mode == "none" else hashlib.blake2b(b"pkg", digest_size=8).hexdigest()
        assert summary.attributes.get("root_name") == hidden


LEAN_SCRIPT = """
import sys
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.instrumentation.chunkscope import ChunkscopeInstrumentor
import chunkscope

exporter = InMemoryLogRecordExporter()
provider = LoggerProvider()
provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
from opentelemetry.sdk.trace import TracerProvider
ChunkscopeInstrumentor().instrument(logger_provider=provider, tracer_provider=TracerProvider())
list(chunkscope.chunk_paths([sys.argv[1]]))
bodies = [d.log_record.body for d in exporter.get_finished_logs()]
ids = {d.log_record.trace_id for d in exporter.get_finished_logs()}
print("structlog" in sys.modules, bodies[0], bodies[-1], len(ids), 0 in ids)
"""


def test_telemetry_alone_does_not_import_structlog(project: Path) -> None:
    """With only the OpenTelemetry handler listening, events are exported, trace ids and all,
    without paying for structlog's import."""
    done = run_python(LEAN_SCRIPT.replace("sys.argv[1]", repr(str(project))), clean_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "run.started", "run.summary", "1", "False"]
