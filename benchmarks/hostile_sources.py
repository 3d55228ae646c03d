"""Sources built to hurt a tree-sitter chunker, in every language chunkscope parses.

Each family is a function of the language and a size in bytes, deterministic, so the
benchmark (``bench_worst_case.py``) and the tests (``tests/chunkscope/test_worst_case.py``)
see the same bytes:

    >>> from hostile_sources import FAMILIES, source
    >>> len(source("python", "unclosed_paren", 1000))
    1000

- ``unclosed_paren``/``_bracket``/``_brace``: one opening bracket after another; error
  recovery leaves them as one flat run of unnamed tokens;
- ``unterminated_string``/``_comment``: the language's string or block-comment opener,
  then ordinary code that never sees the closing quote;
- ``garbage``: a seeded soup of brackets, quotes, comment markers, keywords and names;
- ``nested``: balanced brackets nested half the size deep;
- ``unclosed_then_code``/``code_then_unclosed``: a run of ``(`` before or after code;
- ``stray_parens``: an unclosed ``(`` before every definition, which leaves thousands of
  definitions side by side in one flat error node;
- ``code``: the same ordinary code, well formed: the baseline.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Dialect:
    """What a language needs to be attacked in its own syntax."""

    code: bytes
    """A few ordinary definitions, repeated to fill a file."""
    string: bytes
    """Opens a string that nothing closes."""
    comment: bytes
    """Opens a block comment (or the language's nearest thing) that nothing closes."""
    keywords: tuple[bytes, ...]
    small: bytes
    """The smallest definition: many of them side by side make the widest error nodes."""


_C_LIKE_CODE = b"""int add(int a, int b) {
    int total = a + b;
    if (total > 10) {
        return total - 10;
    }
    return total;
}

"""
_JS_CODE = b"""function add(a, b) {
  const total = a + b;
  if (total > 10) {
    return total - 10;
  }
  return total;
}

"""
_TS_CODE = b"""function add(a: number, b: number): number {
  const total = a + b;
  if (total > 10) {
    return total - 10;
  }
  return total;
}

"""
_C_KEYWORDS = (b"int", b"struct", b"if", b"return", b"static", b"void")
_JS_KEYWORDS = (b"function", b"class", b"const", b"return", b"=>", b"export")

DIALECTS: dict[str, Dialect] = {
    "python": Dialect(
        b"def add(a, b):\n    total = a + b\n    if total > 10:\n        return total - 10\n"
        b"    return total\n\n\n",
        b'"',
        b'"""',
        (b"def", b"class", b"return", b"lambda", b"async", b"@"),
        b"def f(a, b):\n    return a + b\n\n",
    ),
    "javascript": Dialect(
        _JS_CODE, b'"', b"/*", _JS_KEYWORDS, b"function f(a, b) {\n  return a + b;\n}\n"
    ),
    "typescript": Dialect(
        _TS_CODE,
        b'"',
        b"/*",
        (*_JS_KEYWORDS, b"interface"),
        b"function f(a: number): number {\n  return a;\n}\n",
    ),
    "tsx": Dialect(
        _TS_CODE,
        b'"',
        b"/*",
        (*_JS_KEYWORDS, b"<div>"),
        b"function f(a: number): number {\n  return a;\n}\n",
    ),
    "go": Dialect(
        b"func add(a int, b int) int {\n\ttotal := a + b\n\tif total > 10 {\n"
        b"\t\treturn total - 10\n\t}\n\treturn total\n}\n\n",
        b'"',
        b"/*",
        (b"func", b"type", b"struct", b"return", b"go", b"var"),
        b"func f(a int) int {\n\treturn a\n}\n",
    ),
    "rust": Dialect(
        b"fn add(a: i32, b: i32) -> i32 {\n    let total = a + b;\n    if total > 10 {\n"
        b"        return total - 10;\n    }\n    total\n}\n\n",
        b'"',
        b"/*",
        (b"fn", b"impl", b"struct", b"let", b"mod", b"'a"),
        b"fn f(a: i32) -> i32 {\n    a\n}\n",
    ),
    "java": Dialect(
        b"class Adder {\n    int add(int a, int b) {\n        int total = a + b;\n"
        b"        if (total > 10) {\n            return total - 10;\n        }\n"
        b"        return total;\n    }\n}\n\n",
        b'"',
        b"/*",
        (b"class", b"public", b"void", b"return", b"new", b"@Override"),
        b"class C {\n  int f(int a) {\n    return a;\n  }\n}\n",
    ),
    "c": Dialect(
        _C_LIKE_CODE, b'"', b"/*", (*_C_KEYWORDS, b"#define"), b"int f(int a) {\n  return a;\n}\n"
    ),
    "cpp": Dialect(
        _C_LIKE_CODE,
        b'"',
        b"/*",
        (*_C_KEYWORDS, b"template", b"::"),
        b"int f(int a) {\n  return a;\n}\n",
    ),
    "csharp": Dialect(
        b"class Adder {\n    int Add(int a, int b) {\n        int total = a + b;\n"
        b"        if (total > 10) {\n            return total - 10;\n        }\n"
        b"        return total;\n    }\n}\n\n",
        b'"',
        b"/*",
        (b"class", b"namespace", b"void", b"return", b"new", b"[Attr]"),
        b"class C {\n  int F(int a) {\n    return a;\n  }\n}\n",
    ),
    "ruby": Dialect(
        b"def add(a, b)\n  total = a + b\n  if total > 10\n    return total - 10\n"
        b"  end\n  total\nend\n\n",
        b'"',
        b"=begin\n",
        (b"def", b"class", b"module", b"end", b"do", b"|x|"),
        b"def f(a, b)\n  a + b\nend\n",
    ),
    "bash": Dialect(
        b'add() {\n  local total=$(( $1 + $2 ))\n  if [ "$total" -gt 10 ]; then\n'
        b'    echo $(( total - 10 ))\n  fi\n  echo "$total"\n}\n\n',
        b'"',
        b": <<'END'\n",
        (b"function", b"if", b"then", b"fi", b"case", b"esac"),
        b'f() {\n  echo "$1"\n}\n',
    ),
}
"""Every language chunkscope parses (the keys of ``chunkscope.languages.LANGUAGES``)."""

_PUNCTUATION = (b"(", b")", b"{", b"}", b"[", b"]", b";", b",", b".", b":", b"=", b"<", b">")
_NOISE = (b'"', b"'", b"`", b"/*", b"*/", b"#", b"\\", b"$", b"\n", b" ", b"  ", b"x", b"42")


def _filled(unit: bytes, size: int) -> bytes:
    return (unit * (size // len(unit) + 1))[:size]


def _garbage(dialect: Dialect, size: int) -> bytes:
    tokens = _PUNCTUATION + _NOISE + dialect.keywords
    rng = random.Random(size)
    out = bytearray()
    while len(out) < size:
        out += rng.choice(tokens)
    return bytes(out[:size])


def _nested(size: int) -> bytes:
    depth = max(0, (size - 5) // 2)
    return _filled(b"x = " + b"(" * depth + b"1" + b")" * depth + b"\n", size)


FAMILIES: dict[str, Callable[[Dialect, int], bytes]] = {
    "unclosed_paren": lambda d, n: b"(" * n,
    "unclosed_bracket": lambda d, n: b"[" * n,
    "unclosed_brace": lambda d, n: b"{" * n,
    "unterminated_string": lambda d, n: d.string + _filled(d.code, n - len(d.string)),
    "unterminated_comment": lambda d, n: d.comment + _filled(d.code, n - len(d.comment)),
    "garbage": _garbage,
    "nested": lambda d, n: _nested(n),
    "unclosed_then_code": lambda d, n: b"(" * (n // 2) + _filled(d.code, n - n // 2),
    "stray_parens": lambda d, n: _filled(b"(" + d.small, n),
    "code_then_unclosed": lambda d, n: _filled(d.code, n - n // 2) + b"(" * (n // 2),
    "code": lambda d, n: _filled(d.code, n),
}
"""Family name -> builder of ``size`` bytes in a dialect."""


def source(language: str, family: str, size: int) -> bytes:
    """``size`` bytes of ``family`` written in ``language``."""
    return FAMILIES[family](DIALECTS[language], size)
