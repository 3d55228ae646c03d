"""The extract stage as a reader of its output sees it: which chunks, named what, where."""

from __future__ import annotations

import ast
import random
import sysconfig
import textwrap
from pathlib import Path

import pytest
from repo import REPO

from chunkscope import ChunkOptions, chunk_source, extract, parse

STDLIB = Path(sysconfig.get_paths()["stdlib"])
PROJECT = [REPO / "chunkscope", REPO / "instrumentation", REPO / "dashboards", REPO / "benchmarks"]

CASES: dict[str, tuple[str, list[tuple[str, str | None, str | None, int, int]]]] = {
    "python": (
        '''\
"""Module doc."""
import os

X = 1


@decorator
def top(a, b):
    """Doc."""
    return a + b


class Outer:
    """Outer doc."""

    field = 1

    def method(self):
        def inner():
            pass
        return inner

    class Inner:
        def deep(self):
            pass

    after = 2


async def coro():
    pass
''',
        [
            ("code", None, None, 1, 4),
            ("function", "top", None, 7, 10),
            ("class", "Outer", None, 13, 16),
            ("method", "method", "Outer", 18, 18),
            ("function", "inner", "Outer.method", 19, 20),
            ("method", "method", "Outer", 21, 21),
            ("class", "Inner", "Outer", 23, 23),
            ("method", "deep", "Outer.Inner", 24, 25),
            ("class", "Outer", None, 27, 27),
            ("function", "coro", None, 30, 31),
        ],
    ),
    "javascript": (
        """\
import x from "y";

/** Adds. */
function add(a, b) {
  return a + b;
}

export class Shape {
  constructor(w) {
    this.w = w;
  }

  area() {
    return this.w;
  }

  handler = () => {
    return 1;
  };
}

const arrow = (x) => x * 2;

export default function* gen() {
  yield 1;
}
""",
        [
            ("code", None, None, 1, 1),
            ("function", "add", None, 3, 6),
            ("class", "Shape", None, 8, 8),
            ("method", "constructor", "Shape", 9, 11),
            ("method", "area", "Shape", 13, 15),
            ("method", "handler", "Shape", 17, 19),
            ("function", "arrow", None, 22, 22),
            ("function", "gen", None, 24, 26),
        ],
    ),
    "typescript": (
        """\
// A shape.
export interface Shape {
  area(): number;
}

enum Color {
  Red,
  Green,
}

namespace Geo {
  export function dist(a: number): number {
    return a;
  }
}

export abstract class Base<T> implements Shape {
  private x: number = 1;
  area(): number {
    return this.x;
  }
}

type Alias = string;
""",
        [
            ("interface", "Shape", None, 1, 4),
            ("enum", "Color", None, 6, 9),
            ("module", "Geo", None, 11, 11),
            ("function", "dist", "Geo", 12, 14),
            ("class", "Base", None, 17, 18),
            ("method", "area", "Base", 19, 21),
            ("code", None, None, 24, 24),
        ],
    ),
    "tsx": (
        """\
import React from "react";

interface Props {
  name: string;
}

export function Hello({ name }: Props) {
  return <div>Hello {name}</div>;
}

export const Bye = (p: Props) => <span>{p.name}</span>;
""",
        [
            ("code", None, None, 1, 1),
            ("interface", "Props", None, 3, 5),
            ("function", "Hello", None, 7, 9),
            ("function", "Bye", None, 11, 11),
        ],
    ),
    "go": (
        """\
package main

import "fmt"

// Point is a point.
type Point struct {
	X, Y int
}

// Shape has an area.
type Shape interface {
	Area() float64
}

// Dist measures.
func (p *Point) Dist(q Point) int {
	return p.X - q.X
}

func (Point) Zero() {}

func main() {
	fmt.Println("hi")
}

type (
	A struct{ x int }
	B interface{ M() }
)

type Gen[T any] struct {
	v T
}

func (g *Gen[T]) Get() T { return g.v }
""",
        [
            ("code", None, None, 1, 3),
            ("struct", "Point", None, 5, 8),
            ("interface", "Shape", None, 10, 13),
            ("method", "Dist", "Point", 15, 18),
            ("method", "Zero", "Point", 20, 20),
            ("function", "main", None, 22, 24),
            ("code", None, None, 26, 26),
            ("struct", "A", None, 27, 27),
            ("interface", "B", None, 28, 28),
            ("struct", "Gen", None, 31, 33),
            ("method", "Get", "Gen", 35, 35),
        ],
    ),
    "rust": (
        """\
use std::fmt;

/// A point.
#[derive(Debug)]
pub struct Point {
    x: i32,
}

impl Point {
    /// Make one.
    pub fn new(x: i32) -> Self {
        Point { x }
    }
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.x)
    }
}

pub trait Shape {
    fn area(&self) -> f64;
}

enum Color {
    Red,
}

mod inner {
    pub fn helper() {}
}

macro_rules! sq {
    ($x:expr) => { $x * $x };
}
""",
        [
            ("code", None, None, 1, 1),
            ("struct", "Point", None, 3, 7),
            ("impl", "Point", None, 9, 9),
            ("method", "new", "Point", 10, 13),
            ("impl", "Point", None, 16, 16),
            ("method", "fmt", "Point", 17, 19),
            ("interface", "Shape", None, 22, 24),
            ("enum", "Color", None, 26, 28),
            ("module", "inner", None, 30, 30),
            ("function", "helper", "inner", 31, 31),
            ("function", "sq", None, 34, 36),
        ],
    ),
    "java": (
        """\
package a;

import java.util.List;

/** A shape. */
@Deprecated
public class Shape {
    private int w;

    public Shape(int w) {
        this.w = w;
    }

    @Override
    public String toString() {
        return "s";
    }

    static class Inner {
        void go() {}
    }

    interface Visitor {
        void visit();
    }

    enum Kind { A, B }
}

record Pair(int a, int b) {}
""",
        [
            ("code", None, None, 1, 3),
            ("class", "Shape", None, 5, 8),
            ("method", "Shape", "Shape", 10, 12),
            ("method", "toString", "Shape", 14, 17),
            ("class", "Inner", "Shape", 19, 19),
            ("method", "go", "Shape.Inner", 20, 20),
            ("interface", "Visitor", "Shape", 23, 23),
            ("method", "visit", "Shape.Visitor", 24, 24),
            ("enum", "Kind", "Shape", 27, 27),
            ("class", "Pair", None, 30, 30),
        ],
    ),
    "c": (
        """\
#include <stdio.h>

/* A point. */
struct point {
    int x;
};

typedef struct {
    int y;
} pair_t;

enum color { RED, GREEN };

// Adds.
static int add(int a, int b) {
    return a + b;
}

int *ptr(void) { return 0; }
""",
        [
            ("code", None, None, 1, 1),
            ("struct", "point", None, 3, 6),
            ("struct", "pair_t", None, 8, 10),
            ("enum", "color", None, 12, 12),
            ("function", "add", None, 14, 17),
            ("function", "ptr", None, 19, 19),
        ],
    ),
    "cpp": (
        """\
#include <vector>

namespace geo {

/// A shape.
class Shape {
public:
    virtual ~Shape() = default;
    virtual double area() const = 0;
    int sides;
};

template <typename T>
struct Box {
    T value;
    T get() const { return value; }
};

double Shape::area() const {
    return 0.0;
}

namespace inner {
int helper() { return 1; }
}

}  // namespace geo
""",
        [
            ("code", None, None, 1, 1),
            ("module", "geo", None, 3, 3),
            ("class", "Shape", "geo", 5, 7),
            ("method", "~Shape", "geo.Shape", 8, 8),
            ("class", "Shape", "geo", 9, 11),
            ("struct", "Box", "geo", 13, 15),
            ("method", "get", "geo.Box", 16, 16),
            ("method", "area", "geo.Shape", 19, 21),
            ("module", "inner", "geo", 23, 23),
            ("function", "helper", "geo.inner", 24, 24),
            ("code", None, None, 27, 27),
        ],
    ),
    "csharp": (
        """\
using System;

namespace Geo
{
    /// <summary>A shape.</summary>
    [Serializable]
    public class Shape
    {
        private int w;

        public Shape(int w) { this.w = w; }

        public int Area()
        {
            int Local() => 1;
            return Local();
        }
    }

    public interface IShape { int Area(); }

    public struct P { public int X; }

    public enum Color { Red }
}

namespace Flat.Scoped;

public record R(int A);
""",
        [
            ("code", None, None, 1, 1),
            ("module", "Geo", None, 3, 4),
            ("class", "Shape", "Geo", 5, 9),
            ("method", "Shape", "Geo.Shape", 11, 11),
            ("method", "Area", "Geo.Shape", 13, 14),
            ("function", "Local", "Geo.Shape.Area", 15, 15),
            ("method", "Area", "Geo.Shape", 16, 17),
            ("interface", "IShape", "Geo", 20, 20),
            ("method", "Area", "Geo.IShape", 20, 20),
            ("struct", "P", "Geo", 22, 22),
            ("enum", "Color", "Geo", 24, 24),
            ("module", "Flat.Scoped", None, 27, 27),
            ("class", "R", None, 29, 29),
        ],
    ),
    "ruby": (
        """\
require "set"

# Geometry helpers.
module Geo
  # A shape.
  class Shape
    attr_reader :w

    def initialize(w)
      @w = w
    end

    def self.unit
      new(1)
    end

    class << self
      def build; end
    end
  end
end

def top_level
  1
end
""",
        [
            ("code", None, None, 1, 1),
            ("module", "Geo", None, 3, 4),
            ("class", "Shape", "Geo", 5, 7),
            ("method", "initialize", "Geo.Shape", 9, 11),
            ("method", "unit", "Geo.Shape", 13, 15),
            ("class", "self", "Geo.Shape", 17, 17),
            ("method", "build", "Geo.Shape.self", 18, 18),
            ("function", "top_level", None, 23, 25),
        ],
    ),
    "bash": (
        """\
#!/bin/bash
set -e

# Greets.
greet() {
  echo "hi $1"
}

function other {
  greet x
}

greet world
""",
        [
            ("code", None, None, 1, 2),
            ("function", "greet", None, 4, 7),
            ("function", "other", None, 9, 11),
            ("code", None, None, 13, 13),
        ],
    ),
}


