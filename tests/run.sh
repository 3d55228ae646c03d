#!/usr/bin/env bash
# The test command: installs everything the suite needs on a fresh machine, then runs it.
# Idempotent: a second run finds the packages installed and the Go binaries cached
# (~/.cache/chunkscope/bin), and goes straight to pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v promtool >/dev/null 2>&1 || ! command -v amtool >/dev/null 2>&1; then
    echo "== installing Prometheus, promtool, Alertmanager, amtool (Debian)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus prometheus-alertmanager >/dev/null
fi

echo "== installing chunkscope with its test extras" >&2
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -c constraints.txt -e '.[test]'

if [ -f dashboards/logql/package-lock.json ]; then
    echo "== installing the LogQL parser (npm)" >&2
    (cd dashboards/logql && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

if [ -f deploy/build-binaries.sh ]; then
    echo "== building or reusing the collector, Jaeger, VictoriaLogs and tools (Go)" >&2
    bash deploy/build-binaries.sh >&2
fi

echo "== ruff" >&2
python3 -m ruff check .
python3 -m ruff format --check .

# Two runs, one exit status: the fast tier on pytest-xdist's workers, then the e2e and deploy
# tiers in one process (tests/conftest.py turns the workers off for them), so the stack's
# timing-sensitive tests share the CPU with nothing else. A run that selects no test (exit 5,
# say for a path given as an argument) is no failure unless both do.
echo "== pytest, fast tier (parallel)" >&2
fast=0
python3 -m pytest "$@" || fast=$?
echo "== pytest, e2e and deploy tiers (one process)" >&2
slow=0
python3 -m pytest -m "e2e or deploy" "$@" || slow=$?
if [ "$fast" -eq 5 ] && [ "$slow" -eq 5 ]; then
    exit 5
fi
for status in "$fast" "$slow"; do
    if [ "$status" -ne 0 ] && [ "$status" -ne 5 ]; then
        exit "$status"
    fi
done
