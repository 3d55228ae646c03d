"""Stage two: syntax tree in, chunks out.

Definitions are found with one compiled tree-sitter query per language, so the
matching runs in C and never recurses in Python, however deep the nesting. Chunks
do not overlap: a definition's chunk holds its own text (signature, docstring,
fields, statements) and every nested definition is carved out into a chunk of its
own whose ``parent`` names the enclosing one. A class chunk is therefore its header
and fields; its methods are separate chunks. Runs of code between definitions
(imports, constants, a trailing ``}``-free tail) become ``code`` chunks, and a
definition with code after a nested definition continues as a further ``part``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate, repeat
from operator import add, itemgetter

import tree_sitter as ts

from chunkscope.languages import LANGUAGES, definitions_query, grammar, kind_ids
from chunkscope.model import Chunk, ChunkOptions, id_hasher

DEFAULT_OPTIONS = ChunkOptions()
MAX_DEPTH = 4000
"""Definitions deeper than this in the syntax tree stay in their ancestor's text.

A query's cost grows with the square of the tree's depth past a few ten thousand levels
(80 000 nested functions: over a minute), and tree-sitter finds a node's parent by
descending from the root, so each deep definition costs its depth again. Real code never
nests definitions a thousand deep; a generated or hostile file must not stall the run.
"""
_TYPE_CONTAINERS = frozenset({"class", "struct", "interface", "impl", "enum"})
_ALNUM = re.compile(rb"\w")
_NON_BLANK = re.compile(rb"\S")
_BLANKS = b" \t\n\r\x0b\x0c"
_BLOCK_END = re.compile(rb"(?:[\s;)\]}]|\bend\b)*")
"""Closing tokens only: a Ruby ``end`` left over after the last method is not a chunk."""
_GO_RECEIVER = re.compile(rb"\(\s*(?:\w+\s+)?[*&\s]*([A-Za-z_]\w*)")
_C_NAME_KINDS = frozenset(
    {
        "identifier",
        "field_identifier",
        "qualified_identifier",
        "operator_name",
        "destructor_name",
        "template_function",
        "type_identifier",
    }
)


@dataclass(slots=True)
class _Def:
    start: int
    end: int
    kind: str
    name: str | None
    node: ts.Node
    parent: _Def | None = None
    children: list[_Def] = field(default_factory=list)
    qualified: str | None = None


@cache
def _language_names() -> dict[ts.Language, str]:
    return {grammar(name): name for name in LANGUAGES}


def language_of(tree: ts.Tree) -> str:
    """The canonical name of the grammar that produced ``tree``."""
    return _language_names()[tree.language]


def _text(source: bytes, node: ts.Node | None) -> str | None:
    if node is None:
        return None
    return source[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _name(node: ts.Node, source: bytes, outer: ts.Node) -> str | None:
    named = node.child_by_field_name("name")
    if named is not None:
        return _text(source, named)
    kind = node.type
    if kind == "field_definition":
        return _text(source, node.child_by_field_name("property"))
    if kind == "singleton_class":
        return _text(source, node.child_by_field_name("value"))
    if kind == "type_declaration":
        spec = node.named_children[0] if node.named_child_count else None
        return _text(source, spec.child_by_field_name("name")) if spec else None
    if kind in ("lexical_declaration", "variable_declaration"):
        for child in node.named_children:
            if child.type == "variable_declarator":
                return _text(source, child.child_by_field_name("name"))
        return None
    if kind == "impl_item":
        return _text(source, node.child_by_field_name("type"))
    if kind == "function_definition":
        decl = node.child_by_field_name("declarator")
        while decl is not None and decl.type not in _C_NAME_KINDS:
            decl = decl.child_by_field_name("declarator")
        return _text(source, decl)
    if outer.type == "type_definition":
        return _text(source, outer.child_by_field_name("declarator"))
    return None


def _end_row(node: ts.Node) -> int:
    """Last row holding text of ``node``: a line comment that swallows its newline ends there."""
    end = node.end_point
    return end.row - 1 if end.column == 0 and end.row > node.start_point.row else end.row


def _attached_start(outer: ts.Node, comment_ids: frozenset[int]) -> int:
    """Start of the doc comments (or attributes) sitting directly above ``outer``.

    A definition that opens a body node (Ruby's ``body_statement``) has no previous
    sibling of its own; its comment is the body's previous sibling, so look there.
    """
    start_node = outer
    prev = outer.prev_sibling
    up = outer
    while prev is None and (up := up.parent) is not None and up.start_byte == outer.start_byte:
        prev = up.prev_sibling
    while (
        prev is not None
        and prev.kind_id in comment_ids
        and _end_row(prev) >= start_node.start_point.row - 1
    ):
        before = prev.prev_sibling
        if before is not None and _end_row(before) == prev.start_point.row:
            break
        start_node = prev
        prev = before
    return start_node.start_byte


def _sole(wrapper: ts.Node, kind_id: int) -> bool:
    """True when ``wrapper`` wraps one definition, not a group (Go's ``type ( A ...; B ... )``)."""
    return sum(1 for child in wrapper.named_children if child.kind_id == kind_id) == 1


def _collect(tree: ts.Tree, source: bytes, language: str) -> list[_Def]:
    spec = LANGUAGES[language]
    wrapper_ids = kind_ids(language, spec.wrappers)
    comment_ids = kind_ids(language, spec.comments)
    cursor = ts.QueryCursor(definitions_query(language))
    cursor.set_max_start_depth(MAX_DEPTH)
    captures = cursor.captures(tree.root_node)
    seen: set[tuple[int, int]] = set()
    defs: list[_Def] = []
    for kind, nodes in captures.items():
        for node in nodes:
            outer = node
            while (
                (up := outer.parent) is not None
                and up.kind_id in wrapper_ids
                and _sole(up, outer.kind_id)
            ):
                outer = up
            start = _attached_start(outer, comment_ids) if comment_ids else outer.start_byte
            key = (start, outer.end_byte)
            if key in seen:
                continue
            seen.add(key)
            defs.append(_Def(start, outer.end_byte, kind, _name(node, source, outer), node))
    defs.sort(key=lambda d: (d.start, -d.end))
    return defs


def _nest(defs: list[_Def], language: str) -> list[_Def]:
    """Link each definition to its enclosing one; return the top-level definitions."""
    top: list[_Def] = []
    stack: list[_Def] = []
    for d in defs:
        while stack and stack[-1].end <= d.start:
            stack.pop()
        parent = stack[-1] if stack else None
        d.parent = parent
        (parent.children if parent else top).append(d)
        if d.kind in ("function", "method"):
            if parent is not None and parent.kind in _TYPE_CONTAINERS:
                d.kind = "method"
            elif d.kind == "method" and language != "go":
                d.kind = "function"
        if language == "go" and d.kind == "method" and parent is None:
            receiver = d.node.child_by_field_name("receiver")
            if receiver is not None:
                match = _GO_RECEIVER.match(receiver.text or b"")
                if match:
                    d.qualified = match.group(1).decode("utf-8", "replace")
        stack.append(d)
    return top


class _Lines:
    """Byte offset <-> line number, built once per file."""

    __slots__ = ("starts",)

    def __init__(self, source: bytes) -> None:
        # C-level iterators only: a Python loop per line costs more than the rest of extract.
        lengths = map(len, source.split(b"\n"))
        self.starts = list(accumulate(map(add, lengths, repeat(1)), initial=0))[:-1]

    def row(self, offset: int) -> int:
        return bisect_right(self.starts, offset) - 1


def _trim(source: bytes, start: int, end: int) -> tuple[int, int] | None:
    """Shrink ``[start, end)`` to its non-blank content; None if nothing meaningful is left.

    Searches in place rather than slicing: a definition's bytes are not copied to trim them.
    """
    first = _NON_BLANK.search(source, start, end)
    if first is None:
        return None
    start = first.start()
    while end > start and source[end - 1] in _BLANKS:
        end -= 1
    if _ALNUM.search(source, start, end) is None:
        return None
    return start, end


def _own_segments(
    source: bytes, start: int, end: int, children: list[_Def], keyword_end: bool = False
) -> list[tuple[int, int]]:
    segments = []
    cursor = start
    for child in children:
        if child.start > cursor and (seg := _trim(source, cursor, child.start)):
            segments.append(seg)
        cursor = max(cursor, child.end)
    seg = _trim(source, cursor, end) if end > cursor else None
    if seg and not (keyword_end and _BLOCK_END.fullmatch(source, *seg)):
        segments.append(seg)
    return segments


def _statement_rows(node: ts.Node, first: int, last: int) -> set[int]:
    """Rows in ``[first, last]`` where a syntax node begins the line: the safe places to cut."""
    rows: set[int] = set()
    cursor = node.walk()
    while True:
        current = cursor.node
        assert current is not None
        srow, erow = current.start_point.row, current.end_point.row
        if first <= srow <= last and current.is_named:
            rows.add(srow)
        if erow > srow and srow <= last and erow >= first and cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return rows


def _split(
    source: bytes, lines: _Lines, node: ts.Node, start: int, end: int, options: ChunkOptions
) -> list[tuple[int, int]]:
    """Cut ``[start, end)`` into line-aligned pieces within the size limits."""
    first, last = lines.row(start), lines.row(max(start, end - 1))
    if last - first + 1 <= options.max_lines and end - start <= options.max_bytes:
        return [(start, end)]
    starts = lines.starts
    good = _statement_rows(node, first, last)

    def piece_end(row_after: int) -> int:
        return end if row_after > last else min(end, starts[row_after])

    pieces: list[tuple[int, int]] = []
    row = first
    while row <= last:
        begin = max(start, starts[row])
        best_good = best_any = None
        limit = min(last + 1, row + options.max_lines)
        for nxt in range(row + 1, limit + 1):
            if piece_end(nxt) - begin > options.max_bytes:
                break
            best_any = nxt
            if nxt > last or nxt in good:
                best_good = nxt
        nxt = best_good or best_any or row + 1
        if (seg := _trim(source, begin, piece_end(nxt))) is not None:
            pieces.append(seg)
        row = nxt
    return pieces


def _error_ranges(tree: ts.Tree) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    cursor = tree.walk()
    while True:
        node = cursor.node
        assert node is not None
        if node.is_error or node.is_missing:
            ranges.append((node.start_byte, max(node.end_byte, node.start_byte + 1)))
        elif node.has_error and cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return ranges


def _qualified(d: _Def | None) -> str | None:
    if d is None:
        return None
    if d.qualified is None:
        own = d.name or "<anonymous>"
        d.qualified = f"{_qualified(d.parent)}.{own}" if d.parent else own
    return d.qualified


def _parent_name(d: _Def) -> str | None:
    if d.parent is None:
        return d.qualified if d.kind == "method" and d.qualified else None
    return _qualified(d.parent)


def _walk_defs(top: list[_Def]) -> Iterable[_Def]:
    stack = list(reversed(top))
    while stack:
        d = stack.pop()
        yield d
        stack.extend(reversed(d.children))


def extract(
    tree: ts.Tree, source: bytes, path: str, options: ChunkOptions | None = None
) -> list[Chunk]:
    """Every definition and every run of top-level code in ``tree`` as size-bounded chunks."""
    options = options or DEFAULT_OPTIONS
    language = language_of(tree)
    root = tree.root_node
    defs = _collect(tree, source, language)
    top = _nest(defs, language)
    lines = _Lines(source)
    errors = _error_ranges(tree) if root.has_error else []
    keyword_end = language == "ruby"

    groups: list[tuple[_Def | None, list[tuple[int, int]]]] = []
    for seg in _own_segments(source, 0, len(source), top):
        groups.append((None, _split(source, lines, root, *seg, options)))
    for d in _walk_defs(top):
        pieces = [
            piece
            for seg in _own_segments(source, d.start, d.end, d.children, keyword_end)
            for piece in _split(source, lines, d.node, *seg, options)
        ]
        if pieces:
            groups.append((d, pieces))

    ordered = []
    for d, pieces in groups:
        if d is None:
            kind, name, parent = "code", None, None
        else:
            kind, name, parent = d.kind, d.name, _parent_name(d)
        total = len(pieces)
        for index, (start, end) in enumerate(pieces, 1):
            ordered.append((start, end, kind, name, parent, index, total))
    ordered.sort(key=itemgetter(0, 1))

    prefix = id_hasher(path)
    row = lines.row
    chunks: list[Chunk] = []
    for start, end, kind, name, parent, index, total in ordered:
        content = source[start:end]
        digest = prefix.copy()
        digest.update(b"\0%d:%d\0" % (start, end))
        digest.update(content)
        chunks.append(
            Chunk(
                id=digest.hexdigest(),
                path=path,
                language=language,
                kind=kind,
                name=name,
                parent=parent,
                start_line=row(start) + 1,
                end_line=row(end - 1) + 1,
                start_byte=start,
                end_byte=end,
                text=content.decode("utf-8", "replace"),
                has_syntax_error=bool(errors) and any(s < end and e > start for s, e in errors),
                part=index,
                parts=total,
            )
        )
    for d in defs:
        d.parent = None  # no parent <-> child cycles: the tree is freed now, not by a later GC
    return chunks
