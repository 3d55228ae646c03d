"""``chunkscope serve --cache``: two worker processes and a CLI run share one cache."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from chunkscope import chunk_source
from chunkscope.serve.schema import result_dict


def _post(url: str, path: str, content: bytes) -> dict[str, object]:
    response = httpx.post(
        f"{url}/v1/chunk", json={"path": path, "content": content.decode()}, timeout=60
    )
    assert response.status_code == 200, response.text
    return response.json()


UNTIMED = {"seconds": None, "timings": None}


def _expected(content: bytes, path: str, cache: str) -> dict[str, object]:
    """What the service answers without a cache, but for the cache field and the timings."""
    return {**result_dict(chunk_source(content, path)), "cache": cache, **UNTIMED}


def test_workers_share_the_cache_with_a_cli_run(
    serve_process, stdlib_dir: Path, tmp_path: Path
) -> None:
    """Requests miss, then hit in either worker, renamed or not, while the CLI writes to the
    same file; every answer is the uncached one."""
    db = tmp_path / "c.db"
    server = serve_process("--workers", "2", "--cache", str(db))
    names = sorted(p.name for p in (stdlib_dir / "email").glob("*.py"))[:16]
    sources = {name: (stdlib_dir / "email" / name).read_bytes() for name in names}
    email = str(stdlib_dir / "email")
    cli = subprocess.Popen(
        [sys.executable, "-m", "chunkscope", "chunk", email, "-j2", "--cache", str(db), "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        with ThreadPoolExecutor(4) as pool:
            first = list(pool.map(lambda n: _post(server.url, n, sources[n]), names))
            second = list(pool.map(lambda n: _post(server.url, "moved/" + n, sources[n]), names))
    finally:
        _, err = cli.communicate(timeout=180)
    assert cli.returncode == 0, err
    for name, a, b in zip(names, first, second, strict=True):
        assert a["cache"] in ("hit", "miss")  # the CLI may have stored it first
        assert {**a, **UNTIMED} == _expected(sources[name], name, a["cache"])
        assert {**b, **UNTIMED} == _expected(sources[name], "moved/" + name, "hit")
    assert "warning" not in server.stderr


def test_no_cache_by_default(serve_process) -> None:
    """Without --cache the service says so in every result."""
    server = serve_process("--workers", "1")
    assert _post(server.url, "a.py", b"def f():\n    return 1\n")["cache"] is None


def test_lookups_are_counted_on_metrics(serve_process, tmp_path: Path) -> None:
    """With telemetry on, the server counts its workers' lookups by result on /metrics."""
    server = serve_process(
        "--workers",
        "1",
        "--cache",
        str(tmp_path / "c.db"),
        env={
            "CHUNKSCOPE_OTEL": "1",
            "OTEL_TRACES_EXPORTER": "none",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
        },
    )
    source = b"def f():\n    return 1\n"
    states = [_post(server.url, name, source)["cache"] for name in ("a.py", "b.py", "c.py")]
    assert states == ["miss", "hit", "hit"]
    lines = httpx.get(f"{server.url}/metrics", timeout=30).text.splitlines()
    counted = {
        result: float(line.rsplit(" ", 1)[1])
        for line in lines
        if line.startswith("chunkscope_cache_lookups_total{")
        for result in ("hit", "miss", "error")
        if f'chunkscope_cache_result="{result}"' in line
    }
    assert counted == {"miss": 1.0, "hit": 2.0}