class TestLanguages:
    """One real snippet per language, with every chunk it must yield."""

    @pytest.mark.parametrize("language", sorted(CASES))
    def test_snippet_chunks(self, outline, language: str) -> None:
        """The snippet yields exactly the expected kinds, names, parents and line ranges."""
        source, expected = CASES[language]
        assert outline(source.encode(), language) == expected

    @pytest.mark.parametrize("language", sorted(CASES))
    def test_chunks_tile_the_file(self, language: str) -> None:
        """Chunks never overlap and every line with a word on it lands in some chunk."""
        source = CASES[language][0].encode()
        chunks = chunk_source(source, "x", language).chunks
        covered = bytearray(len(source))
        for chunk in chunks:
            assert chunk.text == source[chunk.start_byte : chunk.end_byte].decode()
            assert not any(covered[chunk.start_byte : chunk.end_byte]), chunk
            covered[chunk.start_byte : chunk.end_byte] = b"\1" * (chunk.end_byte - chunk.start_byte)
        start = 0
        for number, line in enumerate(source.splitlines(keepends=True), 1):
            words = [i for i, b in enumerate(line) if chr(b).isalnum()]
            if words and line.strip() != b"end":
                assert any(covered[start + i] for i in words), f"line {number} lost: {line!r}"
            start += len(line)


