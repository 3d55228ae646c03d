"""Turning telemetry on and off from the environment, each case in a fresh process."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from otel_support import clean_env, run_cli, run_python
from otlp_receiver import GrpcReceiver

_PROBE = """
import json, sys
import chunkscope
from chunkscope.cli import main
code = main(["chunk", "-q", "-o", sys.argv[1] + "/../out.jsonl", sys.argv[1]])
import gc, wrapt
print(json.dumps({
    "code": code,
    "frozen": gc.get_freeze_count() > 0,
    "otel": sorted(m for m in sys.modules if m.startswith("opentelemetry")),
    "wrapped": isinstance(chunkscope.parser.parse, wrapt.FunctionWrapper),
}))
"""


def _probe(project: Path, **env: str) -> dict[str, object]:
    done = run_python(_PROBE.replace("sys.argv[1]", repr(str(project))), clean_env(**env))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


class TestSwitch:
    def test_off_imports_no_opentelemetry(self, project: Path) -> None:
        """With CHUNKSCOPE_OTEL unset, neither import nor a chunk run loads any opentelemetry,
        and the garbage collector is left as it was."""
        found = _probe(project)
        assert found == {"code": 0, "frozen": False, "otel": [], "wrapped": False}

    @pytest.mark.parametrize("value", ["0", "off", "no", ""])
    def test_false_values_stay_off(self, project: Path, value: str) -> None:
        """Values other than 1/true/yes/on leave telemetry off."""
        assert _probe(project, CHUNKSCOPE_OTEL=value)["otel"] == []

    @pytest.mark.parametrize("value", ["1", "true", "YES", "on"])
    def test_true_values_instrument(self, project: Path, value: str) -> None:
        """1, true, yes and on (any case) instrument on import; the objects alive then (the
        SDK's among them) are frozen out of the cyclic collector's reach."""
        found = _probe(
            project,
            CHUNKSCOPE_OTEL=value,
            OTEL_TRACES_EXPORTER="none",
            OTEL_METRICS_EXPORTER="none",
            OTEL_LOGS_EXPORTER="none",
        )
        assert found["wrapped"] is True and found["code"] == 0 and found["frozen"] is True

    def test_sdk_disabled_wins(self, project: Path) -> None:
        """OTEL_SDK_DISABLED=true beats CHUNKSCOPE_OTEL=1: not instrumented, nothing sent."""
        with GrpcReceiver() as receiver:
            found = _probe(
                project,
                CHUNKSCOPE_OTEL="1",
                OTEL_SDK_DISABLED="true",
                OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            )
            assert found["wrapped"] is False
            assert receiver.received.raw == []

    def test_disabled_instrumentations(self, project: Path) -> None:
        """OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=chunkscope turns it off."""
        found = _probe(
            project, CHUNKSCOPE_OTEL="1", OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="flask, chunkscope"
        )
        assert found["wrapped"] is False


_APP = """
import json
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
exporter = InMemorySpanExporter()
mine = TracerProvider()
mine.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(mine)
import chunkscope
chunkscope.chunk_source(b"def f():\\n    pass\\n", "f.py")
from opentelemetry import metrics
from opentelemetry.sdk.resources import Resource
print(json.dumps({
    "kept": trace.get_tracer_provider() is mine,
    "spans": sorted(s.name for s in exporter.get_finished_spans()),
    "service": metrics.get_meter_provider()._sdk_config.resource.attributes["service.name"],
}))
"""


class TestApplicationProviders:
    def test_application_provider_is_kept(self) -> None:
        """An application's own tracer provider is used, not replaced; other signals get set up."""
        done = run_python(
            _APP,
            clean_env(CHUNKSCOPE_OTEL="1", OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none"),
        )
        assert done.returncode == 0, done.stderr
        found = json.loads(done.stdout.strip().splitlines()[-1])
        assert found == {
            "kept": True,
            "spans": ["chunkscope.extract", "chunkscope.file", "chunkscope.parse"],
            "service": "chunkscope",
        }


class TestZeroCode:
    def _run(self, project: Path, receiver: GrpcReceiver, **env: str) -> None:
        tool = shutil.which("opentelemetry-instrument")
        assert tool is not None, "opentelemetry-distro is not installed"
        done = run_cli(
            ["chunk", "-q", str(project)],
            clean_env(
                OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
                OTEL_SERVICE_NAME="zc",
                OTEL_METRICS_EXPORTER="none",
                **env,
            ),
            prefix=[tool],
        )
        assert done.returncode == 0, done.stderr

    def test_opentelemetry_instrument(self, project: Path) -> None:
        """opentelemetry-instrument chunkscope chunk: the entry point instruments chunkscope."""
        with GrpcReceiver() as receiver:
            self._run(project, receiver)
            assert receiver.received.wait_for(lambda r: "chunkscope.run" in r.span_names())
            names = receiver.received.span_names()
        assert names.count("chunkscope.run") == 1
        assert names.count("chunkscope.file") == 5

    def test_no_double_instrumentation(self, project: Path) -> None:
        """opentelemetry-instrument plus CHUNKSCOPE_OTEL=1: still one span per file."""
        with GrpcReceiver() as receiver:
            self._run(project, receiver, CHUNKSCOPE_OTEL="1")
            assert receiver.received.wait_for(lambda r: "chunkscope.run" in r.span_names())
            names = receiver.received.span_names()
        assert names.count("chunkscope.file") == 5
        assert names.count("chunkscope.parse") == 3

    def test_entry_point_disabled(self, project: Path) -> None:
        """OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=chunkscope skips the entry point."""
        with GrpcReceiver() as receiver:
            self._run(project, receiver, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="chunkscope")
            assert "chunkscope.file" not in receiver.received.span_names()

    def test_entry_point_sdk_disabled(self, project: Path) -> None:
        """OTEL_SDK_DISABLED=true under opentelemetry-instrument: nothing is sent."""
        with GrpcReceiver() as receiver:
            self._run(project, receiver, OTEL_SDK_DISABLED="true", CHUNKSCOPE_OTEL="1")
            assert receiver.received.raw == []


_SEMCONV_PROBE = (
    "import chunkscope, os\n"
    "from opentelemetry.instrumentation._semconv import (\n"
    "    _OpenTelemetrySemanticConventionStability as S,\n"
    "    _OpenTelemetryStabilitySignalType as T,\n"
    ")\n"
    "mode = S._get_opentelemetry_stability_opt_in_mode(T.HTTP).value\n"
    "print(os.environ['OTEL_SEMCONV_STABILITY_OPT_IN'], mode)\n"
)
_NO_EXPORT = {
    "CHUNKSCOPE_OTEL": "1",
    "OTEL_TRACES_EXPORTER": "none",
    "OTEL_METRICS_EXPORTER": "none",
    "OTEL_LOGS_EXPORTER": "none",
}


class TestHttpSemconvDefault:
    def test_stable_http_by_default(self) -> None:
        """With CHUNKSCOPE_OTEL=1 and no choice made, HTTP instrumentations use stable semconv."""
        done = run_python(_SEMCONV_PROBE, clean_env(**_NO_EXPORT))
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["http", "http"]

    def test_user_choice_is_kept(self) -> None:
        """A mode the user set is left as it is."""
        done = run_python(
            _SEMCONV_PROBE, clean_env(OTEL_SEMCONV_STABILITY_OPT_IN="http/dup", **_NO_EXPORT)
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["http/dup", "http/dup"]


_PROTOCOL_PROBE = (
    "import chunkscope, json; from opentelemetry import trace; "
    "processor = trace.get_tracer_provider()._active_span_processor._span_processors[0]; "
    "print(type(processor.span_exporter).__module__)"
)


class TestDefaultProtocol:
    def test_http_protobuf_unless_chosen(self) -> None:
        """With no protocol set, spans go out over OTLP/HTTP (the OTLP spec's default, and
        14 MB lighter than gRPC); OTEL_EXPORTER_OTLP_PROTOCOL=grpc still picks gRPC."""
        env = {
            "CHUNKSCOPE_OTEL": "1",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
        }
        default = run_python(_PROTOCOL_PROBE, clean_env(**env))
        assert default.returncode == 0, default.stderr
        assert default.stdout.strip() == "opentelemetry.exporter.otlp.proto.http.trace_exporter"
        chosen = run_python(_PROTOCOL_PROBE, clean_env(OTEL_EXPORTER_OTLP_PROTOCOL="grpc", **env))
        assert chosen.returncode == 0, chosen.stderr
        assert "otlp.proto.grpc" in chosen.stdout or "chunkscope._otlp" in chosen.stdout
