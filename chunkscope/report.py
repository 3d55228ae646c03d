"""What a run did, file by file, folded into totals small enough to keep for the whole run.

The CLI feeds every ``FileResult`` to a ``RunReport`` as it streams past, so the report
grows with the number of skipped and failed files (their paths are the point of the
report) but never with the number of chunks:

    >>> from chunkscope import chunk_paths
    >>> from chunkscope.report import RunReport
    >>> report = RunReport()
    >>> for result in chunk_paths(["chunkscope"]):
    ...     report.add(result)
    >>> report.finish()["files"]["chunked"] > 0
    True
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from chunkscope.model import SKIP_REASONS, FileResult

if TYPE_CHECKING:
    from rich.console import Group

_MB = 1_000_000
SLOWEST = 10
"""How many of the slowest files the report and the summary list."""


@dataclass(slots=True)
class LanguageTotals:
    """Per-language counters; ``files`` counts chunked files only."""

    files: int = 0
    bytes: int = 0
    chunks: int = 0
    syntax_errors: int = 0


class RunReport:
    """Running totals of one run; ``add`` every result, then ``finish`` once."""

    def __init__(self, cache: str | None = None) -> None:
        self.started = time.perf_counter()
        self.cache_path = cache
        self.cache = {"hit": 0, "miss": 0, "error": 0}
        self.seconds: float | None = None
        self.counts = {"chunked": 0, "skipped": 0, "error": 0}
        self.chunks = 0
        self.bytes = 0
        self.skipped: dict[str, list[str]] = {}
        self.errors: list[dict[str, str]] = []
        self.languages: dict[str, LanguageTotals] = {}
        self._slowest: list[tuple[int, int, FileResult]] = []
        self._seen = 0

    @property
    def files(self) -> int:
        return sum(self.counts.values())

    def add(self, result: FileResult) -> None:
        """Fold one file's outcome into the totals."""
        self.counts[result.outcome] += 1
        self._seen += 1
        timings = result.timings
        took = timings.end_ns - timings.start_ns
        if len(self._slowest) < SLOWEST or took > self._slowest[0][0]:
            # without its chunks: the slowest files are the largest, and their text adds up
            entry = (took, -self._seen, replace(result, chunks=()))
            if len(self._slowest) < SLOWEST:
                heapq.heappush(self._slowest, entry)
            else:
                heapq.heapreplace(self._slowest, entry)
        if result.cache is not None:
            self.cache[result.cache] += 1
        if result.outcome == "chunked":
            totals = self.languages.get(result.language or "")
            if totals is None:
                totals = self.languages[result.language or ""] = LanguageTotals()
            totals.files += 1
            totals.bytes += result.size
            totals.chunks += len(result.chunks)
            totals.syntax_errors += result.has_syntax_error
            self.chunks += len(result.chunks)
            self.bytes += result.size
        elif result.outcome == "skipped":
            self.skipped.setdefault(result.reason or "unknown", []).append(result.path)
        else:
            self.errors.append({"path": result.path, "error": result.error or "unknown error"})

    def finish(self) -> dict[str, Any]:
        """Stop the clock and return the report as JSON-ready data (stable key order)."""
        if self.seconds is None:
            self.seconds = time.perf_counter() - self.started
        return self.to_dict()

    def to_dict(self) -> dict[str, Any]:
        seconds = self.seconds if self.seconds is not None else time.perf_counter() - self.started
        return {
            "files": {
                "total": self.files,
                "chunked": self.counts["chunked"],
                "skipped": self.counts["skipped"],
                "errored": self.counts["error"],
            },
            "chunks": self.chunks,
            "bytes": self.bytes,
            "seconds": round(seconds, 6),
            "mb_per_second": round(self.bytes / _MB / seconds, 3) if seconds > 0 else None,
            "skipped": {
                reason: {
                    "description": SKIP_REASONS.get(reason, reason),
                    "count": len(paths),
                    "paths": paths,
                }
                for reason, paths in sorted(self.skipped.items())
            },
            "errors": self.errors,
            "slowest": [_slow_entry(r) for r in self.slowest()],
            "cache": self._cache_dict(),
            "languages": {
                name: {
                    "files": t.files,
                    "bytes": t.bytes,
                    "chunks": t.chunks,
                    "syntax_errors": t.syntax_errors,
                }
                for name, t in sorted(self.languages.items())
            },
        }

    def _cache_dict(self) -> dict[str, Any] | None:
        """Lookups by result; ``hit_ratio`` is hits over lookups (None before any lookup)."""
        if self.cache_path is None:
            return None
        lookups = sum(self.cache.values())
        return {
            "path": self.cache_path,
            "lookups": lookups,
            "hits": self.cache["hit"],
            "misses": self.cache["miss"],
            "errors": self.cache["error"],
            "hit_ratio": round(self.cache["hit"] / lookups, 4) if lookups else None,
        }

    def slowest(self) -> list[FileResult]:
        """The slowest files of the run, slowest first, from the chunker's own stage timings."""
        return [r for _, _, r in sorted(self._slowest, reverse=True)]

    def summary_table(self) -> Group:
        """A few lines for a human: per-language totals, skips and errors by count, and the
        slowest files with where their time went, so a slow run explains itself."""
        from rich.console import Group
        from rich.table import Table

        seconds = self.seconds if self.seconds is not None else time.perf_counter() - self.started
        rate = f"{self.bytes / _MB / seconds:.1f} MB/s" if seconds > 0 else "-"
        table = Table(
            title=f"chunkscope: {self.files} files in {seconds:.2f} s ({rate})",
            title_justify="left",
            show_edge=False,
        )
        table.add_column("language")
        table.add_column("files", justify="right")
        table.add_column("MB", justify="right")
        table.add_column("chunks", justify="right")
        for name, t in sorted(self.languages.items()):
            table.add_row(name, str(t.files), f"{t.bytes / _MB:.2f}", str(t.chunks))
        table.add_section()
        table.add_row(
            "chunked",
            str(self.counts["chunked"]),
            f"{self.bytes / _MB:.2f}",
            str(self.chunks),
            style="bold",
        )
        for reason, paths in sorted(self.skipped.items()):
            table.add_row(f"skipped: {reason}", str(len(paths)), "", "", style="dim")
        if self.errors:
            table.add_row("errored", str(len(self.errors)), "", "", style="bold red")
        if self.cache_path is not None:
            table.add_section()
            for name, style in (("hit", "green"), ("miss", ""), ("error", "red")):
                table.add_row(f"cache {name}", str(self.cache[name]), "", "", style=style)
        slow = Table(title="slowest files", title_justify="left", show_edge=False)
        for column in ("path", "language", "KB", "parse ms", "extract ms", "total ms"):
            slow.add_column(column, justify="left" if column in ("path", "language") else "right")
        for r in self.slowest():
            e = _slow_entry(r)
            slow.add_row(
                r.path,
                r.language or r.outcome,
                f"{r.size / 1000:.1f}",
                f"{e['parse_ms']:.1f}",
                f"{e['extract_ms']:.1f}",
                f"{e['ms']:.1f}",
            )
        return Group(table, slow)


def _slow_entry(result: FileResult) -> dict[str, Any]:
    t = result.timings
    return {
        "path": result.path,
        "language": result.language,
        "outcome": result.outcome,
        "size": result.size,
        "ms": round((t.end_ns - t.start_ns) / 1e6, 3),
        "parse_ms": round(t.parse_seconds * 1e3, 3),
        "extract_ms": round(t.extract_seconds * 1e3, 3),
    }