class TestAttachment:
    """Decorators, doc comments and attributes belong to the definition below them."""

    def test_python_comment_and_decorators(self, outline) -> None:
        """A comment directly above stacked decorators starts the function's chunk."""
        source = """\
            import functools

            # Cached forever.
            @functools.cache
            @staticmethod
            def f():
                return 1
            """
        assert outline(source, "python") == [
            ("code", None, None, 1, 1),
            ("function", "f", None, 3, 7),
        ]

    def test_rust_blank_line_detaches_comment(self, outline) -> None:
        """A comment separated by a blank line stays with the code above, not the item."""
        source = """\
            // Licence header.

            /// Documented.
            #[inline]
            fn f() {}
            """
        assert outline(source, "rust") == [
            ("code", None, None, 1, 1),
            ("function", "f", None, 3, 5),
        ]

    def test_trailing_comment_is_not_a_doc_comment(self, outline) -> None:
        """A comment ending the previous line of code is not pulled into the next definition."""
        source = """\
            int x = 1; /* trailing */
            int f(void) { return x; }
            """
        assert outline(source, "c") == [
            ("code", None, None, 1, 1),
            ("function", "f", None, 2, 2),
        ]

    def test_javascript_export_and_jsdoc(self, outline) -> None:
        """``export default`` and the JSDoc above it are part of the function chunk."""
        source = """\
            /**
             * Entry point.
             */
            export default async function main() {
              return 1;
            }
            """
        assert outline(source, "javascript") == [("function", "main", None, 1, 6)]


