"""The end-to-end test: ``CHUNKSCOPE_OTEL=1 chunkscope chunk`` on a real multi-language
folder, through the real collector, checked through the own APIs of Jaeger, Prometheus and the
log store (VictoriaLogs) the collector's Loki exporter ships to."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from e2e_stack import Collector, Process, Stack, free_port, get_json, http_get, wait_until

pytestmark = pytest.mark.e2e

CHUNKED, SKIPPED = 'chunkscope_outcome="chunked"', 'chunkscope_outcome="skipped"'
CANARY = "chunkscope_canary_" + secrets.token_hex(6)
"""Written into the sources; must appear in no trace, metric or log."""

SOURCES = {
    "app/main.py": f'''"""Entry point."""


def greet(name: str) -> str:
    secret = "{CANARY}"
    return f"hello {{name}} {{len(secret)}}"


class Greeter:
    def __init__(self, name: str) -> None:
        self.name = name

    def run(self) -> str:
        return greet(self.name)
''',
    "app/util.py": "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n",
    "svc/server.go": """package svc

import "fmt"

type Server struct{ Port int }

func (s *Server) Addr() string { return fmt.Sprintf(":%d", s.Port) }

func New(port int) *Server { return &Server{Port: port} }
""",
    "core/src/lib.rs": """pub struct Counter { n: u64 }

impl Counter {
    pub fn new() -> Self { Counter { n: 0 } }
    pub fn bump(&mut self) -> u64 { self.n += 1; self.n }
}

pub fn double(x: u64) -> u64 { x * 2 }
""",
    "web/app.js": """export function sum(xs) {
  return xs.reduce((a, b) => a + b, 0);
}

