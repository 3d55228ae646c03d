"""The file-span keep policy, and the after-the-fact span tree it keeps.

Every file is counted in the metrics; only the files the policy keeps get a span subtree,
decided when the file is done, so no kept file misses a child and no trace has orphans.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.instrumentation.chunkscope import ChunkscopeInstrumentor
from opentelemetry.instrumentation.chunkscope._policy import (
    FileSpanPolicy,
    PolicyConfig,
    ratio_draw,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from otel_support import Telemetry, clean_env

import chunkscope
from chunkscope import names as N
from chunkscope import pipeline
from chunkscope.model import ChunkOptions, FileResult, StageTimes

SECOND = 1_000_000_000


def result(path: str, outcome: str = "chunked", ms: float = 1.0) -> FileResult:
    start = 5 * SECOND
    return FileResult(
        path=path,
        outcome=outcome,  # type: ignore[arg-type]
        language="python",
        size=10,
        error="RuntimeError: boom" if outcome == "error" else None,
        timings=StageTimes(start, start + int(ms * 1e6)),
    )


class TestDecisions:
    def test_errors_and_slow_files_are_always_kept(self) -> None:
        """With no reservoir and no ratio, an error or a file over the threshold still keeps."""
        policy = FileSpanPolicy(PolicyConfig(slow_ms=100, reservoir=0, ratio=0.0))
        assert policy.decide(result("e.py", "error"), 1, 2, 0) == (True, "error")
        assert policy.decide(result("s.py", ms=150), 1, 2, 0) == (True, "slow")
        assert policy.decide(result("f.py", ms=50), 1, 2, 0) == (False, "ratio")

    def test_reservoir_is_bounded_per_second(self) -> None:
        """The first N files of a second are kept, then none until the next second."""
        policy = FileSpanPolicy(PolicyConfig(reservoir=10, ratio=0.0))
        first = [policy.decide(result(f"{i}.py"), 1, 2, 7 * SECOND + i)[0] for i in range(25)]
        second = [policy.decide(result(f"{i}.py"), 1, 2, 8 * SECOND + i)[0] for i in range(25)]
        assert sum(first) == 10 and first[:10] == [True] * 10
        assert sum(second) == 10

    def test_ratio_lands_within_tolerance_on_ten_thousand_results(self) -> None:
        """10 % of 10,000 files keep their spans, within three standard deviations."""
        policy = FileSpanPolicy(PolicyConfig(reservoir=0, ratio=0.1))
        kept = sum(policy.decide(result(f"src/m{i}.py"), 0xABC, 0xDEF, 0)[0] for i in range(10_000))
        assert abs(kept - 1_000) <= 90  # sigma = sqrt(10000 * 0.1 * 0.9) = 30

    def test_ratio_draw_is_repeatable_and_spread(self) -> None:
        """The same trace, parent and path always draw the same number; others differ."""
        assert ratio_draw(1, 2, "a.py") == ratio_draw(1, 2, "a.py")
        assert ratio_draw(1, 2, "a.py") != ratio_draw(3, 2, "a.py")
        assert ratio_draw(1, 2, "a.py") != ratio_draw(1, 2, "b.py")

    def test_all_and_none_do_what_they_say(self) -> None:
        """``all`` keeps every file, ``none`` drops even errors."""
        keep = FileSpanPolicy(PolicyConfig(mode="all", reservoir=0, ratio=0.0))
        drop = FileSpanPolicy(PolicyConfig(mode="none"))
        assert keep.decide(result("a.py"), 1, 2, 0) == (True, "all")
        assert drop.decide(result("e.py", "error"), 1, 2, 0) == (False, "disabled")

    def test_configuration_from_the_environment(self) -> None:
        """The documented variables set the knobs; nonsense falls back to the defaults."""
        config = PolicyConfig.from_env(
            {
                "CHUNKSCOPE_OTEL_FILE_SPANS": "ALL",
                "CHUNKSCOPE_OTEL_SLOW_FILE_MS": "250",
                "CHUNKSCOPE_OTEL_FILE_RESERVOIR": "3",
                "CHUNKSCOPE_OTEL_FILE_RATIO": "0.5",
            }
        )
        assert config == PolicyConfig(mode="all", slow_ms=250.0, reservoir=3, ratio=0.5)
        bad = PolicyConfig.from_env(
            {
                "CHUNKSCOPE_OTEL_FILE_SPANS": "some",
                "CHUNKSCOPE_OTEL_SLOW_FILE_MS": "fast",
                "CHUNKSCOPE_OTEL_FILE_RESERVOIR": "-1",
                "CHUNKSCOPE_OTEL_FILE_RATIO": "2",
            }
        )
        assert bad == PolicyConfig(mode="policy", slow_ms=100.0, reservoir=10, ratio=1.0)


class Instrumented:
    """chunkscope instrumented with in-memory spans and metrics under a chosen policy."""

    def __init__(self, sampler: Any = None) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider(sampler=sampler) if sampler else TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def spans(self, name: str | None = None) -> list[ReadableSpan]:
        spans = list(self.exporter.get_finished_spans())
        return [s for s in spans if name is None or s.name == name]

    def points(self, metric: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        return [
            p
            for rm in (data.resource_metrics if data else ())
            for sm in rm.scope_metrics
            for m in sm.metrics
            if m.name == metric
            for p in m.data.data_points
        ]


@pytest.fixture
def instrumented(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Instrumented]]:
    """``instrumented(sampler=None, **env)``: instrument with the policy variables in ``env``."""
    instrumentor = ChunkscopeInstrumentor()

    def make(sampler: Any = None, **env: str) -> Instrumented:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        t = Instrumented(sampler)
        instrumentor.instrument(tracer_provider=t.tracer_provider, meter_provider=t.meter_provider)
        return t

    yield make
    instrumentor.uninstrument()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Twelve small Python files and one that the extractor will fail on."""
    root = tmp_path / "src"
    root.mkdir()
    for i in range(12):
        (root / f"m{i:02}.py").write_text(f"def f{i}():\n    return {i}\n")
    (root / "zz_broken.py").write_text("def broken():\n    pass\n")
    return root


