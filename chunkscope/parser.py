"""Stage one: bytes in, syntax tree out, and nothing else.

``parse`` is the public stage (instrumented with one span per call when telemetry is on);
the pipeline calls ``parse_as`` directly and times the stage itself. Parsers are cached per
thread: a ``Parser`` is cheap to reuse and not safe to share between threads.
"""

from __future__ import annotations

import sys
import threading

import tree_sitter as ts

from chunkscope.deadline import Deadline
from chunkscope.languages import LANGUAGES, canonical, grammar
from chunkscope.preprocessor import mask

_local = threading.local()
_READ_BLOCK = 1 << 16


def _refs_in_loop(items: list[object]) -> int:
    for item in items:
        return sys.getrefcount(item)
    return 0


_HANDED_REFS = _refs_in_loop([object()])
"""References a block has in ``_release``'s loop: the list's, the loop's and ``getrefcount``'s
own. One more is the reference py-tree-sitter 0.26 keeps by mistake."""


def _release(handed: list[bytes]) -> None:
    """Give back the reference py-tree-sitter keeps to every block a read callback returns.

    py-tree-sitter 0.26 never releases them, so each file parsed through a callback would
    stay in memory for good (+30 MB of peak RSS over the standard library, and growing with
    every file a service sees). Only a block with exactly that one reference too many is
    released, so a binding that fixes the leak makes this a no-op rather than a crash.
    """
    import ctypes

    for block in handed:
        if len(block) > 1 and sys.getrefcount(block) == _HANDED_REFS + 1:
            ctypes.pythonapi.Py_DecRef(ctypes.py_object(block))


def parser_for(language: str) -> ts.Parser:
    """This thread's parser for ``language``, a canonical name."""
    cache: dict[str, ts.Parser] | None = getattr(_local, "parsers", None)
    if cache is None:
        cache = _local.parsers = {}
    parser = cache.get(language)
    if parser is None:
        parser = cache[language] = ts.Parser(grammar(language))
    return parser


def parse(source: bytes, language: str, deadline: Deadline | None = None) -> ts.Tree:
    """Parse ``source`` with the grammar of ``language`` (a canonical name or alias).

    Works on bytes so invalid UTF-8 never raises; tree-sitter recovers from syntax
    errors and marks them in the tree (``tree.root_node.has_error``). C, C++ and C#
    are parsed through ``preprocessor.mask``, which blanks export macros, clashing ``#if``
    branches and the grammar's known blind spots without moving a byte. With a
    ``deadline``, parsing stops with ``FileTimeout`` when it runs out (see ``run``).
    """
    name = canonical(language)
    if name is None:
        raise ValueError(f"unknown language: {language!r}")
    return parse_as(source, name, deadline)


def parse_as(source: bytes, name: str, deadline: Deadline | None = None) -> ts.Tree:
    """Parse with the grammar of a canonical language name; the pipeline's stage one.

    Not instrumented (``parse`` is): the pipeline times this call itself.
    """
    spec = LANGUAGES[name]
    if spec.masks or spec.conditionals:
        source = mask(source, name)
    return run(parser_for(name), source, deadline)


def run(parser: ts.Parser, source: bytes, deadline: Deadline | None = None) -> ts.Tree:
    """``parser.parse(source)``, stopped with ``FileTimeout`` when ``deadline`` runs out.

    tree-sitter polls the deadline as its progress callback. py-tree-sitter takes that
    callback only with a read callback; tree-sitter asks it for a handful of blocks per
    file, at no measurable cost.
    """
    if deadline is None:
        return parser.parse(source)
    view = memoryview(source)
    handed: list[bytes] = []

    def read(offset: int, _point: ts.Point) -> bytes:
        block = bytes(view[offset : offset + _READ_BLOCK])  # a copy: never ``source`` itself
        handed.append(block)
        return block

    try:
        return parser.parse(read, progress_callback=deadline)
    except ValueError:
        parser.reset()  # a stopped parser resumes the old input on its next call otherwise
        deadline.check("parse")
        raise
    finally:
        _release(handed)
        handed.clear()  # the tree keeps ``read`` (for ``Node.text``), not these copies
