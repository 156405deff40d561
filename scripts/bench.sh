#!/usr/bin/env bash
# Benchmarks (not tests): each compares the service against a raw baseline measured in the same run and
# prints the ratio; results are written as JSON under bench/results/. Sizes come from BENCH_* variables.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-deps.sh
exports="$(bash scripts/infra.sh up)"
eval "$exports"
npx tsx bench/event-store.bench.ts
npx tsx bench/executor.bench.ts
npx tsx bench/replay.bench.ts
