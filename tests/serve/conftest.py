"""Fixtures for the service tests: a real ``chunkscope serve`` subprocess on a free
loopback port (helpers in serve_support.py), every wait bounded."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from serve_support import STARTUP_SECONDS, ServeProcess, free_port, is_ready, wait_until

LARGE_SOURCE_FILES = ("typing.py", "argparse.py", "inspect.py", "tarfile.py", "subprocess.py")


@pytest.fixture
def serve_process(tmp_path: Path) -> Iterator[Callable[..., ServeProcess]]:
    """Factory: start ``chunkscope serve`` with extra args; stopped at teardown."""
    started: list[ServeProcess] = []

    def start(
        *args: str, env: dict[str, str] | None = None, nofile: int | None = None
    ) -> ServeProcess:
        """``nofile`` lowers the server's file-descriptor limit (RLIMIT_NOFILE)."""
        port = free_port()
        stderr_path = tmp_path / f"serve-{port}.stderr"
        limit = (
            f"import resource; resource.setrlimit(resource.RLIMIT_NOFILE, ({nofile}, {nofile})); "
            if nofile
            else ""
        )
        cmd = [
            sys.executable,
            "-c",
            f"{limit}import sys; from chunkscope.cli import main; sys.exit(main())",
            "serve",
            "--port",
            str(port),
            *args,
        ]
        full_env = {**os.environ, "CHUNKSCOPE_OTEL": "0", **(env or {})}
        with open(stderr_path, "wb") as err:
            proc = subprocess.Popen(
                cmd, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL, env=full_env
            )
        server = ServeProcess(proc, f"http://127.0.0.1:{port}", stderr_path)
        started.append(server)
        wait_until(
            lambda: proc.poll() is not None or is_ready(server.url),
            STARTUP_SECONDS,
            "chunkscope serve to become ready",
        )
        assert proc.poll() is None, f"chunkscope serve exited early:\n{server.stderr}"
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def stdlib_dir() -> Path:
    import sysconfig

    return Path(sysconfig.get_paths()["stdlib"])


@pytest.fixture(scope="session")
def large_sources(stdlib_dir: Path) -> list[tuple[str, bytes]]:
    """A few of the stdlib's larger modules: real code that keeps a worker busy."""
    return [(name, (stdlib_dir / name).read_bytes()) for name in LARGE_SOURCE_FILES]
