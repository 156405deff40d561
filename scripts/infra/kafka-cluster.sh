#!/usr/bin/env bash
# A local Kafka cluster of KAFKA_NODES KRaft nodes (default 3, each broker and controller) on loopback, for
# the fault tests that kill a broker: every topic replicated KAFKA_NODES times, min.insync.replicas 2, so
# a write acknowledged by all in-sync replicas survives the loss of any one node. Each node is
# scripts/infra/kafka.sh run with a node id, ports and run dir of its own (the same cached jars).
#
#   scripts/infra/kafka-cluster.sh up          # start every node not running, wait until all are registered
#   scripts/infra/kafka-cluster.sh status      # exit 0 when every node runs
#   scripts/infra/kafka-cluster.sh down        # stop every node
#   scripts/infra/kafka-cluster.sh kill N      # SIGKILL node N (what a crashed machine does)
#   scripts/infra/kafka-cluster.sh start N     # start node N again, wait until the cluster has every node
#   scripts/infra/kafka-cluster.sh env         # export KAFKA_CLUSTER_BROKERS=…
#
# Ports: node i listens on KAFKA_CLUSTER_PORT + 2(i-1), its controller on the port after (default 29192:
# below Linux's ephemeral range, 32768 up, where a client's own connection once held a node's port when the
# cluster started in the middle of a test run).
# `up` with no node running starts from empty data (a new cluster id): the cluster holds only what the test
# using it makes. Each node gets the single broker's heap (KAFKA_HEAP_OPTS): with 256 MiB one ran out of
# heap while the three formed their quorum.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NODES="${KAFKA_NODES:-3}"
BASE_PORT="${KAFKA_CLUSTER_PORT:-29192}"
ROOT="${HRS_RUN_DIR:-${HRS_CACHE_DIR:-$HOME/.cache/helm-rollback-service}/run}/kafka-cluster"
HOST=127.0.0.1

port_of() { echo $((BASE_PORT + 2 * ($1 - 1))); }
brokers() {
  local i list=()
  for ((i = 1; i <= NODES; i++)); do list+=("$HOST:$(port_of "$i")"); done
  (IFS=,; echo "${list[*]}")
}
voters() {
  local i list=()
  for ((i = 1; i <= NODES; i++)); do list+=("$i@$HOST:$(($(port_of "$i") + 1))"); done
  (IFS=,; echo "${list[*]}")
}
cluster_id() {
  mkdir -p "$ROOT"
  # Every node is formatted with the same id: 16 random bytes, base64url without padding, as Kafka's.
  [[ -s "$ROOT/cluster-id" ]] || head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$ROOT/cluster-id"
  cat "$ROOT/cluster-id"
}

node() { # i command…
  local i=$1
  shift
  env -u KAFKA_BROKERS KAFKA_SECURE=0 KAFKA_NODE_ID="$i" KAFKA_PORT="$(port_of "$i")" KAFKA_CONTROLLER_PORT="$(($(port_of "$i") + 1))" \
    KAFKA_RUN_DIR="$ROOT/node-$i" KAFKA_VOTERS="$(voters)" KAFKA_REPLICATION="$NODES" KAFKA_CLUSTER_ID="$(cluster_id)" \
    KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}" KAFKA_READY_BOOTSTRAP="$(brokers)" KAFKA_READY_BROKERS="$NODES" \
    KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-180}" "$here/kafka.sh" "$@"
}

running() { node "$1" status >/dev/null 2>&1; }

case "${1:-}" in
up)
  start=$SECONDS
  any=false
  for ((i = 1; i <= NODES; i++)); do if running "$i"; then any=true; fi; done
  if [[ "$any" == false ]]; then rm -rf "$ROOT"; fi
  for ((i = 1; i <= NODES; i++)); do running "$i" || KAFKA_WAIT=none node "$i" up; done
  info="$(node 1 ready)"
  echo "kafka-cluster.sh: $NODES nodes on $(brokers) ($info; up took $((SECONDS - start))s); export KAFKA_CLUSTER_BROKERS=$(brokers)" >&2
  ;;
status)
  down=0
  for ((i = 1; i <= NODES; i++)); do running "$i" || down=$((down + 1)); done
  echo "$((NODES - down)) of $NODES nodes running on $(brokers)"
  ((down == 0))
  ;;
down)
  for ((i = 1; i <= NODES; i++)); do node "$i" down; done
  ;;
kill)
  [[ "${2:-}" =~ ^[0-9]+$ ]] && ((${2} >= 1 && ${2} <= NODES)) || { echo "usage: $0 kill 1..$NODES" >&2; exit 2; }
  pid_file="$ROOT/node-$2/kafka.pid"
  if ! running "$2" || [[ ! -s "$pid_file" ]]; then
    echo "kafka-cluster.sh: node $2 is not running; its last output:" >&2
    tail -n 5 "$ROOT/node-$2/logs/stdout.log" >&2 2>/dev/null || true
    exit 1
  fi
  kill -9 "$(cat "$pid_file")"
  rm -f "$pid_file"
  echo "kafka-cluster.sh: node $2 killed" >&2
  ;;
start)
  [[ "${2:-}" =~ ^[0-9]+$ ]] && ((${2} >= 1 && ${2} <= NODES)) || { echo "usage: $0 start 1..$NODES" >&2; exit 2; }
  start=$SECONDS
  KAFKA_WAIT=none node "$2" up
  info="$(node "$2" ready)"
  echo "kafka-cluster.sh: node $2 back ($info, in $((SECONDS - start))s)" >&2
  ;;
env)
  echo "export KAFKA_CLUSTER_BROKERS=$(brokers)"
  ;;
*)
  echo "usage: $0 up|status|down|kill N|start N|env" >&2
  exit 2
  ;;
esac
