"""Helpers for the ``--remote`` client tests: a stub fleet that answers like the service.

``StubFleet`` is an ``httpx.MockTransport`` whose replicas chunk with the service's own
request parser and encoder (so a good answer is the real one) unless a test scripts a
replica to refuse, fail or vanish. The helpers shared with the service tests (a real
``chunkscope serve`` subprocess) come from ``tests/serve/serve_support.py``.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "serve"))

from chunkscope import pipeline
from chunkscope.model import ChunkOptions
from chunkscope.serve.schema import encode_result, parse_batch

LIMITS = {"max_body_bytes": 8 * 1024 * 1024, "max_file_bytes": 2_000_000}

Script = Callable[[httpx.Request], httpx.Response | None]
"""Per-request behaviour of a replica: a response, or None to answer like the service."""


def service_answer(request: httpx.Request) -> httpx.Response:
    """What ``POST /v1/chunk/batch`` answers, computed in this process (uninstrumented, as
    in a service's worker)."""
    files, options = parse_batch(request.content, 256, ChunkOptions())
    parts = [
        encode_result(pipeline.chunk_bytes(f.content, f.path, f.language, options)) for f in files
    ]
    return httpx.Response(200, content=b'{"results":[' + b",".join(parts) + b"]}")


@dataclass
class StubFleet:
    """Replicas keyed by base URL; records every chunk request each one received."""

    limits: dict[str, int] = field(default_factory=lambda: dict(LIMITS))
    scripts: dict[str, Script] = field(default_factory=dict)
    requests: dict[str, list[httpx.Request]] = field(default_factory=lambda: defaultdict(list))

    def handle(self, request: httpx.Request) -> httpx.Response:
        base = f"{request.url.scheme}://{request.url.host}:{request.url.port}"
        if request.url.path == "/readyz":
            return httpx.Response(200, json={"ready": True, "limits": self.limits})
        self.requests[base].append(request)
        script = self.scripts.get(base)
        answer = script(request) if script is not None else None
        return answer if answer is not None else service_answer(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def files_sent(self, base: str) -> int:
        import json

        return sum(len(json.loads(r.content)["files"]) for r in self.requests[base])
