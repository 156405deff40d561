#!/usr/bin/env bash
# Runs every test tier: lint, type check, unit, then integration against real servers.
# Servers: KAFKA_BROKERS + MONGODB_URI if set; else testcontainers where a Docker engine runs; else the
# project provisions Kafka and FerretDB itself (scripts/infra.sh) and stops again what it started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$(date +%s)
bash scripts/ensure-deps.sh

echo "==> lint"; npm run -s lint
echo "==> type check"; npm run -s typecheck
echo "==> unit tests"; npx jest --selectProjects unit --ci

started_here=false
stop_servers() {
  if [ "$started_here" = true ]; then
    echo "==> stopping the servers this run started"
    # Unset the addresses `up` exported: with them set, the scripts treat the servers as someone else's.
    env -u KAFKA_BROKERS -u MONGODB_URI bash scripts/infra.sh down || true
  fi
}
trap stop_servers EXIT

if [ -n "${KAFKA_BROKERS:-}" ] && [ -n "${MONGODB_URI:-}" ]; then
  echo "==> using KAFKA_BROKERS=$KAFKA_BROKERS and the MONGODB_URI from the environment"
elif docker info >/dev/null 2>&1; then
  echo "==> a Docker engine answers: the test harness starts Kafka and MongoDB with testcontainers"
else
  if ! bash scripts/infra.sh status >/dev/null 2>&1; then started_here=true; fi
  echo "==> provisioning Kafka and FerretDB (cached under ~/.cache/helm-rollback-service)"
  exports="$(bash scripts/infra.sh up | tee /dev/stderr | grep '^export ')"
  eval "$exports"
fi

echo "==> integration tests"
npx jest --selectProjects int --runInBand --ci
if [ -n "$(find test -name '*.e2e-spec.ts' -print -quit)" ]; then
  echo "==> build (the e2e tier runs the apps as separate processes)"
  npm run -s build
  echo "==> end-to-end tests"
  npx jest --selectProjects e2e --runInBand --ci
fi
echo "==> all tests passed in $(( $(date +%s) - start )) s"
