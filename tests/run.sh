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

echo "== pytest, every tier (plain pytest runs only the fast one)" >&2
exec python3 -m pytest -m "" "$@"
