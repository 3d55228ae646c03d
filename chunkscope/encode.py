"""A chunk as JSON: the one field order and the encoders the CLI's output and the service's
responses share."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import fields
from typing import Any

import orjson

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


def chunk_json(chunk: Chunk, *, ascii: bool = False) -> str:
    """One chunk as compact JSON in ``CHUNK_FIELDS`` order, as orjson writes it."""
    return json.dumps(
        chunk_dict(chunk),
        ensure_ascii=ascii,
        separators=(",", ":"),
    )


def encode_chunks(chunks: tuple[Chunk, ...], lead: str, sep: str, tail: str) -> bytes:
    """A file's chunks as compact UTF-8 JSON objects joined by ``sep``.

    orjson encodes the dataclasses in field order about four times faster than ``json``;
    the JSON writer is the CLI's biggest cost after chunking itself. orjson refuses lone
    surrogates, which only a path with undecodable bytes holds: those files go through
    ``json`` and ``utf8`` below.
    """
    try:
        body = sep.encode().join(map(orjson.dumps, chunks))
    except orjson.JSONEncodeError:

        def encoded(ascii: bool) -> str:
            return lead + sep.join(chunk_json(c, ascii=ascii) for c in chunks) + tail

        return utf8(encoded(False), lambda: encoded(True))
    return lead.encode() + body + tail.encode()


def utf8(text: str, fallback: Callable[[], str]) -> bytes:
    """``text`` as UTF-8, or ``fallback()`` (ASCII-escaped JSON) when it cannot be encoded.

    Chunk text is already decoded with replacement; only a path holding undecodable bytes
    (lone surrogates in Python) fails here, and its ``\\udcXX`` escapes round-trip through
    ``json.loads`` and ``os.fsencode`` to the name on disk.
    """
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return fallback().encode("ascii")
