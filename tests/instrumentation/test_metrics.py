"""Metrics: the contract (names, kinds, units, attributes) and values for a known input."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import Histogram, Sum
from otel_support import Telemetry

import chunkscope
from chunkscope.names import DURATION_BUCKETS, SIZE_BUCKETS

CONTRACT = {
    "chunkscope.parse.duration": (Histogram, "s"),
    "chunkscope.extract.duration": (Histogram, "s"),
    "chunkscope.file.duration": (Histogram, "s"),
    "chunkscope.files": (Sum, "{file}"),
    "chunkscope.bytes": (Sum, "By"),
    "chunkscope.chunks": (Sum, "{chunk}"),
    "chunkscope.chunk.size": (Histogram, "By"),
    "chunkscope.files.active": (Sum, "{file}"),
    "chunkscope.file.spans": (Sum, "{file}"),
}


def _points(metric: Any) -> dict[frozenset[tuple[str, Any]], Any]:
    return {frozenset(p.attributes.items()): p for p in metric.data.data_points}


def _key(**attrs: Any) -> frozenset[tuple[str, Any]]:
    """A point's attributes: the given ones plus ``chunkscope.chunker``, on every point."""
    attrs.setdefault("chunker", "chunkscope")
    return frozenset((f"chunkscope.{k.replace('_', '.')}", v) for k, v in attrs.items())


@pytest.fixture
def run(telemetry: Telemetry, project: Path) -> list[chunkscope.FileResult]:
    return list(chunkscope.chunk_paths([project]))


class TestContract:
    def test_names_kinds_units(self, telemetry: Telemetry, run: list[Any]) -> None:
        """Exactly the nine instruments of the contract, with their kinds and units."""
        metrics = telemetry.metrics()
        assert set(metrics) == set(CONTRACT)
        for name, (kind, unit) in CONTRACT.items():
            assert isinstance(metrics[name].data, kind), name
            assert metrics[name].unit == unit, name
        for name in (
            "chunkscope.files",
            "chunkscope.bytes",
            "chunkscope.chunks",
            "chunkscope.file.spans",
        ):
            assert metrics[name].data.is_monotonic
        assert not metrics["chunkscope.files.active"].data.is_monotonic

    def test_bucket_boundaries(self, telemetry: Telemetry, run: list[Any]) -> None:
        """Durations use sub-millisecond to seconds buckets; sizes use byte buckets."""
        metrics = telemetry.metrics()
        for name in ("chunkscope.parse.duration", "chunkscope.file.duration"):
            for point in metrics[name].data.data_points:
                assert tuple(point.explicit_bounds) == tuple(DURATION_BUCKETS)
        for point in metrics["chunkscope.chunk.size"].data.data_points:
            assert tuple(point.explicit_bounds) == tuple(SIZE_BUCKETS)


