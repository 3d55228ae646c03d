"""A treesitter-chunker ``Measure`` as the chunkscope ``FileResult`` the recorder takes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from operator import attrgetter

from opentelemetry.instrumentation.treesitter_chunker._probe import Measure

from chunkscope.model import FileResult, StageTimes

_KINDS = (
    ("method", "method"),
    ("constructor", "method"),
    ("function", "function"),
    ("arrow", "function"),
    ("lambda", "function"),
    ("class", "class"),
    ("struct", "struct"),
    ("enum", "enum"),
    ("interface", "interface"),
    ("trait", "interface"),
    ("impl", "impl"),
    ("module", "module"),
    ("namespace", "module"),
)
_kind_cache: dict[str, str] = {}


def chunk_kind(node_type: str) -> str:
    """treesitter-chunker's node type as one of chunkscope's chunk kinds (``code`` if none),
    so a dashboard's per-kind panels compare like with like."""
    found = _kind_cache.get(node_type)
    if found is None:
        lowered = node_type.lower()
        found = next((kind for token, kind in _KINDS if token in lowered), "code")
        _kind_cache[node_type] = found
    return found


@dataclass(frozen=True, slots=True)
class ChunkStat:
    """What the recorder reads of a chunk (kind and byte span); never its text."""

    kind: str
    start_byte: int
    end_byte: int


_node_type = attrgetter("node_type")
_byte_start = attrgetter("byte_start")
_byte_end = attrgetter("byte_end")


def _stats(measure: Measure) -> tuple[ChunkStat, ...]:
    """One stat per chunk with its kind; the first carries all the bytes, the others none:
    the recorder's counts per kind, byte total and mean chunk size come out exact, and the
    loops over the chunks run in C."""
    chunks = measure.chunks
    if chunks is not None:
        kinds: dict[str, int] = Counter(map(_node_type, chunks))
        total = sum(map(_byte_end, chunks)) - sum(map(_byte_start, chunks))
    else:
        kinds, total = measure.kinds, measure.chunk_bytes
    stats: list[ChunkStat] = []
    for node_type, count in kinds.items():
        stats.extend([ChunkStat(chunk_kind(node_type), 0, 0)] * count)
    if stats:
        stats[0] = ChunkStat(stats[0].kind, 0, total)
    return tuple(stats)


def to_result(measure: Measure, path: str) -> FileResult:
    timings = StageTimes(
        start_ns=measure.start_ns,
        end_ns=measure.end_ns,
        parse_start_ns=measure.parse_start_ns,
        parse_end_ns=measure.parse_end_ns,
        extract_start_ns=measure.extract_start_ns,
        extract_end_ns=measure.extract_end_ns,
        node_count=measure.node_count,
        has_syntax_error=measure.has_error,
    )
    if measure.error is not None:
        return FileResult(
            path=path,
            outcome="error",
            language=measure.language,
            size=measure.size,
            error=measure.error,
            timings=timings,
        )
    return FileResult(
        path=path,
        outcome="chunked",
        language=measure.language,
        size=measure.size,
        chunks=_stats(measure),  # type: ignore[arg-type]
        has_syntax_error=measure.has_error,
        timings=timings,
        cache=measure.cache,  # type: ignore[arg-type]
    )
