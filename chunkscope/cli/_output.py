"""What ``chunkscope chunk`` writes: chunks in one of three formats, and the run report file."""

from __future__ import annotations

import argparse
import json
import time
from types import TracebackType
from typing import IO, Any

from chunkscope.encode import encode_chunks, utf8
from chunkscope.model import Chunk, ChunkOptions

FORMATS = ("jsonl", "json", "table")


class Writer:
    """Streams chunks to a binary sink in one of the output formats."""

    def __init__(self, sink: IO[bytes], fmt: str) -> None:
        self.sink = sink
        self.fmt = fmt
        self.count = 0
        self.rows: list[tuple[str, ...]] = []

    def __enter__(self) -> Writer:
        if self.fmt == "json":
            self.sink.write(b"[")
        return self

    def write(self, chunks: tuple[Chunk, ...]) -> None:
        if self.fmt == "table":
            self.rows.extend(_row(c) for c in chunks)
        elif chunks:
            if self.fmt == "jsonl":
                lead, sep, tail = "", "\n", "\n"
            else:
                lead, sep, tail = ("\n" if self.count == 0 else ",\n"), ",\n", ""

            self.sink.write(encode_chunks(chunks, lead, sep, tail))
        self.count += len(chunks)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is not None:
            return
        if self.fmt == "json":
            self.sink.write(b"\n]\n")
        elif self.fmt == "table":
            self.sink.write(_render_table(self.rows).encode("utf-8"))


def _row(chunk: Chunk) -> tuple[str, ...]:
    name = chunk.name or ""
    if chunk.parent:
        name = f"{chunk.parent}.{name}"
    part = f"{chunk.part}/{chunk.parts}" if chunk.parts > 1 else ""
    return (
        chunk.path,
        f"{chunk.start_line}-{chunk.end_line}",
        chunk.kind,
        name,
        part,
        str(chunk.end_byte - chunk.start_byte),
    )


def _render_table(rows: list[tuple[str, ...]]) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_edge=False, box=None, pad_edge=False)
    for title in ("path", "lines", "kind", "name", "part"):
        table.add_column(title, overflow="fold")
    table.add_column("bytes", justify="right")
    for row in rows:
        table.add_row(*row)
    console = Console(width=200, color_system=None, force_terminal=False, soft_wrap=False)
    with console.capture() as capture:
        console.print(table)
    return capture.get()


def write_report(
    sink: IO[bytes],
    data: dict[str, Any],
    options: ChunkOptions,
    args: argparse.Namespace,
    *,
    interrupted: bool = False,
) -> None:
    """The run report as JSON: the totals of ``data``, the command line and the options."""
    document = {
        **data,
        "interrupted": interrupted,
        "paths": list(args.paths),
        "format": args.format,
        "output": args.output,
        "options": {
            "max_lines": options.max_lines,
            "max_bytes": options.max_bytes,
            "max_file_bytes": options.max_file_bytes,
            "language": options.language,
            "jobs": options.jobs,
            "follow_symlinks": options.follow_symlinks,
            "respect_gitignore": options.respect_gitignore,
            "file_timeout": options.file_timeout,
            "remote": list(args.remote or []),
            "cache": args.cache,
            "cache_max_bytes": options.cache_max_bytes,
        },
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    sink.write(utf8(text, lambda: json.dumps(document, indent=2) + "\n"))
