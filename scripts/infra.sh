#!/usr/bin/env bash
# The real servers this project needs, provisioned from package registries and run on loopback:
# Apache Kafka (KRaft), FerretDB (MongoDB wire protocol), and a Kubernetes cluster (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and one node simulated by kwok) with the helm CLI; for the
# security and multi-cluster tests, a second Kafka broker (SASL_SSL, ACLs enforced; kafka-secure.sh) and a
# second, API-only cluster "b" on the same etcd (kube.sh); a three-node Kafka for the broker-loss fault test
# starts and stops with that test (kafka-cluster.sh), and `down` stops it too. Downloads and builds are cached under
# ~/.cache/helm-rollback-service, never in the checkout.
#
#   scripts/infra.sh up       start them all (idempotent), then print the env the apps and tests use
#   scripts/infra.sh status   one line per server; exit 1 if any is down
#   scripts/infra.sh down     stop them all
#   scripts/infra.sh env      print `export KAFKA_BROKERS=… MONGODB_URI=… KAFKA_SECURE_BROKERS=…
#                             KAFKA_SECURE_DIR=… KUBECONFIG=… KUBECONFIG_B=… HELM_BIN=…` (one line each)
#
# KAFKA_BROKERS / MONGODB_URI set in the environment mean "use those servers": nothing is started;
# KUBECONFIG_EXTERNAL (and KUBECONFIG_EXTERNAL_B) likewise for the clusters, see scripts/infra/kube.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

print_env() {
  echo "export KAFKA_BROKERS=${KAFKA_BROKERS:-127.0.0.1:${KAFKA_PORT:-39092}}"
  echo "export MONGODB_URI=${MONGODB_URI:-mongodb://127.0.0.1:${FERRETDB_PORT:-37017}/helm_releases}"
  # The security profile's broker: its address, and the directory of its CA certificate and users.
  "$here/infra/kafka-secure.sh" env
  # KUBECONFIG, KUBECONFIG_B (cluster b; absent with a KUBECONFIG_EXTERNAL but no KUBECONFIG_EXTERNAL_B)
  # and HELM_BIN, as kube.sh prints them.
  "$here/infra/kube.sh" env
}

# Runs `command` on each server in order, all of them even when one fails; exit 1 if any did.
each() { # command server...
  local command="$1" rc=0 server
  shift
  for server in "$@"; do "$here/infra/$server.sh" "$command" || rc=1; done
  exit "$rc"
}

case "${1:-}" in
  up)
    # Progress goes to stderr, the export lines alone to stdout: `eval "$(scripts/infra.sh up)"` works.
    "$here/infra/kafka.sh" up >&2
    "$here/infra/kafka-secure.sh" up >&2
    "$here/infra/ferretdb.sh" up >&2
    "$here/infra/kube.sh" up >/dev/null
    print_env
    ;;
  status) each status kafka kafka-secure ferretdb kube ;;
  # The reverse of `up`: the cluster before the stores it does not need.
  down) each down kube ferretdb kafka-cluster kafka-secure kafka ;;
  env) print_env ;;
  *)
    echo "usage: scripts/infra.sh up|status|down|env" >&2
    exit 2
    ;;
esac
