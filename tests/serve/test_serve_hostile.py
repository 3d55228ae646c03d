"""Hostile clients on loopback: slow bodies, slow and half-open headers, idle keep-alive,
oversized and malformed requests, connection floods. Every wait is bounded and short."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from serve_support import ServeProcess, connect, is_ready, live_server, read_raw, wait_until

from chunkscope.serve import Limits
from chunkscope.serve.lograte import RateLimitFilter
from chunkscope.serve.protocol import LINGER_SECONDS

HEADER_TIMEOUT = 0.5
BODY_TIMEOUT = 0.6
KEEP_ALIVE = 1
CONNECTIONS = 24
SLACK = 1.5
"""Seconds a deadline may be late on a busy shared machine."""
LIMITS = Limits(
    workers=1,
    max_queue=1,
    header_timeout_seconds=HEADER_TIMEOUT,
    body_timeout_seconds=BODY_TIMEOUT,
    keep_alive_seconds=KEEP_ALIVE,
    limit_concurrency=CONNECTIONS,
    max_body_bytes=64 * 1024,
)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with live_server(LIMITS) as (base, _):
        yield base


def request_head(length: int, path: str = "/v1/chunk?path=a.py") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def trickle(sock: socket.socket, stop: threading.Event, every: float = 0.05) -> None:
    """Send one byte per ``every`` seconds until told to stop or the server hangs up."""
    while not stop.wait(every):
        try:
            sock.sendall(b"x")
        except OSError:
            return


def assert_json_error(raw: object, status: int, code: str) -> None:
    assert raw.status == status, raw.body  # type: ignore[attr-defined]
    assert raw.headers["content-type"] == "application/json"  # type: ignore[attr-defined]
    assert raw.json()["error"]["code"] == code  # type: ignore[attr-defined]


class TestSlowBody:
    def test_slow_bodies_get_408_and_hold_no_slot(self, url: str) -> None:
        """More slow uploads than the service has slots: each gets 408 at the body deadline,
        and a normal request sent meanwhile is answered 200, not 429."""
        stop = threading.Event()
        socks = [connect(url) for _ in range(LIMITS.resolved().capacity + 2)]
        for sock in socks:
            sock.sendall(request_head(1000))
            threading.Thread(target=trickle, args=(sock, stop), daemon=True).start()
        try:
            time.sleep(0.1)
            ok = httpx.post(f"{url}/v1/chunk", params={"path": "b.py"}, content=b"x = 1\n")
            assert ok.status_code == 200, ok.text
            started = time.monotonic()
            for sock in socks:
                raw = read_raw(sock, BODY_TIMEOUT + SLACK)
                assert_json_error(raw, 408, "body_timeout")
            assert time.monotonic() - started < BODY_TIMEOUT + SLACK
            assert all(read_raw(s, LINGER_SECONDS + SLACK).closed for s in socks)
        finally:
            stop.set()
            for sock in socks:
                sock.close()
        assert httpx.get(f"{url}/readyz").json()["in_flight"] == 0

    def test_bodies_in_reception_share_one_byte_budget(self, url: str) -> None:
        """Uploads that stall after most of their body: once the bytes held by requests not
        yet admitted pass the budget, the one that crossed it gets 429 at once; the others
        end at the body deadline."""
        budget = LIMITS.resolved().max_receiving_bytes
        part = LIMITS.max_body_bytes - 1024
        count = budget // part + 1
        socks = [connect(url) for _ in range(count)]
        try:
            for sock in socks:
                sock.sendall(request_head(LIMITS.max_body_bytes) + b"#" * part)
                time.sleep(0.05)
            answers = [read_raw(s, BODY_TIMEOUT + SLACK) for s in socks]
        finally:
            for sock in socks:
                sock.close()
        assert [r.status for r in answers] == [408] * (count - 1) + [429]
        assert answers[-1].json()["error"]["code"] == "overloaded"
        assert answers[-1].headers["retry-after"] == str(LIMITS.retry_after_seconds)

    def test_oversized_upload_reads_its_413_then_the_connection_closes(self, url: str) -> None:
        """A client still sending a too-large body gets the 413 (no reset), then the
        connection closes, for a declared and a chunked (undeclared) length alike."""
        big = b"#" * (4 * LIMITS.max_body_bytes)

        def chunks() -> Iterator[bytes]:
            for i in range(0, len(big), 8192):
                yield big[i : i + 8192]

        for content in (big, chunks()):
            with httpx.Client(base_url=url) as client:
                r = client.post("/v1/chunk", params={"path": "a.py"}, content=content)
                assert r.status_code == 413
                assert r.json()["error"]["code"] == "body_too_large"
        with connect(url) as sock:
            sock.sendall(request_head(len(big)) + big[: 2 * LIMITS.max_body_bytes])
            assert_json_error(read_raw(sock, SLACK), 413, "body_too_large")
            assert read_raw(sock, LINGER_SECONDS + SLACK).closed

    def test_unread_body_of_a_refused_request_closes_the_connection(self, url: str) -> None:
        """A body nobody reads (unknown route) cannot be trickled forever after the answer."""
        stop = threading.Event()
        with connect(url) as sock:
            sock.sendall(request_head(10**6, "/nowhere"))
            threading.Thread(target=trickle, args=(sock, stop), daemon=True).start()
            try:
                assert_json_error(read_raw(sock, SLACK), 404, "not_found")
                assert read_raw(sock, LINGER_SECONDS + SLACK).closed
            finally:
                stop.set()


class TestHeaders:
    def test_slow_headers_get_408(self, url: str) -> None:
        """A request line and headers trickled byte by byte end with 408 at the deadline."""
        stop = threading.Event()
        with connect(url) as sock:
            sock.sendall(b"POST /v1/chunk HTTP/1.1\r\nX-Slow: ")
            threading.Thread(target=trickle, args=(sock, stop), daemon=True).start()
            started = time.monotonic()
            try:
                raw = read_raw(sock, HEADER_TIMEOUT + SLACK)
            finally:
                stop.set()
            assert_json_error(raw, 408, "header_timeout")
            assert time.monotonic() - started < HEADER_TIMEOUT + SLACK

    def test_silent_connection_is_closed(self, url: str) -> None:
        """A connection that never sends a byte is closed at the header deadline."""
        with connect(url) as sock:
            started = time.monotonic()
            raw = read_raw(sock, HEADER_TIMEOUT + SLACK)
            assert raw.closed and raw.status == 0
            assert time.monotonic() - started < HEADER_TIMEOUT + SLACK

    def test_idle_keep_alive_connection_is_closed(self, url: str) -> None:
        """After a response, an idle kept-alive connection is closed after --keep-alive."""
        with connect(url) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_raw(sock, SLACK).status == 200
            started = time.monotonic()
            assert read_raw(sock, KEEP_ALIVE + SLACK).closed
            assert time.monotonic() - started < KEEP_ALIVE + SLACK

    def test_megabyte_header_is_a_json_400(self, url: str) -> None:
        """A 1 MB header is refused with a JSON body naming the limit."""
        r = httpx.get(f"{url}/healthz", headers={"x-big": "a" * 1_000_000})
        assert r.status_code == 400
        assert r.headers["content-type"] == "application/json"
        assert r.json()["error"]["code"] == "headers_too_large"
        assert str(LIMITS.max_header_bytes) in r.json()["error"]["message"]

    def test_malformed_request_is_a_json_400(self, url: str) -> None:
        """Garbage instead of HTTP gets a JSON 400 and the connection closes."""
        with connect(url) as sock:
            sock.sendall(b"\x16\x03\x01 not http\r\n\r\n")
            raw = read_raw(sock, SLACK)
            assert_json_error(raw, 400, "invalid_http")


def test_half_open_connections_are_capped_and_expire(url: str) -> None:
    """Connections past --limit-concurrency get a JSON 503 at once; the half-open ones are
    closed at the header deadline, after which the service answers again."""
    held = [connect(url) for _ in range(CONNECTIONS)]
    try:
        time.sleep(0.2)
        with connect(url) as extra:
            assert_json_error(read_raw(extra, SLACK), 503, "too_many_connections")
        started = time.monotonic()
        assert all(read_raw(s, HEADER_TIMEOUT + SLACK).closed for s in held)
        assert time.monotonic() - started < HEADER_TIMEOUT + SLACK
    finally:
        for sock in held:
            sock.close()
    assert httpx.get(f"{url}/healthz").status_code == 200


def test_repeated_protocol_errors_are_logged_once_per_interval(url: str) -> None:
    """Fifty malformed requests in a burst leave one warning in the log, not fifty."""
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign]
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    try:
        for _ in range(50):
            with connect(url) as sock:
                sock.sendall(b"BAD\r\n\r\n")
                read_raw(sock, SLACK)
    finally:
        logger.removeHandler(handler)
    invalid = [r for r in seen if "Invalid HTTP request" in r.getMessage()]
    assert len(invalid) <= 1


class TestRateLimitFilter:
    def test_repeats_are_held_then_counted(self) -> None:
        """The first record passes, repeats within the interval are dropped, and the next
        one after it says how many were held back."""
        limiter = RateLimitFilter(interval=0.2)

        def record() -> logging.LogRecord:
            return logging.LogRecord("asyncio", 40, __file__, 1, "accept failed", (), None)

        assert limiter.filter(record())
        assert not any(limiter.filter(record()) for _ in range(99))
        time.sleep(0.25)
        later = record()
        assert limiter.filter(later)
        assert "99 more like this" in later.getMessage()

    def test_different_messages_are_not_merged(self) -> None:
        """Each message template has its own allowance."""
        limiter = RateLimitFilter(interval=60)
        a = logging.LogRecord("x", logging.WARNING, __file__, 1, "a", (), None)
        b = logging.LogRecord("x", logging.WARNING, __file__, 1, "b", (), None)
        assert limiter.filter(a) and limiter.filter(b)


def open_many(url: str, count: int, timeout: float = 5.0) -> list[socket.socket]:
    """Up to ``count`` silent connections (fewer if the server stops accepting), paced so
    a small listen backlog does not turn into SYN retransmits of a second each."""
    address = ("127.0.0.1", int(url.rsplit(":", 1)[1]))
    socks: list[socket.socket] = []
    for i in range(count):
        if i % 16 == 15:
            time.sleep(0.02)
        try:
            socks.append(socket.create_connection(address, timeout))
        except OSError:
            break
    return socks


def status_now(sock: socket.socket) -> int | None:
    """The status of a response already received, 0 if closed without one, None if open."""
    sock.setblocking(False)
    try:
        data = sock.recv(4096)
    except BlockingIOError:
        return None
    except ConnectionResetError:
        return 0
    return int(data.split()[1]) if data.startswith(b"HTTP/1.1 ") else 0


class TestDescriptorLimit:
    NOFILE = 256
    CAP = NOFILE // 2
    FLOOD = 300

    def test_connection_flood_stays_below_the_descriptor_limit(
        self, serve_process: Callable[..., ServeProcess]
    ) -> None:
        """With the default --limit-concurrency (half of 256 descriptors), 300 half-open
        connections: 128 are held, the rest get a JSON 503 at once, accept never fails,
        nothing is logged, and the service answers as soon as the flood lets go."""
        server = serve_process("--workers", "1", "--threads", nofile=self.NOFILE)
        socks = open_many(server.url, self.FLOOD)
        try:
            assert len(socks) == self.FLOOD
            time.sleep(0.5)
            statuses = [status_now(s) for s in socks]
            assert statuses.count(None) <= self.CAP
            assert statuses.count(503) >= self.FLOOD - self.CAP - 8
        finally:
            for sock in socks:
                sock.close()
        wait_until(lambda: is_ready(server.url), 5, "the service to answer")
        assert "Too many open files" not in server.stderr
        assert len(server.stderr) < 4096, server.stderr

    def test_accept_errors_are_logged_once_per_interval(
        self, serve_process: Callable[..., ServeProcess]
    ) -> None:
        """A cap set above the descriptor limit lets accept fail with EMFILE thousands of
        times a second; the log gets one traceback per interval, with a count."""
        server = serve_process(
            "--workers", "1", "--threads", "--limit-concurrency", "1000", nofile=self.NOFILE
        )
        socks = open_many(server.url, self.FLOOD, timeout=0.5)
        try:
            assert len(socks) < self.FLOOD, "the server never ran out of descriptors"
            time.sleep(1.0)
        finally:
            for sock in socks:
                sock.close()
        assert server.stop() == 0
        log = server.stderr
        assert log.count("Too many open files") <= 2, log[-2000:]
        assert len(log) < 16384, log[-2000:]
