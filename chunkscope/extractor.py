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
from chunkscope.model import DEFAULT_OPTIONS, Chunk, ChunkOptions, id_hasher

MAX_DEPTH = 4000
"""Definitions deeper than this in the syntax tree stay in their ancestor's text.

A query's cost grows with the square of the tree's depth past a few ten thousand levels
(80 000 nested functions: over a minute), and tree-sitter finds a node's parent by
descending from the root, so each deep definition costs its depth again. Real code never
nests definitions a thousand deep; a generated or hostile file must not stall the run.
"""
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
        "operator_cast",
        "destructor_name",
        "template_function",
        "type_identifier",
    }
)


_RUST_TYPE_WRAPPERS = {
    "generic_type": "type",
    "reference_type": "type",
    "pointer_type": "type",
    "scoped_type_identifier": "name",
}
"""Rust type nodes around the type's own name, and the field that holds it."""


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
    scope: str | None = None
    """Dotted owner named outside the body: C++ ``ns::Widget::``, a Go receiver, ``def Const.m``."""


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


def _name_node(node: ts.Node, outer: ts.Node) -> ts.Node | None:
    named = node.child_by_field_name("name")
    if named is not None:
        return named
    kind = node.type
    if kind == "field_definition":
        return node.child_by_field_name("property")
    if kind == "singleton_class":
        return node.child_by_field_name("value")
    if kind == "type_declaration":
        spec = node.named_children[0] if node.named_child_count else None
        return spec.child_by_field_name("name") if spec else None
    if kind in ("lexical_declaration", "variable_declaration"):
        for child in node.named_children:
            if child.type == "variable_declarator":
                return child.child_by_field_name("name")
        return None
    if kind == "assignment_expression":  # ``X.prototype.m = function () {}`` is named ``m``
        value = node.child_by_field_name("right")
        named = value.child_by_field_name("name") if value is not None else None
        if named is None:
            left = node.child_by_field_name("left")
            named = left.child_by_field_name("property") if left is not None else None
        return named
    if kind == "impl_item":  # ``impl<'a> Iterator for Chain<'a>`` is named ``Chain``
        named = node.child_by_field_name("type")
        while named is not None and named.type in _RUST_TYPE_WRAPPERS:
            named = named.child_by_field_name(_RUST_TYPE_WRAPPERS[named.type])
        return named
    if kind == "function_definition":
        decl = node.child_by_field_name("declarator")
        while decl is not None and decl.type not in _C_NAME_KINDS:
            if decl.type in ("reference_declarator", "parenthesized_declarator"):  # no field
                decl = decl.named_children[0] if decl.named_child_count else None
            else:
                decl = decl.child_by_field_name("declarator")
        return decl
    if outer.type == "type_definition":
        return outer.child_by_field_name("declarator")
    return None


def _spelled(named: ts.Node, source: bytes) -> tuple[str | None, str | None]:
    """The name proper and the dotted scope written in front of it (C++ ``ns::Widget::``).

    Splitting the scope off makes an out-of-class ``void ns::Widget::draw()`` read like
    the in-class definition it stands for: ``draw`` in ``ns.Widget``.
    """
    scope: list[str] = []
    kind = named.type
    if kind == "nested_namespace_specifier":  # ``namespace a::b``: ``b`` inside ``a``
        parts = [_text(source, child) or "" for child in named.named_children]
        return parts[-1] if parts else None, ".".join(parts[:-1]) or None
    while kind in ("qualified_identifier", "scope_resolution"):  # C++ ``a::f``, Ruby ``A::B``
        owner = named.child_by_field_name("scope")
        if owner is not None:
            if owner.type == "template_type":  # ``Stack<T>::push`` belongs to ``Stack``
                owner = owner.child_by_field_name("name") or owner
            scope.append((_text(source, owner) or "").replace("::", "."))
        inner = named.child_by_field_name("name")
        if inner is None:
            break
        named, kind = inner, inner.type
    if kind == "template_type":  # ``struct Dispatcher<T, void>`` specialises ``Dispatcher``
        named = named.child_by_field_name("name") or named
        kind = named.type
    if kind == "operator_cast":  # ``operator bool() const`` is named ``operator bool``
        stop = named.child_by_field_name("declarator")
        while stop is not None and stop.type != "abstract_function_declarator":
            stop = stop.child_by_field_name("declarator")
        end = stop.start_byte if stop is not None else named.end_byte
        name = " ".join(source[named.start_byte : end].decode("utf-8", "replace").split())
    else:
        name = _text(source, named)
    return name, ".".join(scope) or None


