"""What the C-family grammars see: macros and clashing ``#if`` branches blanked in place."""

from __future__ import annotations

import re

import pytest

from chunkscope import chunk_source
from chunkscope.preprocessor import mask


def _seen(source: bytes, language: str = "cpp") -> bytes:
    masked = mask(source, language)
    assert len(masked) == len(source)
    assert [i for i, b in enumerate(masked) if b == 10] == [
        i for i, b in enumerate(source) if b == 10
    ], "newlines move"
    return masked


class TestMacros:
    """Export and attribute macros the grammar would take for names or types."""

    @pytest.mark.parametrize(
        ("source", "macro"),
        [
            (b"class V8_EXPORT Array : public Object {", b"V8_EXPORT"),
            (b"struct API Foo final {", b"API"),
            (b"class ALIGN(8) Foo {", b"ALIGN(8)"),
            (b'  V8_DEPRECATED("x") void f();', b'V8_DEPRECATED("x")'),
            (b"PyAPI_FUNC(int) Py_Main(int);", b"PyAPI_FUNC(int)"),
            (b"UV_EXTERN int uv_run(uv_loop_t*);", b"UV_EXTERN"),
            (b"struct s {\n  UV_HANDLE_FIELDS\n};", b"UV_HANDLE_FIELDS"),
            (b"  V8_INLINE Local(T* that);", b"V8_INLINE"),
            (b'  V8_NOSANITIZE("address")\n  void Clear();', b'V8_NOSANITIZE("address")'),
            (
                b'  V8_DEPRECATED(\n      "a" "b")\n  void Detach();',
                b'V8_DEPRECATED(\n      "a" "b")',
            ),
        ],
    )
    def test_blanked(self, source: bytes, macro: bytes) -> None:
        """The macro becomes spaces (its newlines kept); everything else is untouched."""
        blanked = re.sub(rb"[^\n]", b" ", macro)
        assert _seen(source) == source.replace(macro, blanked)

    @pytest.mark.parametrize(
        "source",
        [
            b"class Foo : public Bar {",
            b"struct Foo final {",
            b"enum class Color : int {",
            b"struct timeval tv = {0};",
            b"FILE *open_file(const char *path);",
            b"UINT32 crc(const void *p);",
            b'  EXPECT_EQ(a, b) << "msg";',
            b"static int\nloop_alive(const loop_t *loop)\n{",
        ],
    )
    def test_ordinary_code_untouched(self, source: bytes) -> None:
        """Names, types and calls that only look like macros are left alone."""
        assert _seen(source) == source

    def test_csharp_pointer_cast_blind_spot(self) -> None:
        """``*(T*)(p) = v;`` is blanked so tree-sitter-c-sharp keeps the class around it."""
        source = b"class A {\n  unsafe void F() {\n    *(int*)(p + 1) = v;\n  }\n}\n"
        assert _seen(source, "csharp") == source.replace(b"*(int*)(p + 1) = v;", b" " * 19)
        names = [c.name for c in chunk_source(source, "A.cs").chunks]
        assert names == ["A", "F", "A"] or names == ["A", "F"]


class TestConditionals:
    """``#if`` groups whose branches are not each complete are read in one configuration."""

    def test_complete_branches_left_for_the_grammar(self) -> None:
        """Whole definitions in every branch: tree-sitter parses them all, ``#else`` included."""
        source = b"#ifdef X\nint f(void) { return 1; }\n#else\nint g(void) { return 2; }\n#endif\n"
        assert _seen(source, "c") == source
        names = [c.name for c in chunk_source(source, "x.c").chunks if c.kind == "function"]
        assert names == ["f", "g"]

    def test_alternative_headers_keep_the_first(self) -> None:
        """Two headers for one body: the ``#if`` header is read, the rest is blanked."""
        source = (
            b"#ifdef _WIN32\nint f(HANDLE h)\n#else\nint f(int fd)\n#endif\n{\n  return 0;\n}\n"
        )
        seen = _seen(source, "c")
        assert b"int f(HANDLE h)" in seen
        assert b"#" not in seen and b"int fd" not in seen
        chunks = chunk_source(source, "x.c").chunks
        assert [(c.kind, c.name, c.start_line, c.end_line) for c in chunks] == [
            ("function", "f", 1, 8)
        ]

    def test_class_head_split_across_branches(self) -> None:
        """A class whose base differs per branch is one class, with its methods and no gaps."""
        source = (
            b"#ifdef USE_B\nclass A : public B {\n#else\nclass A : public C {\n#endif\n"
            b" public:\n  void f() {}\n};\n"
        )
        chunks = chunk_source(source, "a.hpp").chunks
        assert [(c.kind, c.name, c.parent, c.start_line) for c in chunks] == [
            ("class", "A", None, 1),
            ("method", "f", "A", 7),
        ]

    def test_if_zero_reads_the_else_branch(self) -> None:
        """``#if 0`` is dead code: the ``#else`` branch is the one read."""
        source = b"#if 0\nint old(void) {\n#else\nint fresh(void) {\n#endif\n  return 0;\n}\n"
        seen = _seen(source, "c")
        assert b"old" not in seen and b"int fresh(void) {" in seen

    def test_unbalanced_single_branch_is_unwrapped(self) -> None:
        """``#ifdef __cplusplus extern "C" {`` keeps its content; only the directives go."""
        source = b'#ifdef __cplusplus\nextern "C" {\n#endif\nint f(void) { return 0; }\n'
        source += b"#ifdef __cplusplus\n}\n#endif\n"
        seen = _seen(source, "c")
        assert b'extern "C" {' in seen and b"#ifdef" not in seen

    def test_nested_groups_settle_inside_out(self) -> None:
        """An inner clashing group is reduced first, so the outer group is judged complete."""
        source = (
            b"class A {\n#if SPAN\n  void F() {\n#if X\n    fixed (byte* p = a)\n#else\n"
            b"    fixed (byte* p = b)\n#endif\n    { }\n  }\n#else\n  void G() { }\n#endif\n}\n"
        )
        chunks = chunk_source(source, "A.cs").chunks
        assert [(c.kind, c.name) for c in chunks if c.kind == "method"] == [
            ("method", "F"),
            ("method", "G"),
        ]
        assert not any(c.has_syntax_error for c in chunks)
