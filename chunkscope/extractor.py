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
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate, compress, repeat
from operator import add, attrgetter, itemgetter

import tree_sitter as ts

from chunkscope.deadline import Deadline
from chunkscope.languages import LANGUAGES, definitions_query, grammar, kind_ids
from chunkscope.model import DEFAULT_OPTIONS, Chunk, ChunkOptions, chunk_id, id_hasher

MAX_DEPTH = 4000
"""Definitions deeper than this in the syntax tree stay in their ancestor's text.

A query's cost grows with the square of the tree's depth past a few ten thousand levels
(80 000 nested functions: over a minute), and tree-sitter finds a node's parent by
descending from the root, so each deep definition costs its depth again. Real code never
nests definitions a thousand deep; a generated or hostile file must not stall the run.
"""
WIDE_RUN = 128
"""Unnamed children in a row (``((((``, ``****``) past which the query skips their parent.

At every node it enters, tree-sitter's query cursor looks ahead through the following
siblings for a named one, so a run of n unnamed siblings costs n * n / 2 steps. Parsed code
nests repetitions in hidden binary nodes and never has such runs; error recovery leaves them
flat under one node: 200 KB of ``(`` took minutes. The children of such a node are queried
one by one instead, which finds the same definitions in time linear in the tree.
"""
_IS_NAMED = attrgetter("is_named")
_HAS_ERROR = attrgetter("has_error")
_CHILD_COUNT = attrgetter("child_count")
_START_BYTE = attrgetter("start_byte")
_UNNAMED_RUN = bytes(WIDE_RUN)
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
        match = (
            _GO_RECEIVER.match(source, receiver.start_byte, receiver.end_byte)
            if receiver is not None
            else None
        )
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


class _TreeLinks:
    """tree-sitter's own parent and sibling lookups, cheap in a tree without syntax errors.

    A parsed tree nests every repetition in hidden binary nodes, so the walk down from the
    root that finds a node's parent stays short.
    """

    __slots__ = ()

    @staticmethod
    def parent(node: ts.Node) -> ts.Node | None:
        return node.parent

    @staticmethod
    def prev(node: ts.Node) -> ts.Node | None:
        return node.prev_sibling


class _Navigator:
    """Parent and previous-sibling lookups in a tree with syntax errors, visited in order.

    Error recovery leaves flat nodes with thousands of children, and tree-sitter finds a
    node's parent by scanning each level from its first child, so asking once per
    definition costs the width of such a node every time. Here each level's children are
    listed once, a definition is found by binary search on their start bytes, and the path
    to the previous definition is kept, since definitions come in document order.
    """

    __slots__ = ("kids", "path", "starts", "where")

    def __init__(self, root: ts.Node) -> None:
        self.path = [root]
        self.kids: dict[ts.Node, list[ts.Node]] = {}
        self.starts: dict[ts.Node, list[int]] = {}
        self.where: dict[ts.Node, tuple[ts.Node, int]] = {}

    def _children(self, node: ts.Node) -> list[ts.Node]:
        kids = self.kids.get(node)
        if kids is None:
            kids = self.kids[node] = node.children
            self.starts[node] = list(map(_START_BYTE, kids))
            width = len(kids)
            places = zip(repeat(node, width), range(width), strict=True)
            self.where.update(zip(kids, places, strict=True))
        return kids

    def locate(self, target: ts.Node) -> bool:
        """Put ``target`` and its ancestors within reach of ``parent`` and ``prev``.

        Targets must come sorted by (start byte, -end byte); False if ``target`` is not
        found below the root, which a well-formed tree never causes.
        """
        start, end = target.start_byte, target.end_byte
        path = self.path
        while len(path) > 1 and not (path[-1].start_byte <= start and end <= path[-1].end_byte):
            path.pop()
        for _ in range(2):  # then once more from the root, should the kept path mislead
            while path[-1] != target:
                node = path[-1]
                kids = self._children(node)
                i = bisect_right(self.starts[node], start) - 1
                while i >= 0 and kids[i].end_byte < end:  # zero-width siblings at ``start``
                    i -= 1
                if i < 0:
                    break
                path.append(kids[i])
            else:
                return True
            del path[1:]
        return False

    def parent(self, node: ts.Node) -> ts.Node | None:
        entry = self.where.get(node)
        return entry[0] if entry is not None else None

    def prev(self, node: ts.Node) -> ts.Node | None:
        entry = self.where.get(node)
        if entry is None or entry[1] == 0:
            return None
        return self.kids[entry[0]][entry[1] - 1]