def _receiver(node: ts.Node, source: bytes) -> str | None:
    """The type a definition is attached to from outside: Go's receiver, Ruby's ``def Const.m``."""
    kind = node.type
    if kind == "method_declaration":
        receiver = node.child_by_field_name("receiver")  # Go only; Java and C# have none
        match = _GO_RECEIVER.match(receiver.text or b"") if receiver is not None else None
        return match.group(1).decode("utf-8", "replace") if match else None
    if kind == "assignment_expression":  # ``Shape.prototype.area = …``: a method of ``Shape``
        owner = node.child_by_field_name("left")
        owner = owner.child_by_field_name("object") if owner is not None else None
        if owner is not None and owner.type == "member_expression":
            prop = owner.child_by_field_name("property")
            if prop is not None and prop.text == b"prototype":
                return _text(source, owner.child_by_field_name("object"))
        return None
    if kind == "singleton_method":
        owner = node.child_by_field_name("object")
        if owner is not None and owner.type in ("constant", "scope_resolution"):
            return (_text(source, owner) or "").replace("::", ".") or None
    return None


def _name(node: ts.Node, source: bytes, outer: ts.Node) -> tuple[str | None, str | None]:
    """(name, scope) of a definition; the scope is None unless spelled outside the body."""
    named = _name_node(node, outer)
    name, scope = _spelled(named, source) if named is not None else (None, None)
    return name, scope or _receiver(node, source)


def _end_row(node: ts.Node) -> int:
    """Last row holding text of ``node``: a line comment that swallows its newline ends there."""
    end = node.end_point
    return end.row - 1 if end.column == 0 and end.row > node.start_point.row else end.row


def _attached_start(
    outer: ts.Node,
    comment_ids: frozenset[int],
    signature_ids: frozenset[int] = frozenset(),
    name: str | None = None,
    unseen: bytes | None = None,
) -> int:
    """Start of the doc comments (or attributes) sitting directly above ``outer``.

    A definition that opens a body node (Ruby's ``body_statement``) has no previous
    sibling of its own; its comment is the body's previous sibling, so look there.
    Overload signatures of the same name above it (TypeScript's ``function f(a: string):
    string;``), blank lines or not, belong to the definition as its comments do.
    With ``unseen`` (the source of a masked parse), text between the previous node and
    the definition is text the parser saw as blanks (``V8_INLINE``, an ``#ifdef`` line):
    it belongs to the definition too.
    """
    start_node = outer
    prev = outer.prev_sibling
    up = outer
    while prev is None and (up := up.parent) is not None and up.start_byte == outer.start_byte:
        prev = up.prev_sibling
    while prev is not None:
        if prev.kind_id in comment_ids and _end_row(prev) >= start_node.start_point.row - 1:
            before = prev.prev_sibling
            if before is not None and _end_row(before) == prev.start_point.row:
                break
        elif signature_ids and (found := _overload_above(prev, comment_ids, signature_ids, name)):
            prev = found
        else:
            break
        start_node = prev
        prev = prev.prev_sibling
    if unseen is not None:
        parent = start_node.parent  # the root starts at its first token, not at byte 0
        after = (
            prev.end_byte
            if prev is not None
            else parent.start_byte
            if parent is not None and parent.parent is not None
            else 0
        )
        hidden = _NON_BLANK.search(unseen, after, start_node.start_byte)
        if hidden is not None:
            return hidden.start()
    return start_node.start_byte


