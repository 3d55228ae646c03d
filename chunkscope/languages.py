"""Which grammar handles which file, and what counts as a definition in each language.

Every language is a row of data: its grammar wheel, its extensions and shebang
interpreters, and a tree-sitter query whose capture names are the normalised chunk
kinds. Grammars and compiled queries are built once per process and cached, because
building a ``Language`` or a ``Query`` costs far more than parsing a typical file.
"""

from __future__ import annotations

import importlib
import os
import re
from dataclasses import dataclass
from functools import cache

import tree_sitter as ts

TYPE_KINDS = frozenset({"class", "struct", "interface", "impl", "enum"})
"""Chunk kinds whose directly nested functions are methods, in every language."""


@dataclass(frozen=True, slots=True)
class LanguageSpec:
    """One supported language, declared as data."""

    name: str
    module: str
    loader: str
    extensions: tuple[str, ...]
    definitions: str
    """Query source; each capture is named after the chunk kind it yields."""
    interpreters: tuple[str, ...] = ()
    wrappers: frozenset[str] = frozenset()
    """Node kinds that wrap a definition and belong to it (decorators, ``export``, templates)."""
    comments: frozenset[str] = frozenset({"comment"})
    """Node kinds attached to the next definition when they sit directly above it."""
    filenames: tuple[str, ...] = ()
    signatures: frozenset[str] = frozenset()
    """Node kinds of bodyless overload signatures that belong to the next definition of the
    same name, as its comments do (TypeScript's ``function f(a: string): string;``)."""
    masks: tuple[bytes, ...] = ()
    """Regular expressions whose first group the parser sees blanked (``preprocessor.mask``):
    macros and constructs the grammar cannot parse, which would otherwise derail the tree.
    They run over the source after a newline, so a line-start pattern begins with a literal
    ``\n`` (which the regex engine searches for fast) rather than ``^``."""
    conditionals: bool = False
    """``#if`` groups whose branches are not each complete are reduced to one branch."""
    method_containers: frozenset[str] = TYPE_KINDS
    """Chunk kinds whose directly nested functions are methods.

    Ruby adds ``module``: a ``def`` in a module is a mixin or module method, called on
    the module or on what includes it, never a free function. A namespace elsewhere
    (C++, C#, TypeScript, Rust ``mod``) only groups free functions.
    """


_PY = """
(class_definition) @class
(function_definition) @function
"""
_JS_COMMON = """
(class_declaration) @class
(function_declaration) @function
(generator_function_declaration) @function
(method_definition) @method
(variable_declarator value: [(arrow_function) (function_expression)]) @function
(assignment_expression
  left: (member_expression) right: [(arrow_function) (function_expression)]) @function
(assignment_expression left: (member_expression) right: (class)) @class
"""
_JS = (
    _JS_COMMON
    + """
(field_definition value: [(arrow_function) (function_expression)]) @method
"""
)
_TS = (
    _JS_COMMON
    + """
(abstract_class_declaration) @class
(interface_declaration) @interface
(enum_declaration) @enum
(internal_module) @module
(public_field_definition value: [(arrow_function) (function_expression)]) @method
"""
)
_GO = """
(function_declaration) @function
(method_declaration) @method
(type_spec type: (struct_type)) @struct
(type_spec type: (interface_type)) @interface
"""
_RUST = """
(function_item) @function
(struct_item) @struct
(union_item) @struct
(enum_item) @enum
(trait_item) @interface
(impl_item) @impl
(mod_item body: (_)) @module
(macro_definition) @function
"""
_JAVA = """
(class_declaration) @class
(record_declaration) @class
(interface_declaration) @interface
(annotation_type_declaration) @interface
(enum_declaration) @enum
(method_declaration) @method
(constructor_declaration) @method
(compact_constructor_declaration) @method
"""
_C = """
(function_definition) @function
(struct_specifier body: (_)) @struct
(union_specifier body: (_)) @struct
(enum_specifier body: (_)) @enum
"""
_CPP = (
    _C
    + """
(class_specifier body: (_)) @class
(namespace_definition) @module
"""
)
_CSHARP = """
(class_declaration) @class
(record_declaration) @class
(struct_declaration) @struct
(interface_declaration) @interface
(enum_declaration) @enum
(namespace_declaration) @module
(file_scoped_namespace_declaration) @module
(method_declaration) @method
(constructor_declaration) @method
(destructor_declaration) @method
(operator_declaration) @method
(local_function_statement) @function
"""
_RUBY = """
(class) @class
(module) @module
(singleton_class) @class
(method) @function
(singleton_method) @function
"""
_BASH = """
(function_definition) @function
"""

