"""A per-file time budget, enforced by tree-sitter's own cancellation.

tree-sitter polls a progress callback while it parses and while a query cursor walks a
tree (every 100 nodes); a callback that returns True stops it. A ``Deadline`` is that
callback: it answers True once its clock has run out and remembers that it did, because a
stopped query returns the captures found so far without saying it was stopped.

    from chunkscope import extract, parse
    from chunkscope.deadline import Deadline, FileTimeout

    deadline = Deadline(5.0)  # parse and extract share it: the budget is per file
    try:
        tree = parse(source, "python", deadline=deadline)
        chunks = extract(tree, source, "f.py", deadline=deadline)
    except FileTimeout as exc:
        print(exc)  # timeout: over the 5 s budget per file, in parse
"""

from __future__ import annotations

import time

TIMEOUT = "timeout"
"""The ``FileResult.reason`` of a file that ran past its budget (``outcome == "error"``)."""


class FileTimeout(TimeoutError):
    """One file used up its budget; the pipeline turns it into an ``error`` result."""

    def __init__(self, seconds: float, stage: str) -> None:
        super().__init__(f"{TIMEOUT}: over the {seconds:g} s budget per file, in {stage}")
        self.seconds = seconds
        self.stage = stage


class Deadline:
    """The instant one file's work must end by; call it as a tree-sitter progress callback."""

    __slots__ = ("at", "expired", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.perf_counter() + seconds
        self.expired = False

    def __call__(self, *_progress: object) -> bool:
        """True (stop) once the time is up; the arguments tree-sitter passes are not needed."""
        if not self.expired and time.perf_counter() >= self.at:
            self.expired = True
        return self.expired

    def check(self, stage: str) -> None:
        """Raise ``FileTimeout`` naming ``stage`` if the time is up."""
        if self():
            raise FileTimeout(self.seconds, stage)
