"""The records chunkscope produces: options in, chunks and per-file results out.

They are frozen, slotted dataclasses so they are cheap to create by the hundred
thousand, safe to share between threads, and picklable across ``--jobs`` workers.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any, Literal

try:  # hashlib.blake2b *is* _blake2.blake2b, but importing hashlib also loads libcrypto
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a CPython built without _blake2
    from hashlib import blake2b

ChunkKind = Literal[
    "function", "method", "class", "struct", "enum", "interface", "impl", "module", "code"
]
Outcome = Literal["chunked", "skipped", "error"]
CacheLookup = Literal["hit", "miss", "error"]
"""What the chunk cache did for one file: served its chunks (``hit``), did not hold them so
the file was chunked and stored (``miss``), or failed for it (``error``: chunked without it)."""
DEFAULT_CACHE_MAX_BYTES = 1 << 30

SKIP_REASONS: dict[str, str] = {
    "binary": "NUL byte in the first block: not a text file",
    "too_large": "larger than --max-file-bytes",
    "unknown_language": "no grammar for this extension or shebang",
    "ignored": "excluded by .gitignore or a vendored-folder rule",
    "not_regular": "FIFO, socket or device: never opened",
    "symlink": "symbolic link, not followed (use --follow-symlinks)",
    "symlink_loop": "symbolic link to a folder above it, or dangling",
    "symlink_duplicate": "symbolic link to a folder this run already walked",
    "empty": "no bytes to chunk",
}
"""Every skip reason code with the sentence the report shows for it."""

ROUTINE_SKIPS = frozenset({"unknown_language", "ignored", "empty", "symlink", "symlink_duplicate"})
"""Skips that lose nothing a user asked for: logged per file at debug level only (``-vv``).

Why: a source tree holds thousands of them (READMEs, data files, ignored folders), and a log
line each would drown the skips that did lose content (binary, too large, FIFO, symlink loop)
and, with telemetry on, cost more than the rest of the telemetry. Every skip is still
counted by reason in the metrics, the summary and the report."""


@dataclass(frozen=True, slots=True)
class ChunkOptions:
    """How to chunk; the defaults suit embedding models with 512-2048 token windows."""

    max_lines: int = 200
    max_bytes: int = 8192
    max_file_bytes: int = 2_000_000
    language: str | None = None
    jobs: int = 1
    follow_symlinks: bool = False
    respect_gitignore: bool = True
    cache: str | None = None
    """Path of a chunk cache (``chunkscope.cache``): unchanged files are not parsed again.
    None (the default) means no cache."""
    cache_max_bytes: int = DEFAULT_CACHE_MAX_BYTES
    """Past this many bytes of entries, the cache evicts its least recently used ones."""
    file_timeout: float = 5.0
    """Seconds one file may take to parse and extract before it ends as ``error``/``timeout``;
    0 turns the budget off."""


DEFAULT_OPTIONS = ChunkOptions()
"""The defaults every entry point (library, CLI, service) starts from."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """One semantic unit of a source file, ready to embed."""

    id: str
    path: str
    language: str
    kind: ChunkKind
    name: str | None
    parent: str | None
    start_line: int
    end_line: int
    start_byte: int
    end_byte: int
    text: str
    has_syntax_error: bool = False
    part: int = 1
    parts: int = 1

    def __reduce__(self) -> tuple[type[Chunk], tuple[Any, ...]]:
        """Pickle as the constructor's arguments: ``--jobs`` ships every chunk between
        processes, and this halves the cost of the frozen dataclass's default state dict."""
        return Chunk, _chunk_fields(self)


_chunk_fields = attrgetter(*(f.name for f in fields(Chunk)))


def id_hasher(path: str) -> blake2b:
    """The hash state after ``path``: copied once per chunk of that file, never recomputed.

    A chunk's id continues it with ``b"\\0{start_byte}:{end_byte}\\0"`` and the chunk's bytes
    (docs/chunks.md gives the recipe, so anyone can recompute an id). A path from disk
    hashes as its bytes there (``surrogateescape``); any other lone surrogate, which only a
    caller's string holds, hashes as ``surrogatepass`` encodes it.
    """
    try:
        encoded = path.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        encoded = path.encode("utf-8", "surrogatepass")
    return blake2b(encoded, digest_size=12)


def chunk_id(prefix: blake2b, start: int, end: int, content: bytes) -> str:
    """The id of the chunk ``content`` at bytes ``[start, end)`` of the file ``prefix`` hashed.

    One recipe for the extractor and for the cache, which recomputes ids on a hit: an id that
    differed between the two would make cached output differ from fresh output.
    """
    digest = prefix.copy()
    digest.update(b"\0%d:%d\0" % (start, end))
    digest.update(content)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class StageTimes:
    """When one file's stages ran, measured by the chunker itself whether telemetry is on or off.

    Times are epoch nanoseconds (``chunkscope.clock.now_ns``: ``perf_counter_ns`` anchored once
    per process to ``time_ns``), so the process that records telemetry can build spans from them
    after the fact, even for files chunked in another process. A stage that did not run has
    0 for both its start and end: a skipped file has only ``start_ns``/``end_ns``, a file whose
    parse raised has no extract. ``node_count`` and ``has_syntax_error`` describe the tree.
    """

    start_ns: int = 0
    end_ns: int = 0
    parse_start_ns: int = 0
    parse_end_ns: int = 0
    extract_start_ns: int = 0
    extract_end_ns: int = 0
    node_count: int = 0
    has_syntax_error: bool = False

    @property
    def seconds(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9

    @property
    def parse_seconds(self) -> float:
        return (self.parse_end_ns - self.parse_start_ns) / 1e9

    @property
    def extract_seconds(self) -> float:
        return (self.extract_end_ns - self.extract_start_ns) / 1e9

    @property
    def parsed(self) -> bool:
        return self.parse_end_ns > 0

    @property
    def extracted(self) -> bool:
        return self.extract_end_ns > 0


NOT_MEASURED = StageTimes()
"""The timings of a result nobody measured (one built by hand, or decoded from elsewhere)."""


@dataclass(frozen=True, slots=True)
class RecordedElsewhere(StageTimes):
    """``StageTimes`` another process measured and already recorded as telemetry.

    A ``chunkscope serve`` replica answering ``chunk --remote`` turns each file into spans
    and metric points under its own HTTP span and sends its timings back; the run that
    receives the result keeps the times (the report's slowest files) and counts the file on
    its run span, but records nothing else for it, so each file is counted once in a fleet.
    """


@dataclass(frozen=True, slots=True)
class FileResult:
    """What happened to one file. Every file a run sees ends as exactly one of these.

    ``timings`` is the chunker's own record of the file's stages: the run report lists the
    slowest files from it, and the instrumentation turns it into spans and metric points in
    the process that owns the telemetry providers.
    """

    path: str
    outcome: Outcome
    language: str | None = None
    size: int = 0
    chunks: tuple[Chunk, ...] = ()
    reason: str | None = None
    error: str | None = None
    has_syntax_error: bool = False
    timings: StageTimes = NOT_MEASURED
    cache: CacheLookup | None = None
    """The chunk cache's part in this file (counted as ``chunkscope.cache.lookups``); None
    when no cache was asked for, for a file skipped before its lookup (binary, empty, unknown
    language...), and for one whose chunking raised (nothing of it is stored)."""

    @property
    def seconds(self) -> float:
        """Wall time of everything that happened to the file: read, parse, extract."""
        return self.timings.seconds
