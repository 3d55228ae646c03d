"""The files a load test sends: real source with a known language, read once up front."""

from __future__ import annotations

import os
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from chunkscope.languages import detect


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str
    """Relative to the corpus root: what a request names the file."""
    language: str
    content: bytes
    source: Path = Path()
    """Where the file was read from."""


def load_corpus(
    root: str | Path | None = None, *, max_files: int = 2000, max_file_bytes: int = 256 * 1024
) -> list[SourceFile]:
    """Source files with a known language under ``root`` (default: the Python stdlib)."""
    base = Path(root) if root is not None else Path(sysconfig.get_paths()["stdlib"])
    files: list[SourceFile] = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d not in {"site-packages", "__pycache__"})
        for name in sorted(filenames):
            path = Path(dirpath, name)
            language = detect(name)
            if language is None:
                continue
            try:
                size = path.stat().st_size
                if not 0 < size <= max_file_bytes:
                    continue
                content = path.read_bytes()
            except OSError:
                continue
            files.append(SourceFile(path.relative_to(base).as_posix(), language, content, path))
            if len(files) >= max_files:
                return files
    if not files:
        raise ValueError(f"no source files with a known language under {base}")
    return files
