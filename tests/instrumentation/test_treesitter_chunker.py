"""TreesitterChunkerInstrumentor never changes treesitter-chunker: outputs, exceptions, the
process pool and pickling are the same with it; uninstrument() puts every original back."""

from __future__ import annotations

import json
import logging
import pickle
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import chunker
import pytest
import wrapt
from chunker import core, parallel, streaming
from chunker.exceptions import LanguageNotFoundError
from opentelemetry.instrumentation.chunkscope import _safety
from opentelemetry.instrumentation.treesitter_chunker import TreesitterChunkerInstrumentor, _probe
from opentelemetry.instrumentation.treesitter_chunker import _record as record_module
from otel_support import Telemetry, clean_env
from tsc_support import as_data, copy_tree, instrumented, javascript_files, python_files

_Proxy = getattr(wrapt, "BaseObjectProxy", wrapt.ObjectProxy)

TEXTS = [
    ("def f():\n    return 1\n\n\nclass C:\n    def m(self):\n        return 2\n", "python"),
    ("def broken(:\n    pass\n\ndef fine():\n    return 1\n", "python"),
    ("", "python"),
    ("function f(a) { return a + 1 }\nclass K { m() { return 2 } }\n", "javascript"),
    ("const g = (x) => x * 2;\nexport default g;\n", "javascript"),
]


@pytest.fixture
def tsc() -> Iterator[Telemetry]:
    instrumentor, telemetry = instrumented()
    try:
        yield telemetry
    finally:
        instrumentor.uninstrument()


def _files() -> list[tuple[Path, str]]:
    return [(p, "python") for p in python_files(12)] + [
        (p, "javascript") for p in javascript_files(8)
    ]


def _outputs() -> dict[str, Any]:
    """Every public entry on the corpus, as plain data."""
    files = _files()
    return {
        "chunk_file": [as_data(chunker.chunk_file(p, lang)) for p, lang in files],
        "core.chunk_file": [as_data(core.chunk_file(p, lang)) for p, lang in files[:4]],
        "chunk_text": [as_data(chunker.chunk_text(t, lang, file_path="t")) for t, lang in TEXTS],
        "stream": [as_data(chunker.chunk_file_streaming(p, lang)) for p, lang in files[:6]],
    }


def _raised(call: Any) -> BaseException:
    with pytest.raises(BaseException) as info:
        call()
    return info.value


class TestOutputs:
    def test_outputs_identical_with_and_without(self) -> None:
        """Every chunk field of real Python and JavaScript files is the same when instrumented."""
        before = _outputs()
        instrumentor, _telemetry = instrumented()
        try:
            during = _outputs()
        finally:
            instrumentor.uninstrument()
        assert sum(len(c) for c in before["chunk_file"]) > 100
        assert during == before

    def test_stream_stopped_early_yields_the_same_prefix(self, tsc: Telemetry) -> None:
        """A consumer that stops after two chunks gets the same two chunks."""
        path = python_files(1)[0]
        stream = chunker.chunk_file_streaming(path, "python")
        first = [next(stream), next(stream)]
        stream.close()
        assert as_data(first) == as_data(list(chunker.chunk_file_streaming(path, "python"))[:2])