_JS_WRAPPERS = frozenset(
    {"export_statement", "lexical_declaration", "variable_declaration", "expression_statement"}
)
"""A declaration wrapping one ``name = () => ...`` declarator belongs to it.

The declarator is matched alone because tree-sitter 0.26 ignores an alternation nested
below the captured node: ``(lexical_declaration (variable_declarator value: [...]))``
matches every ``let``, whatever its value.
"""
_CLASS_HEAD = (
    rb"(?<!\w%s)[ \t]+"
    rb"((?:(?!final\b)[A-Za-z_]\w*(?:[ \t]*\([^()\n]*(?:\([^()\n]*\)[^()\n]*)*\))?[ \t]+)+)"
    rb"(?=(?!final\b)[A-Za-z_]\w*\s*(?:final\b\s*)?(?::(?!:)|\{))"
)
_C_MACROS = (
    *(word + _CLASS_HEAD % word for word in (b"class", b"struct", b"union")),
    rb"\n[ \t]*((?:(?:[A-Z][A-Za-z0-9]*_[A-Za-z0-9_]*|[A-Z][A-Z0-9]+)"
    rb"[ \t]*\([^()]*(?:\([^()]*\)[^()]*)*\)\s+)+)(?=[A-Za-z_])",
    rb"\n[ \t]*((?:[A-Z][A-Z0-9]*_[A-Z0-9_]*[ \t]+)+)"
    rb"(?=(?:[A-Za-z_][^;(){}=\n]*?[ \t*&])?[A-Za-z_~]\w*[ \t]*\()",
    rb"\n[ \t]*([A-Z][A-Za-z0-9]*_[A-Za-z0-9_]*|[A-Z][A-Z0-9]+)[ \t]*(?://[^\n]*|/\*[^\n]*\*/)?$",
)
"""Export and attribute macros the grammar would take for names or types.

``class V8_EXPORT Array : public Object {``: identifiers between ``class`` and the name.
``V8_DEPRECATED("…") void f();``, ``PyAPI_FUNC(int) f(void);``: macros with arguments at
the start of a declaration, before its first word, on its line or the one above
(capitalised with ``_``, or all capitals).
``UV_EXTERN int uv_run(…)``, ``V8_INLINE static T* Cast(…)``, ``V8_INLINE Local(…)``:
capitals with ``_`` before a declaration's name and ``(``. ``UV_HANDLE_FIELDS`` or
``PyObject_HEAD`` alone on a line: a macro standing for fields or statements, with no ``;``
for the grammar to end it.
"""
_CSHARP_BLIND_SPOTS = (
    rb"\n[ \t]*(\*[ \t]*\([^;{}]*;)",
    rb"(\*)(?:(?<=[=(,?:]\*)|(?<=[=(,?:] \*)|(?<=return \*))(?=[ \t]*\()",
)
"""``*(uint*)(p + i) = v;`` as a statement (blanked whole) and ``*(`` inside an expression."""
_TS_SIGNATURES = frozenset({"function_signature", "method_signature"})
_C_FAMILY_WRAPPERS = frozenset({"type_definition", "template_declaration"})