@pytest.fixture
def broken_extractor(monkeypatch: pytest.MonkeyPatch) -> None:
    original = pipeline._extract

    def boom(tree: Any, source: bytes, path: str, options: Any = None, deadline: Any = None) -> Any:
        if path.endswith("zz_broken.py"):
            raise RuntimeError("planted extractor failure")
        return original(tree, source, path, options, deadline)

    monkeypatch.setattr(pipeline, "_extract", boom)


def _nests(inner: ReadableSpan, outer: ReadableSpan) -> bool:
    assert inner.start_time is not None and inner.end_time is not None
    assert outer.start_time is not None and outer.end_time is not None
    return outer.start_time <= inner.start_time <= inner.end_time <= outer.end_time


def assert_tree_nests(t: Instrumented) -> None:
    """Every file lies inside its run, every stage inside its file, parents exported."""
    spans = {s.context.span_id: s for s in t.spans()}
    for span in spans.values():
        if span.name == "chunkscope.run":
            continue
        assert span.parent is not None and span.parent.span_id in spans, span.name
        assert _nests(span, spans[span.parent.span_id]), span.name


class TestRunsUnderThePolicy:
    def test_default_policy_keeps_the_error_and_a_reservoir(
        self, instrumented: Callable[..., Instrumented], tree: Path, broken_extractor: None
    ) -> None:
        """13 files, a reservoir of 5: the error plus 5 files keep spans; all 13 are counted."""
        t = instrumented(CHUNKSCOPE_OTEL_FILE_RESERVOIR="5", CHUNKSCOPE_OTEL_FILE_RATIO="0")
        results = list(chunkscope.chunk_paths([tree]))
        assert len(results) == 13
        files = t.spans("chunkscope.file")
        reasons = Counter(s.attributes["chunkscope.file.span.reason"] for s in files)
        assert reasons == {"reservoir": 5, "error": 1}
        (broken,) = [s for s in files if s.attributes["chunkscope.outcome"] == "error"]
        assert broken.attributes["code.file.path"] == "zz_broken.py"
        (run,) = t.spans("chunkscope.run")
        assert run.attributes["chunkscope.run.file_spans.kept"] == 6
        assert run.attributes["chunkscope.run.file_spans.dropped"] == 7
        assert_tree_nests(t)
        counted = sum(p.count for p in t.points("chunkscope.file.duration"))
        assert counted == 13
        decisions = {
            (p.attributes["chunkscope.decision"], p.attributes["chunkscope.reason"]): p.value
            for p in t.points("chunkscope.file.spans")
        }
        assert decisions == {
            ("kept", "reservoir"): 5,
            ("kept", "error"): 1,
            ("dropped", "ratio"): 7,
        }

    def test_exemplars_point_only_at_exported_spans(
        self, instrumented: Callable[..., Instrumented], tree: Path
    ) -> None:
        """Kept files lend their span to the histogram's exemplars; dropped files lend none."""
        t = instrumented(CHUNKSCOPE_OTEL_FILE_RESERVOIR="3", CHUNKSCOPE_OTEL_FILE_RATIO="0")
        list(chunkscope.chunk_paths([tree]))
        exported = {s.context.span_id for s in t.spans()}
        trace_ids = {s.context.trace_id for s in t.spans()}
        exemplars = [
            e
            for name in ("chunkscope.file.duration", "chunkscope.parse.duration")
            for p in t.points(name)
            for e in p.exemplars
        ]
        assert exemplars
        assert {e.span_id for e in exemplars} <= exported
        assert {e.trace_id for e in exemplars} <= trace_ids

    def test_an_unsampled_run_records_no_file_spans_but_every_metric(
        self, instrumented: Callable[..., Instrumented], tree: Path, broken_extractor: None
    ) -> None:
        """OTEL_TRACES_SAMPLER still rules the root: not sampled, no file spans, even errors."""
        t = instrumented(sampler=ALWAYS_OFF)
        list(chunkscope.chunk_paths([tree]))
        assert t.spans() == []
        assert sum(p.count for p in t.points("chunkscope.file.duration")) == 13
        (point,) = t.points("chunkscope.file.spans")
        assert dict(point.attributes) == {
            "chunkscope.decision": "dropped",
            "chunkscope.reason": "unsampled",
            "chunkscope.chunker": "chunkscope",
        }
        assert point.value == 13

    def test_mode_none_and_all(self, instrumented: Callable[..., Instrumented], tree: Path) -> None:
        """``all`` gives every file its three spans; under ``none`` only the run span is left."""
        t = instrumented(CHUNKSCOPE_OTEL_FILE_SPANS="all", CHUNKSCOPE_OTEL_FILE_RESERVOIR="0")
        list(chunkscope.chunk_paths([tree]))
        assert Counter(s.name for s in t.spans()) == {
            "chunkscope.run": 1,
            "chunkscope.file": 13,
            "chunkscope.parse": 13,
            "chunkscope.extract": 13,
        }

    def test_jobs_two_gives_the_same_tree(
        self, instrumented: Callable[..., Instrumented], tree: Path
    ) -> None:
        """Files chunked in worker processes are recorded here, nested exactly as in one job."""
        t = instrumented(CHUNKSCOPE_OTEL_FILE_SPANS="all")
        one = list(chunkscope.chunk_paths([tree]))
        shape_one = Counter(s.name for s in t.spans())
        t.exporter.clear()
        two = list(chunkscope.chunk_paths([tree], ChunkOptions(jobs=2)))
        assert [r.chunks for r in two] == [r.chunks for r in one]
        assert Counter(s.name for s in t.spans()) == shape_one
        assert_tree_nests(t)
        (run,) = t.spans("chunkscope.run")
        assert run.attributes["chunkscope.run.jobs"] == 2