class TestJavaScriptDeclarations:
    """``const``/``let``/``var`` are functions only when they hold one."""

    @pytest.mark.parametrize("language", ["javascript", "typescript", "tsx"])
    def test_only_function_values_are_functions(self, outline, language: str) -> None:
        """Arrays, calls and numbers stay code; arrow and function expressions are functions."""
        source = """\
            const items = [1, 2];
            let total = sum(items);
            const double = (x) => x * 2;
            export var legacy = function () {
              return 1;
            };
            """
        assert outline(source, language) == [
            ("code", None, None, 1, 2),
            ("function", "double", None, 3, 3),
            ("function", "legacy", None, 4, 6),
        ]


class TestNesting:
    """Every nested definition is a chunk of its own, found by its qualified parent."""

    def test_deeply_nested_python_classes(self, outline) -> None:
        """Parents are dotted paths through every enclosing definition."""
        source = """\
            class A:
                class B:
                    class C:
                        def m(self):
                            def local():
                                return 1
                            return local
            """
        found = {(kind, name, parent) for kind, name, parent, *_ in outline(source, "python")}
        assert {
            ("class", "A", None),
            ("class", "B", "A"),
            ("class", "C", "A.B"),
            ("method", "m", "A.B.C"),
            ("function", "local", "A.B.C.m"),
        } <= found

    def test_class_chunk_holds_header_and_fields_only(self) -> None:
        """A class chunk holds its header and fields; method bodies live in their own chunks."""
        source = b"class K:\n    x = 1\n\n    def m(self):\n        return 2\n"
        chunks = chunk_source(source, "k.py", "python").chunks
        by_kind = {c.kind: c for c in chunks}
        assert by_kind["class"].text == "class K:\n    x = 1"
        assert by_kind["method"].text == "def m(self):\n        return 2"

    def test_go_grouped_type_declaration(self, outline) -> None:
        """Each spec of ``type ( ... )`` is its own struct or interface chunk."""
        source = "package p\n\ntype (\n\tA struct{ x int }\n\tB interface{ M() }\n)\n"
        kinds = [(k, n) for k, n, *_ in outline(source, "go") if k != "code"]
        assert kinds == [("struct", "A"), ("interface", "B")]

    def test_ruby_end_is_not_a_chunk(self) -> None:
        """A closing ``end`` after the last method does not become a stray part of the class."""
        source = b"class A\n  X = 1\n\n  def m\n  end\nend\n"
        chunks = chunk_source(source, "a.rb", "ruby").chunks
        assert [(c.kind, c.name, c.part, c.parts) for c in chunks] == [
            ("class", "A", 1, 1),
            ("method", "m", 1, 1),
        ]

    def test_code_after_nested_definition_continues_the_parent(self, outline) -> None:
        """Statements after a nested def form a further part of the enclosing definition."""
        source = b"def f():\n    x = 1\n\n    def g():\n        pass\n\n    return x + g()\n"
        result = chunk_source(source, "f.py", "python")
        parts = [(c.name, c.part, c.parts, c.start_line) for c in result.chunks if c.name == "f"]
        assert parts == [("f", 1, 2, 1), ("f", 2, 2, 7)]


