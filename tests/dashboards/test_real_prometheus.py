"""Every dashboard and rule PromQL runs against a real Prometheus holding real chunkscope data.

Debian's Prometheus scrapes a real chunking process (metrics_source.py: ``CHUNKSCOPE_OTEL=1``,
``CHUNKSCOPE_PROMETHEUS_PORT``), with the generated rule files loaded. Every query on the
chunkscope and process families must return data, and every metric name the dashboards and
rules read from those families must be one the instrumentation emits. The collector (otelcol_*)
and service (http_server_*, chunkscope_serve_*) families are exercised by the deploy e2e and
serve tests; this test lists them explicitly instead of skipping them silently.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chunkscope_dashboards.config import DEFAULT
from chunkscope_dashboards.queries import all_promql, family, metric_names
from chunkscope_dashboards.rules import inline

HERE = Path(__file__).parent
COVERED_HERE = {"chunkscope", "process"}
COVERED_ELSEWHERE = {
    "collector": "tests/e2e (real collector self-telemetry)",
    "service": "tests/serve and tests/e2e (chunkscope serve)",
}
pytestmark = pytest.mark.e2e

# The target-down alert watches long-running jobs; here the scraped job is the chunking run.
CFG = dataclasses.replace(DEFAULT, target_down_selector='job="chunkscope"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def _query(base: str, expr: str) -> list[dict[str, Any]]:
    data = _get(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    assert data["status"] == "success", (expr, data)
    return data["data"]["result"]


def _wait(
    what: str, check: Any, deadline_s: float, proc: subprocess.Popen[Any] | None = None
) -> None:
    """Poll ``check`` until it returns truthy or the deadline passes (then fail)."""
    deadline = time.monotonic() + deadline_s
    last: Any = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{what}: process exited with {proc.returncode}")
        try:
            if check():
                return
        except OSError as exc:
            last = exc
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what} ({last})")


@pytest.fixture(scope="module")
def metrics_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A real chunkscope process serving its metrics while it keeps chunking."""
    port = _free_port()
    corpus = tmp_path_factory.mktemp("corpus")
    env = {
        **os.environ,
        "CHUNKSCOPE_OTEL": "1",
        "CHUNKSCOPE_PROMETHEUS_PORT": str(port),
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_SERVICE_NAME": "chunkscope",
    }
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "metrics_source.py"), str(corpus), "240"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("ready"), line
        assert line.split()[1:] == ["chunked", "error", "skipped"], line

        def serving() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                return b"chunkscope_files_total" in r.read()

        _wait("the chunkscope metrics endpoint", serving, 30, proc)
        yield port
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def prometheus(
    prometheus_bin: str, metrics_port: int, repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Debian's Prometheus scraping the chunkscope process every second, rules loaded."""
    work = tmp_path_factory.mktemp("prometheus")
    port = _free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(repo / "deploy/prometheus/rules/*.yml")],
        "scrape_configs": [
            {
                "job_name": "chunkscope",
                "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}],
            }
        ],
    }
    (work / "prometheus.yml").write_text(json.dumps(config))
    log = (work / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            prometheus_bin,
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--enable-feature=exemplar-storage",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(
            "Prometheus ready",
            lambda: urllib.request.urlopen(f"{base}/-/ready", timeout=2),
            60,
            proc,
        )
        rules = _get(f"{base}/api/v1/rules")["data"]["groups"]
        assert {g["name"] for g in rules} >= {"chunkscope.recording", "chunkscope.chunker"}
        # Enough scrapes for 1m rates, and the recording rules have been evaluated on them.
        _wait(
            "samples and recording rules",
            lambda: (
                _query(base, 'count_over_time(chunkscope_files_total{job="chunkscope"}[1m]) > 4')
                and _query(base, "job_language:chunkscope_parse_duration_seconds:p95_5m")
                and _query(base, "job:chunkscope_files:rate10m > 0")
            ),
            90,
            proc,
        )
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def _families(expr: str) -> set[str]:
    return {family(n) for n in metric_names(inline(expr, CFG))}


def _split() -> tuple[list[tuple[str, str]], dict[str, list[str]]]:
    here, elsewhere = [], {}
    for where, expr in all_promql(CFG):
        fams = _families(expr)
        assert "unknown" not in fams, (where, expr)
        outside = fams - COVERED_HERE - {"prometheus"}
        if outside:
            for f in sorted(outside):
                elsewhere.setdefault(f, []).append(where)
        else:
            here.append((where, expr))
    return here, elsewhere


def test_queries_are_split_by_family_with_nothing_unknown() -> None:
    """Each query belongs to known families; the ones not run here are listed by family."""
    here, elsewhere = _split()
    assert len(here) >= 40
    assert set(elsewhere) == set(COVERED_ELSEWHERE), elsewhere
    print(f"\nrun against real Prometheus here: {len(here)} queries (chunkscope, process, up)")
    for fam, wheres in sorted(elsewhere.items()):
        print(f"covered by {COVERED_ELSEWHERE[fam]}: {len(wheres)} {fam} queries")


def test_every_chunkscope_and_process_query_returns_data(prometheus: str) -> None:
    """Dashboard targets, variables, recording rules and alert left-hand sides all return
    series from the real run."""
    here, _ = _split()
    empty = [(where, expr) for where, expr in here if not _query(prometheus, expr)]
    assert not empty, "\n".join(f"{w}: {e}" for w, e in empty)


def test_every_referenced_metric_is_emitted(prometheus: str) -> None:
    """Every chunkscope_*/process metric name the queries read exists in what the
    instrumentation emits (as scraped by Prometheus)."""
    emitted = set(_get(f"{prometheus}/api/v1/label/__name__/values")["data"])
    referenced = {
        n
        for _, expr in all_promql(CFG)
        for n in metric_names(inline(expr, CFG))
        if family(n) in COVERED_HERE
    }
    assert referenced, "no chunkscope metric referenced?"
    assert not referenced - emitted, sorted(referenced - emitted)


def test_alerts_are_quiet_on_a_healthy_run(prometheus: str) -> None:
    """On this healthy run no chunker or resource alert is firing or pending, except the
    error ratio, which the deliberate missing path drives above its threshold."""
    data = _get(f"{prometheus}/api/v1/alerts")["data"]["alerts"]
    names = {a["labels"]["alertname"] for a in data}
    assert names <= {"ChunkscopeHighErrorRatio"}, names


def test_cache_hit_ratio_is_a_ratio_of_real_lookups(prometheus: str) -> None:
    """The Overview's hit-ratio query, on a process that re-chunks an unchanged corpus through
    a cache (one pass of misses, then hits), reads mostly hits and never above 1."""
    (expr,) = [e for where, e in all_promql(CFG) if "'Cache hit ratio'" in where]
    (sample,) = _query(prometheus, expr)
    assert 0.5 < float(sample["value"][1]) <= 1.0