_Links = _TreeLinks | _Navigator


def _attached_start(
    outer: ts.Node,
    comment_ids: frozenset[int],
    links: _Links,
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
    prev = links.prev(outer)
    up: ts.Node | None = outer
    while (
        prev is None
        and (up := links.parent(up)) is not None  # type: ignore[arg-type]
        and up.start_byte == outer.start_byte
    ):
        prev = links.prev(up)
    while prev is not None:
        if prev.kind_id in comment_ids and _end_row(prev) >= start_node.start_point.row - 1:
            before = links.prev(prev)
            if before is not None and _end_row(before) == prev.start_point.row:
                break
        elif signature_ids and (
            found := _overload_above(prev, comment_ids, signature_ids, name, links)
        ):
            prev = found
        else:
            break
        start_node = prev
        prev = links.prev(prev)
    if unseen is not None:
        parent = links.parent(start_node)  # the root starts at its first token, not at byte 0
        after = (
            prev.end_byte
            if prev is not None
            else parent.start_byte
            if parent is not None and links.parent(parent) is not None
            else 0
        )
        hidden = _NON_BLANK.search(unseen, after, start_node.start_byte)
        if hidden is not None:
            return hidden.start()
    return start_node.start_byte


def _overload_above(
    node: ts.Node,
    comment_ids: frozenset[int],
    signature_ids: frozenset[int],
    name: str | None,
    links: _Links,
) -> ts.Node | None:
    """The nearest overload signature named ``name`` at or above ``node``, past comments only."""
    probe: ts.Node | None = node
    while probe is not None and (
        probe.kind_id in comment_ids or (not probe.is_named and probe.type == ";")
    ):
        probe = links.prev(probe)
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


def _wide_nodes(root: ts.Node) -> tuple[set[ts.Node], set[ts.Node]]:
    """Nodes with a run of ``WIDE_RUN`` unnamed children, and those nodes with their ancestors.

    Only nodes holding a syntax error are looked into, because only error recovery leaves
    such runs; each one's children are scanned by C-level iteration, not a Python loop.
    """
    wide: set[ts.Node] = set()
    spine: set[ts.Node] = set()
    parent_of: dict[ts.Node, ts.Node] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        children = node.children
        if node.child_count - node.named_child_count >= WIDE_RUN and _UNNAMED_RUN in bytes(
            map(_IS_NAMED, children)
        ):
            wide.add(node)
            up: ts.Node | None = node
            while up is not None and up not in spine:
                spine.add(up)
                up = parent_of.get(up)
        for child in compress(children, map(_HAS_ERROR, children)):
            parent_of[child] = node
            stack.append(child)
    return wide, spine


def _query_roots(root: ts.Node) -> list[tuple[ts.Node, bool]]:
    """Where to run the definitions query: ``(node, whole subtree)`` pairs.

    A tree without wide nodes (see ``WIDE_RUN``) is one query from the root. Otherwise the
    query runs on each child of a wide node and on every subtree beside the path to one;
    the nodes on that path are matched themselves, without descending.
    """
    if not root.has_error:
        return [(root, True)]
    wide, spine = _wide_nodes(root)
    if not wide:
        return [(root, True)]
    roots: list[tuple[ts.Node, bool]] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node not in spine:
            roots.append((node, True))
            continue
        if node not in wide:
            roots.append((node, False))
        children = node.children
        stack.extend(compress(children, map(_CHILD_COUNT, children)))
    return roots


def _collect(
    tree: ts.Tree, source: bytes, language: str, deadline: Deadline | None = None
) -> list[_Def]:
    """Every definition the query finds, outermost first, with its wrapper and comments.

    The query's work is bounded by where it runs (see ``WIDE_RUN``), and the deadline is
    checked between runs rather than polled by the query: py-tree-sitter 0.26 keeps a
    pointer to the query's progress-callback options after they went out of scope, and
    crashes when it calls back.
    """
    spec = LANGUAGES[language]
    wrapper_ids = kind_ids(language, spec.wrappers)
    comment_ids = kind_ids(language, spec.comments)
    signature_ids = kind_ids(language, spec.signatures)
    unseen = source if spec.masks or spec.conditionals else None
    cursor = ts.QueryCursor(definitions_query(language))
    root = tree.root_node
    found: list[tuple[ts.Node, str]] = []
    for node, whole in _query_roots(root):
        if deadline is not None:
            deadline.check("extract")
        cursor.set_max_start_depth(MAX_DEPTH if whole else 0)
        for kind, nodes in cursor.captures(node).items():
            found.extend(zip(nodes, repeat(kind)))
    links: _Links = _TreeLinks()
    navigator = None
    if root.has_error:
        links = navigator = _Navigator(root)
        found.sort(key=lambda item: (item[0].start_byte, -item[0].end_byte))
    seen: set[tuple[int, int]] = set()
    defs: list[_Def] = []
    for node, kind in found:
        outer = node
        located = navigator is None or navigator.locate(node)
        while (
            located
            and (up := links.parent(outer)) is not None
            and up.kind_id in wrapper_ids
            and _sole(up, outer.kind_id)
        ):
            outer = up
        name, scope = _name(node, source, outer)
        if comment_ids and located:
            start = _attached_start(outer, comment_ids, links, signature_ids, name, unseen)
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
    """Rows in ``[first, last]`` where a syntax node begins the line: the safe places to cut.

    Each level starts at the first child reaching row ``first`` and stops past ``last``, so
    a segment costs its own nodes, not every sibling before it in a wide parent.
    """
    rows: set[int] = set()
    cursor = node.walk()
    start = ts.Point(first, 0)
    while True:
        current = cursor.node
        assert current is not None
        srow, erow = current.start_point.row, current.end_point.row
        if srow > last:
            if not cursor.goto_parent():
                return rows
        else:
            if srow >= first and current.is_named:
                rows.add(srow)
            descend = erow > srow and erow >= first
            if descend and cursor.goto_first_child_for_point(start) is not None:
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
    """Byte ranges tree-sitter could not parse, in order and merged where they touch."""
    ranges: list[tuple[int, int]] = []
    cursor = tree.walk()
    while True:
        node = cursor.node
        assert node is not None
        if node.is_error or node.is_missing:
            start, end = node.start_byte, max(node.end_byte, node.start_byte + 1)
            if ranges and start <= ranges[-1][1]:
                start = ranges[-1][0]
                end = max(end, ranges.pop()[1])
            ranges.append((start, end))
        elif node.has_error and cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return ranges


class _Errors:
    """Does a byte range overlap an unparsed region? One binary search per chunk."""

    __slots__ = ("ends", "starts")

    def __init__(self, ranges: list[tuple[int, int]]) -> None:
        self.starts = [start for start, _ in ranges]
        self.ends = [end for _, end in ranges]

    def overlap(self, start: int, end: int) -> bool:
        i = bisect_left(self.ends, start + 1)  # the first region ending after ``start``
        return i < len(self.starts) and self.starts[i] < end


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
    tree: ts.Tree,
    source: bytes,
    path: str,
    options: ChunkOptions | None = None,
    deadline: Deadline | None = None,
) -> list[Chunk]:
    """Every definition and every run of top-level code in ``tree`` as size-bounded chunks.

    Stops with ``FileTimeout`` when ``deadline`` (by default ``options.file_timeout`` from
    now; the pipeline passes the one its parse used) runs out.
    """
    options = options or DEFAULT_OPTIONS
    if deadline is None and options.file_timeout > 0:
        deadline = Deadline(options.file_timeout)
    language = language_of(tree)
    root = tree.root_node
    defs = _collect(tree, source, language, deadline)
    top = _nest(defs, language)
    lines = _Lines(source)
    errors = _Errors(_error_ranges(tree) if root.has_error else [])
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
    if deadline is not None:
        deadline.check("extract")

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
        chunks.append(
            Chunk(
                id=chunk_id(prefix, start, end, content),
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
                has_syntax_error=bool(errors.starts) and errors.overlap(start, end),
                part=index,
                parts=total,
            )
        )
    for d in defs:
        d.parent = None  # no parent <-> child cycles: the tree is freed now, not by a later GC
    return chunks
