"""Chunk quality against an independent parser, Universal Ctags, on real code in every language.

For every definition ctags reports (function, method, class, struct, interface, Ruby
module, Rust impl), after dropping ctags' own noise, the definition counts as agreed when
chunkscope emits a chunk of its own with that name whose lines cover the line ctags gives.
Agreement is agreed / counted, per language; the misses are printed with examples.

The corpus is real code gathered at run time into a cache folder (default
``~/.cache/chunkscope/quality``), deterministically sampled to ``--max-files`` per language:

- java: the JDK's ``lib/src.zip`` under ``/usr/lib/jvm``;
- go: the standard library under ``go env GOROOT``;
- javascript: npm's own JavaScript (``npm root -g``);
- c, cpp: Node's headers (``/usr/include/node``: ``v8*.h``, ``node*.h``, ``cppgc/`` are C++,
  ``uv*.h``, ``js_native_api*.h``, ``node_api*.h`` are C), Python's C headers and Go's
  ``runtime/cgo/*.c``. The ``.h`` files are labelled, not renamed: chunkscope must tell
  C++ from C by content;
- python: the standard library; ruby: ``RbConfig rubylibdir`` (``apt-get install ruby``);
- rust: crate sources that ``cargo fetch`` puts in the registry cache;
- typescript, tsx: ``.ts``/``.tsx`` sources shipped inside npm packages (``npm pack``);
- bash: bash-completion's scripts, Go's ``*.bash`` and ``*.sh``;
- csharp: the vendored sample in ``benchmarks/corpus/csharp`` (see its README).

    python benchmarks/bench_quality.py [--max-files 300] [--examples 5] [--language go ...]
                                       [--cache DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from chunkscope import chunk_source
from chunkscope.languages import detect

HERE = Path(__file__).resolve().parent
VENDORED = HERE / "corpus"
CTAGS_LANGUAGE = {
    "python": "Python",
    "javascript": "JavaScript",
    "typescript": "TypeScript",
    "tsx": "TypeScript",
    "go": "Go",
    "rust": "Rust",
    "java": "Java",
    "c": "C",
    "cpp": "C++",
    "csharp": "C#",
    "ruby": "Ruby",
    "bash": "Sh",
}
DEFINITION_KINDS = {
    "python": {"class", "function", "member"},
    "javascript": {"class", "function", "method", "generator"},
    "typescript": {"class", "function", "method", "generator", "interface"},
    "tsx": {"class", "function", "method", "generator", "interface"},
    "go": {"func", "struct", "interface"},
    "rust": {"function", "method", "struct", "interface", "implementation"},
    "java": {"class", "interface", "method"},
    "c": {"function", "struct"},
    "cpp": {"function", "class", "struct"},
    "csharp": {"class", "struct", "interface", "method"},
    "ruby": {"class", "module", "method", "singletonMethod"},
    "bash": {"function"},
}
"""ctags kinds counted per language: the definitions a chunker must find (ctags' own names)."""
NPM_PACKAGES = (
    "rxjs@7",
    "@tanstack/query-core@5",
    "@tanstack/react-query@5",
    "@tanstack/react-router@1",
)
CRATES = {
    "memchr": "2",
    "smallvec": "1",
    "anyhow": "1",
    "bitflags": "2",
    "log": "0.4",
    "itoa": "1",
    "hashbrown": "0.15",
    "regex-syntax": "0.8",
}


_BODYLESS = re.compile(r";\s*(?://.*)?$")
_PROPERTY_FUNCTION = re.compile(
    r"\s*['\"]?[\w$]+['\"]?\s*:\s*(?:async\s+)?(?:function\b|\([^)]*\)\s*=>)"
)
"""``key: function (…) {`` or ``'key': (…) =>``: a function that is a value in an object literal."""


def noise(tag: dict, language: str, line: str) -> str | None:
    """Why a ctags tag is not a definition a chunker should emit, or None when it is one.

    - ``anonymous``: ctags' placeholder names (``__anon…``, ``AnonymousFunction…``) for
      unnamed structs, classes and callbacks: there is no name to agree on;
    - ``object-literal``: JavaScript/TypeScript functions that are values in an object
      literal or arguments (ctags scopes them under a variable, property or function, or
      the line reads ``key: function (…)``), and object literals ctags calls classes
      (``const TAGS = {…}``); chunkscope leaves expressions inside their statement;
    - ``bodyless``: a member declared without a body, whose line (``line``, the source line
      ctags points at) ends in ``;`` and opens no body (no ``{`` but an empty ``{}`` type,
      no ``=>``): interface members, abstract and trait methods, Java annotation elements.
      Its text belongs to the chunk of its container, as a field's does. A top-level
      function ctags finds at a TypeScript overload signature stays counted;
    - ``lambda``: Python ``name = lambda …``, which ctags calls a function; chunkscope keeps
      assignments in their enclosing chunk;
    - ``not-a-name``: names no language allows for a definition (``COMPREPLY=`` from Bash
      ``COMPREPLY=( $(compgen …) )``, which ctags 5.9 reads as a function).
    """
    name = tag["name"]
    scope = tag.get("scope", "")
    pattern = tag.get("pattern", "")[2:-2]
    if name.startswith(("__anon", "Anonymous")) or "__anon" in scope:
        return "anonymous"
    if language == "bash" and "=" in name:
        return "not-a-name"
    if language in ("javascript", "typescript", "tsx"):
        if tag["kind"] == "class" and not re.search(r"\bclass\b", pattern):
            return "object-literal"
        if tag.get("scopeKind") in ("variable", "property", "constant", "function", "method"):
            return "object-literal"
        if _PROPERTY_FUNCTION.match(line):
            return "object-literal"
    if language == "python" and re.search(r"=\s*lambda\b", pattern):
        return "lambda"
    if (
        language not in ("python", "ruby", "bash", "go")
        and scope
        and _BODYLESS.search(line)
        and "{" not in line.replace("{}", "")
        and "=>" not in line
    ):
        return "bodyless"
    return None


def same_name(chunk_name: str) -> str:
    """A chunk name as ctags spells it: no space in ``operator*``, no ``#`` of a private name."""
    return chunk_name.lstrip("#").replace(" ", "")


@dataclass
class Corpus:
    files: dict[str, list[Path]] = field(default_factory=lambda: defaultdict(list))
    notes: dict[str, str] = field(default_factory=dict)


def _run(args: list[str], cwd: Path | None = None) -> str | None:
    try:
        done = subprocess.run(
            args, capture_output=True, text=True, timeout=600, check=False, cwd=cwd
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _files(
    roots: Iterable[str | Path], patterns: tuple[str, ...], skip: tuple[str, ...] = ()
) -> list[Path]:
    found = []
    for root in roots:
        for pattern in patterns:
            for name in glob.glob(os.path.join(str(root), pattern), recursive=True):
                path = Path(name)
                if path.is_file() and not any(part in skip for part in path.parts):
                    found.append(path)
    return sorted(set(found))


def _sample(paths: list[Path], limit: int) -> list[Path]:
    """Evenly spaced over the sorted list, so every part of a tree is represented."""
    if len(paths) <= limit:
        return paths
    step = len(paths) / limit
    return [paths[int(i * step)] for i in range(limit)]


def _java(cache: Path, limit: int) -> tuple[list[Path], str]:
    zips = sorted(p for p in glob.glob("/usr/lib/jvm/*/lib/src.zip") if os.path.isfile(p))
    if not zips:
        return [], "no JDK src.zip under /usr/lib/jvm"
    target = cache / "java"
    with zipfile.ZipFile(zips[0]) as zf:
        members = sorted(n for n in zf.namelist() if n.endswith(".java"))
        chosen = _sample([Path(m) for m in members], limit)
        for member in chosen:
            if not (target / member).exists():
                zf.extract(str(member), target)
    return [target / m for m in chosen], zips[0]


def _npm(cache: Path) -> Path | None:
    target = cache / "npm"
    if (target / ".done").exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    out = _run(["npm", "pack", "--silent", *NPM_PACKAGES], cwd=target)
    if out is None:
        return None
    for tgz in target.glob("*.tgz"):
        with tarfile.open(tgz) as tar:
            tar.extractall(target / tgz.stem, filter="data")
        tgz.unlink()
    (target / ".done").touch()
    return target


def _crates(cache: Path) -> list[Path]:
    project = cache / "crates"
    (project / "src").mkdir(parents=True, exist_ok=True)
    (project / "src" / "lib.rs").touch()
    deps = "\n".join(f'{name} = "{version}"' for name, version in CRATES.items())
    manifest = '[package]\nname = "corpus"\nversion = "0.0.0"\nedition = "2021"\n'
    (project / "Cargo.toml").write_text(f"{manifest}\n[dependencies]\n{deps}\n")
    if _run(["cargo", "fetch"], cwd=project) is None:
        return []
    meta = _run(["cargo", "metadata", "--format-version", "1"], cwd=project)
    if meta is None:
        return []
    return [
        Path(pkg["manifest_path"]).parent
        for pkg in json.loads(meta)["packages"]
        if pkg["name"] in CRATES
    ]


def gather(cache: Path, limit: int) -> Corpus:
    """Find (and where needed fetch) the corpus for every language."""
    corpus = Corpus()
    cache.mkdir(parents=True, exist_ok=True)
    add = corpus.files

    add["java"], corpus.notes["java"] = _java(cache, limit)

    goroot = (_run(["go", "env", "GOROOT"]) or "").strip()
    if goroot:
        add["go"] = _files([f"{goroot}/src"], ("**/*.go",), skip=("testdata", "vendor"))
        add["c"] += _files([f"{goroot}/src/runtime/cgo"], ("*.c",))
        add["bash"] += _files([f"{goroot}/src"], ("*.bash", "**/*.sh"), skip=("testdata",))
        corpus.notes["go"] = f"{goroot}/src"

    npm_root = (_run(["npm", "root", "-g"]) or "").strip()
    if npm_root:
        add["javascript"] = _files([f"{npm_root}/npm"], ("**/*.js",), skip=("test", "tests"))
        corpus.notes["javascript"] = f"{npm_root}/npm"
    packs = _npm(cache)
    if packs is not None:
        typescript = _files([packs], ("**/*.ts",))
        add["typescript"] = [p for p in typescript if not p.name.endswith(".d.ts")]
        add["tsx"] = _files([packs], ("**/*.tsx",))
        corpus.notes["typescript"] = corpus.notes["tsx"] = "npm pack " + " ".join(NPM_PACKAGES)

    node = Path("/usr/include/node")
    if node.is_dir():
        cpp = ("v8*.h", "node.h", "node_buffer.h", "node_object_wrap.h", "cppgc/**/*.h")
        add["cpp"] = _files([node], (*cpp, "libplatform/*.h"))
        add["c"] += _files([node], ("uv.h", "uv/*.h", "js_native_api*.h", "node_api*.h"))
        corpus.notes["cpp"] = str(node)
    include = sysconfig.get_config_var("INCLUDEPY")
    if include:
        add["c"] += _files([include], ("*.h", "cpython/*.h"))
    corpus.notes["c"] = "Node's C headers, Python's C headers, Go's runtime/cgo"

    add["python"] = _files([sysconfig.get_path("stdlib")], ("**/*.py",), skip=("site-packages",))
    corpus.notes["python"] = sysconfig.get_path("stdlib")

    rubylib = (_run(["ruby", "-e", "print RbConfig::CONFIG['rubylibdir']"]) or "").strip()
    if rubylib:
        add["ruby"] = _files([rubylib], ("**/*.rb",))
        corpus.notes["ruby"] = rubylib

    crates = _crates(cache)
    add["rust"] = _files(crates, ("**/*.rs",), skip=("target",))
    corpus.notes["rust"] = "cargo fetch " + " ".join(CRATES)

    add["bash"] += _files(["/usr/share/bash-completion/completions"], ("*",))
    corpus.notes["bash"] = "bash-completion's scripts, Go's src/*.bash and *.sh"

    add["csharp"] = _files([VENDORED / "csharp"], ("**/*.cs",))
    corpus.notes["csharp"] = str(VENDORED / "csharp")

    for language, paths in add.items():
        add[language] = _sample(sorted(set(paths)), limit)
    return corpus


def ctags(paths: list[Path], language: str) -> dict[Path, list[dict]]:
    """ctags' definitions per file, of the kinds counted for ``language``."""
    kinds = DEFINITION_KINDS[language]
    with tempfile.NamedTemporaryFile("w", suffix=".list") as listing:
        listing.write("\n".join(str(p) for p in paths))
        listing.flush()
        out = _run(
            [
                "ctags",
                "--output-format=json",
                "--fields=+nKzse",
                f"--language-force={CTAGS_LANGUAGE[language]}",
                "-f",
                "-",
                "-L",
                listing.name,
            ]
        )
    tags: dict[Path, list[dict]] = defaultdict(list)
    for line in (out or "").splitlines():
        tag = json.loads(line)
        if tag.get("_type") == "tag" and tag.get("kind") in kinds:
            tags[Path(tag["path"])].append(tag)
    return tags


@dataclass
class Result:
    language: str
    files: int = 0
    counted: int = 0
    agreed: int = 0
    filtered: Counter[str] = field(default_factory=Counter)
    detected: Counter[str] = field(default_factory=Counter)
    misses: list[str] = field(default_factory=list)

    @property
    def agreement(self) -> float:
        return self.agreed / self.counted if self.counted else float("nan")


def compare(language: str, paths: list[Path], examples: int) -> Result:
    result = Result(language)
    by_file = ctags(paths, language)
    for path in paths:
        source = path.read_bytes()
        chosen = detect(str(path), source) or language
        result.detected[chosen] += 1
        chunked = chunk_source(source, str(path), chosen)
        if chunked.outcome != "chunked":
            continue
        result.files += 1
        spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for chunk in chunked.chunks:
            if chunk.name is not None:
                spans[same_name(chunk.name)].append((chunk.start_line, chunk.end_line))
        lines = source.decode("utf-8", "replace").splitlines()
        for tag in by_file.get(path, ()):
            text = lines[tag["line"] - 1] if 0 < tag["line"] <= len(lines) else ""
            reason = noise(tag, language, text)
            if reason:
                result.filtered[reason] += 1
                continue
            result.counted += 1
            line = tag["line"]
            if any(s <= line <= e for s, e in spans.get(same_name(tag["name"]), ())):
                result.agreed += 1
            elif len(result.misses) < examples:
                scope = f" in {tag['scope']}" if tag.get("scope") else ""
                result.misses.append(f"{path}:{line} {tag['kind']} {tag['name']}{scope}")
    return result


def report(results: list[Result], corpus: Corpus) -> None:
    print("| language | files | definitions | agreement | noise filtered | parsed as |")
    print("|---|---|---|---|---|---|")
    for r in results:
        filtered = ", ".join(f"{k} {v}" for k, v in sorted(r.filtered.items())) or "-"
        detected = ", ".join(f"{k} {v}" for k, v in r.detected.most_common())
        row = (r.language, r.files, r.counted, f"{r.agreement:.3f}", filtered, detected)
        print("| " + " | ".join(map(str, row)) + " |")
    print()
    for r in results:
        print(f"{r.language}: {corpus.notes.get(r.language, '')}")
        for miss in r.misses:
            print(f"  miss {miss}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "chunkscope" / "quality")
    ap.add_argument("--max-files", type=int, default=300)
    ap.add_argument("--examples", type=int, default=5)
    ap.add_argument("--language", action="append", choices=sorted(CTAGS_LANGUAGE))
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if shutil.which("ctags") is None:
        print("Universal Ctags is not installed (apt-get install universal-ctags)", file=sys.stderr)
        return 2
    corpus = gather(args.cache, args.max_files)
    results = []
    for language in args.language or sorted(CTAGS_LANGUAGE):
        paths = corpus.files.get(language, [])
        if not paths:
            print(f"{language}: no corpus found", file=sys.stderr)
            continue
        results.append(compare(language, paths, args.examples))
    report(results, corpus)
    if args.json:
        rows = {
            r.language: {
                "files": r.files,
                "definitions": r.counted,
                "agreed": r.agreed,
                "agreement": r.agreement,
                "filtered": dict(r.filtered),
                "misses": r.misses,
            }
            for r in results
        }
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0 if all(r.agreement >= 0.97 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
