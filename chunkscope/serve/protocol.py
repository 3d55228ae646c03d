"""uvicorn's h11 protocol, hardened against clients that connect and then stall.

uvicorn bounds an idle kept-alive connection (``timeout_keep_alive``) but not one that
never finishes its request line and headers, so slow or half-open connections pile up
until the process runs out of file descriptors. ``GuardedH11Protocol`` adds:

- a header read deadline: the request line and headers must arrive within
  ``header_timeout_seconds`` of the connection opening (or of the previous response);
  a connection that sent part of a request gets a JSON 408, a silent one is just closed;
- a connection cap counted when the connection is accepted, not when its request is
  parsed as uvicorn's ``limit_concurrency`` is, so half-open connections count too:
  past ``limit_concurrency`` open connections a new one gets a JSON 503 and is closed;
- JSON bodies for the refusals uvicorn writes as text: a malformed request, and headers
  past ``max_header_bytes`` (``headers_too_large``), both 400;
- a connection whose response is complete while its request body is still arriving
  (413, 408, 404) is closed *lingering*, as nginx does: the server stops sending, reads and
  discards what the client is still sending for up to ``LINGER_SECONDS`` or
  ``LINGER_BYTES``, then closes, so a body nobody reads cannot be trickled forever and the
  client's kernel does not answer an early close with a reset that destroys the response.

    config = uvicorn.Config(app, http=guarded_protocol(limits), ...)
"""

from __future__ import annotations

import asyncio
import functools
import json
from http import HTTPStatus
from typing import Any

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from chunkscope.serve.limits import Limits

LINGER_SECONDS = 2.0
LINGER_BYTES = 1024 * 1024


def refusal(status: int, code: str, message: str) -> bytes:
    """A complete HTTP/1.1 response with the service's JSON error body; the connection closes."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class GuardedH11Protocol(H11Protocol):
    """``H11Protocol`` with a header deadline, a connection cap at accept and JSON refusals."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: Limits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self._header_timer: asyncio.TimerHandle | None = None
        self._linger_timer: asyncio.TimerHandle | None = None
        self._discard: int | None = None
        """Bytes still to discard while lingering; None when not lingering."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.limit_concurrency:
            self._refuse(
                503,
                "too_many_connections",
                f"{self.limits.limit_concurrency} connections already open; retry later",
            )
            return
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        if self._linger_timer is not None:
            self._linger_timer.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._discard is not None:
            self._discard -= len(data)
            if self._discard < 0:
                self.transport.close()
            return
        super().data_received(data)
        self._headers_done()

    def on_response_complete(self) -> None:
        if self.conn.their_state is h11.SEND_BODY and not self.transport.is_closing():
            self._linger()
            return
        self._arm_header_deadline()
        super().on_response_complete()
        self._headers_done()

    def send_400_response(self, msg: str) -> None:
        pending = len(self.conn.trailing_data[0])
        if pending > self.limits.max_header_bytes:
            self._refuse(
                400,
                "headers_too_large",
                f"request line and headers exceed {self.limits.max_header_bytes} bytes",
            )
        else:
            self._refuse(400, "invalid_http", "malformed HTTP/1.1 request")

    def _linger(self) -> None:
        """Answered before the request body ended: send FIN, discard the rest, close."""
        self._disarm_header_deadline()
        self._discard = LINGER_BYTES
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.flow.resume_reading()
        self._linger_timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def _refuse(self, status: int, code: str, message: str) -> None:
        self._disarm_header_deadline()
        if not self.transport.is_closing():
            self.transport.write(refusal(status, code, message))
            self.transport.close()

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._header_timer = self.loop.call_later(
            self.limits.header_timeout_seconds, self._header_deadline_passed
        )

    def _disarm_header_deadline(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_done(self) -> None:
        """Stop the header clock once h11 has parsed a request line and headers."""
        if self.conn.their_state is not h11.IDLE:
            self._disarm_header_deadline()

    def _header_deadline_passed(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self.conn.trailing_data[0]:
            self._refuse(
                408,
                "header_timeout",
                f"request headers not received within {self.limits.header_timeout_seconds:g} s",
            )
        else:
            self.transport.close()


def guarded_protocol(limits: Limits) -> Any:
    """The protocol factory to pass as ``uvicorn.Config(http=...)``."""
    return functools.partial(GuardedH11Protocol, limits=limits)
