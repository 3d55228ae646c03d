#!/usr/bin/env bash
# Bash: both function syntaxes, a nested function.
set -euo pipefail

log() {
  echo "$@" >&2
}

function deploy {
  local target=$1
  cleanup() { rm -rf "$target"; }
  log "deploying $target"
}

deploy "$@"
