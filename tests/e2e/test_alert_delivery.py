"""An alert travels the whole way: errored files -> collector -> Prometheus rules -> the real
Alertmanager -> the webhook, firing and later resolved.

The rules and Alertmanager's config are the generated ones, with the test overlay
(alerting-overlay.yaml: ``for: 0s``, 1 s evaluation and notification pacing). Files error for
real: their path is longer than the kernel's PATH_MAX, so ``lstat`` fails with "File name too
long" (root can read anything, so permissions cannot make a file fail here).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from chunkscope_dashboards.generate import RULES_DIR, render
from e2e_stack import (
    Prometheus,
    Stack,
    e2e_alerting_config,
    get_json,
    start_prometheus,
    wait_until,
)

pytestmark = pytest.mark.e2e

ALERT = "ChunkscopeHighErrorRatio"
GOOD_FILE = "".join(f"def f{j}(x):\n    return x + {j}\n\n\n" for j in range(400))
"""About 12 KB of Python: a few ms to chunk."""
SLOW_FILE = GOOD_FILE * 8
"""About 100 KB: tens of ms to chunk, so the error run lasts several scrapes. Prometheus takes a
new series' first sample as its baseline: what a run counted before the first scrape never
reaches ``rate()``, so a run over in under a second would show no error rate at all."""


def epoch(rfc3339: str) -> float:
    """VictoriaLogs' ``_time`` (RFC 3339, nanoseconds, Z) as Unix seconds."""
    whole, _, frac = rfc3339.rstrip("Z").partition(".")
    parsed = datetime.fromisoformat(whole).replace(tzinfo=UTC)
    return parsed.timestamp() + float(f"0.{frac or 0}")


