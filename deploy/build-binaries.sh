#!/usr/bin/env bash
# Builds the Go binaries the deploy and end-to-end tests run, and caches them OUTSIDE the
# repository, keyed by version (and by a hash of the inputs that choose what gets compiled):
#
#   otelcol   the chunkscope OpenTelemetry Collector distribution, built with ocb from
#             deploy/collector/builder-config.yaml
#   jaeger    Jaeger v2 all-in-one, from the tools module deploy/jaeger/ (Jaeger's go.mod has
#             a replace directive, so `go install module@version` refuses it)
#   composecheck  the compose-spec reference loader (compose-go) wrapped by
#             deploy/tools/composecheck/, used to validate deploy/docker-compose.yml
#   victorialogs  VictoriaLogs single-node (Apache-2.0), the log store of the end-to-end tests:
#             `go install module@version` of app/victoria-logs (its go.mod has no replace
#             directive, so no wrapper module is needed; go.sum checks come from the module)
#
# Loki is not built: its Go module is AGPL-licensed and this project's registry policy says not
# to use it. The end-to-end tests run VictoriaLogs instead, fed by the collector's very
# `otlp_http/loki` exporter (VictoriaLogs ingests OTLP/HTTP); compose and k8s keep Loki.
#
# Usage: bash deploy/build-binaries.sh [--check] [otelcol] [jaeger] [composecheck] [victorialogs]
#        (default: all)
# --check builds nothing: it prints the paths of binaries already in the cache and exits 3 at
# the first one missing (the tests use it, so a test run never starts a Go build).
# Prints one `CHUNKSCOPE_<NAME>_BIN=/abs/path` line per binary on stdout (progress goes to
# stderr), so `eval "$(bash deploy/build-binaries.sh)"` exports the variables the tests read.
# Idempotent: a warm cache only checks that the files exist. Concurrent runs serialize on a lock.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# CI may run with a bare environment; Go needs HOME for its module and build caches.
[[ -n "${HOME:-}" ]] || export HOME="$(getent passwd "$(id -u)" | cut -d: -f6)"
CACHE="${CHUNKSCOPE_BIN_CACHE:-$HOME/.cache/chunkscope/bin}"
BUILD_DIR="${CHUNKSCOPE_BUILD_DIR:-$CACHE/.build}"

command -v go >/dev/null 2>&1 || PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null 2>&1 || { echo "build-binaries: Go toolchain not found" >&2; exit 1; }
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export GOFLAGS="${GOFLAGS:-} -trimpath"

mkdir -p "$CACHE" "$BUILD_DIR"

log() { echo "build-binaries: $*" >&2; }

CHECK=""
if [[ "${1:-}" == "--check" ]]; then CHECK=1; shift; fi
# With --check, a binary that is not in the cache ends the run instead of being built.
not_built() { log "$1 is not built: run \`bash deploy/build-binaries.sh\`"; exit 3; }

# Short content hash of the given files: a changed manifest or wrapper rebuilds, a rerun does not.
inputs_hash() { cat "$@" | sha256sum | cut -c1-10; }

OCB_MANIFEST="$ROOT/deploy/collector/builder-config.yaml"
OCB_VERSION="$(sed -n 's/^  version: *//p' "$OCB_MANIFEST" | head -n1)"
JAEGER_VERSION="$(sed -n 's#^\s*github.com/jaegertracing/jaeger \(v[^ ]*\).*#\1#p' "$ROOT/deploy/jaeger/go.mod" | head -n1)"
VICTORIALOGS_VERSION="v1.52.1"
COMPOSE_GO_VERSION="$(sed -n 's#^require github.com/compose-spec/compose-go/v2 \(v[^ ]*\)#\1#p' "$ROOT/deploy/tools/composecheck/go.mod" | head -n1)"

