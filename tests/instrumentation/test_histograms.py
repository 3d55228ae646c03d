"""Histogram points without an exemplar: the fast path exports exactly what record() would.

``FastHistogram`` records into the SDK's own aggregation through private SDK attributes.
These tests pin that: they fail when the pinned SDK's internals move (the fast path would
silently fall back to the slow one), and they check that every case it must not take
(exemplars, delta temporality, ``always_on``, readers added later, views, cardinality
overflow) exports the same points as plain ``record()``.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from opentelemetry.instrumentation.chunkscope._histograms import NO_EXEMPLAR, FastHistogram
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.metrics import AlwaysOnExemplarFilter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.metrics.view import View
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import set_span_in_context

ATTRS = [
    {"chunkscope.language": lang, "chunkscope.outcome": outcome}
    for lang in ("python", "go", "rust")
    for outcome in ("ok", "syntax_error")
]
BUCKETS = [0.001, 0.01, 0.1, 1.0]


def _pair(**provider: Any) -> tuple[Any, ...]:
    """The same histogram on two providers: one fed through FastHistogram, one through record()."""
    reader_args = provider.pop("reader", {})
    fast_reader, slow_reader = (InMemoryMetricReader(**reader_args) for _ in "ab")
    views = provider.pop("views", ())
    made = []
    for reader in (fast_reader, slow_reader):
        meter = MeterProvider(metric_readers=[reader], views=views, **provider).get_meter("t")
        made.append(
            meter.create_histogram("h", unit="s", explicit_bucket_boundaries_advisory=BUCKETS)
        )
    return FastHistogram(made[0]), made[1], fast_reader, slow_reader


def _feed(fast: FastHistogram, slow: Any, values: list[tuple[float, int]]) -> None:
    for value, which in values:
        fast.record(value, which, ATTRS[which], NO_EXEMPLAR)
        slow.record(value, ATTRS[which], NO_EXEMPLAR)


def _values(seed: int, n: int = 600) -> list[tuple[float, int]]:
    rng = random.Random(seed)
    return [(rng.expovariate(50.0), rng.randrange(len(ATTRS))) for _ in range(n)]


def _points(reader: InMemoryMetricReader) -> dict[frozenset[Any], tuple[Any, ...]]:
    data = reader.get_metrics_data()
    if data is None:
        return {}
    out = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for p in metric.data.data_points:
                    out[frozenset(p.attributes.items())] = (
                        p.count,
                        round(p.sum, 9),
                        tuple(p.bucket_counts),
                        p.min,
                        p.max,
                        len(p.exemplars),
                    )
    return out


def test_the_pinned_sdk_takes_the_fast_path() -> None:
    """With the SDK in constraints.txt, points without an exemplar skip record().

    Fails when the SDK's internals that FastHistogram reads have moved: the points would still
    be right (the fallback is record()), but the telemetry would cost several times more.
    """
    fast, slow, fast_reader, slow_reader = _pair()
    _feed(fast, slow, _values(1))
    assert fast.fast
    assert isinstance(fast._histogram, Histogram)
    assert _points(fast_reader) == _points(slow_reader)


def test_both_paths_export_the_same_points_over_collections() -> None:
    """Counts, sums, buckets, min and max agree, collection after collection (cumulative)."""
    fast, slow, fast_reader, slow_reader = _pair()
    for seed in (2, 3, 4):
        _feed(fast, slow, _values(seed))
        got, want = _points(fast_reader), _points(slow_reader)
        assert got == want
        assert sum(p[0] for p in got.values()) == 600 * (seed - 1)


def test_a_kept_files_context_still_gets_its_exemplar() -> None:
    """A point recorded with a sampled span's context goes through record(): one exemplar,
    pointing at that span; the points recorded without one carry none."""
    fast, slow, fast_reader, _ = _pair()
    _feed(fast, slow, _values(5, 50))
    span = TracerProvider().get_tracer("t").start_span("file")
    fast.record(0.5, 0, ATTRS[0], set_span_in_context(span))
    span.end()
    data = fast_reader.get_metrics_data()
    points = data.resource_metrics[0].scope_metrics[0].metrics[0].data.data_points
    exemplars = [e for p in points for e in p.exemplars]
    assert [e.trace_id for e in exemplars] == [span.get_span_context().trace_id]


@pytest.mark.parametrize(
    "provider",
    [
        {"reader": {"preferred_temporality": {Histogram: AggregationTemporality.DELTA}}},
        {"exemplar_filter": AlwaysOnExemplarFilter()},
        {"views": [View(instrument_name="h", aggregation_cardinality_limit=2)]},
    ],
    ids=["delta", "always_on", "cardinality_overflow"],
)
def test_cases_the_fast_path_must_not_take(provider: dict[str, Any]) -> None:
    """Delta temporality (aggregations replaced at each collection), an exemplar filter that
    samples points without a span, and attribute sets folded into the overflow point all
    export what record() exports."""
    fast, slow, fast_reader, slow_reader = _pair(**provider)
    for seed in (6, 7):
        _feed(fast, slow, _values(seed))
        got, want = _points(fast_reader), _points(slow_reader)
        assert {k: v[:5] for k, v in got.items()} == {k: v[:5] for k, v in want.items()}
        assert {k: bool(v[5]) for k, v in got.items()} == {k: bool(v[5]) for k, v in want.items()}


def test_a_view_that_keeps_fewer_attributes() -> None:
    """A View that drops an attribute merges sets exactly as record() does."""
    view = View(instrument_name="h", attribute_keys={"chunkscope.language"})
    fast, slow, fast_reader, slow_reader = _pair(views=[view])
    _feed(fast, slow, _values(8))
    got = _points(fast_reader)
    assert got == _points(slow_reader)
    assert len(got) == 3
    assert fast.fast


def test_a_reader_added_later_receives_every_point_after_it() -> None:
    """A reader added after the lookup gets points: the lookup is redone for the new set."""
    first = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[first])
    histogram = provider.get_meter("t").create_histogram("h", unit="s")
    fast = FastHistogram(histogram)
    for _ in range(3):
        fast.record(0.01, 0, ATTRS[0], NO_EXEMPLAR)
    later = InMemoryMetricReader()
    provider.add_metric_reader(later)
    for _ in range(5):
        fast.record(0.01, 0, ATTRS[0], NO_EXEMPLAR)
    assert [p[0] for p in _points(first).values()] == [8]
    assert [p[0] for p in _points(later).values()] == [5]


def test_a_no_op_provider_is_recorded_through_the_api() -> None:
    """Without an SDK (an application's no-op provider) records go to the API, silently."""
    histogram = NoOpMeterProvider().get_meter("t").create_histogram("h")
    fast = FastHistogram(histogram)
    fast.record(0.01, 0, ATTRS[0], NO_EXEMPLAR)
    fast.record(0.01, 0, ATTRS[0], NO_EXEMPLAR)
    assert not fast.fast
