"""``chunkscope chunk --remote`` as a user runs it, against a real ``chunkscope serve``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_support import STARTUP_SECONDS, ServeProcess, free_port, is_ready, wait_until

STDLIB = Path(os.__file__).parent
TIMING = ("seconds", "mb_per_second", "finished_at", "output", "options", "slowest")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "CHUNKSCOPE_"))}
    return subprocess.run(
        [sys.executable, "-m", "chunkscope", "chunk", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One ``chunkscope serve`` with a single worker, on a free loopback port."""
    port = free_port()
    stderr = tmp_path_factory.mktemp("serve") / "serve.stderr"
    env = {**os.environ, "CHUNKSCOPE_OTEL": "0"}
    with open(stderr, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "chunkscope", "serve", "--port", str(port), "--workers", "1"],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
        )
    server = ServeProcess(proc, f"http://127.0.0.1:{port}", stderr)
    try:
        wait_until(
            lambda: proc.poll() is not None or is_ready(server.url), STARTUP_SECONDS, "serve"
        )
        assert proc.poll() is None, server.stderr
        yield server.url
    finally:
        server.stop()


def test_remote_output_and_report_match_a_local_run(service: str, tmp_path: Path) -> None:
    """The JSONL is byte-identical and the report's counts, skips and languages equal."""
    tree = STDLIB / "json"
    local = cli(str(tree), "-o", str(tmp_path / "l.jsonl"), "--report", str(tmp_path / "l.json"))
    remote = cli(
        str(tree),
        "-o",
        str(tmp_path / "r.jsonl"),
        "--report",
        str(tmp_path / "r.json"),
        "--remote",
        service,
        "--jobs",
        "3",
    )
    assert local.returncode == remote.returncode == 0, remote.stderr
    assert (tmp_path / "r.jsonl").read_bytes() == (tmp_path / "l.jsonl").read_bytes()
    reports = [json.loads((tmp_path / f"{n}.json").read_text()) for n in ("l", "r")]
    assert reports[1]["options"]["remote"] == [service]
    for report in reports:
        for key in TIMING:
            report.pop(key)
    assert reports[0] == reports[1]
    assert reports[0]["files"]["chunked"] > 3


def test_an_unreachable_fleet_is_exit_1_with_every_file_reported(tmp_path: Path) -> None:
    """Nothing answers: exit 1, and the report lists every file as an error with the reason."""
    url = f"http://127.0.0.1:{free_port()}"
    result = cli(str(STDLIB / "json"), "-o", str(tmp_path / "o.jsonl"), "--report",
                 str(tmp_path / "r.json"), "--remote", url)  # fmt: skip
    assert result.returncode == 1
    report = json.loads((tmp_path / "r.json").read_text())
    files = report["files"]
    assert files["errored"] > 3 and files["errored"] + files["skipped"] == files["total"]
    assert set(report["skipped"]) <= {"ignored"}  # decided by the walk, here: __pycache__
    assert report["options"]["jobs"] == 4  # no --jobs: four requests in flight per URL
    assert all("RemoteError: 3 tries failed" in e["error"] for e in report["errors"])


def test_a_remote_that_is_not_a_url_is_a_usage_error(tmp_path: Path) -> None:
    result = cli(str(STDLIB / "json"), "--remote", "localhost:8080")
    assert result.returncode == 2
    assert "--remote localhost:8080: expected an http:// or https:// URL" in result.stderr
