"""``RemoteChunker`` against a stub fleet: same results as local, retries bounded, nothing lost."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest
from remote_support import StubFleet

from chunkscope import ChunkOptions, chunk_paths
from chunkscope.model import FileResult
from chunkscope.remote import RemoteChunker, RemoteMetrics, RetryPolicy
from chunkscope.serve.schema import MIN_MAX_BYTES, MIN_MAX_LINES

A, B = "http://10.0.0.1:8080", "http://10.0.0.2:8080"

TREE = {
    "pkg/a.py": "def f(x):\n    return x\n\n\nclass C:\n    def m(self):\n        return 1\n",
    "pkg/b.go": "package b\n\nfunc G() int { return 2 }\n",
    "pkg/c.rs": "pub fn h() -> u8 { 3 }\n",
    "pkg/d.js": "export function k() { return 4; }\n",
    "pkg/notes.txt": "no grammar\n",
    "pkg/empty.py": "",
    "pkg/latin1.py": "s = 'caf\xe9'\n",
}


class Recorded(RemoteMetrics):
    """The metrics hooks, kept as tuples."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, int | None]] = []
        self.retries: list[tuple[str, str]] = []
        self.locals: list[str] = []

    def request(self, replica: str, status: int | None, seconds: float) -> None:
        self.requests.append((replica, status))

    def retry(self, replica: str, reason: str) -> None:
        self.retries.append((replica, reason))

    def local(self, reason: str) -> None:
        self.locals.append(reason)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    for rel, text in TREE.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("latin-1" if "latin1" in rel else "utf-8"))
    (root / "pkg" / "blob.py").write_bytes(b"\x00\x01\x02")
    return root


def view(results: list[FileResult]) -> list[tuple[object, ...]]:
    """What a run writes, per file: everything but the timing."""
    return [
        (r.path, r.outcome, r.language, r.size, r.reason, r.error, r.has_syntax_error, r.chunks)
        for r in results
    ]


def run(
    tree: Path,
    fleet: StubFleet,
    urls: list[str],
    jobs: int = 2,
    **kwargs: object,
) -> tuple[list[FileResult], RemoteChunker]:
    sleeps: list[float] = []
    kwargs.setdefault("sleep", sleeps.append)
    kwargs.setdefault("metrics", Recorded())
    remote = RemoteChunker(urls, transport=fleet.transport, **kwargs)  # type: ignore[arg-type]
    remote.sleeps = sleeps  # type: ignore[attr-defined]
    results = list(chunk_paths([str(tree)], ChunkOptions(jobs=jobs), executor=remote))
    return results, remote


def local(tree: Path) -> list[FileResult]:
    return list(chunk_paths([str(tree)], ChunkOptions()))


class TestSameAsLocal:
    def test_results_equal_a_local_run(self, tree: Path, fleet: StubFleet) -> None:
        """Chunks, skips (binary, empty, unknown language) and sizes match chunk for chunk."""
        results, _ = run(tree, fleet, [A, B], batch=2)
        assert view(results) == view(local(tree))
        assert fleet.files_sent(A) and fleet.files_sent(B)

    def test_options_travel_with_the_request(self, tree: Path, fleet: StubFleet) -> None:
        """max_lines/max_bytes and --language reach the service."""
        options = ChunkOptions(
            max_lines=MIN_MAX_LINES, max_bytes=MIN_MAX_BYTES, language="python", jobs=2
        )
        remote = RemoteChunker([A], transport=fleet.transport)
        got = list(chunk_paths([str(tree / "pkg" / "a.py")], options, executor=remote))
        want = list(chunk_paths([str(tree / "pkg" / "a.py")], options))
        assert view(got) == view(want)
        body = json.loads(fleet.requests[A][0].content)
        assert (body["max_lines"], body["max_bytes"]) == (MIN_MAX_LINES, MIN_MAX_BYTES)
        assert body["files"][0]["language"] == "python"


class TestOverload:
    def test_429_waits_retry_after_then_completes(self, tree: Path, fleet: StubFleet) -> None:
        """A replica shedding with 429 is waited for (Retry-After plus jitter), not given up on."""
        shed = {"left": 3}

        def shedding(request: httpx.Request) -> httpx.Response | None:
            if shed["left"]:
                shed["left"] -= 1
                return httpx.Response(429, headers={"Retry-After": "2"}, json={})
            return None

        fleet.scripts[A] = shedding
        results, remote = run(tree, fleet, [A], jobs=1, batch=100)
        assert view(results) == view(local(tree))
        assert len(remote.sleeps) == 3  # type: ignore[attr-defined]
        assert all(2.0 <= s <= 2.0 + remote.policy.max_backoff_seconds for s in remote.sleeps)  # type: ignore[attr-defined]
        assert remote.metrics.retries == [(A, "overloaded")] * 3  # type: ignore[union-attr]

    def test_endless_429_ends_as_an_error_after_the_bound(
        self, tree: Path, fleet: StubFleet
    ) -> None:
        """Every file is accounted for: an error outcome that says why, after N tries."""
        fleet.scripts[A] = lambda r: httpx.Response(429, headers={"Retry-After": "0"})
        policy = RetryPolicy(overload_attempts=4)
        results, _ = run(tree, fleet, [A], jobs=1, batch=100, policy=policy)
        sent = [r for r in results if r.outcome == "error"]
        assert len(results) == len(local(tree))
        assert sent and all("still 429 after 4 tries" in (r.error or "") for r in sent)
        assert all(r.error.startswith("RemoteError:") for r in sent)  # type: ignore[union-attr]
        assert len(fleet.requests[A]) == 4