LANGUAGES: dict[str, LanguageSpec] = {
    spec.name: spec
    for spec in (
        LanguageSpec(
            "python",
            "tree_sitter_python",
            "language",
            (".py", ".pyi", ".pyw"),
            _PY,
            interpreters=("python", "python3", "python2", "pypy", "pypy3"),
            wrappers=frozenset({"decorated_definition"}),
        ),
        LanguageSpec(
            "javascript",
            "tree_sitter_javascript",
            "language",
            (".js", ".mjs", ".cjs", ".jsx"),
            _JS,
            interpreters=("node", "nodejs", "deno", "bun"),
            wrappers=_JS_WRAPPERS,
            comments=frozenset({"comment", "html_comment"}),
        ),
        LanguageSpec(
            "typescript",
            "tree_sitter_typescript",
            "language_typescript",
            (".ts", ".mts", ".cts"),
            _TS,
            interpreters=("ts-node", "tsx"),
            wrappers=_JS_WRAPPERS | {"ambient_declaration"},
            signatures=_TS_SIGNATURES,
        ),
        LanguageSpec(
            "tsx",
            "tree_sitter_typescript",
            "language_tsx",
            (".tsx",),
            _TS,
            wrappers=_JS_WRAPPERS | {"ambient_declaration"},
            signatures=_TS_SIGNATURES,
        ),
        LanguageSpec(
            "go",
            "tree_sitter_go",
            "language",
            (".go",),
            _GO,
            wrappers=frozenset({"type_declaration"}),
        ),
        LanguageSpec(
            "rust",
            "tree_sitter_rust",
            "language",
            (".rs",),
            _RUST,
            comments=frozenset({"line_comment", "block_comment", "attribute_item"}),
        ),
        LanguageSpec(
            "java",
            "tree_sitter_java",
            "language",
            (".java",),
            _JAVA,
            comments=frozenset({"line_comment", "block_comment"}),
        ),
        LanguageSpec(
            "c",
            "tree_sitter_c",
            "language",
            (".c", ".h"),
            _C,
            wrappers=_C_FAMILY_WRAPPERS,
            masks=_C_MACROS,
            conditionals=True,
        ),
        LanguageSpec(
            "cpp",
            "tree_sitter_cpp",
            "language",
            (".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".h++", ".ipp", ".tpp"),
            _CPP,
            wrappers=_C_FAMILY_WRAPPERS,
            masks=_C_MACROS,
            conditionals=True,
        ),
        LanguageSpec(
            "csharp",
            "tree_sitter_c_sharp",
            "language",
            (".cs",),
            _CSHARP,
            masks=_CSHARP_BLIND_SPOTS,
            conditionals=True,
        ),
        LanguageSpec(
            "ruby",
            "tree_sitter_ruby",
            "language",
            (".rb", ".rake", ".gemspec", ".ru"),
            _RUBY,
            interpreters=("ruby", "jruby"),
            filenames=("Rakefile", "Gemfile", "Guardfile", "Vagrantfile"),
            method_containers=TYPE_KINDS | {"module"},
        ),
        LanguageSpec(
            "bash",
            "tree_sitter_bash",
            "language",
            (".sh", ".bash", ".bats"),
            _BASH,
            interpreters=("sh", "bash", "dash", "ksh", "zsh"),
            filenames=(".bashrc", ".bash_profile", ".profile"),
        ),
    )
}
"""Every supported language by its canonical name (the value of ``--language``)."""

ALIASES: dict[str, str] = {
    "py": "python",
    "js": "javascript",
    "ts": "typescript",
    "golang": "go",
    "rs": "rust",
    "c++": "cpp",
    "cxx": "cpp",
    "c#": "csharp",
    "cs": "csharp",
    "rb": "ruby",
    "sh": "bash",
    "shell": "bash",
}

_BY_EXTENSION = {ext: spec.name for spec in LANGUAGES.values() for ext in spec.extensions}
_CPP_MARKERS = re.compile(
    rb"^[ \t]*#[ \t]*include[ \t]*<(?:cstdint|cstddef|cstring|string|string_view|vector|map"
    rb"|set|list|array|bitset|queue|stack|deque|forward_list|unordered_map|unordered_set|memory|utility"
    rb"|type_traits|atomic|mutex|thread|functional|algorithm|optional|variant|tuple|limits"
    rb"|(?:i|o|io)stream)>"
    rb"|^[ \t]*template[ \t]*<"
    rb"|^[ \t]*(?:class|(?:using[ \t]+)?namespace)[ \t]+\w+"
    rb"|^[ \t]*(?:private|public|protected)[ \t]*:"
    rb"|\bstd::\w"
    rb"|^[ \t]*try[ \t]*(?:\{|$)|^[ \t]*constexpr[ \t]+\w"
    rb"|^[ \t]*catch[ \t]*\(",
    re.MULTILINE,
)
BY_CONTENT: dict[str, tuple[tuple[str, re.Pattern[bytes]], ...]] = {".h": (("cpp", _CPP_MARKERS),)}
"""Extensions shared by languages: the first language whose pattern occurs in the file wins,
else the extension's own language. ``.h`` is C++ when it shows a C++ marker (after GitHub
Linguist's heuristics): a standard C++ header, ``template<``, ``class``/``namespace``, an access
specifier, ``std::``, ``try``/``catch``/``constexpr``; otherwise C."""
_BY_FILENAME = {fn: spec.name for spec in LANGUAGES.values() for fn in spec.filenames}
_BY_INTERPRETER = {i: spec.name for spec in LANGUAGES.values() for i in spec.interpreters}
_SHEBANG = re.compile(rb"^#!\s*(\S+)(?:[ \t]+(\S+))?")
_VERSIONED = re.compile(r"^(.*?)[\d.]*$")


def canonical(name: str) -> str | None:
    """The canonical language name for a user-given name or alias, or None if unknown."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    return key if key in LANGUAGES else None


def detect(path: str, head: bytes = b"") -> str | None:
    """Language from the file name, from the content for an ambiguous extension, then from a
    ``#!`` line for extensionless scripts.

    ``head`` is the file's content, or as much of it as the caller has: content rules are
    regular-expression searches (no parse), so the whole file costs little.
    """
    base = os.path.basename(path)
    if base in _BY_FILENAME:
        return _BY_FILENAME[base]
    ext = os.path.splitext(base)[1].lower()
    if ext:
        for language, pattern in BY_CONTENT.get(ext, ()):
            if pattern.search(head):
                return language
        return _BY_EXTENSION.get(ext)
    match = _SHEBANG.match(head)
    if match is None:
        return None
    prog = os.path.basename(match.group(1)).decode("latin-1")
    if prog == "env" and match.group(2):
        prog = match.group(2).decode("latin-1")
    interpreter = _VERSIONED.match(prog)
    name = interpreter.group(1) if interpreter else prog
    return _BY_INTERPRETER.get(prog) or _BY_INTERPRETER.get(name)


@cache
def grammar(name: str) -> ts.Language:
    """The tree-sitter ``Language`` for a canonical name, built once per process."""
    spec = LANGUAGES[name]
    module = importlib.import_module(spec.module)
    return ts.Language(getattr(module, spec.loader)())


@cache
def definitions_query(name: str) -> ts.Query:
    """The compiled definitions query for a language, built once per process."""
    return ts.Query(grammar(name), LANGUAGES[name].definitions)


@cache
def kind_ids(name: str, kinds: frozenset[str]) -> frozenset[int]:
    """Numeric node kind ids, so hot loops compare ints rather than strings."""
    lang = grammar(name)
    ids = set()
    for kind in kinds:
        for named in (True, False):
            kid = lang.id_for_node_kind(kind, named)
            if kid:
                ids.add(kid)
    return frozenset(ids)
