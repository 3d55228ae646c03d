"""``chunkscope serve``: the chunker as a long-running HTTP service.

    $ chunkscope serve --port 8080 --workers 2
    $ curl -s localhost:8080/v1/chunk -H 'content-type: application/json' \\
        -d '{"path": "a.py", "content": "def f():\\n    return 1\\n"}' | jq '.chunks[].name'
    "f"

Or from Python (``uvicorn`` serves whatever ``create_app`` returns)::

    from chunkscope.serve import Limits, run
    run(host="127.0.0.1", port=8080, limits=Limits(workers=2))

Chunking runs in a process pool sized to the cores (``pool``); admission is bounded and
excess requests are shed with 429 (``limits``); with ``CHUNKSCOPE_OTEL=1`` HTTP server
spans parent the chunker's spans and ``/metrics`` serves Prometheus text (``telemetry``).
See docs/service.md for the API reference and measured capacity.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chunkscope.serve.limits import Limits

if TYPE_CHECKING:
    from chunkscope.serve.app import create_app
    from chunkscope.serve.server import run

__all__ = ["Limits", "create_app", "run"]


def __getattr__(name: str) -> Any:
    """FastAPI and uvicorn load on first use, so ``chunkscope --help`` stays light."""
    if name == "create_app":
        from chunkscope.serve.app import create_app

        return create_app
    if name == "run":
        from chunkscope.serve.server import run

        return run
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
