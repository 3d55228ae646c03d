"""Which grammar a file gets: extensions, shebangs, well-known names, ``--language`` aliases."""

from __future__ import annotations

import pytest

from chunkscope.languages import LANGUAGES, canonical, definitions_query, detect, grammar

REQUIRED = {
    "python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp", "csharp",
    "ruby", "bash",
}  # fmt: skip


class TestLanguages:
    """The table of supported languages."""

    def test_every_required_language_is_supported(self) -> None:
        """The twelve languages the project promises are all there."""
        assert set(LANGUAGES) >= REQUIRED

    @pytest.mark.parametrize("name", sorted(LANGUAGES))
    def test_grammar_and_query_build_once(self, name: str) -> None:
        """Each grammar loads offline from its wheel and is the same object on every call."""
        assert grammar(name) is grammar(name)
        assert definitions_query(name) is definitions_query(name)
        assert definitions_query(name).pattern_count > 0


class TestDetect:
    """``detect(path, head)``."""

    @pytest.mark.parametrize(
        ("path", "expected"),
        [
            ("a/b/mod.py", "python"),
            ("stub.pyi", "python"),
            ("app.mjs", "javascript"),
            ("view.jsx", "javascript"),
            ("x.ts", "typescript"),
            ("x.tsx", "tsx"),
            ("main.go", "go"),
            ("lib.rs", "rust"),
            ("A.java", "java"),
            ("x.h", "c"),
            ("x.c", "c"),
            ("x.hpp", "cpp"),
            ("X.CPP", "cpp"),
            ("P.cs", "csharp"),
            ("x.rb", "ruby"),
            ("Rakefile", "ruby"),
            ("x.sh", "bash"),
            ("notes.txt", None),
            ("Makefile", None),
        ],
    )
    def test_by_name(self, path: str, expected: str | None) -> None:
        """The extension (case-insensitive) or a well-known file name picks the language."""
        assert detect(path) == expected

    @pytest.mark.parametrize(
        ("head", "expected"),
        [
            (b"#!/usr/bin/env python3\nprint(1)\n", "python"),
            (b"#!/usr/bin/python3.11\n", "python"),
            (b"#!/bin/bash -e\n", "bash"),
            (b"#! /bin/sh\n", "bash"),
            (b"#!/usr/bin/env node\n", "javascript"),
            (b"#!/usr/bin/env ruby\n", "ruby"),
            (b"#!/usr/bin/perl\n", None),
            (b"print(1)\n", None),
            (b"", None),
        ],
    )
    def test_by_shebang(self, head: bytes, expected: str | None) -> None:
        """Extensionless scripts are recognised by their ``#!`` interpreter."""
        assert detect("bin/tool", head) == expected

    def test_extension_beats_shebang(self) -> None:
        """A file's extension is trusted over a misleading shebang."""
        assert detect("x.rb", b"#!/usr/bin/env python\n") == "ruby"

    @pytest.mark.parametrize(
        "content",
        [
            b"#include <vector>\nint f();\n",
            b"#pragma once\nnamespace v8 {\n}\n",
            b"class V8_EXPORT Array : public Object {\n};\n",
            b"template <typename T>\nT id(T x);\n",
            b"struct A {\n public:\n  int x;\n};\n",
            b"inline int f() { return std::max(1, 2); }\n",
            b"#define X 1\n" * 5000 + b"using namespace std;\n",
        ],
    )
    def test_h_with_cpp_markers_is_cpp(self, content: bytes) -> None:
        """A ``.h`` file showing a C++ marker anywhere is C++, by content, without a parse."""
        assert detect("include/v8.h", content) == "cpp"

    @pytest.mark.parametrize(
        "content",
        [
            b"#include <stdio.h>\nstruct uv_loop_s { int x; };\nint uv_run(void);\n",
            b'#ifdef __cplusplus\nextern "C" {\n#endif\nint f(void);\n',
            b"/* Please try to port your code:\n   try the new API. */\nint f(void);\n",
            b"",
        ],
    )
    def test_h_without_cpp_markers_is_c(self, content: bytes) -> None:
        """``extern "C"`` guards and words in comments do not make a header C++."""
        assert detect("uv.h", content) == "c"

    def test_language_option_still_forces(self) -> None:
        """``--language`` wins over content detection: a C-looking header parses as C++."""
        from chunkscope import ChunkOptions, chunk_source

        source = b"struct s { int x; };\n"
        assert chunk_source(source, "a.h").language == "c"
        assert chunk_source(source, "a.h", options=ChunkOptions(language="cpp")).language == "cpp"
        assert chunk_source(source, "a.h", "cpp").language == "cpp"


class TestCanonical:
    """``canonical(name)``: what ``--language`` accepts."""

    @pytest.mark.parametrize(
        ("given", "expected"),
        [("Python", "python"), ("py", "python"), ("c++", "cpp"), ("C#", "csharp"),
         ("golang", "go"), ("shell", "bash"), (" ts ", "typescript"), ("cobol", None)],
    )  # fmt: skip
    def test_aliases(self, given: str, expected: str | None) -> None:
        """Names and common aliases map to canonical names; unknown names to None."""
        assert canonical(given) == expected
