"""A chunk as JSON: the one field order the CLI's output and the service's responses share."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from chunkscope.model import Chunk

CHUNK_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Chunk))
"""Key order of every emitted chunk: the ``Chunk`` field order (as orjson writes it), never
sorted or shuffled."""


def chunk_dict(chunk: Chunk) -> dict[str, Any]:
    """A chunk as a flat dict in ``CHUNK_FIELDS`` order.

    Chunk fields are flat scalars, so a comprehension does what ``asdict`` does without its
    recursive copying, several times faster on a file of forty chunks.
    """
    return {name: getattr(chunk, name) for name in CHUNK_FIELDS}
