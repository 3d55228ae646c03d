"""``RemoteChunker``: the executor that sends each walked file to ``chunkscope serve``.

Files are read here (walk, skips, size limit and read errors exactly as a local run) and
posted one per request to ``/v1/chunk/batch`` with the run's ``max_lines``/``max_bytes``
and ``--language``; the answer is the same ``FileResult`` a local run makes, chunk for
chunk. ``options.jobs`` requests are in flight at once, from a thread pool; results come
back in walk order through a bounded window, so memory stays flat.

Every file ends as one result: after the retries ``retry.RetryPolicy`` allows, a file the
fleet could not chunk is an ``error`` outcome whose message starts ``RemoteError:`` and
says what happened. A file the service cannot take (bigger than its ``max_body_bytes`` or
``max_file_bytes``, read from ``/readyz`` at the start or learnt from a 413) is chunked in
this process (``oversize="local"``, the default) or reported as an error (``"error"``).
"""

from __future__ import annotations

import base64
import contextvars
import json
import random
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import orjson

from chunkscope.clock import now_ns
from chunkscope.model import Chunk, ChunkOptions, FileResult, RecordedElsewhere, StageTimes
from chunkscope.pipeline import _batches, chunk_bytes, read_entry
from chunkscope.remote.retry import (
    Replicas,
    RetryPolicy,
    classify,
    overload_delay,
    retry_after,
)
from chunkscope.walker import Entry

CHUNK_ROUTE = "/v1/chunk/batch"
READY_ROUTE = "/readyz"
ERROR_PREFIX = "RemoteError"
_HEADERS = {"content-type": "application/json"}
Oversize = Literal["local", "error"]


class RemoteMetrics:
    """Hooks the client calls per attempt; the no-op default keeps OpenTelemetry optional."""

    def request(self, replica: str, status: int | None, seconds: float) -> None:
        """One request to ``replica`` ended with ``status`` (None: no answer)."""

    def retry(self, replica: str, reason: str) -> None:
        """A file is tried again after ``replica`` answered ``reason`` (overloaded, failed)."""

    def local(self, reason: str) -> None:
        """A file was chunked in this process because the service cannot take it."""


@dataclass(frozen=True, slots=True)
class ServiceLimits:
    """The smallest limits the reachable replicas announced; None where none did."""

    max_body_bytes: int | None = None
    max_file_bytes: int | None = None


def encode_file(path: str, data: bytes, options: ChunkOptions) -> bytes:
    """One file of a batch request: text as ``content``, other bytes as ``content_base64``."""
    item: dict[str, Any] = {"path": path}
    try:
        item["content"] = data.decode("utf-8")
    except UnicodeDecodeError:
        item["content_base64"] = base64.b64encode(data).decode("ascii")
    if options.language is not None:
        item["language"] = options.language
    try:
        return orjson.dumps(item)
    except orjson.JSONEncodeError:  # a path with undecodable bytes: json escapes surrogates
        return json.dumps(item).encode("ascii")


def encode_request(files: Sequence[bytes], options: ChunkOptions) -> bytes:
    """A batch request of files encoded by ``encode_file``."""
    tail = b'],"max_lines":%d,"max_bytes":%d}' % (options.max_lines, options.max_bytes)
    return b'{"files":[' + b",".join(files) + tail


_REQUEST_OVERHEAD = len(encode_request([], ChunkOptions(max_lines=10**12, max_bytes=10**12)))


def decode_results(content: bytes, paths: Sequence[str]) -> list[FileResult]:
    """The results of a batch answer, each reported under the path this client sent.

    The service writes a path it cannot encode as ``?``; the client knows the real one.
    """
    items = orjson.loads(content)["results"]
    if len(items) != len(paths):
        raise ValueError(f"{len(items)} results for {len(paths)} files")
    results = []
    for item, path in zip(items, paths, strict=True):
        chunks = []
        for fields in item["chunks"]:
            fields["path"] = path
            chunks.append(Chunk(**fields))
        results.append(
            FileResult(
                path=path,
                outcome=item["outcome"],
                language=item["language"],
                size=item["size"],
                chunks=tuple(chunks),
                reason=item["reason"],
                error=item["error"],
                has_syntax_error=item["has_syntax_error"],
                timings=RecordedElsewhere(**item["timings"]),
                cache=item.get("cache"),
            )
        )
    return results


