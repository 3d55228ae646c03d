"""Histogram points without an exemplar, recorded at a fraction of ``Histogram.record``'s cost.

Why: every file records three or four histogram points, and the SDK's ``Histogram.record``
spends most of each call validating, copying and hashing the same attribute dict to find the
aggregation it already found last time; the aggregation itself is a small part
(docs/telemetry.md, "What it costs", has the figures). Most points carry no exemplar (a file
whose span is dropped), so for those this records straight into the SDK's own aggregation
for the attribute set, located once, after an ordinary ``record()`` created it. The points,
the aggregation, the readers and the export are the SDK's: only the lookup is skipped.

Locating the aggregation uses private SDK attributes (``_measurement_consumer``,
``_reader_storages``, ``_instrument_view_instrument_matches``, ``_attributes_aggregation``).
Whenever anything is not as expected, the point goes through ``record()`` instead, so the
fast path can only be lost, never wrong:

* a point with an exemplar context (a kept file) always goes through ``record()``;
* an exemplar filter other than ``trace_based`` or ``always_off`` (``always_on`` samples
  points without a span);
* delta temporality, where the SDK replaces aggregations at every collection;
* a reader added or removed since the lookup;
* an attribute set the SDK folded into its cardinality overflow;
* any error while locating (an SDK whose internals moved).

``tests/instrumentation/test_histograms.py`` fails when the pinned SDK's internals move,
and checks that both paths export the same points.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from opentelemetry.context import Context

NO_EXEMPLAR = Context()
"""A context with no span: a point recorded with it gets no exemplar."""

_UNUSABLE = ()


class FastHistogram:
    """One SDK histogram; ``record`` takes a key that names the attribute set."""

    __slots__ = ("_histogram", "_located", "_measurement", "_usable")

    def __init__(self, histogram: Any) -> None:
        self._histogram = histogram
        self._located: dict[Hashable, tuple[dict[Any, Any], tuple[Any, ...]]] = {}
        self._measurement, self._usable = _sdk_parts(histogram)

    def record(
        self, value: float, key: Hashable, attributes: dict[str, Any], context: Context
    ) -> None:
        """Record ``value`` with ``attributes``, which ``key`` names (same key, same dict)."""
        histogram = self._histogram
        if context is not NO_EXEMPLAR or not self._usable:
            histogram.record(value, attributes, context)
            return
        storages = histogram._measurement_consumer._reader_storages
        located = self._located.get(key)
        if located is not None and located[0] is storages:
            aggregations = located[1]
            if aggregations:
                measurement = self._measurement(value, 0, histogram, context, None)
                for aggregation in aggregations:
                    aggregation.aggregate(measurement, False)
            else:
                histogram.record(value, attributes, context)
            return
        histogram.record(value, attributes, context)
        try:
            self._located[key] = storages, _locate(histogram, storages, attributes)
        except Exception:  # an SDK whose internals moved: record() from now on
            self._usable = False

    @property
    def fast(self) -> bool:
        """Whether points without an exemplar skip ``record()`` (tests and diagnostics)."""
        return self._usable and any(a for _, a in self._located.values())


def _sdk_parts(histogram: Any) -> tuple[Any, bool]:
    """The SDK's ``Measurement`` class, and whether this histogram can take the fast path."""
    try:
        from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, TraceBasedExemplarFilter
        from opentelemetry.sdk.metrics._internal.measurement import Measurement

        consumer = histogram._measurement_consumer
        exemplar_filter = consumer._sdk_config.exemplar_filter
        usable = isinstance(exemplar_filter, (TraceBasedExemplarFilter, AlwaysOffExemplarFilter))
        return Measurement, usable and isinstance(consumer._reader_storages, dict)
    except Exception:  # not the SDK's histogram, or an SDK whose internals moved
        return None, False


def _locate(
    histogram: Any, storages: dict[Any, Any], attributes: dict[str, Any]
) -> tuple[Any, ...]:
    """Every aggregation a point with ``attributes`` goes to: one per reader and view.

    No aggregations means "use record()" for this attribute set.
    """
    found = []
    for storage in storages.values():
        for match in storage._instrument_view_instrument_matches.get(histogram, ()):
            if match._reset_on_collect:
                return _UNUSABLE
            keys = match._view._attribute_keys
            wanted = (
                attributes if keys is None else {k: v for k, v in attributes.items() if k in keys}
            )
            hits = [a for a in match._attributes_aggregation.values() if a._attributes == wanted]
            if len(hits) != 1:
                return _UNUSABLE
            found.append(hits[0])
    return tuple(found)
