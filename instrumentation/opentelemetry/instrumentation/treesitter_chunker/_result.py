"""A treesitter-chunker ``Measure`` as the chunkscope ``FileResult`` the recorder takes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentelemetry.instrumentation.chunkscope import _attributes as A
from opentelemetry.instrumentation.treesitter_chunker._probe import Measure

from chunkscope.model import FileResult


@dataclass(frozen=True, slots=True)
class ChunkStat:
    """What the recorder reads of a chunk (kind and byte span); never its text."""

    kind: str
    start_byte: int
    end_byte: int


def _stats(measure: Measure) -> tuple[ChunkStat, ...]:
    from opentelemetry.instrumentation.treesitter_chunker._record import chunk_kind

    chunks = measure.chunks
    if chunks is not None:
        return tuple(ChunkStat(chunk_kind(c.node_type), c.byte_start, c.byte_end) for c in chunks)
    stats: list[ChunkStat] = []
    mean = measure.chunk_bytes // measure.chunk_count if measure.chunk_count else 0
    for node_type, count in measure.kinds.items():
        stats.extend([ChunkStat(chunk_kind(node_type), 0, mean)] * count)
    return tuple(stats)


def to_result(measure: Measure, path: str) -> FileResult:
    if measure.error is not None:
        return FileResult(
            path=path,
            outcome="error",
            language=measure.language,
            size=measure.size,
            error=measure.error,
            seconds=(measure.end_ns - measure.start_ns) / 1e9,
        )
    return FileResult(
        path=path,
        outcome="chunked",
        language=measure.language,
        size=measure.size,
        chunks=_stats(measure),  # type: ignore[arg-type]
        has_syntax_error=measure.has_error,
        seconds=(measure.end_ns - measure.start_ns) / 1e9,
    )


def run_start_attributes(jobs: int, paths: int) -> dict[str, Any]:
    return {A.RUN_JOBS: jobs, A.RUN_PATHS: paths}


def run_end_attributes(counts: dict[str, int], chunks: int, size: int) -> dict[str, Any]:
    return {
        A.RUN_FILES_CHUNKED: counts.get("chunked", 0),
        A.RUN_FILES_SKIPPED: counts.get("skipped", 0),
        A.RUN_FILES_ERRORED: counts.get("error", 0),
        A.RUN_CHUNKS: chunks,
        A.RUN_BYTES: size,
    }