def _overload_above(
    node: ts.Node, comment_ids: frozenset[int], signature_ids: frozenset[int], name: str | None
) -> ts.Node | None:
    """The nearest overload signature named ``name`` at or above ``node``, past comments only."""
    probe: ts.Node | None = node
    while probe is not None and (
        probe.kind_id in comment_ids or (not probe.is_named and probe.type == ";")
    ):
        probe = probe.prev_sibling
    return probe if probe is not None and _is_overload(probe, signature_ids, name) else None


def _is_overload(node: ts.Node, signature_ids: frozenset[int], name: str | None) -> bool:
    """True when ``node`` (or the declaration it exports) is a signature named ``name``."""
    if not node.is_named:
        return False
    node = node.child_by_field_name("declaration") or node
    if node.kind_id not in signature_ids:
        return False
    named = node.child_by_field_name("name")
    return named is not None and named.text is not None and named.text.decode() == name


def _sole(wrapper: ts.Node, kind_id: int) -> bool:
    """True when ``wrapper`` wraps one definition, not a group (Go's ``type ( A ...; B ... )``)."""
    return sum(1 for child in wrapper.named_children if child.kind_id == kind_id) == 1


def _collect(tree: ts.Tree, source: bytes, language: str) -> list[_Def]:
    spec = LANGUAGES[language]
    wrapper_ids = kind_ids(language, spec.wrappers)
    comment_ids = kind_ids(language, spec.comments)
    signature_ids = kind_ids(language, spec.signatures)
    unseen = source if spec.masks or spec.conditionals else None
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
            name, scope = _name(node, source, outer)
            if comment_ids:
                start = _attached_start(outer, comment_ids, signature_ids, name, unseen)
            else:
                start = outer.start_byte
            key = (start, outer.end_byte)
            if key in seen:
                continue
            seen.add(key)
            defs.append(_Def(start, outer.end_byte, kind, name, node, scope=scope))
    defs.sort(key=lambda d: (d.start, -d.end))
    return defs


def _nest(defs: list[_Def], language: str) -> list[_Def]:
    """Link each definition to its enclosing one and settle function vs method.

    Returns the top-level definitions.
    """
    containers = LANGUAGES[language].method_containers
    namespaces: set[str | None] | None = None
    top: list[_Def] = []
    stack: list[_Def] = []
    for d in defs:
        while stack and stack[-1].end <= d.start:
            stack.pop()
        parent = stack[-1] if stack else None
        d.parent = parent
        (parent.children if parent else top).append(d)
        if d.kind in ("function", "method"):
            if d.scope is not None:
                if namespaces is None:
                    namespaces = _namespaces(defs, containers)
                # The grammar cannot tell ``ns::f`` from ``Widget::f``: a scope naming a
                # namespace of this file is one; anything else is taken to be a type.
                in_namespace = d.scope.rpartition(".")[2] in namespaces
                d.kind = "function" if in_namespace else "method"
            elif parent is not None and parent.kind in containers:
                d.kind = "method"
            elif d.kind == "method" and language != "go":
                d.kind = "function"
        stack.append(d)
    return top


def _namespaces(defs: list[_Def], containers: frozenset[str]) -> set[str | None]:
    """Names of the namespaces defined in a file that are not also the name of a type there."""
    if "module" in containers:  # Ruby: ``def Util.x`` is a method of the module ``Util``
        return set()
    types = {d.name for d in defs if d.kind in containers}
    return {d.name for d in defs if d.kind == "module"} - types


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
        owner = _parent_name(d)
        own = d.name or "<anonymous>"
        d.qualified = f"{owner}.{own}" if owner else own
    return d.qualified


def _parent_name(d: _Def) -> str | None:
    """The enclosing definition's qualified name, followed by any scope spelled in the name."""
    outer = _qualified(d.parent)
    if d.scope is None:
        return outer
    return f"{outer}.{d.scope}" if outer else d.scope


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
