"""A treesitter-chunker run with ``CHUNKSCOPE_OTEL=1``, through the real collector: its trace in
Jaeger, its series in Prometheus, and the dashboards' ``chunker`` variable selecting it."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import textwrap
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from chunkscope_dashboards.config import DEFAULT
from chunkscope_dashboards.queries import all_promql, runnable
from e2e_stack import Stack, wait_until

from chunkscope import names as N

pytestmark = pytest.mark.e2e

SOURCES = {
    "app/main.py": "def greet(name):\n    return 'hi ' + name\n\n\nclass G:\n    def run(self):\n"
    "        return greet('x')\n",
    "app/util.py": "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n",
    "app/models.py": "class User:\n    def __init__(self, name):\n        self.name = name\n",
}
JS = "export function sum(xs) {\n  return xs.reduce((a, b) => a + b, 0);\n}\n"

SCRIPT = """
import json, sys
import chunkscope
import chunker
root = sys.argv[1]
found = chunker.chunk_directory(root + "/app", "python", num_workers=2)
js = chunker.chunk_file(root + "/web.js", "javascript")
try:
    chunker.chunk_text("fn main() {}\\n", "rust", file_path="lib.rs")
    missing = False
except chunker.LanguageNotFoundError:
    missing = True
print(json.dumps({"files": len(found), "chunks": sum(map(len, found.values())),
                  "js": len(js), "missing": missing}))
"""


@dataclass
class Run:
    service: str
    report: dict[str, Any]


def tags(span: dict[str, Any]) -> dict[str, Any]:
    return {t["key"]: t["value"] for t in span.get("tags", [])}


def parent_id(span: dict[str, Any]) -> str | None:
    refs = [r for r in span.get("references", []) if r["refType"] == "CHILD_OF"]
    return refs[0]["spanID"] if refs else None


@pytest.fixture(scope="module")
def run(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """treesitter-chunker, instrumented by CHUNKSCOPE_OTEL=1, exporting to the stack."""
    base = tmp_path_factory.mktemp("tsc")
    for rel, text in SOURCES.items():
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_text(text)
    (base / "web.js").write_text(JS)
    service = f"tsc-e2e-{secrets.token_hex(4)}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "CHUNKSCOPE_"))}
    env.update(
        HOME=str(base / "home"),
        CHUNKSCOPE_OTEL="1",
        OTEL_SERVICE_NAME=service,
        OTEL_EXPORTER_OTLP_ENDPOINT=stack.collector.otlp_grpc,
        OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
        OTEL_METRIC_EXPORT_INTERVAL="500",
        OTEL_BSP_SCHEDULE_DELAY="200",
    )
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), str(base)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["files"] == 3 and report["chunks"] > 0 and report["missing"] is True
    return Run(service, report)


def test_jaeger_has_the_directory_run_and_the_error(stack: Stack, run: Run) -> None:
    """A chunkscope.run trace of the pool's files with parse and extract each, plus the
    LanguageNotFoundError file as an error span, all tagged chunkscope.chunker."""

    def arrived() -> list[dict[str, Any]] | None:
        traces = stack.jaeger.traces(run.service)
        names = Counter(s["operationName"] for t in traces for s in t["spans"])
        return traces if names[N.SPAN_FILE] >= 5 and names[N.SPAN_RUN] == 1 else None

    traces = wait_until(arrived, 60, f"treesitter-chunker spans for {run.service}")
    spans = [s for t in traces for s in t["spans"]]
    (root,) = [s for s in spans if s["operationName"] == N.SPAN_RUN]
    assert tags(root)[N.CHUNKER] == N.CHUNKER_TREESITTER
    in_run = [s for s in spans if parent_id(s) == root["spanID"]]
    assert sorted(tags(s)[N.CODE_FILE_PATH] for s in in_run) == [
        "main.py",
        "models.py",
        "util.py",
    ]
    for span in in_run:
        children = Counter(s["operationName"] for s in spans if parent_id(s) == span["spanID"])
        assert children == {N.SPAN_PARSE: 1, N.SPAN_EXTRACT: 1}
    files = {tags(s)[N.CODE_FILE_PATH]: tags(s) for s in spans if s["operationName"] == N.SPAN_FILE}
    assert files["web.js"][N.LANGUAGE] == "javascript"
    assert files["lib.rs"][N.OUTCOME] == "error"
    assert files["lib.rs"][N.ERROR_TYPE] == "LanguageNotFoundError"
    assert files["lib.rs"]["otel.status_code"] == "ERROR"
    assert {t[N.CHUNKER] for t in files.values()} == {N.CHUNKER_TREESITTER}


def test_prometheus_counts_the_run_under_its_chunker(stack: Stack, run: Run) -> None:
    """chunkscope_files_total of the run: 4 chunked and 1 error, labelled treesitter-chunker."""
    selector = f'job="{run.service}", chunkscope_chunker="treesitter-chunker"'

    def counted() -> dict[str, float] | None:
        found = stack.prometheus.query(
            f"sum by (chunkscope_outcome) (chunkscope_files_total{{{selector}}})"
        )
        counts = {r["metric"]["chunkscope_outcome"]: float(r["value"][1]) for r in found}
        return counts if counts == {"chunked": 4.0, "error": 1.0} else None

    wait_until(counted, 60, "treesitter-chunker files in Prometheus")
    parse = stack.prometheus.query(f"sum(chunkscope_parse_duration_seconds_count{{{selector}}})")
    assert float(parse[0]["value"][1]) == 5.0  # four parses and the failed one
    chunks = stack.prometheus.query(f"sum(chunkscope_chunks_total{{{selector}}})")
    assert float(chunks[0]["value"][1]) == run.report["chunks"] + run.report["js"]


def test_the_chunker_variable_selects_the_run(stack: Stack, run: Run) -> None:
    """The variable offers treesitter-chunker; set to it, the Overview's chunker panels
    return this run's data; set to a chunker that never ran, they return nothing."""
    values = stack.prometheus.query(
        f'count by (chunkscope_chunker) (chunkscope_files_total{{job="{run.service}"}})'
    )
    assert {r["metric"]["chunkscope_chunker"] for r in values} == {N.CHUNKER_TREESITTER}
    panels = [
        (where, expr)
        for where, expr in all_promql(DEFAULT, raw=True)
        if where.startswith("chunkscope-overview.json panel") and '"$chunker"' in expr
    ]
    assert len(panels) >= 10

    def answered(chunker: str) -> dict[str, bool]:
        out = {}
        for where, expr in panels:
            chosen = expr.replace('"$chunker"', f'"{chunker}"')
            query = runnable(chosen.replace('"$job"', f'"{run.service}"'))
            if 'chunkscope_outcome="skipped"' not in query:  # nothing was skipped in this run
                out[where] = bool(stack.prometheus.query(query))
        return out

    def all_answer() -> bool:
        return all(answered(N.CHUNKER_TREESITTER).values())

    try:
        wait_until(all_answer, 60, "every Overview panel to show the run", interval=2)
    except AssertionError:
        empty = [w for w, ok in answered(N.CHUNKER_TREESITTER).items() if not ok]
        raise AssertionError(f"no data for treesitter-chunker: {empty}") from None
    assert not any(answered("no-such-chunker").values())
