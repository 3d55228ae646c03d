"""The exit path: the three signals shut down in parallel within one deadline, and a deadline
that passes is the run's one ``telemetry.export_failed`` warning."""

from __future__ import annotations

import threading
import time

import pytest
from opentelemetry.instrumentation.chunkscope import _safety, _shutdown


class Provider:
    """A provider whose shutdown and flush take ``seconds`` (or block until released)."""

    def __init__(self, seconds: float, release: threading.Event | None = None) -> None:
        self.seconds = seconds
        self.release = release
        self.calls = 0

    def _work(self) -> None:
        self.calls += 1
        if self.release is not None:
            self.release.wait(30)
        else:
            time.sleep(self.seconds)

    shutdown = force_flush = _work


@pytest.fixture
def warnings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The undelivered-telemetry warnings given, with the once-per-process latch reset."""
    given: list[str] = []
    monkeypatch.setattr(_safety, "_undelivered_warned", False)
    monkeypatch.setattr(_safety, "_log_undelivered", given.append)
    return given


@pytest.mark.parametrize("method", [_shutdown.shutdown, _shutdown.flush])
def test_three_signals_run_in_parallel(method, warnings: list[str]) -> None:
    """Three providers taking 0.6 s each are done in well under 1.2 s: not one after another."""
    providers = [Provider(0.6) for _ in range(3)]
    started = time.monotonic()
    assert method(providers, timeout=5) is True
    elapsed = time.monotonic() - started
    assert [p.calls for p in providers] == [1, 1, 1]
    assert elapsed < 1.1, elapsed
    assert warnings == []


def test_a_passed_deadline_returns_in_time_and_warns_once(warnings: list[str]) -> None:
    """Providers that never finish: back after the deadline, one warning for two shutdowns."""
    release = threading.Event()
    providers = [Provider(0, release) for _ in range(3)]
    try:
        started = time.monotonic()
        assert _shutdown.shutdown(providers, timeout=0.5) is False
        assert _shutdown.flush(providers, timeout=0.5) is False
        elapsed = time.monotonic() - started
    finally:
        release.set()
    assert 1.0 <= elapsed < 2.0, elapsed
    assert len(warnings) == 1
    assert "did not finish within 0.5 s" in warnings[0]


def test_the_exit_path_waits_for_a_warning_being_written(monkeypatch) -> None:
    """An exporter thread that is writing the warning finishes it before the exit path returns:
    the interpreter exits right after, and a half-written warning would be no warning."""
    written: list[str] = []
    started = threading.Event()

    def slow_log(detail: str) -> None:
        started.set()
        time.sleep(0.3)
        written.append(detail)

    monkeypatch.setattr(_safety, "_undelivered_warned", False)
    monkeypatch.setattr(_safety, "_log_undelivered", slow_log)
    exporter = threading.Thread(target=_safety.warn_undelivered, args=("export failed",))
    exporter.start()
    assert started.wait(5)
    release = threading.Event()
    try:
        assert _shutdown.shutdown([Provider(0, release)], timeout=0.05) is False
        assert written == ["export failed"]
    finally:
        release.set()
        exporter.join(5)
