#!/usr/bin/env bash
# Benchmarks (not tests): each compares the service against a raw baseline measured in the same run and
# prints the ratio; results are written as JSON under bench/results/, and one combined table at the end
# (bench/results/all.json). Sizes come from BENCH_* variables (see README, "Benchmarks"); the defaults
# fit in 15 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-deps.sh
exports="$(bash scripts/infra.sh up)"
eval "$exports"
# The throughput benchmark runs the built apps.
npm run -s build

export BENCH_RUN_STARTED="${BENCH_RUN_STARTED:-$(date +%s)}"
benches=(throughput memory event-store replay executor)
failed=()
for bench in "${benches[@]}"; do
  echo "==> bench/$bench.bench.ts"
  # One failing benchmark does not hide the others' figures; the run still fails at the end.
  npx tsx "bench/$bench.bench.ts" || failed+=("$bench")
done
npx tsx bench/summary.ts "${benches[@]}" || true
if [ "${#failed[@]}" -gt 0 ]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
