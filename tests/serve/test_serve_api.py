"""The service's endpoints and every error code, over real HTTP on loopback."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from serve_support import live_app

from chunkscope import chunk_source
from chunkscope.serve import Limits, create_app
from chunkscope.serve.schema import MIN_MAX_BYTES, MIN_MAX_LINES, result_dict

MAX_BODY = 64 * 1024
MAX_FILE = 16 * 1024
MAX_BATCH = 4
PY = (
    b'"""Doc."""\nimport os\n\n\nclass Greeter:\n    def hello(self):\n        return 1\n'
    b"\n\ndef main():\n    Greeter().hello()\n"
)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    limits = Limits(
        workers=1,
        max_queue=4,
        max_body_bytes=MAX_BODY,
        max_file_bytes=MAX_FILE,
        max_batch_files=MAX_BATCH,
    )
    with live_app(create_app(limits, telemetry_on=False)) as base:
        yield base


def post_json(url: str, path: str, payload: Any) -> httpx.Response:
    return httpx.post(f"{url}{path}", json=payload, timeout=30)


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]


def without_seconds(result: dict[str, Any]) -> dict[str, Any]:
    """A result without its times (``seconds`` and the ``timings`` of each stage)."""
    return {k: v for k, v in result.items() if k not in ("seconds", "timings")}


class TestProbes:
    def test_healthz_reports_the_process(self, url: str) -> None:
        """/healthz answers 200 with the server's pid."""
        r = httpx.get(f"{url}/healthz")
        assert r.status_code == 200
        assert r.json()["status"] == "ok"
        assert isinstance(r.json()["pid"], int)

    def test_readyz_reports_warm_workers_and_grammars(self, url: str) -> None:
        """/readyz is 200 once the pool is warm and lists the loaded grammars."""
        body = httpx.get(f"{url}/readyz").json()
        assert body["ready"] is True
        assert body["workers"] == 1
        assert body["mode"] == "processes"
        assert {"python", "go", "rust", "typescript"} <= set(body["languages"])

    def test_metrics_is_404_with_telemetry_off(self, url: str) -> None:
        """Without CHUNKSCOPE_OTEL there is no registry to expose, and the body says so."""
        assert_error(httpx.get(f"{url}/metrics"), 404, "telemetry_off")


class TestChunk:
    def test_json_request_returns_the_chunks(self, url: str) -> None:
        """A JSON request gets the same chunks the library produces."""
        r = post_json(url, "/v1/chunk", {"path": "pkg/a.py", "content": PY.decode()})
        assert r.status_code == 200
        body = r.json()
        assert body["outcome"] == "chunked"
        assert [(c["kind"], c["name"]) for c in body["chunks"]] == [
            ("code", None),
            ("class", "Greeter"),
            ("method", "hello"),
            ("function", "main"),
        ]
        assert without_seconds(body) == without_seconds(result_dict(chunk_source(PY, "pkg/a.py")))

    def test_raw_body_with_query_parameters(self, url: str) -> None:
        """The raw file as the body, path and language as query parameters."""
        r = httpx.post(
            f"{url}/v1/chunk",
            params={"path": "main.txt", "language": "golang"},
            content=b"package main\n\nfunc main() {}\n",
        )
        assert r.status_code == 200
        body = r.json()
        assert body["language"] == "go"
        assert [c["name"] for c in body["chunks"] if c["kind"] == "function"] == ["main"]

    def test_language_detected_from_the_path(self, url: str) -> None:
        """Without a language the path's extension decides, as in the CLI."""
        r = httpx.post(f"{url}/v1/chunk", params={"path": "lib.rs"}, content=b"fn x() {}\n")
        assert r.json()["language"] == "rust"

    def test_chunk_options_are_honoured(self, url: str) -> None:
        """max_lines splits a long function into parts."""
        source = "def f():\n" + "".join(f"    x{i} = {i}\n" for i in range(30))
        r = post_json(url, "/v1/chunk", {"path": "f.py", "content": source, "max_lines": 10})
        parts = [c for c in r.json()["chunks"] if c["name"] == "f"]
        assert len(parts) > 1
        assert all(c["end_line"] - c["start_line"] < 10 for c in parts)


