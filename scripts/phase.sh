#!/usr/bin/env bash
# Run one phase of `make test` and record its wall-clock time in _build/phase-times.txt.
set -euo pipefail
name=$1
shift
start=$(date +%s%N)
status=0
"$@" || status=$?
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
mkdir -p _build
printf '%-8s %4d.%01d s  exit %d\n' "$name" $((elapsed_ms / 1000)) $((elapsed_ms % 1000 / 100)) "$status" \
  | tee -a _build/phase-times.txt
exit "$status"
