"""The parse stage: bytes in, a tree-sitter tree out, whatever the bytes are."""

from __future__ import annotations

import threading

import pytest

from chunkscope import parse
from chunkscope.languages import LANGUAGES


class TestParse:
    """``parse(source, language)``."""

    @pytest.mark.parametrize("name", sorted(LANGUAGES))
    def test_empty_and_garbage_parse(self, name: str) -> None:
        """Every grammar accepts empty input and invalid UTF-8 without raising."""
        assert parse(b"", name).root_node.end_byte == 0
        tree = parse(b"\xff\xfe\x80 def x( \xc3\x28 {\n", name)
        assert tree.root_node.end_byte > 0

    def test_alias_and_syntax_error(self) -> None:
        """An alias works and a syntax error is marked in the tree, not raised."""
        tree = parse(b"def broken(:\n", "py")
        assert tree.root_node.has_error

    def test_unknown_language_raises(self) -> None:
        """An unknown language is a ValueError naming it."""
        with pytest.raises(ValueError, match="cobol"):
            parse(b"x", "cobol")

    @pytest.mark.parametrize(
        ("language", "source"),
        [
            ("python", b"x = " + b"(" * 50_000 + b"1" + b")" * 50_000 + b"\n"),
            ("javascript", b"let x = " + b"[" * 50_000 + b"]" * 50_000 + b";\n"),
        ],
    )
    def test_deep_nesting_parses(self, language: str, source: bytes) -> None:
        """50 000 levels of brackets parse without touching Python's recursion limit."""
        tree = parse(source, language)
        assert tree.root_node.end_byte >= len(source.rstrip())

    def test_threads_get_their_own_parsers(self) -> None:
        """Parsing from several threads at once gives each thread correct trees."""
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                for i in range(50):
                    src = f"def f{n}_{i}():\n    return {i}\n".encode()
                    node = parse(src, "python").root_node.children[0]
                    assert node.child_by_field_name("name").text == f"f{n}_{i}".encode()
            except BaseException as exc:  # collected and re-raised in the test thread
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert not errors