class TestValues:
    def test_files_by_outcome_and_reason(self, telemetry: Telemetry, run: list[Any]) -> None:
        """chunkscope.files counts every file once, with language, outcome and skip reason."""
        points = _points(telemetry.metrics()["chunkscope.files"])
        assert {k: p.value for k, p in points.items()} == {
            _key(language="python", outcome="chunked"): 2,
            _key(language="go", outcome="chunked"): 1,
            _key(outcome="skipped", skip_reason="binary"): 1,
            _key(outcome="skipped", skip_reason="empty"): 1,
        }

    def test_bytes_and_chunks(self, telemetry: Telemetry, run: list[Any]) -> None:
        """Bytes per language and chunks per kind equal what the results report."""
        metrics = telemetry.metrics()
        expected_bytes: Counter[str] = Counter()
        expected_chunks: Counter[tuple[str, str]] = Counter()
        for result in run:
            if result.outcome == "chunked":
                expected_bytes[result.language] += result.size
            for chunk in result.chunks:
                expected_chunks[(chunk.language, chunk.kind)] += 1
        assert {k: p.value for k, p in _points(metrics["chunkscope.bytes"]).items()} == {
            _key(language=lang): n for lang, n in expected_bytes.items()
        }
        assert {k: p.value for k, p in _points(metrics["chunkscope.chunks"]).items()} == {
            _key(language=lang, chunk_kind=kind): n for (lang, kind), n in expected_chunks.items()
        }
        assert expected_chunks[("python", "method")] == 1  # the input has C.m

    def test_durations(self, telemetry: Telemetry, run: list[Any]) -> None:
        """One parse, extract and file observation per file, split by outcome."""
        metrics = telemetry.metrics()
        parse = {k: p.count for k, p in _points(metrics["chunkscope.parse.duration"]).items()}
        assert parse == {
            _key(language="python", outcome="ok"): 1,
            _key(language="python", outcome="syntax_error"): 1,
            _key(language="go", outcome="ok"): 1,
        }
        extract = {k: p.count for k, p in _points(metrics["chunkscope.extract.duration"]).items()}
        assert extract == {_key(language="python"): 2, _key(language="go"): 1}
        files = {k: p.count for k, p in _points(metrics["chunkscope.file.duration"]).items()}
        assert files == {
            _key(language="python", outcome="chunked"): 2,
            _key(language="go", outcome="chunked"): 1,
            _key(outcome="skipped"): 2,
        }
        for point in metrics["chunkscope.parse.duration"].data.data_points:
            assert 0 < point.sum < 5

    def test_chunk_size_is_mean_per_file(self, telemetry: Telemetry, run: list[Any]) -> None:
        """chunkscope.chunk.size gets each chunked file's mean chunk size."""
        points = _points(telemetry.metrics()["chunkscope.chunk.size"])
        for language in ("python", "go"):
            files = [r for r in run if r.language == language and r.chunks]
            means = [
                sum(c.end_byte - c.start_byte for c in r.chunks) / len(r.chunks) for r in files
            ]
            point = points[_key(language=language)]
            assert point.count == len(files)
            assert point.sum == pytest.approx(sum(means))

    def test_exemplars_carry_trace_ids(self, telemetry: Telemetry, run: list[Any]) -> None:
        """Duration exemplars point at the traces of the file spans."""
        trace_ids = {s.context.trace_id for s in telemetry.by_name("chunkscope.file")}
        points = telemetry.metrics()["chunkscope.file.duration"].data.data_points
        exemplars = [e for p in points for e in p.exemplars]
        assert exemplars
        assert {e.trace_id for e in exemplars} <= trace_ids

    def test_files_active_during_a_file(
        self, telemetry: Telemetry, project: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """files.active is 1 while a file is being chunked and 0 afterwards."""
        from chunkscope import pipeline

        seen: list[int] = []
        original = pipeline._extract

        def spy(*args: Any, **kwargs: Any) -> Any:
            active = _points(telemetry.metrics()["chunkscope.files.active"])
            seen.append(active[_key()].value)
            return original(*args, **kwargs)

        monkeypatch.setattr(pipeline, "_extract", spy)
        chunkscope.chunk_file(project / "a.py")
        list(chunkscope.chunk_paths([project / "lib.go"]))
        assert seen == [1, 1]
        after = _points(telemetry.metrics()["chunkscope.files.active"])
        assert after[_key()].value == 0


class TestRecordResult:
    def test_a_result_from_elsewhere_is_recorded_where_handed_over(
        self, telemetry: Telemetry
    ) -> None:
        """record_result turns a result chunked without telemetry into metrics and spans."""
        from opentelemetry.instrumentation.chunkscope import record_result

        from chunkscope import pipeline

        result = pipeline.chunk_bytes(
            b"def f():\n    return 1\n", "w.py", None, pipeline.DEFAULT_OPTIONS
        )
        assert telemetry.metrics() == {} or "chunkscope.parse.duration" not in telemetry.metrics()
        assert telemetry.spans() == []

        assert record_result(result) is True
        metrics = telemetry.metrics()
        files = _points(metrics["chunkscope.files"])
        assert files[_key(language="python", outcome="chunked")].value == 1
        parse = _points(metrics["chunkscope.parse.duration"])
        assert parse[_key(language="python", outcome="ok")].count == 1
        (file_span,) = telemetry.by_name("chunkscope.file")
        assert file_span.start_time == result.timings.start_ns
        assert file_span.end_time == result.timings.end_ns
        (point,) = metrics["chunkscope.file.duration"].data.data_points
        assert point.exemplars[0].span_id == file_span.context.span_id

    def test_nothing_is_recorded_when_not_instrumented(self) -> None:
        """Without an instrumented chunkscope, record_result says so and does nothing."""
        from opentelemetry.instrumentation.chunkscope import record_result

        result = chunkscope.chunk_source(b"x = 1\n", "a.py")
        assert record_result(result) is False
