"""Requests in, JSON out: the wire format of ``/v1/chunk`` and ``/v1/chunk/batch``.

Parsing and validation live here, apart from the routes, so every refusal is one
``ApiError`` with a status, a stable ``code`` and a sentence; the app turns it into a
JSON body. Results are encoded to JSON *in the worker process*, so the event loop only
concatenates bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, fields, replace
from typing import Any

from chunkscope.encode import chunk_dict
from chunkscope.languages import canonical, detect
from chunkscope.model import ChunkOptions, FileResult, StageTimes

DEFAULT_PATH = "input"
MIN_MAX_LINES = 10
MIN_MAX_BYTES = 512
"""Floors of the per-request chunk-size options: below them a reply is mostly chunk
metadata, many times the size of the source."""
TIMING_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(StageTimes))
"""``timings`` of a result: the worker's ``StageTimes`` (epoch ns, 0 for a stage not run)."""


class ApiError(Exception):
    """A request the service refuses, with the status code that tells the client why."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


class ReplyTooLarge(Exception):
    """The encoded reply would pass the service's reply limit; raised in the worker, so the
    oversized reply is never built, shipped or buffered."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit

    def api_error(self) -> ApiError:
        return ApiError(
            413,
            "response_too_large",
            f"the reply would exceed {self.limit} bytes; send fewer or smaller files, "
            "or larger max_lines/max_bytes",
        )


class ReplyBudget:
    """Bytes left for one request's encoded reply; ``charge`` raises once they run out."""

    __slots__ = ("left", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit

    def charge(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise ReplyTooLarge(self.limit)


@dataclass(frozen=True, slots=True)
class FileRequest:
    """One file to chunk: bytes, the path it is reported under, the resolved language."""

    content: bytes
    path: str
    language: str | None


def _language(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ApiError(400, "invalid_request", f"{where}language must be a string")
    name = canonical(value)
    if name is None:
        raise ApiError(422, "unknown_language", f"{where}unknown language {value!r}")
    return name


def _content(item: dict[str, Any], where: str) -> bytes:
    """``content`` (text) or ``content_base64`` (any bytes); lone surrogates pass through.

    ``surrogatepass`` turns an escaped lone surrogate into the invalid UTF-8 bytes it
    stands for, which the chunker handles as it handles such bytes read from disk.
    """
    if "content_base64" in item:
        raw = item["content_base64"]
        if not isinstance(raw, str):
            raise ApiError(400, "invalid_request", f"{where}content_base64 must be a string")
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ApiError(400, "invalid_request", f"{where}content_base64: {exc}") from None
    text = item.get("content")
    if not isinstance(text, str):
        raise ApiError(400, "invalid_request", f"{where}content (a string) is required")
    return text.encode("utf-8", "surrogatepass")


def clean_path(path: str) -> str:
    """``path`` as valid Unicode: each lone surrogate (from a JSON escape) becomes ``?``."""
    return path.encode("utf-8", "replace").decode("utf-8")


def _file(item: Any, where: str = "") -> FileRequest:
    if not isinstance(item, dict):
        raise ApiError(400, "invalid_request", f"{where}expected a JSON object")
    path = item.get("path") or DEFAULT_PATH
    if not isinstance(path, str):
        raise ApiError(400, "invalid_request", f"{where}path must be a string")
    content = _content(item, where)
    return FileRequest(content, clean_path(path), _language(item.get("language"), where))


def _options_from(data: dict[str, Any], base: ChunkOptions) -> ChunkOptions:
    values: dict[str, int] = {}
    for key, floor in (("max_lines", MIN_MAX_LINES), ("max_bytes", MIN_MAX_BYTES)):
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise ApiError(400, "invalid_request", f"{key} must be an integer")
        if value < floor:
            raise ApiError(400, "invalid_request", f"{key} must be at least {floor}")
        values[key] = value
    return replace(base, **values) if values else base


def _json(body: bytes) -> Any:
    """The parsed body; nesting deeper than the interpreter's recursion limit is a 400."""
    try:
        return json.loads(body)
    except RecursionError:
        raise ApiError(400, "invalid_json", "request body is nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, "invalid_json", f"request body is not valid JSON: {exc}") from None


def require_detectable(file: FileRequest) -> FileRequest:
    """A single-file request must name a language or a path that reveals one."""
    if file.language is None and detect(file.path, file.content[:256]) is None:
        raise ApiError(
            422,
            "unknown_language",
            f"no language given and none detected from path {file.path!r}",
        )
    return file


def parse_single(
    body: bytes, content_type: str, query: dict[str, str], base: ChunkOptions
) -> tuple[FileRequest, ChunkOptions]:
    """``POST /v1/chunk``: a JSON object, or the raw file with ``?path=&language=``."""
    if content_type.split(";")[0].strip().lower() == "application/json":
        data = _json(body)
        file = _file(data)
        return require_detectable(file), _options_from(data, base)
    params: dict[str, Any] = dict(query)
    for key in ("max_lines", "max_bytes"):
        if key in params:
            try:
                params[key] = int(params[key])
            except ValueError:
                raise ApiError(400, "invalid_request", f"{key} must be an integer") from None
    file = FileRequest(
        body, clean_path(query.get("path") or DEFAULT_PATH), _language(query.get("language"), "")
    )
    return require_detectable(file), _options_from(params, base)


def parse_batch(
    body: bytes, max_files: int, base: ChunkOptions
) -> tuple[list[FileRequest], ChunkOptions]:
    """``POST /v1/chunk/batch``: ``{"files": [{path, language, content}, ...]}``.

    Files whose language cannot be detected come back skipped (``unknown_language``),
    as the CLI reports them; a language *name* nobody knows is a client error (422).
    """
    data = _json(body)
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise ApiError(400, "invalid_request", 'expected {"files": [...]}')
    items = data["files"]
    if len(items) > max_files:
        raise ApiError(413, "too_many_files", f"{len(items)} files; the limit is {max_files}")
    files = [_file(item, f"files[{i}]: ") for i, item in enumerate(items)]
    return files, _options_from(data, base)


def result_dict(result: FileResult) -> dict[str, Any]:
    """A ``FileResult`` as the service returns it: every field, chunks as objects."""
    return {
        "path": result.path,
        "outcome": result.outcome,
        "language": result.language,
        "size": result.size,
        "reason": result.reason,
        "error": result.error,
        "has_syntax_error": result.has_syntax_error,
        "seconds": result.seconds,
        "timings": {name: getattr(result.timings, name) for name in TIMING_FIELDS},
        "cache": result.cache,
        "chunks": [chunk_dict(c) for c in result.chunks],
    }


def _encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "replace")


def encode_result(result: FileResult, budget: ReplyBudget | None = None) -> bytes:
    """Valid UTF-8 JSON; a lone surrogate left in a string becomes ``?``.

    Chunks are encoded one at a time and charged to ``budget`` as they go, so a reply
    that would pass the limit stops at the limit instead of being built whole first.
    """
    if budget is None:
        return _encode(result_dict(result))
    head = result_dict(replace(result, chunks=()))
    del head["chunks"]  # the last key: it goes back on as the encoded list
    prefix = _encode(head)[:-1] + b', "chunks": ['
    budget.charge(len(prefix) + 2)
    parts: list[bytes] = []
    for c in result.chunks:
        part = _encode(chunk_dict(c))
        budget.charge(len(part) + 2)
        parts.append(part)
    return prefix + b", ".join(parts) + b"]}"
