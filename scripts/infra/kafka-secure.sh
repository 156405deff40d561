#!/usr/bin/env bash
# The security profile of scripts/infra/kafka.sh: a second local broker with a SASL_SSL listener and ACLs
# enforced, for the Kafka security tests (same commands: up, status, down, logs). `env` prints where its
# CA certificate and users are.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ "${1:-}" == env ]]; then
  run_dir="${HRS_RUN_DIR:-${HRS_CACHE_DIR:-$HOME/.cache/helm-rollback-service}/run}/kafka-secure"
  echo "export KAFKA_SECURE_BROKERS=127.0.0.1:${KAFKA_SECURE_PORT:-39094}"
  echo "export KAFKA_SECURE_DIR=$run_dir"
  exit 0
fi
KAFKA_SECURE=1 exec "$here/kafka.sh" "$@"
