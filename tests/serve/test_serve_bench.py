"""``chunkscope bench`` baselines and ``--compare`` exit codes, and ``chunkscope loadtest``."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from serve_support import ServeProcess

from chunkscope.baseline import Tolerances, compare, document
from chunkscope.config import DEFAULT
from chunkscope.loadtest import SCENARIOS, SourceFile, percentile, rss_verdict
from chunkscope.loadtest.runner import _request

CLI = "import sys; from chunkscope.cli import main; sys.exit(main())"


def chunkscope(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    for i in range(12):
        body = "".join(f"def f{i}_{j}(x):\n    return x * {j}\n\n\n" for j in range(40))
        (root / f"mod{i}.py").write_text(f"class C{i}:\n    pass\n\n\n{body}")
    (root / "lib.go").write_text("package lib\n\nfunc A() int { return 1 }\n")
    return root


def scaled(doc: dict[str, Any], throughput: float, latency: float) -> dict[str, Any]:
    """The same document with throughput figures times ``throughput``, latency times ``latency``."""
    out = json.loads(json.dumps(doc))
    for figure in out["metrics"].values():
        figure["value"] *= throughput if figure["better"] == "higher" else latency
    return out


BASE_FIGURES = {"mb_per_second": 10.0, "files_per_second": 100.0, "file_p95_seconds": 0.01}


def compare_saved(
    tmp_path: Path, throughput: float, latency: float, *extra: str
) -> subprocess.CompletedProcess[str]:
    """``bench --results NOW --compare BASE``, NOW being BASE scaled by the two factors."""
    base = document(BASE_FIGURES)
    (tmp_path / "base.json").write_text(json.dumps(base))
    (tmp_path / "now.json").write_text(json.dumps(scaled(base, throughput, latency)))
    now, against = str(tmp_path / "now.json"), str(tmp_path / "base.json")
    return chunkscope("bench", "--results", now, "--compare", against, *extra)


class TestBenchCli:
    def test_save_then_compare_against_synthetic_baselines(
        self, corpus: Path, tmp_path: Path
    ) -> None:
        """A baseline 100x faster than now fails the compare (exit 1); a 100x slower one passes."""
        saved = tmp_path / "baseline.json"
        r = chunkscope(
            "bench", "--corpus", str(corpus), "--repeat", "1", "--save-baseline", str(saved)
        )
        assert r.returncode == 0, r.stderr
        doc = json.loads(saved.read_text())
        assert doc["metrics"]["chunker.mb_per_second"]["value"] > 0
        assert doc["details"]["chunker"]["files"] == 13

        inflated = tmp_path / "inflated.json"
        inflated.write_text(json.dumps(scaled(doc, 100.0, 0.01)))
        r = chunkscope(
            "bench", "--corpus", str(corpus), "--repeat", "1", "--compare", str(inflated)
        )
        assert r.returncode == 1, r.stdout + r.stderr
        assert "REGRESSION" in r.stdout
        assert "chunker.mb_per_second" in r.stdout

        deflated = tmp_path / "deflated.json"
        deflated.write_text(json.dumps(scaled(doc, 0.01, 100.0)))
        r = chunkscope(
            "bench", "--corpus", str(corpus), "--repeat", "1", "--compare", str(deflated)
        )
        assert r.returncode == 0, r.stdout + r.stderr
        assert "no regression" in r.stdout

    def test_tolerance_comes_from_the_thresholds_config(self, tmp_path: Path) -> None:
        """A 20 % drop fails with the default tolerance and passes when the config allows 30 %."""
        assert compare_saved(tmp_path, 0.8, 1.0).returncode == 1
        config = tmp_path / "thresholds.json"
        config.write_text(json.dumps({"bench_throughput_drop_pct": 30}))
        r = compare_saved(tmp_path, 0.8, 1.0, "--config", str(config))
        assert r.returncode == 0, r.stdout + r.stderr
        assert "throughput drop 30 %" in r.stdout

    def test_yaml_config_is_read_and_a_bad_one_refused(self, tmp_path: Path) -> None:
        """A YAML --config sets the tolerance; a typo in it exits 2 even with nothing to compare."""
        strict = tmp_path / "strict.yaml"
        strict.write_text("bench_throughput_drop_pct: 1\n")
        r = compare_saved(tmp_path, 0.97, 1.0, "--config", str(strict))
        assert r.returncode == 1, r.stdout + r.stderr
        assert "throughput drop 1 %" in r.stdout
        assert f"({strict})" in r.stdout
        typo = tmp_path / "typo.yaml"
        typo.write_text("bench_throughput_drop: 1\n")
        r = chunkscope("bench", "--results", str(tmp_path / "now.json"), "--config", str(typo))
        assert r.returncode == 2
        assert "unknown fields bench_throughput_drop" in r.stderr

    def test_p95_rise_is_a_regression(self, tmp_path: Path) -> None:
        """Same throughput, p95 up by half: exit 1 naming the latency figure."""
        r = compare_saved(tmp_path, 1.0, 1.5)
        assert r.returncode == 1
        assert "REGRESSION: chunker.file_p95_seconds" in r.stdout

    def test_unreadable_baseline_is_a_usage_error(self, tmp_path: Path) -> None:
        """A file that is not a baseline exits 2 with a message, not a traceback."""
        bogus = tmp_path / "bogus.json"
        bogus.write_text('{"hello": 1}')
        r = chunkscope("bench", "--results", str(bogus), "--compare", str(bogus))
        assert r.returncode == 2
        assert "not a chunkscope baseline" in r.stderr


def test_tolerances_are_the_thresholds_configs() -> None:
    """The bench tolerances are the config's fields, whatever file set them."""
    config = dataclasses.replace(DEFAULT, bench_throughput_drop_pct=7.5, bench_p95_rise_pct=2.0)
    assert Tolerances.from_config(config, "mine.yaml") == Tolerances(7.5, 2.0, "mine.yaml")


