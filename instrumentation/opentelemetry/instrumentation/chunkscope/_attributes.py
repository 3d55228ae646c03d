"""Attribute keys, kept in one place because dashboards and alerts are built on them.

Paths are the only attribute that could say something about a user's code base, so how
they appear is a choice (``CHUNKSCOPE_OTEL_PATHS``): ``relative`` to the run root (the
default), ``hash`` (a short stable digest, still groupable) or ``none``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

CODE_FILE_PATH = "code.file.path"
LANGUAGE = "chunkscope.language"
OUTCOME = "chunkscope.outcome"
SKIP_REASON = "chunkscope.skip.reason"
CHUNK_KIND = "chunkscope.chunk.kind"
FILE_SIZE = "chunkscope.file.size"
CHUNK_COUNT = "chunkscope.chunk.count"
PARSE_HAS_ERROR = "chunkscope.parse.has_error"
TREE_NODE_COUNT = "chunkscope.tree.node_count"
ERROR_TYPE = "error.type"

RUN_JOBS = "chunkscope.run.jobs"
RUN_PATHS = "chunkscope.run.paths"
RUN_FILES_CHUNKED = "chunkscope.run.files.chunked"
RUN_FILES_SKIPPED = "chunkscope.run.files.skipped"
RUN_FILES_ERRORED = "chunkscope.run.files.errored"
RUN_CHUNKS = "chunkscope.run.chunks"
RUN_BYTES = "chunkscope.run.bytes"

PARSE_OK = "ok"
PARSE_SYNTAX_ERROR = "syntax_error"
PARSE_ERROR = "error"

PATHS_ENV = "CHUNKSCOPE_OTEL_PATHS"
PATH_MODES = ("relative", "hash", "none")


def _hashed(path: str) -> str:
    return hashlib.blake2b(path.encode("utf-8", "surrogateescape"), digest_size=8).hexdigest()


def path_mode(value: str | None = None) -> str:
    """The configured path mode; an unknown value falls back to the safest, ``none``."""
    raw = (os.environ.get(PATHS_ENV, "relative") if value is None else value).strip().lower()
    if not raw:
        return "relative"
    return raw if raw in PATH_MODES else "none"


def path_formatter(mode: str) -> Callable[[str], str | None]:
    """How a relative path becomes the ``code.file.path`` value (None: leave it out)."""
    if mode == "relative":
        return str
    if mode == "hash":
        return _hashed
    return lambda _path: None
