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
kube_started_here=false
secure_started_here=false
stop_servers() {
  # Unset the addresses `up` exported: with them set, the scripts treat the servers as someone else's.
  if [ "$started_here" = true ]; then
    echo "==> stopping the servers this run started"
    env -u KAFKA_BROKERS -u MONGODB_URI -u KUBECONFIG -u HELM_BIN bash scripts/infra.sh down || true
    return
  fi
  if [ "$kube_started_here" = true ]; then
    echo "==> stopping the API server this run started"
    env -u KUBECONFIG -u HELM_BIN bash scripts/infra/kube.sh down || true
  fi
  if [ "$secure_started_here" = true ]; then
    echo "==> stopping the security profile's broker this run started"
    bash scripts/infra/kafka-secure.sh down || true
  fi
}
# With servers of the caller's own (or testcontainers), the project still runs helm, the API servers and
# the security profile's broker.
own_servers_up() {
  if ! bash scripts/infra/kube.sh status >/dev/null 2>&1; then kube_started_here=true; fi
  exports="$(bash scripts/infra/kube.sh up)"
  eval "$exports"
  if ! bash scripts/infra/kafka-secure.sh status >/dev/null 2>&1; then secure_started_here=true; fi
  bash scripts/infra/kafka-secure.sh up >&2
  eval "$(bash scripts/infra/kafka-secure.sh env)"
}
trap stop_servers EXIT

if [ -n "${KAFKA_BROKERS:-}" ] && [ -n "${MONGODB_URI:-}" ]; then
  echo "==> using KAFKA_BROKERS=$KAFKA_BROKERS and the MONGODB_URI from the environment"
  own_servers_up
elif docker info >/dev/null 2>&1; then
  echo "==> a Docker engine answers: the test harness starts Kafka and MongoDB with testcontainers"
  own_servers_up
else
  if ! bash scripts/infra.sh status >/dev/null 2>&1; then started_here=true; fi
  echo "==> provisioning Kafka, FerretDB, helm and a kube-apiserver (cached under ~/.cache/helm-rollback-service;"
  echo "    the first kube-apiserver build takes about 10 minutes on 2 cores)"
  exports="$(bash scripts/infra.sh up)"
  eval "$exports"
fi

# Tools the tests run themselves, made once per machine: an OCI registry (built with Go) and Schemathesis
# (a PyPI venv). Made here rather than in the first test that needs them, so no test's timeout pays for it.
bash scripts/infra/registry.sh ensure >/dev/null
bash scripts/infra/schemathesis.sh ensure >/dev/null
# Headless Chromium (Debian's package) for the console's browser tier.
CHROMIUM_BIN="$(bash scripts/infra/chromium.sh ensure | tail -1)"
export CHROMIUM_BIN

echo "==> integration tests"
npx jest --selectProjects int --runInBand --ci
if [ -n "$(find test -name '*.e2e-spec.ts' -print -quit)" ]; then
  echo "==> build (the e2e and browser tiers run the apps as separate processes, and the console's page)"
  npm run -s build
  echo "==> end-to-end tests"
  npx jest --selectProjects e2e --runInBand --ci
  echo "==> browser tests (the console in headless Chromium; screenshots in test-results/console)"
  npx jest --selectProjects browser --runInBand --ci
  echo "==> fault-injection tests (kill -9, broker and database restarts, hostile input)"
  # --forceExit: after a broker restart kafkajs keeps reconnect timers of the test's own probes alive.
  rm -f test-results/faults.jsonl
  npx jest --selectProjects faults --runInBand --ci --forceExit
  if [ -f test-results/faults.jsonl ]; then echo "==> fault scenarios observed"; cat test-results/faults.jsonl; fi
fi
echo "==> all tests passed in $(( $(date +%s) - start )) s"
