"""``chunkscope chunk``'s progress bar on a terminal, its byte total from a background walk."""

from __future__ import annotations

import contextlib
import os
import threading

from chunkscope.model import ChunkOptions, FileResult


class Progress:
    """A rich progress bar on stderr; the byte total comes from a background pre-walk.

    The run starts at once with a spinner and a running count; when the pre-walk has
    summed the sizes of the files to read, the bar gains a total, hence MB/s and an ETA.
    """

    def __init__(self, paths: list[str], options: ChunkOptions) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.console = Console(stderr=True)
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.fields[files]} files"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.task = self.progress.add_task("chunk", total=None, files=0)
        self.files = 0
        self._stop = threading.Event()
        self._counter = threading.Thread(
            target=self._count, args=(paths, options), name="chunkscope-precount", daemon=True
        )

    def _count(self, paths: list[str], options: ChunkOptions) -> None:
        from chunkscope.walker import walk

        total = 0
        try:
            for entry in walk(paths, options):
                if self._stop.is_set():
                    return
                if entry.skip is None and entry.error is None:
                    with contextlib.suppress(OSError):
                        total += os.stat(entry.path).st_size
        except OSError:
            return
        self.progress.update(self.task, total=total)

    def __enter__(self) -> Progress:
        self.progress.start()
        self._counter.start()
        return self

    def advance(self, result: FileResult) -> None:
        self.files += 1
        self.progress.update(self.task, advance=result.size, files=self.files)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.progress.stop()
