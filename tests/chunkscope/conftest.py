"""Fixtures for the chunker tests: snippets in, chunk outlines out; the CLI as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from chunkscope import ChunkOptions, chunk_source

Outline = tuple[str, str | None, str | None, int, int]
"""(kind, name, parent, start_line, end_line): what a reader of the chunk list sees."""

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
"""``hostile_sources``: the benchmark's hostile inputs are the tests' too."""

CLI_TIMEOUT = 60.0
"""Bound on one CLI run in a test: a hang (a FIFO opened, a symlink loop) fails, not stalls."""


def _outline(source: str | bytes, language: str, **options: int) -> list[Outline]:
    """The chunks of ``source`` as outlines, in file order."""
    data = source if isinstance(source, bytes) else textwrap.dedent(source).encode()
    result = chunk_source(data, f"snippet.{language}", language, ChunkOptions(**options))
    assert result.outcome == "chunked", result
    return [(c.kind, c.name, c.parent, c.start_line, c.end_line) for c in result.chunks]


def _make_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Create ``files`` (relative path -> content) under ``root``; returns ``root``."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content), encoding="utf-8")
    return root


def _run_cli(
    *args: str | os.PathLike[str],
    cwd: str | os.PathLike[str] | None = None,
    prefix: tuple[str, ...] = (),
    timeout: float = CLI_TIMEOUT,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``chunkscope`` in a fresh interpreter, as a user would, with stdout and stderr piped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHUNKSCOPE_OTEL", "OTEL_"))}
    return subprocess.run(
        [*prefix, sys.executable, "-m", "chunkscope", *map(os.fspath, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def outline() -> Callable[..., list[Outline]]:
    """``outline(source, language, **options)``: a snippet's chunks as outlines."""
    return _outline


@pytest.fixture
def make_tree() -> Callable[[Path, Mapping[str, str | bytes]], Path]:
    """``make_tree(root, {rel: content})``: lay out a folder of files."""
    return _make_tree


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[bytes]]:
    """``cli(*args, cwd=..., prefix=..., timeout=...)``: run ``chunkscope`` in a subprocess."""
    return _run_cli


@pytest.fixture
def drop_dac() -> tuple[str, ...]:
    """A command prefix: root without the capabilities that bypass file modes, so a mode
    that forbids (a read-only folder, a mode-000 file) really does."""
    return (
        "setpriv",
        "--bounding-set=-dac_override,-dac_read_search",
        "--inh-caps=-dac_override,-dac_read_search",
    )