class TestFailover:
    def test_5xx_is_retried_on_the_other_replica(self, tree: Path, fleet: StubFleet) -> None:
        """A replica answering 503 costs a retry elsewhere, never a file."""
        fleet.scripts[A] = lambda r: httpx.Response(
            503, json={"error": {"code": "worker_lost", "message": "gone"}}
        )
        results, remote = run(tree, fleet, [A, B], batch=1)
        assert view(results) == view(local(tree))
        assert ("http://10.0.0.1:8080", "failed") in remote.metrics.retries  # type: ignore[union-attr]
        assert fleet.files_sent(B) == len(fleet.requests[B])  # every file ended on B

    def test_connection_errors_fail_over(self, tree: Path, fleet: StubFleet) -> None:
        """No answer at all (a killed pod) is retried on another replica."""

        def vanished(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        fleet.scripts[A] = vanished
        results, _ = run(tree, fleet, [A, B], batch=1)
        assert view(results) == view(local(tree))

    def test_a_failed_replica_is_avoided_for_a_while(self, tree: Path, fleet: StubFleet) -> None:
        """After one failure the client stops sending to the replica for down_seconds."""
        fleet.scripts[A] = lambda r: httpx.Response(500)
        run(tree, fleet, [A, B], jobs=1, batch=1, policy=RetryPolicy(down_seconds=60))
        assert len(fleet.requests[A]) == 1

    def test_all_replicas_down_gives_errors_with_the_reason(self, tree: Path) -> None:
        """Real closed ports: each file is an error naming the attempts, none is lost."""
        ports = []
        for _ in range(2):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                ports.append(s.getsockname()[1])
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        remote = RemoteChunker(urls, batch=1, sleep=lambda s: None, policy=RetryPolicy(attempts=3))
        results = list(chunk_paths([str(tree)], ChunkOptions(jobs=2), executor=remote))
        assert [r.path for r in results] == [r.path for r in local(tree)]
        errors = [r for r in results if r.outcome == "error"]
        assert len(errors) == len(results) == 8  # every file read is sent, none dropped
        for r in errors:
            assert r.error.startswith("RemoteError: 3 tries failed, the last on http://127.0.0.1:")  # type: ignore[union-attr]
            assert "ConnectError" in r.error  # type: ignore[operator]

    def test_a_bad_request_is_not_retried(self, tree: Path, fleet: StubFleet) -> None:
        """A 4xx other than 413/429 is the request's fault: one try, an error outcome."""
        fleet.scripts[A] = lambda r: httpx.Response(
            400, json={"error": {"code": "invalid_request", "message": "nope"}}
        )
        results, _ = run(tree, fleet, [A], jobs=1, batch=100)
        errors = [r for r in results if r.outcome == "error"]
        assert errors and all("400 invalid_request: nope" in (r.error or "") for r in errors)
        assert len(fleet.requests[A]) == 1


class TestOversize:
    def test_files_over_the_body_limit_are_chunked_here(self, tree: Path, fleet: StubFleet) -> None:
        """A file whose request would exceed max_body_bytes never travels; its chunks match."""
        big = tree / "pkg" / "big.py"
        big.write_text("".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(400)))
        fleet.limits["max_body_bytes"] = 4096
        results, remote = run(tree, fleet, [A], batch=100)
        assert view(results) == view(local(tree))
        assert remote.metrics.locals == ["oversize"]  # type: ignore[union-attr]
        sent = [f["path"] for r in fleet.requests[A] for f in json.loads(r.content)["files"]]
        assert "pkg/big.py" not in sent
        assert all(len(r.content) <= 4096 for r in fleet.requests[A])

    def test_413_then_local_or_error_as_asked(self, tree: Path, fleet: StubFleet) -> None:
        """A 413 the client did not foresee: chunked here, or an error with oversize=error."""
        fleet.limits = {}
        fleet.scripts[A] = lambda r: httpx.Response(
            413, json={"error": {"code": "body_too_large", "message": "too big"}}
        )
        results, _ = run(tree, fleet, [A], batch=100)
        assert view(results) == view(local(tree))
        results, _ = run(tree, fleet, [A], batch=100, oversize="error")
        errors = [r for r in results if r.outcome == "error"]
        assert len(errors) == 8 and "too large for the service" in (errors[0].error or "")

    def test_413_on_a_batch_splits_it(self, tree: Path, fleet: StubFleet) -> None:
        """A batch refused as too large is sent again file by file, and all get chunked."""
        fleet.limits = {}
        fleet.scripts[A] = lambda r: (
            httpx.Response(413) if len(json.loads(r.content)["files"]) > 1 else None
        )
        results, remote = run(tree, fleet, [A], jobs=1, batch=100)
        assert view(results) == view(local(tree))
        assert remote.metrics.locals == []  # type: ignore[union-attr]
        assert len(fleet.requests[A]) == 1 + 8


def test_a_replicas_cache_outcome_reaches_the_client() -> None:
    """A replica running ``serve --cache`` says hit or miss per file; the decoded result
    keeps it, so the client's report and telemetry see what the fleet's caches did."""
    from chunkscope import chunk_source
    from chunkscope.remote.client import decode_results
    from chunkscope.serve.schema import result_dict

    answers = []
    for state in ("hit", "miss", None):
        item = result_dict(chunk_source(b"def f():\n    return 1\n", "x.py"))
        answers.append({**item, "cache": state})
    content = json.dumps({"results": answers}).encode()
    decoded = decode_results(content, ["a.py", "b.py", "c.py"])
    assert [r.cache for r in decoded] == ["hit", "miss", None]
