"""How file paths appear in telemetry (``CHUNKSCOPE_OTEL_PATHS``).

Paths are the only attribute that could say something about a user's code base, so how they
appear is a choice: ``relative`` to the run root (the default), ``hash`` (a short stable digest,
still groupable) or ``none``. The attribute keys themselves live in ``chunkscope.names``.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from chunkscope.model import blake2b
from chunkscope.names import PATHS_ENV

PATH_MODES = ("relative", "hash", "none")


def _hashed(path: str) -> str:
    return blake2b(path.encode("utf-8", "surrogateescape"), digest_size=8).hexdigest()


def path_mode(value: str | None = None) -> str:
    """The configured path mode; an unknown value falls back to the safest, ``none``."""
    raw = (os.environ.get(PATHS_ENV, "relative") if value is None else value).strip().lower()
    if not raw:
        return "relative"
    return raw if raw in PATH_MODES else "none"


def path_formatter(mode: str) -> Callable[[str], str | None]:
    """How a relative path becomes the ``code.file.path`` value (None: leave it out)."""
    if mode == "relative":
        return str
    if mode == "hash":
        return _hashed
    return lambda _path: None
