"""How long the last hops take on the real stack: alert delivery and ``doctor --probe`` latencies.

Runs the two end-to-end tests that measure them, ``--repeat`` times (each run starts its own
stack on loopback: collector, Jaeger, Prometheus, VictoriaLogs, Alertmanager), reads the
figures they record with ``record_property`` from pytest's JUnit XML, and prints the median,
minimum and maximum of each:

* ``alert_delivery_seconds``: from the first errored file (its log record's timestamp in the
  log store) to ``ChunkscopeHighErrorRatio`` arriving at the webhook through the real
  Alertmanager, with the test overlay's 1 s scrape, evaluation and group_wait;
* ``alert_resolved_seconds``: from the start of the clean run to the ``resolved`` delivery;
* ``probe <hop> s``: each hop of ``chunkscope doctor --probe`` (1 s scrape interval).

Usage: ``python benchmarks/bench_stack_hops.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TESTS = [
    "tests/e2e/test_alert_delivery.py",
    "tests/e2e/test_doctor_live.py::test_probe_follows_a_signal_through_every_hop",
]


def one_run(xml: Path) -> dict[str, float]:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *TESTS,
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={xml}",
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=900,
    )
    return {
        prop.get("name", ""): float(prop.get("value", "nan"))
        for prop in ET.parse(xml).iter("property")
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    samples: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            for name, value in one_run(Path(tmp) / f"run{i}.xml").items():
                samples.setdefault(name, []).append(value)
    print(f"{'figure':40} {'median':>8} {'min':>8} {'max':>8}  (n={args.repeat})")
    for name, values in samples.items():
        print(f"{name:40} {statistics.median(values):8.2f} {min(values):8.2f} {max(values):8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
