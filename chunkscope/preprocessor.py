"""What a grammar should not see: export macros, clashing ``#if`` branches, known blind spots.

tree-sitter parses C, C++ and C# without running their preprocessor, so two common shapes
derail it. An export macro between ``class`` and the name (``class V8_EXPORT Array : public
Object {``) makes the class a function named ``Object`` with a statement block for a body.
And branches of one ``#if`` that each hold half a construct (two alternative headers of a
function or a ``fixed`` statement, one shared body) leave an unbalanced tree in which the
enclosing class is lost.

``mask`` returns a copy of the source in which those spans are blanked: every byte but a
newline becomes a space, so byte offsets and line numbers do not move and the chunks are
still cut from the original bytes. Only the parser sees the blanks:

- the first group of each of the language's ``masks`` (data in ``languages.py``): in C and
  C++, a run of identifiers (each optionally followed by ``(...)``) between ``class``/
  ``struct``/``union`` and a name followed by ``:``, ``{`` or ``final``, a shape standard
  C++ does not have, so the run is macros (``V8_EXPORT``, ``Q_DECL_EXPORT``, ``ALIGNAS(8)``);
  in C#, a pointer dereference of a parenthesised expression (``*(uint*)(p + i) = v;``),
  which tree-sitter-c-sharp cannot parse and which otherwise loses the enclosing class;
- the directives of a conditional group none of whose branches is a complete run of
  declarations or statements (brackets balanced, ending in ``;`` or ``}``), and every
  branch but the first (the second for ``#if 0``): the parser then reads one configuration,
  the one a preprocessor defining the first condition would produce. Groups of complete
  branches are left alone; tree-sitter parses them natively and finds the definitions in
  every branch, ``#else`` included.

    >>> mask(b"class API Widget : Base {};", "cpp")
    b'class     Widget : Base {};'
"""

from __future__ import annotations

import re
from functools import cache
from itertools import pairwise

from chunkscope.languages import LANGUAGES

_DIRECTIVE = re.compile(
    rb"^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|elifdef|elifndef|else|endif)\b([^\n]*)", re.MULTILINE
)
_NOT_CODE = re.compile(
    rb"//[^\n]*|/\*.*?(?:\*/|\Z)|@?\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'"
    rb"|^[ \t]*#(?:[^\n]*\\\n)*[^\n]*",
    re.DOTALL | re.MULTILINE,
)
_NOT_NEWLINE = re.compile(rb"[^\n]")
_FALSE = re.compile(rb"[ \t]*(?:0|false)[ \t]*(?://.*|/\*.*)?")
_BLANKS = b" \t\r\n\x0b\x0c"
_PAIRS = ((b"(", b")"), (b"{", b"}"), (b"[", b"]"))
_READ_BUDGET = 4
"""Exact checks stop once they have read this many times the file's size."""


def _blank(buf: bytearray, start: int, end: int) -> None:
    buf[start:end] = _NOT_NEWLINE.sub(b" ", buf[start:end])


def _balanced(code: bytes | bytearray, start: int = 0, end: int | None = None) -> bool:
    end = len(code) if end is None else end
    return all(code.count(o, start, end) == code.count(c, start, end) for o, c in _PAIRS)


def _ends_whole(code: bytes | bytearray, start: int, end: int) -> bool:
    """True when the last code on ``code[start:end]`` ends in ``;`` or ``}`` (or there is none).

    Walks back over blank space, directive lines and trailing comments, a line at a time.
    """
    while True:
        while end > start and code[end - 1] in _BLANKS:
            end -= 1
        if end == start:
            return True
        line_start = max(start, code.rfind(b"\n", start, end) + 1)
        line = bytes(code[line_start:end])
        if line.lstrip().startswith(b"#"):
            end = line_start
        elif line.endswith(b"*/") and (opened := code.rfind(b"/*", start, end - 2)) >= 0:
            end = opened
        elif (cut := line.find(b"//")) >= 0:
            end = line_start + cut
        else:
            return line[-1:] in (b";", b"}")


def _complete(buf: bytearray, start: int, end: int, budget: list[int]) -> bool:
    """True when ``buf[start:end]`` is whole declarations or statements: brackets balanced,
    ending in ``;`` or ``}``.

    Counted in place first; only when the counts disagree (a bracket in a comment or a
    string) is the branch copied and read without its comments and strings, within
    ``budget`` (bytes left to read), so thousands of nested ``#if`` stay linear.
    """
    if _balanced(buf, start, end):
        return _ends_whole(buf, start, end)
    budget[0] -= end - start
    if budget[0] < 0:
        return True
    code = _NOT_CODE.sub(b" ", bytes(buf[start:end]))
    return _balanced(code) and _ends_whole(code, 0, len(code))


def _settle(buf: bytearray, group: list[re.Match[bytes]], budget: list[int]) -> None:
    """Blank a group's directives and all but one branch unless every branch is complete."""
    branches = [(a.end(), b.start()) for a, b in pairwise(group)]
    if all(_complete(buf, s, e, budget) for s, e in branches):
        return
    keep = 1 if _FALSE.fullmatch(group[0].group(2)) else 0
    for index, (start, end) in enumerate(branches):
        if index != keep:
            _blank(buf, start, end)
    for directive in group:
        _blank(buf, directive.start(), directive.end())


@cache
def _patterns(language: str) -> tuple[re.Pattern[bytes], ...]:
    return tuple(re.compile(p, re.MULTILINE) for p in LANGUAGES[language].masks)


def mask(source: bytes, language: str) -> bytes:
    """``source`` with the language's masks and clashing conditional branches blanked in place."""
    buf: bytearray | None = None
    padded = b"\n" + source  # line-start patterns match at the first line too
    for pattern in _patterns(language):
        for match in pattern.finditer(padded):
            buf = buf if buf is not None else bytearray(source)
            start, end = match.span(1)
            _blank(buf, start - 1, end - 1)
    if not LANGUAGES[language].conditionals:
        return source if buf is None else bytes(buf)
    stack: list[list[re.Match[bytes]]] = []
    budget = [_READ_BUDGET * len(source)]
    for match in _DIRECTIVE.finditer(source):
        kind = match.group(1)
        if kind.startswith(b"if"):
            stack.append([match])
        elif stack:
            stack[-1].append(match)
            if kind == b"endif":
                buf = buf if buf is not None else bytearray(source)
                _settle(buf, stack.pop(), budget)
    return source if buf is None else bytes(buf)
