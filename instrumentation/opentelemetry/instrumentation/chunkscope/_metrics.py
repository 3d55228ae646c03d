"""The metric contract of issue 3, and a recorder cheap enough to run on every file.

Names, kinds, units and attributes are a contract: dashboards and alerts query them. The
per-file cost is kept small on purpose (the overhead budget is 3 % of chunking time):

* counters (``chunkscope.files``, ``.bytes``, ``.chunks``, ``.files.active``) are totals kept in
  plain dicts under one lock and reported through observable callbacks at collection time, so
  a file costs dictionary increments, not SDK calls;
* histograms are recorded synchronously (so exemplars carry the trace of the file span):
  parse, extract and file duration once each, and ``chunkscope.chunk.size`` once per chunked
  file with the file's mean chunk size; recording every chunk would cost more than the rest of
  the instrumentation together (a file has about 50 chunks).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry.context import Context
from opentelemetry.instrumentation.chunkscope import _attributes as A
from opentelemetry.metrics import CallbackOptions, Meter, Observation

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics.view import View

PARSE_DURATION = "chunkscope.parse.duration"
EXTRACT_DURATION = "chunkscope.extract.duration"
FILE_DURATION = "chunkscope.file.duration"
FILES = "chunkscope.files"
BYTES = "chunkscope.bytes"
CHUNKS = "chunkscope.chunks"
CHUNK_SIZE = "chunkscope.chunk.size"
FILES_ACTIVE = "chunkscope.files.active"

DURATION_BUCKETS: Sequence[float] = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Seconds: a small file parses in ~100 µs, a generated 2 MB file takes seconds."""

SIZE_BUCKETS: Sequence[float] = (
    64,
    128,
    256,
    512,
    1024,
    2048,
    4096,
    8192,
    16384,
    32768,
    65536,
)
"""Bytes: chunks are bounded by ``--max-bytes`` (8192 by default)."""


def views() -> list[View]:
    """Views pinning the bucket boundaries, for a MeterProvider chunkscope configures itself.

    The instruments also carry the same boundaries as advisory, so an application's own
    MeterProvider gets them without any View.
    """
    from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View

    return [
        View(
            instrument_name=name,
            aggregation=ExplicitBucketHistogramAggregation(boundaries=DURATION_BUCKETS),
        )
        for name in (PARSE_DURATION, EXTRACT_DURATION, FILE_DURATION)
    ] + [
        View(
            instrument_name=CHUNK_SIZE,
            aggregation=ExplicitBucketHistogramAggregation(boundaries=SIZE_BUCKETS),
        )
    ]


Attrs = dict[str, Any]


class Recorder:
    """All chunkscope instruments of one meter, with attribute dicts cached by key."""

    def __init__(self, meter: Meter) -> None:
        self._lock = threading.Lock()
        self._attrs: dict[tuple[Any, ...], Attrs] = {}
        self._files: dict[tuple[str | None, str, str | None], int] = {}
        self._bytes: dict[str | None, int] = {}
        self._chunks: dict[tuple[str | None, str], int] = {}
        self._active = 0
        self._parse = meter.create_histogram(
            PARSE_DURATION,
            unit="s",
            description="Time to parse one file into a syntax tree.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self._extract = meter.create_histogram(
            EXTRACT_DURATION,
            unit="s",
            description="Time to extract the chunks of one tree.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self._file = meter.create_histogram(
            FILE_DURATION,
            unit="s",
            description="Time for everything that happens to one file: read, parse, extract.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self._chunk_size = meter.create_histogram(
            CHUNK_SIZE,
            unit="By",
            description="Mean chunk size of each chunked file, one observation per file.",
            explicit_bucket_boundaries_advisory=SIZE_BUCKETS,
        )
        meter.create_observable_counter(
            FILES,
            [self._observe_files],
            unit="{file}",
            description="Files seen, by outcome (chunked, skipped, error) and skip reason.",
        )
        meter.create_observable_counter(
            BYTES,
            [self._observe_bytes],
            unit="By",
            description="Bytes of source chunked.",
        )
        meter.create_observable_counter(
            CHUNKS,
            [self._observe_chunks],
            unit="{chunk}",
            description="Chunks produced, by chunk kind.",
        )
        meter.create_observable_up_down_counter(
            FILES_ACTIVE,
            [self._observe_active],
            unit="{file}",
            description="Files being chunked in this process right now.",
        )

    def _attr(self, key: tuple[Any, ...], pairs: Iterable[tuple[str, Any]]) -> Attrs:
        found = self._attrs.get(key)
        if found is None:
            found = self._attrs[key] = {k: v for k, v in pairs if v is not None}
        return found

    def parse(
        self, language: str | None, outcome: str, seconds: float, ctx: Context | None
    ) -> None:
        attrs = self._attr(("p", language, outcome), ((A.LANGUAGE, language), (A.OUTCOME, outcome)))
        self._parse.record(seconds, attrs, ctx)

    def extract(self, language: str | None, seconds: float, ctx: Context | None) -> None:
        attrs = self._attr(("l", language), ((A.LANGUAGE, language),))
        self._extract.record(seconds, attrs, ctx)

    def enter(self) -> None:
        with self._lock:
            self._active += 1

    def leave(self) -> None:
        with self._lock:
            self._active -= 1

    def file(
        self, result: Any, seconds: float, ctx: Context | None, *, active: bool = False
    ) -> None:
        """Everything one ``FileResult`` contributes; ``active`` also closes ``enter()``."""
        language = result.language
        outcome = result.outcome
        chunks = result.chunks
        kinds: dict[str, int] = {}
        total = 0
        for chunk in chunks:
            kinds[chunk.kind] = kinds.get(chunk.kind, 0) + 1
            total += chunk.end_byte - chunk.start_byte
        key = (language, outcome, result.reason)
        with self._lock:
            if active:
                self._active -= 1
            self._files[key] = self._files.get(key, 0) + 1
            if outcome == "chunked":
                self._bytes[language] = self._bytes.get(language, 0) + result.size
            for kind, count in kinds.items():
                ckey = (language, kind)
                self._chunks[ckey] = self._chunks.get(ckey, 0) + count
        self._file.record(
            seconds,
            self._attr(("f", language, outcome), ((A.LANGUAGE, language), (A.OUTCOME, outcome))),
            ctx,
        )
        if chunks:
            self._chunk_size.record(
                total / len(chunks), self._attr(("l", language), ((A.LANGUAGE, language),)), ctx
            )

    def _observe_files(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            items = list(self._files.items())
        for (language, outcome, reason), count in items:
            yield Observation(
                count,
                self._attr(
                    ("F", language, outcome, reason),
                    ((A.LANGUAGE, language), (A.OUTCOME, outcome), (A.SKIP_REASON, reason)),
                ),
            )

    def _observe_bytes(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            items = list(self._bytes.items())
        for language, count in items:
            yield Observation(count, self._attr(("l", language), ((A.LANGUAGE, language),)))

    def _observe_chunks(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            items = list(self._chunks.items())
        for (language, kind), count in items:
            yield Observation(
                count,
                self._attr(("k", language, kind), ((A.LANGUAGE, language), (A.CHUNK_KIND, kind))),
            )

    def _observe_active(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            active = self._active
        yield Observation(active)
