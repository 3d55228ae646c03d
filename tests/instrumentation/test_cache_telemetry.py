"""The chunk cache in telemetry: lookups counted as the run report counts them, hits on the
file span, and no parse or extract span for a file that was not parsed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from otel_support import Telemetry

import chunkscope
from chunkscope import cache as cache_mod
from chunkscope.model import ChunkOptions
from chunkscope.names import CACHE_HIT, CACHE_LOOKUPS, CACHE_RESULT, CODE_FILE_PATH
from chunkscope.report import RunReport


@pytest.fixture(autouse=True)
def _closed_caches() -> Iterator[None]:
    yield
    cache_mod.close_all()


def test_lookups_match_the_report_and_hits_have_no_stage_spans(
    telemetry: Telemetry, project: Path, tmp_path: Path
) -> None:
    """Two cached runs (all misses, then all hits): the counter equals the reports' sums,
    and each chunked file's span says whether it hit, with stage children only on a miss."""
    options = ChunkOptions(cache=str(tmp_path / "c.db"))
    totals = {"hit": 0, "miss": 0, "error": 0}
    for _ in range(2):
        report = RunReport(cache=options.cache)
        for result in chunkscope.chunk_paths([project], options):
            report.add(result)
        section = report.finish()["cache"]
        for result_name, key in (("hit", "hits"), ("miss", "misses"), ("error", "errors")):
            totals[result_name] += section[key]
    assert totals == {"hit": 3, "miss": 3, "error": 0}  # a.py, broken.py, lib.go

    points = telemetry.metrics()[CACHE_LOOKUPS].data.data_points
    assert {p.attributes[CACHE_RESULT]: p.value for p in points} == {"hit": 3, "miss": 3}
    assert telemetry.metrics()[CACHE_LOOKUPS].unit == "{lookup}"

    files = telemetry.by_name("chunkscope.file")
    parents = {
        s.parent.span_id
        for s in telemetry.spans()
        if s.name in ("chunkscope.parse", "chunkscope.extract") and s.parent is not None
    }
    seen: dict[str, list[bool]] = {}
    for span in files:
        if CACHE_HIT not in span.attributes:
            assert span.attributes["chunkscope.outcome"] == "skipped"
            continue
        hit = span.attributes[CACHE_HIT]
        seen.setdefault(span.attributes[CODE_FILE_PATH], []).append(hit)
        assert (span.context.span_id in parents) is (not hit)
    assert seen == {p: [False, True] for p in ("a.py", "broken.py", "lib.go")}
