"""Chunk ids are the documented hash of path, byte range and content."""

from __future__ import annotations

from hashlib import blake2b

from chunkscope import chunk_source


def test_chunk_ids_are_the_hash_of_path_range_and_content() -> None:
    """A user can recompute every id from the chunk's own path, range and bytes."""
    source = b"import os\n\nclass A:\n    x = 1\n\n    def m(self):\n        return 2\n"
    result = chunk_source(source, "pkg/a.py")
    assert result.chunks
    for chunk in result.chunks:
        start, end = chunk.start_byte, chunk.end_byte
        recipe = b"pkg/a.py" + b"\0%d:%d\0" % (start, end) + source[start:end]
        assert chunk.id == blake2b(recipe, digest_size=12).hexdigest()


def test_same_bytes_elsewhere_get_another_id() -> None:
    """Moving a file changes its chunk ids, so two copies never collide in an index."""
    source = b"def f():\n    return 1\n"
    here = chunk_source(source, "a.py").chunks[0].id
    there = chunk_source(source, "b.py").chunks[0].id
    assert here != there
    assert here == chunk_source(source, "a.py").chunks[0].id