def test_compare_only_judges_shared_figures() -> None:
    """Figures missing from either side are not compared."""
    base = document({"mb_per_second": 1.0, "files_per_second": 1.0, "file_p95_seconds": 1.0})
    current = document(None, {})
    assert compare(base, current, Tolerances(5, 10, "test")) == []


def test_load_reports_become_comparable_figures() -> None:
    """Each load scenario contributes req/s and MB/s (higher is better) and p95 (lower)."""
    report = {
        "overall": {
            "requests_per_second": 90.0,
            "mb_per_second": 1.5,
            "latency_seconds": {"p95": 0.12},
        }
    }
    metrics = document(None, {"basic": report})["metrics"]
    assert metrics == {
        "load.basic.requests_per_second": {"value": 90.0, "better": "higher"},
        "load.basic.mb_per_second": {"value": 1.5, "better": "higher"},
        "load.basic.p95_seconds": {"value": 0.12, "better": "lower"},
    }
    slower = json.loads(json.dumps(document(None, {"basic": report})))
    slower["metrics"]["load.basic.p95_seconds"]["value"] = 0.2
    rows = compare(document(None, {"basic": report}), slower, Tolerances(5, 10, "test"))
    assert [r.name for r in rows if r.regressed] == ["load.basic.p95_seconds"]


class TestLoadtestHelpers:
    def test_json_mode_sends_the_api_json_body(self) -> None:
        """--mode json posts {path, language, content}; raw mode posts the bytes."""
        file = SourceFile("pkg/a.py", "python", b"x = 1\n")
        path, params, body, headers = _request(file, "json")
        assert (path, params, headers["content-type"]) == ("/v1/chunk", {}, "application/json")
        assert json.loads(body) == {"path": "pkg/a.py", "language": "python", "content": "x = 1\n"}
        path, params, body, _ = _request(file, "raw")
        assert (params, body) == ({"path": "pkg/a.py", "language": "python"}, b"x = 1\n")

    def test_percentile_is_nearest_rank(self) -> None:
        """p50 of 1..10 is 5, p95 is 10, nothing is 0."""
        values = [float(v) for v in range(1, 11)]
        assert (percentile(values, 50), percentile(values, 95), percentile([], 95)) == (
            5.0,
            10.0,
            0.0,
        )

    def test_rss_verdict_flat_and_growing(self) -> None:
        """A steady RSS is flat; one that doubles is not."""
        flat = [(float(t), 100_000_000 + (t % 3) * 1_000_000) for t in range(40)]
        growing = [(float(t), 100_000_000 + t * 5_000_000) for t in range(40)]
        assert rss_verdict(flat, 10.0)["flat"] is True
        assert rss_verdict(growing, 10.0)["flat"] is False

    def test_scenarios_are_the_issue_shapes(self) -> None:
        """stress is 2x, spike bursts at 5x between steady phases, endurance judges memory."""
        assert [p.concurrency_factor for p in SCENARIOS["stress"].phases] == [2.0]
        assert [p.concurrency_factor for p in SCENARIOS["spike"].phases] == [1.0, 5.0, 1.0]
        assert SCENARIOS["endurance"].judge_rss
        for scenario in SCENARIOS.values():
            assert sum(p.share for p in scenario.phases) == pytest.approx(1.0)


def test_loadtest_spike_reports_every_request(
    serve_process: Callable[..., ServeProcess], corpus: Path, tmp_path: Path
) -> None:
    """A short spike run: phases at 1x/5x/1x, every request counted, JSON report written."""
    server = serve_process("--workers", "1", "--max-queue", "1")
    out = tmp_path / "spike.json"
    r = chunkscope(
        "loadtest",
        "--url",
        server.url,
        "--scenario",
        "spike",
        "--duration",
        "3",
        "--concurrency",
        "2",
        "--corpus",
        str(corpus),
        "--json",
        str(out),
    )
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(out.read_text())
    assert [p["concurrency"] for p in report["phases"].values()] == [2, 10, 2]
    overall = report["overall"]
    assert overall["ok"] > 0
    assert overall["errors"] == 0
    assert overall["requests"] == overall["ok"] + overall["shed"]
    assert sum(p["requests"] for p in report["phases"].values()) == overall["requests"]
    lat = overall["latency_seconds"]
    assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"]
    assert report["server_pid"] == server.proc.pid
    assert "p95" in r.stdout
