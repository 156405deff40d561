#!/usr/bin/env bash
# Controllers and simulated nodes for the local API server of kube.sh: kube-controller-manager and
# kube-scheduler of the same Kubernetes release, and kwok, which plays the kubelet of one fake node. With
# them Deployments roll out and become Ready, Jobs and `helm test` pods complete, new namespaces get their
# "default" ServiceAccount and deleted ones go away. No container ever runs: kwok moves each pod through
# the stages in scripts/infra/kwok/pod-stages.yaml, chosen by labels the fixture charts set (a pod that
# never gets Ready, one that crashes, a test that fails, a slow rollout).
#
#   scripts/infra/kube-nodes.sh up       build (first time only), start the three against kube.sh's API
#                                        server (which must be running), register the node, wait for it
#   scripts/infra/kube-nodes.sh status   one line; exit 0 when all three run and the node is Ready
#   scripts/infra/kube-nodes.sh down     SIGTERM each, SIGKILL after a while
#   scripts/infra/kube-nodes.sh logs [-f] controller-manager|scheduler|kwok
#
# kube.sh up and down call this script; it is rarely run on its own.
#
# Built like the API server, from the Go module proxy: the controllers from the wrapper module
# scripts/infra/kube-controllers (its own go.mod, so the API server's module did not change), kwok with
# `go install` at KWOK_VERSION; cached under $HRS_CACHE_DIR. kwok's node stages ship in its module and are
# kept beside its binary. Build times are in docs/operations.md.
#
# Environment: KUBE_CONTROLLER_MANAGER_PORT (36457), KUBE_SCHEDULER_PORT (36459), KWOK_PORT (36461), plus
# kube.sh's KUBE_APISERVER_PORT, HRS_CACHE_DIR and HRS_RUN_DIR.
set -euo pipefail
SCRIPT=kube-nodes.sh
# shellcheck source=scripts/infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MOD_DIR="$SCRIPT_DIR/kube"
# shellcheck source=scripts/infra/kube-lib.sh
source "$SCRIPT_DIR/kube-lib.sh"
CONTROLLERS_DIR="$SCRIPT_DIR/kube-controllers"

KWOK_VERSION="v0.8.0"
KCM_PORT="${KUBE_CONTROLLER_MANAGER_PORT:-36457}"
SCHEDULER_PORT="${KUBE_SCHEDULER_PORT:-36459}"
KWOK_PORT="${KWOK_PORT:-36461}"
NODE_NAME="kwok-node-0"
KCM_BIN="$CACHE_ROOT/kube-controller-manager-$KUBE_VERSION/kube-controller-manager"
SCHEDULER_BIN="$CACHE_ROOT/kube-scheduler-$KUBE_VERSION/kube-scheduler"
KWOK_DIR="$CACHE_ROOT/kwok-$KWOK_VERSION"
KWOK_BIN="$KWOK_DIR/kwok"

# name: pid file, log and the marker that tells our process from another's.
pid_file() { echo "$RUN_DIR/$1.pid"; }
log_file() { echo "$RUN_DIR/$1.log"; }
marker() {
  if [[ "$1" == kwok ]]; then echo "--server-address=$HOST:$KWOK_PORT"; else echo "--secure-port=$(port_of "$1")"; fi
}
port_of() {
  case "$1" in
  controller-manager) echo "$KCM_PORT" ;;
  scheduler) echo "$SCHEDULER_PORT" ;;
  kwok) echo "$KWOK_PORT" ;;
  esac
}
pid_of() { running_pid "$(pid_file "$1")" "$(marker "$1")"; }

build_controllers() {
  local want
  want="$(sed -n 's|^[[:space:]]*k8s\.io/kubernetes[[:space:]]\{1,\}\(v[^[:space:]]*\).*|\1|p' "$CONTROLLERS_DIR/go.mod" | head -n1)"
  [[ "$want" == "$KUBE_VERSION" ]] || die "$CONTROLLERS_DIR/go.mod requires k8s.io/kubernetes $want, kube.sh's API server is $KUBE_VERSION: bump both modules together"
  MOD_DIR="$CONTROLLERS_DIR" build_component kube-controller-manager "$KUBE_VERSION" "$KCM_BIN" "Kubernetes $KUBE_VERSION" 7
  MOD_DIR="$CONTROLLERS_DIR" build_component kube-scheduler "$KUBE_VERSION" "$SCHEDULER_BIN" "Kubernetes $KUBE_VERSION" 5
}