WORKER_SCRIPT = textwrap.dedent(
    """
    import sys
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    import chunkscope


    def otel_modules():
        import chunkscope.pipeline
        chunkscope.pipeline._worker_batch([], chunkscope.ChunkOptions())
        return sorted(m for m in sys.modules if m.startswith("opentelemetry"))


    if __name__ == "__main__":
        assert "opentelemetry.sdk.trace" in sys.modules, "the parent must be instrumented"
        results = list(chunkscope.chunk_paths([sys.argv[1]], chunkscope.ChunkOptions(jobs=2)))
        assert results and all(r.outcome == "chunked" for r in results)
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            print(pool.submit(otel_modules).result())
    """
)


def test_workers_import_no_opentelemetry(tmp_path: Path, tree: Path) -> None:
    """With CHUNKSCOPE_OTEL=1 the parent records; a spawned worker has no opentelemetry at all."""
    script = tmp_path / "workers.py"
    script.write_text(WORKER_SCRIPT)
    env = clean_env(
        CHUNKSCOPE_OTEL="1",
        OTEL_TRACES_EXPORTER="none",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
    )
    done = subprocess.run(
        [sys.executable, str(script), str(tree)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_telemetry_fixture_still_sees_every_file(telemetry: Telemetry, tree: Path) -> None:
    """The default policy on a 13-file run: everything within the reservoir keeps its spans.

    The first ten files are the reservoir's; the other three may still be kept, by the 1 %
    ratio or by a new second's reservoir when the run crosses one."""
    results = list(chunkscope.chunk_paths([tree]))
    kept = {s.attributes[N.CODE_FILE_PATH] for s in telemetry.by_name("chunkscope.file")}
    assert {r.path for r in results[:10]} <= kept
    assert 10 <= len(kept) <= len(results) == 13