def plant_errored_files(folder: Path, count: int) -> None:
    """``count`` files whose absolute path exceeds PATH_MAX, made through directory fds."""
    folder.mkdir(parents=True)
    fd = os.open(folder, os.O_RDONLY)
    try:
        length = len(str(folder))
        while length + 51 < 4000:  # the folder itself stays listable (under PATH_MAX, 4096)
            os.mkdir("d" * 50, dir_fd=fd)
            child = os.open("d" * 50, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd, length = child, length + 51
        for i in range(count):
            name = f"e{i:03d}_{'x' * 240}.py"  # 4000 + 250 > PATH_MAX
            file_fd = os.open(name, os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd)
            os.write(file_fd, b"x = 1\n")
            os.close(file_fd)
    finally:
        os.close(fd)


def error_corpus(root: Path, groups: int = 8, good: int = 12, errored: int = 12) -> Path:
    """Groups of slow good files and of errored files, alternating in walk order, so the
    error counter rises across several scrapes (a rate needs two samples after the first)."""
    for g in range(groups):
        for i in range(good):
            path = root / f"g{g:02d}a_good" / f"m{i}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(SLOW_FILE)
        plant_errored_files(root / f"g{g:02d}b_bad", errored)
    return root


def good_corpus(root: Path, files: int) -> Path:
    """``files`` clean files of a few milliseconds each. The run must span several scrapes:
    Prometheus sees a new series' first sample as its baseline, so files counted before the
    first scrape never reach ``rate()``, and a run shorter than that would dilute nothing."""
    for i in range(files):
        path = root / f"p{i % 40}" / f"m{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(GOOD_FILE)
    return root


def chunk(stack: Stack, corpus: Path, out: Path, service: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "CHUNKSCOPE_"))}
    env.update(
        CHUNKSCOPE_OTEL="1",
        OTEL_SERVICE_NAME=service,
        OTEL_EXPORTER_OTLP_ENDPOINT=stack.collector.otlp_grpc,
        OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
        OTEL_METRIC_EXPORT_INTERVAL="100",
    )
    out.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "chunkscope", "chunk", str(corpus)]
    args += ["--output", str(out / "chunks.jsonl"), "--report", str(out / "report.json")]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def fast_prometheus(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    """A second Prometheus running the rules generated with the overlay, sending to the stack's
    Alertmanager (the session one keeps the committed rules)."""
    workdir = tmp_path_factory.mktemp("alerting")
    rules = workdir / "rules"
    rules.mkdir()
    for rel, text in render(e2e_alerting_config(stack.webhook.url)).items():
        if rel.parent == RULES_DIR:
            (rules / rel.name).write_text(text)
    prometheus = start_prometheus(
        workdir, stack.collector, stack.alertmanager.target, rules, name="prometheus-fast-rules"
    )
    try:
        yield prometheus
    finally:
        prometheus.process.stop()


def test_error_ratio_alert_is_delivered_and_resolved(
    stack: Stack, fast_prometheus: Prometheus, tmp_path: Path, record_property
) -> None:
    """Many errored files fire ChunkscopeHighErrorRatio (critical): the webhook receives it with
    its labels and an absolute runbook_url, the warning twin stays inhibited, and after a clean
    run dilutes the ratio below both thresholds the webhook receives it resolved. The time from
    the first errored file (its log record's timestamp in the log store) to delivery is
    reported."""
    service = f"alert-e2e-{secrets.token_hex(4)}"
    corpus = error_corpus(tmp_path / "errors")
    started = time.time()
    result = chunk(stack, corpus, tmp_path / "out-errors", service)
    assert result.returncode == 1, result.stderr  # 1: some files errored
    errored = wait_until(
        lambda: stack.logs.query(f'service.name:="{service}" AND event_name:="file.errored"'),
        60,
        "the run's file.errored log records in VictoriaLogs",
    )
    first_error = min(epoch(r["_time"]) for r in errored)
    assert started <= first_error <= time.time()

    labels = {"alertname": ALERT, "job": service, "severity": "critical"}
    fired = wait_until(
        lambda: [a for a in stack.webhook.alerts(**labels) if a[1] == "firing"],
        120,
        f"{ALERT} firing at the webhook",
    )
    received, _, alert = fired[0]
    assert alert["labels"] == labels
    assert alert["annotations"]["runbook_url"].startswith(("https://", "http://"))
    assert alert["annotations"]["runbook_url"].endswith("#chunkscopehigherrorratio")
    assert alert["annotations"]["summary"]
    assert service in alert["annotations"]["description"]
    delay = received - first_error
    record_property("alert_delivery_seconds", round(delay, 2))
    print(f"\nalert delivery: {delay:.2f} s from the first errored file to the webhook")

    warning = {**labels, "severity": "warning"}

    def inhibited() -> bool:
        """Alertmanager holds the warning twin, suppressed by the critical alert."""
        held = get_json(f"{stack.alertmanager.url}/api/v2/alerts", {"filter": f'job="{service}"'})
        return any(a["labels"] == warning and a["status"]["inhibitedBy"] for a in held)

    wait_until(inhibited, 30, "the warning twin inhibited in Alertmanager")
    assert not [a for a in stack.webhook.alerts(**warning) if a[1] == "firing"], "not inhibited"

    clean = good_corpus(tmp_path / "good", 3000)
    clean_started = time.time()
    dilute = chunk(stack, clean, tmp_path / "out-good", service)
    assert dilute.returncode == 0, dilute.stderr
    resolved = wait_until(
        lambda: [a for a in stack.webhook.alerts(**labels) if a[1] == "resolved"],
        180,
        f"{ALERT} resolved at the webhook",
    )
    assert resolved[0][2]["labels"] == alert["labels"]

    def quiet() -> bool:
        active = fast_prometheus.query(f'ALERTS{{alertname="{ALERT}", job="{service}"}}')
        return not active

    # 96 errors among about 3200 files: 3 %, under the warning threshold too.
    wait_until(quiet, 60, f"{ALERT} (warning and critical) to stop firing")
    record_property("alert_resolved_seconds", round(resolved[0][0] - clean_started, 2))
    print(f"alert resolved: {resolved[0][0] - clean_started:.2f} s after the clean run started")