class TestMethodKinds:
    """A method defined away from its class body is still a method of that class."""

    def test_cpp_out_of_class_definitions_are_methods(self, outline) -> None:
        """``Widget::draw`` is method ``draw`` of ``Widget``, qualified like an in-class one."""
        source = """\
            namespace ns {
            class Widget {
            public:
                Widget();
                void draw();
                int size() const { return 1; }
            };
            }

            namespace util {
            int helper();
            }

            ns::Widget::Widget() {}

            void ns::Widget::draw() {
                struct Local { int x; };
            }

            namespace ns {
            Widget::~Widget() {}
            }

            template <typename T>
            void Stack<T>::push(T x) {
                items.push_back(x);
            }

            Widget& Widget::operator=(const Widget&) { return *this; }
            Widget::operator const char*() const { return 0; }

            int util::helper() { return 1; }

            namespace a::b {
            int f() { return 1; }
            }

            void a::b::g() {}
            """
        assert outline(source, "cpp") == [
            ("module", "ns", None, 1, 1),
            ("class", "Widget", "ns", 2, 5),
            ("method", "size", "ns.Widget", 6, 6),
            ("module", "util", None, 10, 12),
            ("method", "Widget", "ns.Widget", 14, 14),
            ("method", "draw", "ns.Widget", 16, 16),
            ("struct", "Local", "ns.Widget.draw", 17, 17),
            ("module", "ns", None, 20, 20),
            ("method", "~Widget", "ns.Widget", 21, 21),
            ("method", "push", "Stack", 24, 27),
            ("method", "operator=", "Widget", 29, 29),
            ("method", "operator const char*", "Widget", 30, 30),
            ("function", "helper", "util", 32, 32),
            ("module", "b", "a", 34, 34),
            ("function", "f", "a.b", 35, 35),
            ("function", "g", "a.b", 38, 38),
        ]

    def test_ruby_defs_in_a_module_are_methods(self, outline) -> None:
        """A ``def`` in a module or on a constant is a method; only a top-level ``def`` is not."""
        source = """\
            # Helpers mixed into models.
            module Util
              VERSION = 1

              # Greets.
              def helper
                1
              end

              def self.build
                new
              end

              class << self
                def x; end
              end

              class K
                def m; end
              end
            end

            def Util.extra; end

            def self.top; end

            def top_level
              def inner; end
            end
            """
        assert outline(source, "ruby") == [
            ("module", "Util", None, 1, 3),
            ("method", "helper", "Util", 5, 8),
            ("method", "build", "Util", 10, 12),
            ("class", "self", "Util", 14, 14),
            ("method", "x", "Util.self", 15, 15),
            ("class", "K", "Util", 18, 18),
            ("method", "m", "Util.K", 19, 19),
            ("method", "extra", "Util", 23, 23),
            ("function", "top", None, 25, 25),
            ("function", "top_level", None, 27, 27),
            ("function", "inner", "top_level", 28, 28),
        ]

    def test_go_definition_inside_a_method_is_qualified_by_it(self, outline) -> None:
        """A type declared in a Go method's body names the method, not just its receiver."""
        source = "package p\n\nfunc (s *S) f() {\n\ttype local struct{ x int }\n}\n"
        assert outline(source, "go") == [
            ("code", None, None, 1, 1),
            ("method", "f", "S", 3, 3),
            ("struct", "local", "S.f", 4, 4),
        ]


class TestSizeLimits:
    """No chunk is larger than the limits, unless a single line is."""

    def _big_function(self, statements: int) -> bytes:
        body = "".join(
            f"    value_{i} = compute({i}, 'some argument text')\n" for i in range(statements)
        )
        return f"def big():\n{body}    return value_0\n".encode()

    @pytest.mark.parametrize(("max_lines", "max_bytes"), [(10, 100_000), (1000, 300), (7, 250)])
    def test_parts_stay_within_limits(self, max_lines: int, max_bytes: int) -> None:
        """A long function is split into parts within both limits, sharing its name."""
        source = self._big_function(120)
        options = ChunkOptions(max_lines=max_lines, max_bytes=max_bytes)
        chunks = chunk_source(source, "big.py", "python", options).chunks
        assert len(chunks) > 1
        for chunk in chunks:
            assert chunk.end_line - chunk.start_line + 1 <= max_lines
            assert chunk.end_byte - chunk.start_byte <= max_bytes
            assert (chunk.kind, chunk.name, chunk.parts) == ("function", "big", len(chunks))
        assert [c.part for c in chunks] == list(range(1, len(chunks) + 1))

    def test_splits_fall_on_line_boundaries(self) -> None:
        """Each part starts at a line's first non-blank byte and ends at a line end."""
        source = self._big_function(80)
        chunks = chunk_source(source, "big.py", "python", ChunkOptions(max_lines=9)).chunks
        for chunk in chunks:
            assert source[: chunk.start_byte].rstrip(b" ").endswith(b"\n") or chunk.start_byte == 0
            assert source[chunk.end_byte : chunk.end_byte + 1] in (b"\n", b"")

    def test_split_keeps_every_statement(self) -> None:
        """The parts of a split definition together hold all of its lines, in order."""
        source = self._big_function(60)
        chunks = chunk_source(source, "big.py", "python", ChunkOptions(max_lines=8)).chunks
        joined = [line.strip() for c in chunks for line in c.text.splitlines()]
        assert joined == [line.strip() for line in source.decode().splitlines()]

    def test_single_long_line_is_the_only_excess(self) -> None:
        """A one-line definition longer than max_bytes stays whole: lines are never cut."""
        source = ("x = [" + ", ".join(str(i) for i in range(2000)) + "]\n").encode()
        chunks = chunk_source(source, "long.py", "python", ChunkOptions(max_bytes=100)).chunks
        assert len(chunks) == 1
        assert chunks[0].text == source.decode().strip()

    @pytest.mark.parametrize("language", sorted(CASES))
    def test_limits_hold_in_every_language(self, language: str) -> None:
        """Tiny limits split every snippet into parts no bigger than three lines."""
        source = CASES[language][0].encode()
        options = ChunkOptions(max_lines=3, max_bytes=10_000)
        for chunk in chunk_source(source, "x", language, options).chunks:
            assert chunk.end_line - chunk.start_line + 1 <= 3, chunk


