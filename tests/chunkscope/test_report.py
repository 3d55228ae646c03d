"""The run report lists the slowest files from the chunker's own stage timings."""

from __future__ import annotations

from pathlib import Path

import chunkscope
from chunkscope.report import SLOWEST, RunReport


def test_slowest_files_come_first_with_their_stage_times(tmp_path: Path) -> None:
    """A file 500 times bigger than the rest tops the list; every stage fits in its file."""
    for i in range(15):
        (tmp_path / f"small{i:02}.py").write_text(f"def f{i}():\n    return {i}\n")
    body = "".join(f"def g{i}(a, b):\n    return a * {i} + b\n\n\n" for i in range(3000))
    (tmp_path / "big.py").write_text(body)
    report = RunReport()
    for result in chunkscope.chunk_paths([tmp_path]):
        report.add(result)
    slowest = report.finish()["slowest"]
    assert len(slowest) == SLOWEST
    assert slowest[0]["path"] == "big.py"
    assert slowest[0]["size"] == len(body)
    assert [e["ms"] for e in slowest] == sorted((e["ms"] for e in slowest), reverse=True)
    for entry in slowest:
        assert 0 < entry["parse_ms"] + entry["extract_ms"] <= entry["ms"]
        assert entry["language"] == "python"


def test_summary_shows_the_slowest_files(tmp_path: Path) -> None:
    """The printed summary names the slowest file with its parse and extract times."""
    from rich.console import Console

    (tmp_path / "only.py").write_text("def f():\n    return 1\n")
    report = RunReport()
    for result in chunkscope.chunk_paths([tmp_path]):
        report.add(result)
    report.finish()
    console = Console(record=True, width=120)
    console.print(report.summary_table())
    text = console.export_text()
    assert "slowest files" in text and "only.py" in text and "extract ms" in text