build_kwok() {
  [[ -x "$KWOK_BIN" && -f "$KWOK_DIR/stages/node-initialize.yaml" ]] && return 0
  need_go
  mkdir -p "$KWOK_DIR"
  take_lock 8 "$KWOK_DIR/.lock" 3600
  if [[ -x "$KWOK_BIN" && -f "$KWOK_DIR/stages/node-initialize.yaml" ]]; then
    exec 8>&-
    return 0
  fi
  local build_log="$KWOK_DIR/build.log" start=$SECONDS gobin="$KWOK_DIR/.gobin"
  log "building kwok $KWOK_VERSION from the Go module proxy into $KWOK_DIR (first run only; ~5 min on 2 cores with a cold Go cache; log: $build_log)"
  rm -rf "$gobin"
  # As helm.sh does: `go install module@version` ignores any go.mod around it; GOWORK=off keeps a go.work out.
  if ! (cd "$KWOK_DIR" && GOWORK=off CGO_ENABLED=0 GOBIN="$gobin" GOFLAGS="-trimpath -buildvcs=false" \
    go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION") >"$build_log" 2>&1; then
    tail -n 30 "$build_log" >&2
    die "go install of kwok $KWOK_VERSION failed (log: $build_log)"
  fi
  local module
  module="$(cd "$KWOK_DIR" && GOWORK=off go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION"
  mkdir -p "$KWOK_DIR/stages"
  cp "$module/kustomize/stage/node/fast/node-initialize.yaml" "$module/kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" "$KWOK_DIR/stages/"
  chmod u+w "$KWOK_DIR/stages/"*
  mv -f "$gobin/kwok" "$KWOK_BIN"
  rm -rf "$gobin"
  log "built $KWOK_BIN in $((SECONDS - start))s"
  exec 8>&-
}

# GET/POST on the API server as the admin (kube.sh's certificates).
api() { # method path [body]
  curl -sS --fail --max-time 5 --cacert "$PKI_DIR/ca.crt" --cert "$PKI_DIR/admin.crt" --key "$PKI_DIR/admin.key" \
    -X "$1" -H 'Content-Type: application/json' ${3:+--data "$3"} "https://$HOST:$APISERVER_PORT$2" 2>/dev/null
}

healthy() { # name
  [[ "$(curl -sk --max-time 3 "https://$HOST:$(port_of "$1")/healthz" 2>/dev/null || true)" == "ok" ]]
}
kcm_healthy() { healthy controller-manager; }
scheduler_healthy() { healthy scheduler; }
kwok_healthy() { [[ "$(curl -s --max-time 3 "http://$HOST:$KWOK_PORT/healthz" 2>/dev/null || true)" == "ok" ]]; }

# The API server writes a condition's type before its status.
node_ready() { api GET "/api/v1/nodes/$NODE_NAME" | tr -d ' \n' | grep -q '"type":"Ready","status":"True"'; }
# The service-account controllers are running once the default namespace has its ServiceAccount.
accounts_ready() { api GET /api/v1/namespaces/default/serviceaccounts/default >/dev/null; }

start() { # name ready_fn binary args...
  local name="$1" ready="$2" bin="$3" log pidf
  shift 3
  log="$(log_file "$name")"
  pidf="$(pid_file "$name")"
  [[ -f "$log" ]] && mv -f "$log" "$log.prev"
  log "starting $name"
  # setsid + nohup + 8>&- 9>&-: as kube.sh starts the API server.
  nohup setsid "$bin" "$@" </dev/null >>"$log" 2>&1 8>&- 9>&- &
  local pid=$!
  echo "$pid" >"$pidf"
  await_ready "$name" "$pid" "$pidf" "$log" 60 "$ready" "'$0 down' stops what started"
}

start_all() {
  local kc="$KUBECONFIG_FILE" cert_dir="$RUN_DIR/controllers"
  mkdir -p "$cert_dir"
  # --use-service-account-credentials=false: every controller acts as the admin (system:masters), so
  #   no per-controller RBAC bootstrap is waited for. --leader-elect=false: one of each.
  # Controllers a cluster without a cloud or a kubelet has no use for are left out (node IPAM, cloud
  # routes, persistent-volume binders and attach/detach): they only log and consume CPU here.
  pid_of controller-manager >/dev/null || start controller-manager kcm_healthy "$KCM_BIN" \
    --kubeconfig="$kc" --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc" \
    --bind-address="$HOST" --secure-port="$KCM_PORT" --cert-dir="$cert_dir" \
    --service-account-private-key-file="$PKI_DIR/sa.key" --root-ca-file="$PKI_DIR/ca.crt" \
    --use-service-account-credentials=false --leader-elect=false \
    --controllers='*,-nodeipam,-persistentvolume-binder,-attachdetach,-persistentvolume-expander,-ephemeral-volume,-pvc-protection,-pv-protection,-csrsigning,-csrapproving,-csrcleaner,-bootstrapsigner,-tokencleaner' \
    --profiling=false --v=1
  pid_of scheduler >/dev/null || start scheduler scheduler_healthy "$SCHEDULER_BIN" \
    --kubeconfig="$kc" --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc" \
    --bind-address="$HOST" --secure-port="$SCHEDULER_PORT" --leader-elect=false --profiling=false --v=1
  # kwok manages only nodes annotated as its own (its marker is its server address). Node heartbeats go
  # to Leases, as a kubelet's do.
  pid_of kwok >/dev/null || start kwok kwok_healthy "$KWOK_BIN" \
    --kubeconfig="$kc" --server-address="$HOST:$KWOK_PORT" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --node-lease-duration-seconds=40 --cidr=10.244.0.0/16 --node-ip=10.0.0.10 \
    -c "$KWOK_DIR/stages/node-initialize.yaml" -c "$KWOK_DIR/stages/node-heartbeat-with-lease.yaml" \
    -c "$SCRIPT_DIR/kwok/pod-stages.yaml"
}

register_node() {
  api GET "/api/v1/nodes/$NODE_NAME" >/dev/null && return 0
  api POST /api/v1/nodes "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"$NODE_NAME\",\"annotations\":{\"kwok.x-k8s.io/node\":\"fake\",\"node.alpha.kubernetes.io/ttl\":\"0\"},\"labels\":{\"kubernetes.io/hostname\":\"$NODE_NAME\",\"kubernetes.io/os\":\"linux\",\"type\":\"kwok\"}}}" >/dev/null ||
    die "could not register node $NODE_NAME with the API server"
}

await() { # what seconds fn
  local start=$SECONDS
  until "$3"; do
    ((SECONDS - start < $2)) || die "$1 not within $2s (logs: $0 logs controller-manager|scheduler|kwok)"
    sleep 0.3
  done
}

cmd_up() {
  api GET /readyz >/dev/null || die "kube.sh's API server does not answer on https://$HOST:$APISERVER_PORT: run scripts/infra/kube.sh up"
  mkdir -p "$RUN_DIR"
  take_lock 9 "$RUN_DIR/.nodes.lock" 3600
  local start=$SECONDS
  build_controllers
  build_kwok
  start_all
  register_node
  await "node $NODE_NAME Ready" 60 node_ready
  await "the default ServiceAccount" 60 accounts_ready
  log "running: kube-controller-manager pid $(pid_of controller-manager), kube-scheduler pid $(pid_of scheduler), kwok pid $(pid_of kwok), node $NODE_NAME Ready; up took $((SECONDS - start))s"
}

cmd_status() {
  local name down=""
  for name in controller-manager scheduler kwok; do pid_of "$name" >/dev/null || down+=" $name"; done
  if [[ -z "$down" ]] && node_ready; then
    echo "running (kube-controller-manager, kube-scheduler, kwok; node $NODE_NAME Ready)"
    return 0
  fi
  echo "not running:${down:- node $NODE_NAME not Ready}"
  return 1
}

cmd_down() {
  local name pid
  for name in kwok scheduler controller-manager; do
    if pid="$(pid_of "$name")"; then stop_pid "$name" "$pid" 15; fi
    rm -f "$(pid_file "$name")"
  done
}

case "${1:-}" in
up) cmd_up ;;
status) cmd_status ;;
down) cmd_down ;;
logs)
  [[ -n "${2:-}" ]] || die "usage: $0 logs [-f] controller-manager|scheduler|kwok"
  if [[ "$2" == "-f" ]]; then show_log "$(log_file "${3:-}")" -f; else show_log "$(log_file "$2")"; fi
  ;;
*)
  echo "usage: $0 up|status|down|logs [-f] controller-manager|scheduler|kwok" >&2
  exit 2
  ;;
esac