def _python_files() -> list[Path]:
    """40 stdlib modules chosen by a fixed seed, plus the project's own sources."""

    def has_definitions(path: Path) -> bool:
        try:  # a teammate's file half-edited must not break collection
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError, OSError):
            return False
        return any(
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            for node in ast.walk(tree)
        )

    candidates = sorted(p for p in STDLIB.glob("*.py") if p.stat().st_size < 200_000)
    sample = random.Random(20240601).sample(candidates, 40)
    own = sorted(p for folder in PROJECT for p in folder.rglob("*.py"))
    return [p for p in sample + own if has_definitions(p)]


class TestPythonGroundTruth:
    """Every def and class Python's own ``ast`` sees is a chunk of the same name and place."""

    @pytest.mark.parametrize("path", _python_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
    def test_every_definition_is_a_chunk(self, path: Path) -> None:
        """Each ast (Async)FunctionDef/ClassDef has a same-named chunk spanning its def line."""
        source = path.read_bytes()
        chunks = chunk_source(source, path.name, "python").chunks
        by_name: dict[str, list[tuple[int, int]]] = {}
        for chunk in chunks:
            by_name.setdefault(chunk.name or "", []).append((chunk.start_line, chunk.end_line))
        definitions = [
            node
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        ]
        assert definitions
        for node in definitions:
            spans = by_name.get(node.name, [])
            assert any(start <= node.lineno <= end for start, end in spans), (
                f"{path}:{node.lineno} {node.name} not found in {spans}"
            )


class TestStages:
    """``extract`` works on any tree ``parse`` returns."""

    def test_extract_matches_chunk_source(self) -> None:
        """Calling the two stages by hand gives the same chunks as the pipeline."""
        source = textwrap.dedent(CASES["go"][0]).encode()
        tree = parse(source, "go")
        assert tuple(extract(tree, source, "a.go", ChunkOptions())) == (
            chunk_source(source, "a.go", "go").chunks
        )

    def test_syntax_errors_are_flagged_on_their_chunk(self) -> None:
        """Only the chunk holding broken code carries has_syntax_error."""
        source = b"def ok():\n    return 1\n\n\ndef broken(x):\n    return (1 +\n\nX = 2\n"
        result = chunk_source(source, "b.py", "python")
        assert result.has_syntax_error
        flags = [(c.kind, c.name, c.has_syntax_error) for c in result.chunks]
        assert flags == [
            ("function", "ok", False),
            ("function", "broken", True),
            ("code", None, False),
        ]

    def test_ids_are_deterministic_and_distinct(self) -> None:
        """The same bytes give the same ids; different chunks never share one."""
        source = CASES["python"][0].encode()
        first = [c.id for c in chunk_source(source, "a.py", "python").chunks]
        second = [c.id for c in chunk_source(source, "a.py", "python").chunks]
        other = [c.id for c in chunk_source(source, "b.py", "python").chunks]
        assert first == second
        assert len(set(first)) == len(first)
        assert not set(first) & set(other)
