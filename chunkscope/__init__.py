"""chunkscope: a fast tree-sitter code chunker whose work you can see.

    >>> from chunkscope import chunk_paths
    >>> for result in chunk_paths(["src"]):
    ...     for chunk in result.chunks:
    ...         print(chunk.path, chunk.kind, chunk.name, chunk.start_line)

``parse`` and ``extract`` are the two stages; ``chunk_file``, ``chunk_source`` and
``chunk_paths`` are built on them. Set ``CHUNKSCOPE_OTEL=1`` to trace and measure every
call (see ``opentelemetry.instrumentation.chunkscope``); unset, nothing of OpenTelemetry
is imported.
"""

from __future__ import annotations

import os

from chunkscope.extractor import extract
from chunkscope.languages import LANGUAGES
from chunkscope.model import SKIP_REASONS, Chunk, ChunkOptions, FileResult, StageTimes
from chunkscope.names import OTEL_ENV, TRUE_VALUES
from chunkscope.parser import parse
from chunkscope.pipeline import chunk_file, chunk_paths, chunk_source, in_worker_process

__all__ = [
    "LANGUAGES",
    "SKIP_REASONS",
    "Chunk",
    "ChunkOptions",
    "FileResult",
    "StageTimes",
    "chunk_file",
    "chunk_paths",
    "chunk_source",
    "extract",
    "parse",
]
__version__ = "0.1.0"
"""The one version source: pyproject.toml reads it, everything else imports it."""


if os.environ.get(OTEL_ENV, "").strip().lower() in TRUE_VALUES and not in_worker_process():
    try:  # imported only when asked for: with the variable unset no OpenTelemetry is loaded
        from opentelemetry.instrumentation.chunkscope._bootstrap import autoinstrument
    except ImportError as exc:
        import warnings

        warnings.warn(f"{OTEL_ENV} is set but telemetry is unavailable: {exc}", stacklevel=1)
    else:
        autoinstrument()
