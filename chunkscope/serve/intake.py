"""Request bodies, received whole before a request may take a worker slot.

A client that sends its body slowly holds only its connection and the bytes it has sent,
never an admission slot: the app reads the body through ``Intake.read`` first and admits
the request afterwards. The read has one deadline for the whole body (408 past it, and the
connection is closed), a size limit (413), and all bodies being received share a byte
budget (429 past it), so many fast large uploads cannot exhaust memory either. Under
``chunkscope serve`` the connection of a request refused before its body ended is then
closed (``protocol``: a lingering close, so the client still reads the refusal).

    intake = Intake(limits)
    body = await intake.read(request)      # ApiError 408 / 413 / 429
    try:
        ...                                # admit, chunk, answer
    finally:
        intake.release(len(body))
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request

from chunkscope.serve.limits import Limits
from chunkscope.serve.schema import ApiError


class Intake:
    """Bodies in reception: one deadline each, one byte budget for all of them."""

    def __init__(self, limits: Limits) -> None:
        self.max_body_bytes = limits.max_body_bytes
        self.timeout_seconds = limits.body_timeout_seconds
        self.budget = limits.max_receiving_bytes
        self.retry_after = str(limits.retry_after_seconds)
        self.buffered = 0
        """Bytes of bodies read and not yet released, across all requests."""

    async def read(self, request: Request) -> bytes:
        """The whole body, charged to the budget; the caller releases it when done."""
        parts: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.timeout_seconds):
                async for part in request.stream():
                    size += len(part)
                    self.buffered += len(part)
                    self._check(size)
                    parts.append(part)
        except TimeoutError:
            self.release(size)
            raise ApiError(
                408,
                "body_timeout",
                f"request body not received within {self.timeout_seconds:g} s",
            ) from None
        except BaseException:
            self.release(size)
            raise
        return b"".join(parts)

    def _check(self, size: int) -> None:
        if size > self.max_body_bytes:
            raise ApiError(
                413,
                "body_too_large",
                f"request body exceeds {self.max_body_bytes} bytes",
            )
        if self.buffered > self.budget:
            raise ApiError(
                429,
                "overloaded",
                f"{self.budget} bytes of request bodies already being received; retry later",
                headers={"Retry-After": self.retry_after},
            )

    def release(self, size: int) -> None:
        self.buffered -= size