def _error_code(response: httpx.Response) -> str:
    """``status code`` from the service's JSON error body, or just the status."""
    try:
        error = response.json()["error"]
        return f"{response.status_code} {error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return str(response.status_code)


def _transport_error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@dataclass(slots=True)
class _Pending:
    """A file read and encoded, waiting for its request; ``result`` once it has one."""

    path: str
    data: bytes
    start_ns: int
    item: bytes = b""
    result: FileResult | None = None


class RemoteChunker:
    """Chunk a run's files on ``chunkscope serve`` replicas; use as ``chunk_paths``'s executor.

    ``urls`` are base URLs (``http://10.0.0.7:8080``) of replicas, or one Service URL.
    ``batch`` files travel per request (1: one request, and one client span, per file):
    a request costs about as much as chunking a small file, so a few per request keep
    the replicas' workers busy.
    """

    def __init__(
        self,
        urls: Sequence[str],
        *,
        batch: int = 32,
        policy: RetryPolicy | None = None,
        oversize: Oversize = "local",
        metrics: RemoteMetrics | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.replicas = Replicas(urls, self.policy.down_seconds)
        self.batch = max(1, batch)
        self.oversize = oversize
        self.metrics = metrics
        self.limits = ServiceLimits()
        self._transport = transport
        self._sleep = sleep
        self._rand = rand

    def __call__(self, entries: Iterable[Entry], options: ChunkOptions) -> Iterator[FileResult]:
        """Results for ``entries`` in their order; at most ``options.jobs`` requests in flight."""
        jobs = max(1, options.jobs)
        client = httpx.Client(
            timeout=self.policy.timeout_seconds,
            limits=httpx.Limits(max_connections=jobs, max_keepalive_connections=jobs),
            transport=self._transport,
        )
        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="chunkscope-remote")
        pending: deque[Future[list[FileResult]]] = deque()
        try:
            self.limits = self.discover(client)
            if self.metrics is None:
                self.metrics = _telemetry(client)
            window = jobs * 2
            for group in _batches(entries, self.batch):
                # each task runs in a copy of this context: a trace's run span parents its request
                task = contextvars.copy_context().run
                pending.append(pool.submit(task, self.chunk_entries, client, group, options))
                if len(pending) >= window:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            client.close()

    def discover(self, client: httpx.Client) -> ServiceLimits:
        """The tightest body and file limits the replicas announce on ``/readyz``."""
        bodies: list[int] = []
        files: list[int] = []
        for url in self.replicas.urls:
            try:
                limits = client.get(url + READY_ROUTE, timeout=5.0).json().get("limits", {})
            except (httpx.HTTPError, ValueError, AttributeError):
                continue
            if isinstance(limits.get("max_body_bytes"), int):
                bodies.append(limits["max_body_bytes"])
            if isinstance(limits.get("max_file_bytes"), int):
                files.append(limits["max_file_bytes"])
        return ServiceLimits(min(bodies, default=None), min(files, default=None))

    def chunk_entries(
        self, client: httpx.Client, entries: list[Entry], options: ChunkOptions
    ) -> list[FileResult]:
        """One result per walked file, in order; never raises."""
        files: list[_Pending] = []
        results: list[FileResult | _Pending] = []
        for entry in entries:
            start = now_ns()
            data = read_entry(entry, options, start)
            if isinstance(data, FileResult):
                results.append(data)
                continue
            file = _Pending(entry.rel, data, start)
            results.append(file)
            try:
                self._prepare(file, options)
            except Exception as exc:  # a bug here must cost one file, never the run
                file.result = self._error(file, f"{type(exc).__name__}: {exc}")
            if file.result is None:
                files.append(file)
        for request in self._requests(files):
            try:
                self._send(client, request, options)
            except Exception as exc:
                for file in request:
                    file.result = file.result or self._error(file, f"{type(exc).__name__}: {exc}")
        return [r if isinstance(r, FileResult) else _result(r) for r in results]

    def _prepare(self, file: _Pending, options: ChunkOptions) -> None:
        """Encode ``file`` for a request, or settle it here when the service cannot take it."""
        limit = self.limits.max_file_bytes
        if limit is not None and len(file.data) > limit:
            self._oversized(file, options, f"over max_file_bytes {limit}")
            return
        file.item = encode_file(file.path, file.data, options)
        limit = self.limits.max_body_bytes
        if limit is not None and len(file.item) + _REQUEST_OVERHEAD > limit:
            self._oversized(file, options, f"over max_body_bytes {limit}")

    def _requests(self, files: list[_Pending]) -> Iterator[list[_Pending]]:
        """``files`` split into requests that each fit the service's body limit."""
        limit = self.limits.max_body_bytes
        request: list[_Pending] = []
        size = _REQUEST_OVERHEAD
        for file in files:
            grown = size + len(file.item) + 1
            if request and limit is not None and grown > limit:
                yield request
                request, grown = [], _REQUEST_OVERHEAD + len(file.item)
            request.append(file)
            size = grown
        if request:
            yield request

    def _send(self, client: httpx.Client, files: list[_Pending], options: ChunkOptions) -> None:
        """Post ``files`` until a replica answers, within the policy's bounds; settle each."""
        policy = self.policy
        metrics = self.metrics or RemoteMetrics()
        body = encode_request([f.item for f in files], options)
        failures = refusals = 0
        avoid: str | None = None
        while True:
            url = self.replicas.pick(avoid)
            started = time.perf_counter()
            response: httpx.Response | None = None
            try:
                response = client.post(url + CHUNK_ROUTE, content=body, headers=_HEADERS)
                why = ""
            except httpx.TransportError as exc:
                why = _transport_error(exc)
            status = response.status_code if response is not None else None
            metrics.request(url, status, time.perf_counter() - started)
            verdict = classify(status)
            if verdict == "done":
                assert response is not None
                try:
                    results = decode_results(response.content, [f.path for f in files])
                except (ValueError, KeyError, TypeError) as exc:
                    verdict, why = "failed", f"unreadable answer: {type(exc).__name__}: {exc}"
                else:
                    self.replicas.up(url)
                    for file, result in zip(files, results, strict=True):
                        file.result = result
                    return
            if verdict == "overloaded":
                assert response is not None
                refusals += 1
                if refusals >= policy.overload_attempts:
                    self._fail(files, f"{url}: still 429 after {refusals} tries")
                    return
                metrics.retry(url, "overloaded")
                after = retry_after(response.headers.get("retry-after"))
                self._sleep(overload_delay(policy, refusals, after, self._rand))
                continue
            if verdict == "failed":
                if response is not None and not why:
                    why = _error_code(response)
                failures += 1
                self.replicas.failed(url)
                if failures >= policy.attempts:
                    self._fail(files, f"{failures} tries failed, the last on {url}: {why}")
                    return
                metrics.retry(url, "failed")
                avoid = url
                self._sleep(policy.backoff_seconds * failures * self._rand())
                continue
            assert response is not None
            if verdict == "oversize" and len(files) > 1:
                for file in files:  # a limit the client did not know: try them one by one
                    self._send(client, [file], options)
                return
            if verdict == "oversize":
                for file in files:
                    self._oversized(file, options, _error_code(response))
                return
            self._fail(files, f"{url} refused it: {_error_code(response)}")
            return

    def _oversized(self, file: _Pending, options: ChunkOptions, why: str) -> None:
        if self.oversize == "error":
            file.result = self._error(file, f"too large for the service ({why})")
            return
        (self.metrics or RemoteMetrics()).local("oversize")
        file.result = chunk_bytes(file.data, file.path, None, options, file.start_ns)

    def _fail(self, files: list[_Pending], why: str) -> None:
        for file in files:
            file.result = self._error(file, why)

    @staticmethod
    def _error(file: _Pending, why: str) -> FileResult:
        return FileResult(
            path=file.path,
            outcome="error",
            size=len(file.data),
            error=f"{ERROR_PREFIX}: {why}",
            timings=StageTimes(file.start_ns, now_ns()),
        )


def _result(file: _Pending) -> FileResult:
    if file.result is None:  # unreachable: every path through chunk_entries settles a file
        return RemoteChunker._error(file, "no answer recorded")
    return file.result


def _telemetry(client: httpx.Client) -> RemoteMetrics:
    """Client spans and metrics when this process's chunkscope telemetry is on.

    Telemetry on means the instrumentation is loaded already, so looking in ``sys.modules``
    imports nothing of OpenTelemetry when it is off.
    """
    instrumentation = sys.modules.get("opentelemetry.instrumentation.chunkscope")
    if instrumentation is None:
        return RemoteMetrics()
    if not instrumentation.ChunkscopeInstrumentor().is_instrumented_by_opentelemetry:
        return RemoteMetrics()
    from chunkscope.remote import telemetry

    return telemetry.instrument(client)
