"""Every language against a checked-in sample of real-world shapes: names, kinds, parents, lines.

The samples in ``samples/`` hold what the quality benchmark found chunkers get wrong on real
code: C++ in ``.h`` files, export and attribute macros, definitions under ``#if``/``#else``,
TypeScript overloads, JavaScript prototypes, Ruby ``A::B`` names, Rust generic impls. A
regression in any language changes an outline below and fails here; ``bench_quality.py``
measures the same against Universal Ctags on whole corpora.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chunkscope import chunk_source
from chunkscope.model import FileResult

SAMPLES = Path(__file__).parent / "samples"

EXPECTED: dict[str, tuple[str, list[tuple[str, str, str | None, int, int]]]] = {
    "ByteReader.cs": (
        "csharp",
        [
            ("module", "Sample.IO", None, 4, 5),
            ("class", "ByteReader", "Sample.IO", 6, 14),
            ("method", "PutFloat", "Sample.IO.ByteReader", 16, 26),
            ("class", "ByteReader", "Sample.IO", 28, 28),
            ("method", "GetInt", "Sample.IO.ByteReader", 29, 35),
            ("class", "ByteReader", "Sample.IO", 36, 36),
            ("method", "GetInt", "Sample.IO.ByteReader", 37, 40),
            ("class", "ByteReader", "Sample.IO", 41, 41),
            ("method", "Dispose", "Sample.IO.ByteReader", 43, 43),
        ],
    ),
    "Panel.tsx": (
        "tsx",
        [
            ("function", "Panel", None, 4, 6),
            ("function", "Row", None, 8, 8),
            ("class", "Board", None, 10, 10),
            ("method", "render", "Board", 11, 13),
        ],
    ),
    "Registry.java": (
        "java",
        [
            ("class", "Registry", None, 6, 7),
            ("method", "Registry", "Registry", 9, 11),
            ("method", "get", "Registry", 13, 15),
            ("class", "Entry", "Registry", 17, 17),
            ("method", "Entry", "Registry.Entry", 18, 20),
            ("interface", "Listener", "Registry", 23, 23),
            ("method", "changed", "Registry.Listener", 24, 24),
            ("enum", "Mode", "Registry", 27, 27),
        ],
    ),
    "chain.rs": (
        "rust",
        [
            ("struct", "Chain", None, 4, 6),
            ("impl", "Chain", None, 8, 9),
            ("method", "next", "Chain", 11, 13),
            ("impl", "Chain", None, 16, 16),
            ("method", "fmt", "Chain", 17, 19),
            ("interface", "Source", None, 22, 24),
            ("module", "private", None, 26, 26),
            ("enum", "Sealed", "private", 27, 29),
            ("function", "chain", None, 32, 34),
        ],
    ),
    "deploy.sh": (
        "bash",
        [
            ("function", "log", None, 5, 7),
            ("function", "deploy", None, 9, 10),
            ("function", "cleanup", "deploy", 11, 11),
            ("function", "deploy", None, 12, 13),
        ],
    ),
    "installer.rb": (
        "ruby",
        [
            ("module", "Bundler", None, 1, 2),
            ("class", "Install", "Bundler.CLI", 3, 3),
            ("method", "run", "Bundler.CLI.Install", 4, 6),
            ("method", "defaults", "Bundler.CLI.Install", 8, 10),
            ("class", "self", "Bundler.CLI.Install", 12, 12),
            ("method", "current", "Bundler.CLI.Install.self", 13, 15),
            ("method", "root", "Bundler", 20, 22),
        ],
    ),
    "loop.h": (
        "c",
        [
            ("struct", "loop_s", None, 13, 16),
            ("struct", "handle_t", None, 18, 20),
            ("function", "loop_alive", None, 24, 28),
            ("function", "loop_close", None, 30, 36),
            ("function", "loop_get_hook", None, 38, 40),
        ],
    ),
    "observe.ts": (
        "typescript",
        [
            ("interface", "Observer", None, 1, 5),
            ("function", "from", None, 7, 13),
            ("class", "Subscription", None, 15, 15),
            ("method", "close", "Subscription", 16, 20),
            ("enum", "State", None, 23, 26),
            ("module", "Internal", None, 28, 28),
            ("function", "helper", "Internal", 29, 29),
        ],
    ),
    "pipeline.js": (
        "javascript",
        [
            ("class", "Pipeline", None, 4, 5),
            ("method", "write", "Pipeline", 7, 9),
            ("method", "#push", "Pipeline", 11, 13),
            ("function", "Legacy", None, 16, 18),
            ("method", "run", "Legacy", 20, 22),
            ("function", "compose", None, 24, 24),
            ("function", "pipeline", None, 26, 28),
        ],
    ),
    "server.go": (
        "go",
        [
            ("struct", "Server", None, 7, 9),
            ("interface", "Handler", None, 10, 12),
            ("function", "New", None, 15, 17),
            ("method", "Start", "Server", 19, 21),
            ("method", "Addr", "Server", 23, 23),
        ],
    ),
    "shapes.py": (
        "python",
        [
            ("class", "Shape", None, 6, 10),
            ("method", "area", "Shape", 12, 12),
            ("function", "unit", "Shape.area", 13, 14),
            ("method", "area", "Shape", 16, 16),
            ("class", "Meta", "Shape", 18, 19),
            ("function", "fetch", None, 22, 23),
        ],
    ),
    "widget.h": (
        "cpp",
        [
            ("module", "ui", None, 7, 7),
            ("class", "Widget", "ui", 9, 10),
            ("method", "Cast", "ui.Widget", 11, 13),
            ("method", "Width", "ui.Widget", 14, 14),
            ("method", "Size", "ui.Widget", 15, 15),
            ("class", "Widget", "ui", 17, 20),
            ("struct", "Header", "ui", 22, 24),
            ("struct", "Traits", "ui", 26, 27),
            ("method", "Make", "ui.Traits", 28, 28),
            ("function", "Native", "ui", 31, 38),
            ("method", "Area", "ui.Widget", 40, 40),
        ],
    ),
}
"""file -> (detected language, every definition chunk as (kind, name, parent, first, last line))."""


def _chunks(name: str) -> tuple[bytes, FileResult]:
    data = (SAMPLES / name).read_bytes()
    result = chunk_source(data, name)
    assert result.outcome == "chunked", result
    return data, result


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_definitions(name: str) -> None:
    """Each sample is detected as its language and yields exactly the expected definitions."""
    language, expected = EXPECTED[name]
    _, result = _chunks(name)
    assert result.language == language
    got = [
        (c.kind, c.name, c.parent, c.start_line, c.end_line)
        for c in result.chunks
        if c.kind != "code"
    ]
    assert got == expected


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_chunks_tile_the_file(name: str) -> None:
    """Chunks never overlap and every word of the sample is in exactly one chunk.

    Ruby's ``end`` alone after the last method is the one word left out, by design.
    """
    data, result = _chunks(name)
    covered = bytearray(len(data))
    for chunk in result.chunks:
        assert not any(covered[chunk.start_byte : chunk.end_byte]), chunk
        covered[chunk.start_byte : chunk.end_byte] = b"\1" * (chunk.end_byte - chunk.start_byte)
    for word in re.finditer(rb"\w+", data):
        if word.group() == b"end":
            continue
        assert covered[word.start()], (name, word.group(), data[: word.start()].count(b"\n") + 1)


def test_every_language_has_a_sample() -> None:
    """All twelve languages are covered, so none can regress unnoticed."""
    from chunkscope.languages import LANGUAGES

    assert {language for language, _ in EXPECTED.values()} == set(LANGUAGES)