class TestExceptions:
    def test_language_not_found_reaches_the_caller_unchanged(self, tsc: Telemetry) -> None:
        """An unavailable grammar raises the same LanguageNotFoundError, message and all."""
        instrumentor = TreesitterChunkerInstrumentor()
        instrumentor.uninstrument()
        plain = _raised(lambda: chunker.chunk_text("x = 1\n", "go"))
        instrumentor.instrument(tracer_provider=tsc.tracer_provider)
        wrapped = _raised(lambda: chunker.chunk_text("x = 1\n", "go"))
        assert type(wrapped) is type(plain) is LanguageNotFoundError
        assert str(wrapped) == str(plain)
        assert wrapped.args == plain.args

    def test_missing_file_and_stream_errors_unchanged(self, tsc: Telemetry, tmp_path: Path) -> None:
        """chunk_file and chunk_file_streaming raise what treesitter-chunker raises."""
        missing = tmp_path / "nope.py"
        error = _raised(lambda: chunker.chunk_file(missing, "python"))
        assert type(error) is FileNotFoundError and error.filename == str(missing)
        stream_error = _raised(lambda: list(chunker.chunk_file_streaming(missing, "python")))
        assert type(stream_error) is FileNotFoundError
        source = tmp_path / "a.rs"
        source.write_text("fn main() {}\n")
        assert type(_raised(lambda: chunker.chunk_file(source, "rust"))) is LanguageNotFoundError

    def test_a_failing_recorder_is_logged_once_and_swallowed(
        self,
        tsc: Telemetry,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """A raising recorder: the same chunks come back; one warning, then silence."""
        files = python_files(3)
        expected = [as_data(core.chunk_file(p, "python")) for p in files]

        calls = 0

        def broken_clock() -> int:
            nonlocal calls
            calls += 1
            if calls % 3 == 0:
                raise RuntimeError("clock broke")
            return 0

        def broken(*_args: Any) -> None:
            raise RuntimeError("recorder broke")

        monkeypatch.setattr(_safety, "_reported", False)
        monkeypatch.setattr(record_module, "to_result", broken)
        monkeypatch.setattr(_probe, "now_ns", broken_clock)
        with caplog.at_level(logging.WARNING, logger="opentelemetry.instrumentation.chunkscope"):
            got = [as_data(chunker.chunk_file(p, "python")) for p in files]
        assert got == expected
        warnings = [r for r in caplog.records if "broke" in r.getMessage()]
        assert len(warnings) == 1
        assert calls >= 3


class TestRoundTrip:
    def test_uninstrument_restores_originals(self) -> None:
        """instrument() wraps every entry; uninstrument() puts the very same objects back."""
        places = [(owner, name) for owner, name, _ in _probe.targets()]
        places += [(parallel, "ProcessPoolExecutor")]
        originals = {(id(o), n): vars(o)[n] for o, n in places}
        method = vars(parallel.ParallelChunker)["chunk_files_parallel"]
        assert len(places) >= 12
        instrumentor = TreesitterChunkerInstrumentor()
        instrumentor.instrument()
        try:
            for owner, name in places:
                assert isinstance(vars(owner)[name], _Proxy), (owner, name)
            assert isinstance(vars(parallel.ParallelChunker)["chunk_files_parallel"], _Proxy)
        finally:
            instrumentor.uninstrument()
        for owner, name in places:
            assert vars(owner)[name] is originals[(id(owner), name)], (owner, name)
        assert vars(parallel.ParallelChunker)["chunk_files_parallel"] is method
        assert core.get_parser is streaming.get_parser is chunker.get_parser

    def test_no_spans_after_uninstrument(self) -> None:
        """Once uninstrumented, chunking records nothing."""
        instrumentor, telemetry = instrumented()
        instrumentor.uninstrument()
        chunker.chunk_text(*TEXTS[0])
        chunker.chunk_file(python_files(1)[0], "python")
        assert telemetry.spans() == []


class TestPool:
    def test_pickling_of_the_pool_task_still_works(self, tsc: Telemetry) -> None:
        """The bound method chunk_files_parallel submits still pickles and round-trips."""
        worker = parallel.ParallelChunker("python", num_workers=1, use_cache=False)
        clone = pickle.loads(pickle.dumps(worker._process_single_file))
        path = python_files(1)[0]
        assert as_data(clone(path)[1]) == as_data(core.chunk_file(path, "python"))

    def test_chunk_directory_returns_every_files_chunks(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With the process pool (fork), every file comes back with the same chunks."""
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        folder = copy_tree(python_files(10), tmp_path / "src")
        plain = chunker.chunk_directory(folder, "python", num_workers=2, use_cache=False)
        instrumentor, _telemetry = instrumented()
        try:
            measured = chunker.chunk_directory(folder, "python", num_workers=2, use_cache=False)
            cached = [chunker.chunk_directory(folder, "python", num_workers=2) for _ in range(2)]
        finally:
            instrumentor.uninstrument()
        assert len(plain) == 10 and sum(map(len, plain.values())) > 50
        assert {p: as_data(c) for p, c in measured.items()} == {
            p: as_data(c) for p, c in plain.items()
        }
        for run in cached:
            assert {p: as_data(c) for p, c in run.items()} == {
                p: as_data(c) for p, c in plain.items()
            }

    def test_spawned_pool_returns_every_files_chunks(self, tmp_path: Path) -> None:
        """Under spawn (no wrappers inherited) the children measure and results are intact."""
        folder = copy_tree(python_files(6), tmp_path / "src")
        code = textwrap.dedent(
            f"""
            import dataclasses, json, multiprocessing
            import chunker
            from opentelemetry.instrumentation.treesitter_chunker import (
                TreesitterChunkerInstrumentor,
            )
            from opentelemetry.sdk.trace import TracerProvider

            def run():
                found = chunker.chunk_directory({str(folder)!r}, "python", num_workers=2,
                                               use_cache=False)
                return {{str(p): [dataclasses.asdict(c) for c in cs] for p, cs in found.items()}}

            if __name__ == "__main__":
                multiprocessing.set_start_method("spawn")
                plain = run()
                TreesitterChunkerInstrumentor().instrument(tracer_provider=TracerProvider())
                measured = run()
                print(json.dumps({{"files": len(plain), "same": plain == measured,
                                  "chunks": sum(map(len, plain.values()))}}))
            """
        )
        script = tmp_path / "spawned.py"
        script.write_text(code)
        done = subprocess.run(
            [sys.executable, str(script)],
            env=clean_env(HOME=str(tmp_path)),
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        report = json.loads(done.stdout.strip().splitlines()[-1])
        assert report["files"] == 6 and report["chunks"] > 20
        assert report["same"] is True
