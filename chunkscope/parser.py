"""Stage one: bytes in, syntax tree out, and nothing else.

``parse`` is the public stage (instrumented with one span per call when telemetry is on);
the pipeline calls ``parse_as`` directly and times the stage itself. Parsers are cached per
thread: a ``Parser`` is cheap to reuse and not safe to share between threads.
"""

from __future__ import annotations

import threading

import tree_sitter as ts

from chunkscope.languages import LANGUAGES, canonical, grammar
from chunkscope.preprocessor import mask

_local = threading.local()


def parser_for(language: str) -> ts.Parser:
    """This thread's parser for ``language``, a canonical name."""
    cache: dict[str, ts.Parser] | None = getattr(_local, "parsers", None)
    if cache is None:
        cache = _local.parsers = {}
    parser = cache.get(language)
    if parser is None:
        parser = cache[language] = ts.Parser(grammar(language))
    return parser


def parse(source: bytes, language: str) -> ts.Tree:
    """Parse ``source`` with the grammar of ``language`` (a canonical name or alias).

    Works on bytes so invalid UTF-8 never raises; tree-sitter recovers from syntax
    errors and marks them in the tree (``tree.root_node.has_error``). C, C++ and C#
    are parsed through ``preprocessor.mask``, which blanks export macros, clashing ``#if``
    branches and the grammar's known blind spots without moving a byte.
    """
    name = canonical(language)
    if name is None:
        raise ValueError(f"unknown language: {language!r}")
    return parse_as(source, name)


def parse_as(source: bytes, name: str) -> ts.Tree:
    """Parse with the grammar of a canonical language name; the pipeline's stage one.

    Not instrumented (``parse`` is): the pipeline times this call itself.
    """
    spec = LANGUAGES[name]
    if spec.masks or spec.conditionals:
        source = mask(source, name)
    return parser_for(name).parse(source)
