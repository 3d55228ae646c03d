"""The ``chunkscope.*`` instruments, and a recorder cheap enough to run on every file.

Names, kinds, units and descriptions come from ``chunkscope.names.METRICS``: dashboards and
alerts query them. Every file is recorded, whatever the file-span policy keeps, and the
per-file cost is kept small on purpose:

* counters (``chunkscope.files``, ``.bytes``, ``.chunks``, ``.file.spans``, ``.cache.lookups``,
  ``.files.active``) are totals kept in plain dicts under one lock and reported through
  observable callbacks at collection time, so a file costs dictionary increments, not SDK
  calls;
* histograms are recorded synchronously, so a kept file's points carry an exemplar pointing
  at its span: parse, extract and file duration once each, and ``chunkscope.chunk.size`` once
  per chunked file with the file's mean chunk size (recording every chunk would cost more
  than the rest of the telemetry together: a file has about 50 chunks). A dropped file
  records with an empty context, so it carries no exemplar, and its points skip the SDK's
  per-call attribute handling (``_histograms.FastHistogram``).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from opentelemetry.context import Context
from opentelemetry.instrumentation.chunkscope._histograms import NO_EXEMPLAR, FastHistogram
from opentelemetry.metrics import CallbackOptions, Meter, Observation

from chunkscope import names as N

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics.view import View


def views() -> list[View]:
    """Views pinning the bucket boundaries, for a MeterProvider chunkscope configures itself.

    The instruments also carry the same boundaries as advisory, so an application's own
    MeterProvider gets them without any View.
    """
    from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View

    return [
        View(
            instrument_name=name,
            aggregation=ExplicitBucketHistogramAggregation(boundaries=_buckets(unit)),
        )
        for name, (kind, unit, _) in N.METRICS.items()
        if kind == "histogram" and name.startswith("chunkscope.")
    ]


def _buckets(unit: str) -> tuple[float, ...]:
    return N.DURATION_BUCKETS if unit == "s" else N.SIZE_BUCKETS


Attrs = dict[str, Any]
_kind, _start, _end = attrgetter("kind"), attrgetter("start_byte"), attrgetter("end_byte")


class Recorder:
    """All chunkscope instruments of one meter, with attribute dicts cached by key.

    ``chunker`` (``chunkscope.chunker``) is on every point, so one dashboard can pick or
    compare the chunkers whose work is recorded (one recorder, and one meter, per chunker).
    """

    def __init__(self, meter: Meter, chunker: str = N.CHUNKER_CHUNKSCOPE) -> None:
        self.chunker = chunker
        self._lock = threading.Lock()
        self._attrs: dict[tuple[Any, ...], Attrs] = {}
        self._files: dict[tuple[str | None, str, str | None], int] = {}
        self._bytes: dict[str | None, int] = {}
        self._chunks: dict[tuple[str | None, str], int] = {}
        self._spans: dict[tuple[str, str], int] = {}
        self._cache: dict[str, int] = {}
        self._active = 0
        self._parse = self._histogram(meter, N.PARSE_DURATION)
        self._extract = self._histogram(meter, N.EXTRACT_DURATION)
        self._file = self._histogram(meter, N.FILE_DURATION)
        self._chunk_size = self._histogram(meter, N.CHUNK_SIZE)
        self._observable(meter.create_observable_counter, N.FILES, self._observe_files)
        self._observable(meter.create_observable_counter, N.BYTES, self._observe_bytes)
        self._observable(meter.create_observable_counter, N.CHUNKS, self._observe_chunks)
        self._observable(meter.create_observable_counter, N.FILE_SPANS, self._observe_spans)
        self._observable(meter.create_observable_counter, N.CACHE_LOOKUPS, self._observe_cache)
        self._observable(
            meter.create_observable_up_down_counter, N.FILES_ACTIVE, self._observe_active
        )

    @staticmethod
    def _histogram(meter: Meter, name: str) -> FastHistogram:
        _, unit, description = N.METRICS[name]
        return FastHistogram(
            meter.create_histogram(
                name,
                unit=unit,
                description=description,
                explicit_bucket_boundaries_advisory=list(_buckets(unit)),
            )
        )

    @staticmethod
    def _observable(create: Callable[..., Any], name: str, callback: Callable[..., Any]) -> None:
        _, unit, description = N.METRICS[name]
        create(name, [callback], unit=unit, description=description)

    def _attr(self, key: tuple[Any, ...], pairs: Iterable[tuple[str, Any]]) -> Attrs:
        found = self._attrs.get(key)
        if found is None:
            found = {k: v for k, v in pairs if v is not None}
            found[N.CHUNKER] = self.chunker
            self._attrs[key] = found
        return found

    def parse(self, language: str | None, outcome: str, seconds: float, ctx: Context) -> None:
        key = ("p", language, outcome)
        attrs = self._attr(key, ((N.LANGUAGE, language), (N.OUTCOME, outcome)))
        self._parse.record(seconds, key, attrs, ctx)

    def extract(self, language: str | None, seconds: float, ctx: Context) -> None:
        key = ("l", language)
        self._extract.record(seconds, key, self._attr(key, ((N.LANGUAGE, language),)), ctx)

    def enter(self, files: int = 1) -> None:
        with self._lock:
            self._active += files

    def leave(self, files: int = 1) -> None:
        with self._lock:
            self._active -= files

    def span_decision(self, kept: bool, reason: str) -> None:
        key = ("kept" if kept else "dropped", reason)
        with self._lock:
            self._spans[key] = self._spans.get(key, 0) + 1

    def result(
        self,
        result: Any,
        file_ctx: Context = NO_EXEMPLAR,
        parse_ctx: Context = NO_EXEMPLAR,
        extract_ctx: Context = NO_EXEMPLAR,
    ) -> None:
        """Everything one ``FileResult`` contributes: its stages, its counts, its chunks.

        ``result.chunks`` may hold any objects with ``kind``, ``start_byte`` and ``end_byte``.
        """
        language = result.language
        outcome = result.outcome
        timings = result.timings
        if timings.parse_end_ns:
            if outcome == "error" and not timings.extract_end_ns:
                parsed = N.PARSE_ERROR
            else:
                parsed = N.PARSE_SYNTAX_ERROR if timings.has_syntax_error else N.PARSE_OK
            self.parse(language, parsed, timings.parse_seconds, parse_ctx)
        if timings.extract_end_ns:
            self.extract(language, timings.extract_seconds, extract_ctx)
        chunks = result.chunks
        kinds = Counter(map(_kind, chunks))
        total = sum(map(_end, chunks)) - sum(map(_start, chunks))
        key = (language, outcome, result.reason)
        cached = result.cache
        with self._lock:
            self._files[key] = self._files.get(key, 0) + 1
            if cached is not None:
                self._cache[cached] = self._cache.get(cached, 0) + 1
            if outcome == "chunked":
                self._bytes[language] = self._bytes.get(language, 0) + result.size
            for kind, count in kinds.items():
                ckey = (language, kind)
                self._chunks[ckey] = self._chunks.get(ckey, 0) + count
        fkey = ("f", language, outcome)
        self._file.record(
            timings.seconds,
            fkey,
            self._attr(fkey, ((N.LANGUAGE, language), (N.OUTCOME, outcome))),
            file_ctx,
        )
        if chunks:
            lkey = ("l", language)
            self._chunk_size.record(
                total / len(chunks),
                lkey,
                self._attr(lkey, ((N.LANGUAGE, language),)),
                file_ctx,
            )

    def _observe_files(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            items = list(self._files.items())
        for (language, outcome, reason), count in items:
            yield Observation(
                count,
                self._attr(
                    ("F", language, outcome, reason),
                    ((N.LANGUAGE, language), (N.OUTCOME, outcome), (N.SKIP_REASON, reason)),
                ),
            )

    def _observe_bytes(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            items = list(self._bytes.items())
        for language, count in items:
            yield Observation(count, self._attr(("l", language), ((N.LANGUAGE, language),)))

    def _observe_chunks(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            items = list(self._chunks.items())
        for (language, kind), count in items:
            yield Observation(
                count,
                self._attr(("k", language, kind), ((N.LANGUAGE, language), (N.CHUNK_KIND, kind))),
            )

    def _observe_spans(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            items = list(self._spans.items())
        for (decision, reason), count in items:
            yield Observation(
                count,
                self._attr(
                    ("s", decision, reason),
                    ((N.DECISION, decision), (N.DECISION_REASON, reason)),
                ),
            )

    def _observe_cache(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            items = list(self._cache.items())
        for cached, count in items:
            yield Observation(count, self._attr(("c", cached), ((N.CACHE_RESULT, cached),)))

    def _observe_active(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            active = self._active
        yield Observation(active, self._attr(("a",), ()))
