#!/usr/bin/env bash
# Benchmarks (not tests): each compares the service against a raw baseline measured in the same run and
# prints the ratio; results are written as JSON under bench/results/. Sizes come from BENCH_* variables.
set -euo pipefail
# Export lines of `infra.sh up` go to the caller; its progress goes on to stderr.
split_exports() { while IFS= read -r line; do case "$line" in "export "*) echo "$line" ;; *) echo "$line" >&2 ;; esac; done; }
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-deps.sh
exports="$(bash scripts/infra.sh up | split_exports)"
eval "$exports"
npx tsx bench/event-store.bench.ts