build_otelcol() {
  local out="$CACHE/otelcol-chunkscope-$OCB_VERSION-$(inputs_hash "$OCB_MANIFEST")"
  if [[ ! -x "$out" ]]; then
    [[ -z "$CHECK" ]] || not_built otelcol
    local ocb="$CACHE/ocb-$OCB_VERSION"
    if [[ ! -x "$ocb" ]]; then
      log "installing ocb v$OCB_VERSION"
      GOBIN="$BUILD_DIR/ocb-$OCB_VERSION" go install "go.opentelemetry.io/collector/cmd/builder@v$OCB_VERSION"
      mv "$BUILD_DIR/ocb-$OCB_VERSION/builder" "$ocb"
    fi
    local work="$BUILD_DIR/otelcol-$OCB_VERSION"
    rm -rf "$work" && mkdir -p "$work"
    sed "s#^  output_path: .*#  output_path: $work/src#" "$OCB_MANIFEST" >"$work/manifest.yaml"
    log "building otelcol-chunkscope $OCB_VERSION (ocb; several minutes on a cold cache)"
    "$ocb" --config "$work/manifest.yaml" >"$work/ocb.log" 2>&1 || { cat "$work/ocb.log" >&2; exit 1; }
    mv "$work/src/otelcol-chunkscope" "$out.tmp" && mv "$out.tmp" "$out"
  fi
  echo "CHUNKSCOPE_OTELCOL_BIN=$out"
}

build_jaeger() {
  local out="$CACHE/jaeger-$JAEGER_VERSION-$(inputs_hash "$ROOT/deploy/jaeger/go.mod" "$ROOT/deploy/jaeger/go.sum")"
  if [[ ! -x "$out" ]]; then
    [[ -z "$CHECK" ]] || not_built jaeger
    log "building jaeger $JAEGER_VERSION (v2 all-in-one; several minutes on a cold cache)"
    (cd "$ROOT/deploy/jaeger" && go build -ldflags='-s -w' -o "$out.tmp" github.com/jaegertracing/jaeger/cmd/jaeger)
    mv "$out.tmp" "$out"
  fi
  echo "CHUNKSCOPE_JAEGER_BIN=$out"
}

build_composecheck() {
  local dir="$ROOT/deploy/tools/composecheck"
  local out="$CACHE/composecheck-$COMPOSE_GO_VERSION-$(inputs_hash "$dir/go.mod" "$dir/go.sum" "$dir/main.go")"
  if [[ ! -x "$out" ]]; then
    [[ -z "$CHECK" ]] || not_built composecheck
    log "building composecheck (compose-go $COMPOSE_GO_VERSION)"
    (cd "$dir" && go build -ldflags='-s -w' -o "$out.tmp" .)
    mv "$out.tmp" "$out"
  fi
  echo "CHUNKSCOPE_COMPOSECHECK_BIN=$out"
}

build_victorialogs() {
  local out="$CACHE/victoria-logs-$VICTORIALOGS_VERSION"
  if [[ ! -x "$out" ]]; then
    [[ -z "$CHECK" ]] || not_built victorialogs
    log "building victoria-logs $VICTORIALOGS_VERSION (about a minute on a cold cache)"
    local gobin="$BUILD_DIR/victoria-logs-$VICTORIALOGS_VERSION"
    GOBIN="$gobin" go install \
      -ldflags="-s -w -X github.com/VictoriaMetrics/VictoriaMetrics/lib/buildinfo.Version=victoria-logs-$VICTORIALOGS_VERSION" \
      "github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@$VICTORIALOGS_VERSION"
    mv "$gobin/victoria-logs" "$out.tmp" && mv "$out.tmp" "$out"
  fi
  echo "CHUNKSCOPE_VICTORIALOGS_BIN=$out"
}

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(otelcol jaeger composecheck victorialogs)

exec 9>"$CACHE/.lock"
flock 9
for target in "${targets[@]}"; do
  case "$target" in
    otelcol) build_otelcol ;;
    jaeger) build_jaeger ;;
    composecheck) build_composecheck ;;
    victorialogs) build_victorialogs ;;
    *) log "unknown target: $target (expected otelcol, jaeger, composecheck or victorialogs)"; exit 2 ;;
  esac
done
