"""Chunk ids are the documented hash of path, byte range and content."""

from __future__ import annotations

import json
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


def test_lone_surrogate_in_a_path_is_chunked_and_written_as_question_mark() -> None:
    """A path string with a lone surrogate (a service client's) is chunked, not an error, and
    the JSON written for it carries ``?`` in its place, as documented."""
    from chunkscope.serve.schema import encode_result

    source = b"def f():\n    return 1\n"
    result = chunk_source(source, "odd\ud800.py")
    assert (result.outcome, result.error) == ("chunked", None)
    assert result.chunks[0].id == chunk_source(source, "odd\ud800.py").chunks[0].id
    assert result.chunks[0].id != chunk_source(source, "odd\udc80.py").chunks[0].id
    written = json.loads(encode_result(result))
    assert written["path"] == written["chunks"][0]["path"] == "odd?.py"


def test_undecodable_file_name_keeps_its_id() -> None:
    """A name from disk (``surrogateescape``) hashes as the bytes on disk, as before."""
    source = b"def f():\n    return 1\n"
    chunk = chunk_source(source, "caf\udce9.py").chunks[0]
    expected = blake2b(b"caf\xe9.py", digest_size=12)
    expected.update(b"\0%d:%d\0" % (chunk.start_byte, chunk.end_byte))
    expected.update(source[chunk.start_byte : chunk.end_byte])
    assert chunk.id == expected.hexdigest()