class TestBadContentBehavesAsTheCli:
    """Binary, invalid UTF-8, oversize and pathological input: 200 with the CLI's outcome."""

    def test_binary_is_skipped(self, url: str) -> None:
        """A NUL byte means binary: skipped with reason, never an error status."""
        r = post_json(url, "/v1/chunk", {"path": "a.py", "content": "x = 1\u0000\u0001"})
        assert r.status_code == 200
        assert (r.json()["outcome"], r.json()["reason"]) == ("skipped", "binary")

    def test_base64_binary_is_skipped(self, url: str) -> None:
        """content_base64 carries arbitrary bytes; an ELF header is skipped as binary."""
        blob = base64.b64encode(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256))).decode()
        r = post_json(url, "/v1/chunk", {"path": "a.py", "content_base64": blob})
        assert (r.json()["outcome"], r.json()["reason"]) == ("skipped", "binary")

    def test_invalid_utf8_raw_body_is_chunked_like_the_cli(self, url: str) -> None:
        """Invalid UTF-8 bytes are chunked (with replacement characters), as from disk."""
        source = b"def f():\n    return '\xff\xfe\xc3'\n"
        r = httpx.post(f"{url}/v1/chunk", params={"path": "bad.py"}, content=source)
        assert r.status_code == 200
        assert without_seconds(r.json()) == without_seconds(
            result_dict(chunk_source(source, "bad.py"))
        )
        assert "\ufffd" in r.json()["chunks"][0]["text"]

    def test_lone_surrogate_in_json_content(self, url: str) -> None:
        """An escaped lone surrogate becomes invalid UTF-8 bytes and is chunked, not a 500."""
        r = httpx.post(
            f"{url}/v1/chunk",
            headers={"content-type": "application/json"},
            content=b'{"path": "s.py", "content": "def f():\\n    return \\"\\udcff\\"\\n"}',
        )
        assert r.status_code == 200
        assert r.json()["outcome"] == "chunked"

    def test_lone_surrogate_in_path_becomes_a_question_mark(self, url: str) -> None:
        """A lone surrogate in ``path`` is reported as ``?`` and the file is chunked."""
        for route, body in (
            ("/v1/chunk", b'{"path": "a\\ud800.py", "content": "def f():\\n  pass\\n"}'),
            (
                "/v1/chunk/batch",
                b'{"files": [{"path": "a\\ud800.py", "content": "def f():\\n  pass\\n"}]}',
            ),
        ):
            r = httpx.post(
                f"{url}{route}", headers={"content-type": "application/json"}, content=body
            )
            assert r.status_code == 200, r.text
            result = r.json()["results"][0] if "results" in r.json() else r.json()
            assert (result["path"], result["outcome"], result["error"]) == (
                "a?.py",
                "chunked",
                None,
            )
            assert result["chunks"][0]["path"] == "a?.py"

    def test_deep_nesting_is_chunked(self, url: str) -> None:
        """Ten thousand nested brackets parse and extract without recursion errors."""
        source = "x = " + "[" * 5000 + "]" * 5000 + "\n"
        r = post_json(url, "/v1/chunk", {"path": "deep.py", "content": source})
        assert r.status_code == 200
        assert r.json()["outcome"] == "chunked"

    def test_file_over_max_file_bytes_is_skipped(self, url: str) -> None:
        """A file over --max-file-bytes but under the body limit is skipped as too_large."""
        source = "x = 1\n" * (MAX_FILE // 6 + 10)
        r = post_json(url, "/v1/chunk", {"path": "big.py", "content": source})
        assert (r.json()["outcome"], r.json()["reason"]) == ("skipped", "too_large")

    def test_empty_file_is_skipped(self, url: str) -> None:
        """No bytes, nothing to chunk: skipped as empty."""
        r = httpx.post(f"{url}/v1/chunk", params={"path": "e.py"}, content=b"")
        assert (r.json()["outcome"], r.json()["reason"]) == ("skipped", "empty")


class TestErrors:
    def test_invalid_json_is_400(self, url: str) -> None:
        """A body that is not JSON under a JSON content type is a 400 with a JSON body."""
        r = httpx.post(
            f"{url}/v1/chunk", content=b"{nope", headers={"content-type": "application/json"}
        )
        assert_error(r, 400, "invalid_json")

    def test_json_without_content_is_400(self, url: str) -> None:
        """A JSON object without content is an invalid request."""
        assert_error(post_json(url, "/v1/chunk", {"path": "a.py"}), 400, "invalid_request")

    def test_non_integer_option_is_400(self, url: str) -> None:
        """Options are validated, not passed through."""
        r = post_json(url, "/v1/chunk", {"path": "a.py", "content": "x", "max_lines": "ten"})
        assert_error(r, 400, "invalid_request")

    def test_json_nested_a_thousand_deep_is_400(self, url: str) -> None:
        """Nesting past the parser's recursion limit is the client's error, on both routes."""
        deep = b"[" * 1000 + b"]" * 1000
        for route in ("/v1/chunk", "/v1/chunk/batch"):
            r = httpx.post(
                f"{url}{route}", content=deep, headers={"content-type": "application/json"}
            )
            assert_error(r, 400, "invalid_json")
            assert "nested too deeply" in r.json()["error"]["message"]

    def test_options_below_the_floor_are_400(self, url: str) -> None:
        """max_lines and max_bytes have minimums: tiny chunks would make replies balloon."""
        for key, floor in (("max_lines", MIN_MAX_LINES), ("max_bytes", MIN_MAX_BYTES)):
            r = post_json(url, "/v1/chunk", {"path": "a.py", "content": "x = 1", key: floor - 1})
            assert_error(r, 400, "invalid_request")
            assert str(floor) in r.json()["error"]["message"]
            r = httpx.post(
                f"{url}/v1/chunk", params={"path": "a.py", key: str(floor - 1)}, content=b"x=1"
            )
            assert_error(r, 400, "invalid_request")
            r = post_json(url, "/v1/chunk", {"path": "a.py", "content": "x = 1", key: floor})
            assert r.status_code == 200

    def test_unknown_language_name_is_422(self, url: str) -> None:
        """A language nobody knows is 422, for JSON and raw requests alike."""
        r = post_json(url, "/v1/chunk", {"path": "a.cob", "language": "cobol", "content": "x"})
        assert_error(r, 422, "unknown_language")
        r = httpx.post(f"{url}/v1/chunk", params={"language": "cobol"}, content=b"x")
        assert_error(r, 422, "unknown_language")

    def test_undetectable_language_is_422(self, url: str) -> None:
        """No language and a path that reveals none: 422 for a single file."""
        r = post_json(url, "/v1/chunk", {"path": "notes.txt", "content": "hello"})
        assert_error(r, 422, "unknown_language")

    def test_declared_oversize_body_is_413(self, url: str) -> None:
        """A Content-Length over the limit is refused before the body is read."""
        r = httpx.post(f"{url}/v1/chunk", params={"path": "a.py"}, content=b"#" * (MAX_BODY + 1))
        assert_error(r, 413, "body_too_large")

    def test_streamed_oversize_body_is_413(self, url: str) -> None:
        """A chunked upload without Content-Length is cut off once it passes the limit."""

        async def body() -> AsyncIterator[bytes]:
            for _ in range(MAX_BODY // 4096 + 2):
                yield b"#" * 4096

        async def send() -> httpx.Response:
            async with httpx.AsyncClient() as client:
                return await client.post(f"{url}/v1/chunk", params={"path": "a.py"}, content=body())

        import asyncio

        r = asyncio.run(send())
        assert "content-length" not in r.request.headers
        assert_error(r, 413, "body_too_large")

    def test_unknown_route_and_wrong_method_have_json_errors(self, url: str) -> None:
        """404 and 405 come in the same JSON error shape as the service's own refusals."""
        assert_error(httpx.post(f"{url}/v1/nothing", content=b""), 404, "not_found")
        assert_error(httpx.get(f"{url}/v1/chunk"), 405, "method_not_allowed")


class TestBatch:
    def test_batch_returns_results_in_order(self, url: str) -> None:
        """Each file gets a result, in request order; an undetectable one is skipped."""
        files = [
            {"path": "a.py", "content": "def a():\n    pass\n"},
            {"path": "b.js", "content": "function b() {}\n"},
            {"path": "README", "content": "plain text"},
        ]
        r = post_json(url, "/v1/chunk/batch", {"files": files})
        assert r.status_code == 200
        results = r.json()["results"]
        assert [x["path"] for x in results] == ["a.py", "b.js", "README"]
        assert [x["outcome"] for x in results] == ["chunked", "chunked", "skipped"]
        assert results[2]["reason"] == "unknown_language"
        assert [c["name"] for c in results[1]["chunks"]] == ["b"]

    def test_batch_with_unknown_language_name_is_422(self, url: str) -> None:
        """Naming a language that does not exist fails the request, naming the file."""
        files = [
            {"path": "a.py", "content": "x"},
            {"path": "b", "language": "klingon", "content": "x"},
        ]
        r = post_json(url, "/v1/chunk/batch", {"files": files})
        assert_error(r, 422, "unknown_language")
        assert "files[1]" in r.json()["error"]["message"]

    def test_batch_over_file_limit_is_413(self, url: str) -> None:
        """More files than --max-batch-files is refused as too large."""
        files = [{"path": f"{i}.py", "content": "x = 1"} for i in range(MAX_BATCH + 1)]
        assert_error(post_json(url, "/v1/chunk/batch", {"files": files}), 413, "too_many_files")

    def test_batch_without_files_list_is_400(self, url: str) -> None:
        """The batch body must be an object with a files list."""
        assert_error(post_json(url, "/v1/chunk/batch", [1, 2]), 400, "invalid_request")


def test_a_request_over_its_budget_frees_the_worker_at_once(
    large_sources: list[tuple[str, bytes]],
) -> None:
    """The worker stops a file at the request's --timeout (200, the file ``error`` with
    reason ``timeout``, not a 504) and is free again right away; --file-timeout likewise."""
    name, source = max(large_sources, key=lambda item: len(item[1]))
    big = source * (1_500_000 // len(source) + 1)
    for limits in (
        Limits(workers=1, max_queue=1, request_timeout_seconds=0.05, file_timeout_seconds=0),
        Limits(workers=1, max_queue=1, file_timeout_seconds=0.05),
    ):
        with live_app(create_app(limits, telemetry_on=False)) as base:
            r = httpx.post(f"{base}/v1/chunk", params={"path": name}, content=big, timeout=60)
            assert r.status_code == 200, r.text
            assert (r.json()["outcome"], r.json()["reason"]) == ("error", "timeout")
            assert r.json()["seconds"] < 1.0
            assert httpx.get(f"{base}/readyz").json()["in_flight"] == 0


def test_reply_over_the_limit_is_413_and_the_slot_comes_back() -> None:
    """A request whose reply would pass --max-response-bytes is refused with the reason;
    the same request under the limit is answered, and nothing stays admitted."""
    source = "".join(f"def f{i}():\n    pass\n\n\n" for i in range(400)).encode()
    reply = len(json.dumps(result_dict(chunk_source(source, "many.py"))))
    limits = Limits(workers=1, max_queue=1, max_response_bytes=reply // 2)
    with live_app(create_app(limits, telemetry_on=False)) as base:
        r = httpx.post(f"{base}/v1/chunk", params={"path": "many.py"}, content=source)
        assert_error(r, 413, "response_too_large")
        assert str(reply // 2) in r.json()["error"]["message"]
        half = source[: len(source) // 3]
        assert httpx.post(f"{base}/v1/chunk", params={"path": "m.py"}, content=half).is_success
        assert httpx.get(f"{base}/readyz").json()["in_flight"] == 0