export class Store {
  constructor() { this.items = []; }
  add(item) { this.items.push(item); }
}
""",
    "notes.unknownext": "not a language chunkscope knows\n",
}


@dataclass
class Run:
    service: str
    returncode: int
    report: dict[str, Any]
    stderr: str


def write_corpus(root: Path) -> Path:
    for rel, text in SOURCES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "assets").mkdir()
    (root / "assets" / "logo.py").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))
    return root


def run_chunkscope(
    corpus: Path,
    out: Path,
    collector: Collector | None,
    service: str,
    extra: list[str] | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "CHUNKSCOPE_"))}
    env.update(extra_env or {})
    if collector is not None:
        env.update(
            CHUNKSCOPE_OTEL="1",
            OTEL_SERVICE_NAME=service,
            OTEL_EXPORTER_OTLP_ENDPOINT=collector.otlp_grpc,
            OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
            OTEL_METRIC_EXPORT_INTERVAL="500",
            OTEL_BSP_SCHEDULE_DELAY="200",
            OTEL_BLRP_SCHEDULE_DELAY="200",
        )
    args = [
        sys.executable,
        "-m",
        "chunkscope",
        "chunk",
        str(corpus),
        "--output",
        str(out / "chunks.jsonl"),
        "--report",
        str(out / "report.json"),
        *(extra or []),
    ]
    return subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(proc: subprocess.Popen[str], out: Path, service: str, timeout: float = 180) -> Run:
    _, stderr = proc.communicate(timeout=timeout)
    report = json.loads((out / "report.json").read_text())
    return Run(service, proc.returncode, report, stderr)


@pytest.fixture(scope="module")
def run(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One instrumented run over the multi-language corpus, exported to the stack, with a
    chunk cache so the cache panels have their series too."""
    base = tmp_path_factory.mktemp("run")
    corpus = write_corpus(base / "corpus")
    service = f"chunkscope-e2e-{secrets.token_hex(4)}"
    cache = ["--cache", str(base / "chunks.cache")]
    result = finish(run_chunkscope(corpus, base, stack.collector, service, cache), base, service)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def served(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``chunkscope serve`` with telemetry on, having answered a few chunk requests, so the
    service panels and rules of the dashboards have data too. Yields its service name."""
    port = free_port()
    service = f"chunkscope-serve-e2e-{secrets.token_hex(4)}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "CHUNKSCOPE_"))}
    env.update(
        CHUNKSCOPE_OTEL="1",
        OTEL_SERVICE_NAME=service,
        OTEL_EXPORTER_OTLP_ENDPOINT=stack.collector.otlp_grpc,
        OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
        OTEL_METRIC_EXPORT_INTERVAL="500",
    )
    args = [sys.executable, "-m", "chunkscope", "serve", "--port", str(port)]
    proc = Process("chunkscope-serve", args, env, tmp_path_factory.mktemp("serve") / "serve.log")
    proc.start()
    base = f"http://127.0.0.1:{port}"
    try:
        proc.wait_ready(f"{base}/readyz")
        for i in range(5):
            body = json.dumps({"path": f"m{i}.py", "content": SOURCES["app/util.py"]}).encode()
            req = urllib.request.Request(
                f"{base}/v1/chunk", data=body, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(req, timeout=30) as resp:
                assert resp.status == 200
        yield service
    finally:
        proc.stop()


def tags(span_or_process: dict[str, Any]) -> dict[str, Any]:
    return {t["key"]: t["value"] for t in span_or_process.get("tags", [])}


def parent_id(span: dict[str, Any]) -> str | None:
    refs = [r for r in span.get("references", []) if r["refType"] == "CHILD_OF"]
    return refs[0]["spanID"] if refs else None


def the_trace(stack: Stack, run: Run) -> dict[str, Any]:
    """The run's single trace, once every file span has arrived in Jaeger."""
    files = run.report["files"]["total"]

    def complete() -> dict[str, Any] | None:
        traces = stack.jaeger.traces(run.service)
        if len(traces) != 1:
            return None
        names = Counter(s["operationName"] for s in traces[0]["spans"])
        return traces[0] if names["chunkscope.file"] >= files and names["chunkscope.run"] else None

    return wait_until(complete, 60, f"one trace with {files} file spans for {run.service}")


def test_report_covers_every_kind_of_file(run: Run) -> None:
    """The corpus exercises chunked, binary and unknown-language files."""
    files = run.report["files"]
    assert files["chunked"] == 5
    assert run.report["skipped"]["binary"]["count"] == 1
    assert run.report["skipped"]["unknown_language"]["count"] == 1
    assert set(run.report["languages"]) == {"python", "go", "rust", "javascript"}


def test_jaeger_has_the_run_trace_with_parse_and_extract_per_file(stack: Stack, run: Run) -> None:
    """One trace: chunkscope.run -> chunkscope.file (each file) -> chunkscope.parse/extract."""
    trace = the_trace(stack, run)
    spans = {s["spanID"]: s for s in trace["spans"]}
    [root] = [s for s in spans.values() if s["operationName"] == "chunkscope.run"]
    file_spans = [s for s in spans.values() if s["operationName"] == "chunkscope.file"]
    assert all(parent_id(s) == root["spanID"] for s in file_spans)
    paths = {tags(s).get("code.file.path") for s in file_spans}
    chunked = {"app/main.py", "app/util.py", "svc/server.go", "core/src/lib.rs", "web/app.js"}
    assert chunked <= paths
    for span in file_spans:
        if tags(span).get("code.file.path") not in chunked:
            continue
        children = Counter(
            s["operationName"] for s in spans.values() if parent_id(s) == span["spanID"]
        )
        assert children["chunkscope.parse"] == 1, tags(span)
        assert children["chunkscope.extract"] == 1, tags(span)
    languages = {tags(s).get("chunkscope.language") for s in file_spans} - {None}
    assert {"python", "go", "rust", "javascript"} <= languages


def test_prometheus_counts_equal_the_report(stack: Stack, run: Run) -> None:
    """chunkscope_files_total and chunkscope_chunks_total, as Prometheus scraped them from
    the collector, add up to the run report's numbers."""
    selector = f'job="{run.service}"'
    expected_outcomes = {
        "chunked": run.report["files"]["chunked"],
        "skipped": run.report["files"]["skipped"],
    }
    if run.report["files"]["errored"]:
        expected_outcomes["error"] = run.report["files"]["errored"]

    def outcomes() -> dict[str, float]:
        result = stack.prometheus.query(
            f"sum by (chunkscope_outcome) (chunkscope_files_total{{{selector}}})"
        )
        return {r["metric"]["chunkscope_outcome"]: float(r["value"][1]) for r in result}

    wait_until(lambda: outcomes() == expected_outcomes, 60, f"files_total == {expected_outcomes}")

    chunks = stack.prometheus.query(f"sum(chunkscope_chunks_total{{{selector}}})")
    assert float(chunks[0]["value"][1]) == run.report["chunks"]
    by_language = stack.prometheus.query(
        f"sum by (chunkscope_language) (chunkscope_files_total{{{selector},{CHUNKED}}})"
    )
    assert {r["metric"]["chunkscope_language"]: float(r["value"][1]) for r in by_language} == {
        name: t["files"] for name, t in run.report["languages"].items()
    }
    skips = stack.prometheus.query(
        f"sum by (chunkscope_skip_reason) (chunkscope_files_total{{{selector},{SKIPPED}}})"
    )
    assert {r["metric"]["chunkscope_skip_reason"]: float(r["value"][1]) for r in skips} == {
        reason: s["count"] for reason, s in run.report["skipped"].items()
    }


def test_latency_histograms_carry_exemplars_linking_to_jaeger(stack: Stack, run: Run) -> None:
    """The trace ids on the file-duration exemplars are spans of the run's trace."""
    trace_id = the_trace(stack, run)["traceID"]
    now = time.time()
    query = f'chunkscope_file_duration_seconds_bucket{{job="{run.service}"}}'

    def exemplar_ids() -> set[str]:
        url = f"{stack.prometheus.url}/api/v1/query_exemplars?" + urllib.parse.urlencode(
            {"query": query, "start": now - 600, "end": now + 60}
        )
        status, body = http_get(url)
        assert status == 200, body
        return {
            e["labels"].get("trace_id", "")
            for series in json.loads(body)["data"]
            for e in series["exemplars"]
        }

    ids = wait_until(exemplar_ids, 60, "exemplars on chunkscope_file_duration_seconds")
    assert trace_id in ids


def test_logs_are_stored_with_trace_ids_jaeger_knows(stack: Stack, run: Run) -> None:
    """The run's log records (run started, file skipped, run summary) are stored in the log
    store by the collector's otlp_http/loki exporter, queried back by trace_id, and every trace
    id they carry is a trace Jaeger holds."""
    trace_id = the_trace(stack, run)["traceID"]
    records = wait_until(
        lambda: stack.logs.query(f'service.name:="{run.service}" AND trace_id:="{trace_id}"'),
        60,
        "the run's log records in VictoriaLogs",
    )
    assert all(r["trace_id"] == trace_id for r in records)
    every = stack.logs.query(f'service.name:="{run.service}"')
    ids = {r["trace_id"] for r in every if r.get("trace_id")}
    assert ids
    for tid in ids:
        assert stack.jaeger.trace(tid) is not None, tid
    messages = json.dumps(every)
    assert "binary" in messages  # the skipped binary file is logged with its reason


def test_no_source_text_leaves_the_process(stack: Stack, run: Run) -> None:
    """The canary string inside a chunked function is in no span, log record or series."""
    trace = the_trace(stack, run)
    assert CANARY not in json.dumps(trace)
    records = stack.logs.query(f'service.name:="{run.service}"')
    assert records
    assert CANARY not in json.dumps(records)
    series = stack.prometheus.query(f'{{job="{run.service}"}}')
    assert series
    assert CANARY not in json.dumps(series)


def test_every_dashboard_and_rule_query_returns_data(stack: Stack, run: Run, served: str) -> None:
    """Each PromQL expression in the generated dashboards and rules has data to show after a
    real run (Grafana's variables substituted as with "All" selected)."""
    from chunkscope_dashboards.queries import all_promql, runnable

    the_trace(stack, run)
    queries = all_promql()
    assert queries

    def failing() -> list[str]:
        """Queries that return nothing, or that Prometheus refuses to evaluate."""
        out = []
        for where, expr in queries:
            try:
                if not stack.prometheus.query(runnable(expr)):
                    out.append(f"no data  {where}: {expr}")
            except AssertionError as err:
                out.append(f"error    {where}: {expr}\n         {err}")
        return out

    try:
        wait_until(lambda: not failing(), 90, "every dashboard query to return data", interval=2)
    except AssertionError:
        raise AssertionError("queries failing:\n" + "\n".join(failing())) from None


def test_generated_alerts_stay_quiet_on_a_healthy_run(stack: Stack, run: Run) -> None:
    """After a clean run on a healthy stack, Prometheus has evaluated the generated alert
    rules and none is pending or firing."""
    the_trace(stack, run)

    def evaluated() -> bool:
        groups = get_json(f"{stack.prometheus.url}/api/v1/rules")["data"]["groups"]
        alerting = [r for g in groups for r in g["rules"] if r["type"] == "alerting"]
        return bool(alerting) and all(
            r.get("lastEvaluation", "").startswith("20") for r in alerting
        )

    wait_until(evaluated, 30, "every alerting rule evaluated")
    active = get_json(f"{stack.prometheus.url}/api/v1/alerts")["data"]["alerts"]
    assert not active, [(a["labels"]["alertname"], a["state"]) for a in active]


def test_run_completes_when_the_collector_dies_mid_run(
    stack: Stack, spare_collector: Collector, tmp_path: Path
) -> None:
    """SIGKILL the collector while a run exports to it: the run finishes with the exit code
    and the chunks of the same run without telemetry."""
    corpus = tmp_path / "big"
    for i in range(3000):
        path = corpus / f"pkg{i % 30}" / f"mod{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"def f{j}(x):\n    return x + {j}\n\n\n" for j in range(20)))
    (tmp_path / "plain").mkdir()
    (tmp_path / "otel").mkdir()
    baseline = finish(
        run_chunkscope(corpus, tmp_path / "plain", None, "-"), tmp_path / "plain", "-"
    )

    service = f"chunkscope-e2e-kill-{secrets.token_hex(4)}"
    proc = run_chunkscope(corpus, tmp_path / "otel", spare_collector, service)
    metrics_url = f"http://{spare_collector.self_metrics_target}/metrics"

    def collector_received_data() -> bool:
        body = http_get(metrics_url, timeout=2)[1].decode(errors="replace")
        return any(
            line.startswith(("otelcol_receiver_accepted_spans", "otelcol_receiver_accepted_log"))
            and float(line.rsplit(" ", 1)[1]) > 0
            for line in body.splitlines()
        )

    wait_until(collector_received_data, 60, "the run's first export to reach the collector")
    assert proc.poll() is None, "the run ended before the collector could be killed"
    spare_collector.process.kill()

    killed = finish(proc, tmp_path / "otel", service)
    assert killed.returncode == baseline.returncode
    assert killed.report["chunks"] == baseline.report["chunks"]
    assert killed.report["files"] == baseline.report["files"]


def test_worker_processes_join_the_run_trace(stack: Stack, tmp_path: Path) -> None:
    """With ``--jobs 2`` the parent records the workers' files in the run's one trace."""
    corpus = write_corpus(tmp_path / "corpus")
    service = f"chunkscope-e2e-jobs-{secrets.token_hex(4)}"
    proc = run_chunkscope(corpus, tmp_path, stack.collector, service, extra=["--jobs", "2"])
    result = finish(proc, tmp_path, service)
    assert result.returncode == 0, result.stderr
    trace = the_trace(stack, result)
    files = [s for s in trace["spans"] if s["operationName"] == "chunkscope.file"]
    chunked = {tags(s).get("code.file.path") for s in files}
    assert {"app/main.py", "svc/server.go", "core/src/lib.rs", "web/app.js"} <= chunked


def test_policy_keeps_the_planted_input_and_metrics_count_every_file(
    stack: Stack, tmp_path: Path
) -> None:
    """No reservoir, no ratio: Jaeger holds the run span and the pathological file's subtree
    (kept as slow) and Prometheus still counts every file of the run."""
    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "app" / "unbalanced.py").write_text("(" * 200_000)
    service = f"chunkscope-e2e-policy-{secrets.token_hex(4)}"
    policy = {
        "CHUNKSCOPE_OTEL_FILE_RESERVOIR": "0",
        "CHUNKSCOPE_OTEL_FILE_RATIO": "0",
        "CHUNKSCOPE_OTEL_SLOW_FILE_MS": "20",
    }
    proc = run_chunkscope(corpus, tmp_path, stack.collector, service, extra_env=policy)
    result = finish(proc, tmp_path, service)
    total = result.report["files"]["total"]

    def trace() -> dict[str, Any] | None:
        traces = stack.jaeger.traces(service)
        names = Counter(s["operationName"] for t in traces for s in t["spans"])
        return traces[0] if len(traces) == 1 and names["chunkscope.run"] == 1 else None

    spans = wait_until(trace, 60, f"the run trace of {service}")["spans"]
    [run] = [s for s in spans if s["operationName"] == "chunkscope.run"]
    files = {
        tags(s).get("code.file.path"): s for s in spans if s["operationName"] == "chunkscope.file"
    }
    planted = files["app/unbalanced.py"]
    assert tags(planted)["chunkscope.file.span.reason"] == "slow"
    children = {s["operationName"] for s in spans if parent_id(s) == planted["spanID"]}
    assert children == {"chunkscope.parse", "chunkscope.extract"}
    assert all(tags(s)["chunkscope.file.span.reason"] == "slow" for s in files.values())
    run_tags = tags(run)
    assert run_tags["chunkscope.run.file_spans.kept"] == len(files)
    assert (
        run_tags["chunkscope.run.file_spans.kept"] + run_tags["chunkscope.run.file_spans.dropped"]
        == total
    )

    def counted() -> float:
        found = stack.prometheus.query(f'sum(chunkscope_files_total{{job="{service}"}})')
        return float(found[0]["value"][1]) if found else 0.0

    wait_until(lambda: counted() == total, 60, f"chunkscope_files_total == {total}")
